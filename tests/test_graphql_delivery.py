"""Deliveries through the public API: the channels on offer, the Integration
tab (validated by field, secrets write-only), the delivery log on a lead and in
the account, re-send, and who may see any of it."""

import datetime as dt

import pytest

from leadwire.core import delivery
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import OutboxJob
from leadwire.plugins.delivery import DeliveryResult

from test_delivery import Recorder
from test_graphql_identity import NODE
from test_graphql_marketplace import ERRORS, SUBMIT, funded_partner, lead_input, world  # noqa: F401  (fixture)

CAMPAIGN = f"""mutation($i: UpdateCampaignInput!) {{ updateCampaign(input: $i) {{ campaign {{ channels }} {ERRORS} }} }}"""
LEAD_DELIVERIES = """{ leads(first: 5) { edges { node { id deliveries { id channel channelLabel status attempts
    idempotencyKey resend lastError attemptLog { number outcome statusCode error providerMessageId } } } } } }"""


@pytest.fixture
def recorder():
    r = Recorder()
    delivery.install([delivery.InstalledChannel(r, "test_plugin", {})])
    yield r
    delivery.install([])


async def run_all_deliveries():
    for job in await OutboxJob.filter(name="deliver", status="pending"):
        await OutboxJob.filter(id=job.id).update(run_after=dt.datetime.now(dt.timezone.utc))
        await run_job(job.id)


async def partner_with_campaign(client_factory, world, name="Acme Movers"):
    partner = await funded_partner(client_factory, name)
    act = await partner.data("mutation($i: ActivateOfferInput!) { activateOffer(input: $i) { campaign { id } } }",
                             {"i": {"offerId": world["offer_id"]}})
    campaign_id = act["activateOffer"]["campaign"]["id"]
    return partner, campaign_id


async def test_channels_are_listed_with_their_settings(world, recorder):
    data = await world["op"].data("{ deliveryChannels { name label plugin settings { name type required secret default } } }")
    [channel] = data["deliveryChannels"]
    assert channel["name"] == "recorder" and channel["plugin"] == "test_plugin"
    assert {"name": "token", "type": "str", "required": True, "secret": True, "default": None} in channel["settings"]


async def test_integration_tab_errors_by_field_and_secrets_write_only(world, client_factory, recorder):
    partner, campaign_id = await partner_with_campaign(client_factory, world)
    bad = await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "channels": {"recorder": {"url": "ftp://x"}}}})
    errors = {(e["field"], e["code"]) for e in bad["updateCampaign"]["userErrors"]}
    assert errors == {("channels.recorder.token", "REQUIRED")}
    typo = await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "channels": {
        "recorder": {"url": "https://crm.example", "token": "t", "max_retries": 1}}}})
    # Keys inside a JSON input come back as the client wrote them, not camelCased.
    assert typo["updateCampaign"]["userErrors"][0]["field"] == "channels.recorder.max_retries"
    good = await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "channels": {
        "recorder": {"url": "https://crm.example", "token": "tok-SECRET-123"}}}})
    assert good["updateCampaign"]["userErrors"] == []
    assert good["updateCampaign"]["campaign"]["channels"]["recorder"]["token"] == "********"
    read = await partner.data("query($id: ID!) { node(id: $id) { ... on Campaign { channels } } }", {"id": campaign_id})
    assert "tok-SECRET" not in str(read)


async def test_delivery_log_and_resend_through_the_api(world, client_factory, recorder):
    partner, campaign_id = await partner_with_campaign(client_factory, world)
    await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "schedule": [], "channels": {
        "recorder": {"url": "https://crm.example", "token": "tok-SECRET-123"}}}})
    recorder.answers = [DeliveryResult.retry("503 from CRM", 503), DeliveryResult.delivered("crm-42", 201)]
    out = (await world["source"].data(SUBMIT, {"i": lead_input(world["product_id"])}))["submitLead"]
    assert out["status"] == "SOLD"
    await run_all_deliveries()
    await run_all_deliveries()
    [edge] = (await partner.data(LEAD_DELIVERIES))["leads"]["edges"]
    [d] = edge["node"]["deliveries"]
    assert (d["channel"], d["channelLabel"], d["status"], d["attempts"], d["resend"]) == ("recorder", "Recorder", "DELIVERED", 2, False)
    assert [(a["outcome"], a["statusCode"]) for a in d["attemptLog"]] == [("RETRY", 503), ("DELIVERED", 201)]
    assert d["attemptLog"][1]["providerMessageId"] == "crm-42"

    linked = await partner.data("{ deliveries(first: 5) { edges { node { partnerName lead { id firstName } } } } }")
    assert linked["deliveries"]["edges"][0]["node"] == {"partnerName": "Acme Movers",
                                                        "lead": {"id": edge["node"]["id"], "firstName": "Ana"}}
    op_linked = await world["op"].data("{ deliveries(first: 5) { edges { node { partnerName lead { id } } } } }")
    assert op_linked["deliveries"]["edges"][0]["node"] == {"partnerName": "Acme Movers", "lead": {"id": out["leadId"]}}

    # The operator sees the same log from the marketplace lead, and the failing list.
    op_view = await world["op"].data(
        "query($id: ID!) { node(id: $id) { ... on Lead { deliveries { id status } } } }", {"id": out["leadId"]})
    assert op_view["node"]["deliveries"] == [{"id": d["id"], "status": "DELIVERED"}]
    assert (await world["op"].data("{ deliveries(first: 5, status: FAILED) { totalCount } }"))["deliveries"]["totalCount"] == 0

    resend = await partner.data(
        f"mutation($i: ResendDeliveryInput!) {{ resendDelivery(input: $i) {{ delivery {{ id status resend idempotencyKey }} {ERRORS} }} }}",
        {"i": {"deliveryId": d["id"]}})
    new = resend["resendDelivery"]["delivery"]
    assert new["status"] == "PENDING" and new["resend"] and new["idempotencyKey"] != d["idempotencyKey"]
    await run_all_deliveries()
    assert len(recorder.requests) == 3
    mine = await partner.data("{ deliveries(first: 10) { totalCount edges { node { status } } } }")
    assert mine["deliveries"]["totalCount"] == 2

    # Another partner: nothing, by any path.
    other = await funded_partner(client_factory, "Rival Movers")
    assert (await other.data(NODE, {"id": d["id"]}))["node"] is None
    assert (await other.data("{ deliveries(first: 10) { totalCount } }"))["deliveries"]["totalCount"] == 0
    denied = await other.data(
        f"mutation($i: ResendDeliveryInput!) {{ resendDelivery(input: $i) {{ delivery {{ id }} {ERRORS} }} }}",
        {"i": {"deliveryId": d["id"]}})
    assert denied["resendDelivery"]["delivery"] is None
    assert denied["resendDelivery"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_lead_lists_cost_the_same_queries_for_5_or_15_leads(world, client_factory, recorder, caplog):
    """DataLoaders: a page of leads with their product, sale, campaign, offer and
    deliveries (with attempts) takes a fixed number of queries, not one per row."""
    import logging

    partner, campaign_id = await partner_with_campaign(client_factory, world)
    await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "schedule": [], "dailyCap": 100, "channels": {
        "recorder": {"url": "https://crm.example", "token": "tok-SECRET-123"}}}})
    query = """query($n: Int!) { leads(first: $n) { edges { node { id product { name industry { name } }
        sale { price { amountMinor } campaign { name offer { name product { name } } } }
        deliveries { status attemptLog { outcome } } } } } }"""

    async def queries_for(n: int) -> int:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            data = await partner.data(query, {"n": n})
        assert len(data["leads"]["edges"]) == n
        return sum(1 for r in caplog.records if r.name == "tortoise.db_client")

    for i in range(15):
        out = await world["source"].data(SUBMIT, {"i": lead_input(world["product_id"], phone=f"313-555-{2000 + i}",
                                                                   email=f"lead{i}@example.com")})
        assert out["submitLead"]["status"] == "SOLD", out
    await run_all_deliveries()
    small, large = await queries_for(5), await queries_for(15)
    assert small == large, (small, large)
