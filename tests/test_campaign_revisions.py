"""Every settings change of a campaign is a revision of its own, numbered by the
database: two edits at the same moment get two numbers and two snapshots (a
return checks a lead against the revision it was sold under)."""

import asyncio

from leadwire.core.campaigns import CampaignChanges, update_campaign
from leadwire.core.models.marketplace import Campaign

from market import Market


async def test_concurrent_edits_get_distinct_revisions(db):
    from leadwire.core.models.returns import CampaignRevision

    m = await Market().setup()
    _, owner = await m.partner()
    campaign = await m.campaign(owner, await m.offer(m.local))
    start = (await Campaign.get(id=campaign.id)).revision
    await asyncio.gather(*(
        update_campaign(owner, campaign.id, CampaignChanges(name=f"Edit {i}", daily_cap=10 + i)) for i in range(6)
    ))
    final = await Campaign.get(id=campaign.id)
    assert final.revision == start + 6
    revisions = await CampaignRevision.filter(campaign_id=campaign.id).order_by("revision").values_list("revision", flat=True)
    assert list(revisions)[-6:] == list(range(start + 1, start + 7))
