"""The campaign settings in force at each revision.

A sale records the campaign revision it was made under
(``LeadSale.campaign_revision``); returns for "outside the filter at
delivery" are checked against that revision's settings, not today's (seed
000: a lead delivered under the old filter because the campaign was not
paused while its filter changed is not returnable). core.campaigns calls
:func:`record` in the transaction that makes a revision current.
"""

from __future__ import annotations

from typing import Any

from leadwire.core.models.marketplace import Campaign
from leadwire.core.models.returns import CampaignRevision

FIELDS = (
    "name", "time_zone", "status", "filter_enabled", "geo_mode", "states", "zip_codes", "radius_zip",
    "radius_miles", "field_filters", "schedule", "daily_cap", "weekly_cap", "monthly_cap", "offer_id",
    "lead_types", "buyer_phone", "max_concurrent_calls",
)


def snapshot_of(campaign: Campaign) -> dict[str, Any]:
    out = {}
    for name in FIELDS:
        value = getattr(campaign, name)
        if hasattr(value, "value"):  # enums
            value = value.value
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out


async def record(campaign_id: int, conn) -> None:
    """Keep the campaign's current settings as its current revision's, in the
    caller's transaction (the one that changed them)."""
    campaign = await Campaign.get(id=campaign_id).using_db(conn)
    settings = snapshot_of(campaign)
    updated = await CampaignRevision.filter(campaign_id=campaign_id, revision=campaign.revision).using_db(conn).update(
        settings=settings
    )
    if not updated:
        await CampaignRevision.bulk_create(
            [CampaignRevision(campaign_id=campaign_id, revision=campaign.revision, settings=settings)],
            ignore_conflicts=True, using_db=conn,
        )


async def settings_at(campaign_id: int, revision: int) -> dict[str, Any] | None:
    """The campaign's settings at ``revision``; None when they were not kept
    (a revision from before this history existed)."""
    kept = await CampaignRevision.get_or_none(campaign_id=campaign_id, revision=revision)
    if kept is not None:
        return kept.settings
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is not None and campaign.revision == revision:
        return snapshot_of(campaign)  # never changed since: today's settings are that revision's
    return None
