"""The delivery engine: channel settings checked when a campaign is saved,
deliveries written with the sale, attempts logged, retries with backoff,
permanent failures, give-up, interrupted attempts, re-sends, who sees the log,
and the plugin event hooks. The channel here is a test double of a *plugin*
(the contract's other side); the real channels over real servers are tested in
test_channels.py."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from leadwire.core import delivery, extensions, routing
from leadwire.core.campaigns import CampaignChanges, update_campaign
from leadwire.core.errors import DomainError
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from leadwire.core.settings import Secret
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryResult, SettingProblem

from factories import make_user
from market import Market


class Recorder(DeliveryChannel):
    """Answers with whatever the test queued, and remembers every request."""

    name = "recorder"
    label = "Recorder"
    settings = (
        Setting("url", required=True, description="Where to send."),
        Setting("token", secret=True, required=True, description="API token."),
        Setting("retries", type="int", default=3),
    )

    def __init__(self):
        self.requests = []
        self.answers: list = []

    def check(self, settings):
        return [] if settings["url"].startswith("https://") else [SettingProblem("url", "Must be an https:// URL.")]

    async def deliver(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else DeliveryResult.delivered("msg-1", 200)
        if isinstance(answer, Exception):
            raise answer
        if answer == "hang":
            await asyncio.sleep(60)
        return answer


@pytest.fixture
async def market(db):
    recorder = Recorder()
    delivery.install([delivery.InstalledChannel(recorder, "test_plugin", {"api_base": "x"})])
    m = await Market().setup()
    m.recorder = recorder
    yield m
    delivery.install([])


SETTINGS = {"recorder": {"url": "https://crm.example/leads", "token": "tok-SECRET-123"}}


async def sold(m, channels=SETTINGS):
    account, owner = await m.partner()
    offer = await m.offer(m.local)
    campaign = await m.campaign(owner, offer, channels=channels)
    lead = await m.lead()
    result = await routing.route_lead(lead.id)
    assert len(result.sold_to) == 1
    return owner, campaign, result


async def job_for(d: Delivery) -> OutboxJob:
    return next(j for j in await OutboxJob.filter(name="deliver").order_by("-id") if j.payload["delivery_id"] == d.id)


async def run_now(d: Delivery) -> JobStatus | None:
    job = await job_for(d)
    await OutboxJob.filter(id=job.id).update(run_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    return await run_job(job.id)


# -- settings ---------------------------------------------------------------------


@pytest.mark.parametrize("channels, field, code", [
    ({"nope": {}}, "channels.nope", "invalid"),
    ({"recorder": {"token": "t"}}, "channels.recorder.url", "required"),
    ({"recorder": {"url": "https://x", "token": "t", "retries": "three"}}, "channels.recorder.retries", "invalid"),
    ({"recorder": {"url": "http://plain", "token": "t"}}, "channels.recorder.url", "invalid"),
    ({"recorder": {"url": "https://x", "token": "t", "colour": "red"}}, "channels.recorder.colour", "invalid"),
    ({"recorder": "on"}, "channels.recorder", "invalid"),
])
async def test_bad_channel_settings_name_the_field_and_change_nothing(market, channels, field, code):
    _, owner = await market.partner()
    campaign = await market.campaign(owner, await market.offer(market.local))
    with pytest.raises(DomainError) as exc:
        await update_campaign(owner, campaign.id, CampaignChanges(channels=channels, name="Renamed"))
    assert (field, code) in {(e.field, e.code.value) for e in exc.value.errors}
    await campaign.refresh_from_db()
    assert campaign.channels == {} and campaign.name != "Renamed"


async def test_secrets_read_back_masked_and_a_masked_secret_keeps_its_value(market):
    _, owner = await market.partner()
    campaign = await market.campaign(owner, await market.offer(market.local), channels=SETTINGS)
    shown = delivery.public_channels(campaign.channels)
    assert shown == {"recorder": {"url": "https://crm.example/leads", "token": "********", "retries": 3}}
    again = await update_campaign(owner, campaign.id, CampaignChanges(channels={"recorder": {**shown["recorder"], "url": "https://new.example"}}))
    assert again.channels["recorder"]["token"] == "tok-SECRET-123" and again.channels["recorder"]["url"] == "https://new.example"


# -- writing and running deliveries --------------------------------------------------------


async def test_a_sale_writes_its_delivery_and_job_and_a_run_delivers_it(market):
    owner, campaign, result = await sold(market)
    [d] = await Delivery.all()
    assert (d.channel, d.status, d.account_id, d.buyer_lead_id) == ("recorder", DeliveryStatus.PENDING, owner.account_id, result.buyer_lead_ids[0])
    assert await run_now(d) == JobStatus.DONE
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.DELIVERED and d.provider_message_id == "msg-1" and d.attempts == 1
    [attempt] = await DeliveryAttempt.filter(delivery_id=d.id)
    assert attempt.outcome == AttemptOutcome.DELIVERED and attempt.status_code == 200 and attempt.latency_ms is not None
    [request] = market.recorder.requests
    assert request.idempotency_key == d.idempotency_key and request.attempt == 1
    assert isinstance(request.settings["token"], Secret) and request.settings["token"].reveal() == "tok-SECRET-123"
    assert request.plugin_config == {"api_base": "x"}
    assert request.lead.id == result.buyer_lead_ids[0] and request.lead.data["move_size"] == "2_bedrooms"
    assert request.lead.field_labels["move_size"] and request.sale.price_minor == 2500
    assert await run_now(d) is None  # done is done
    assert len(market.recorder.requests) == 1


async def test_no_channels_no_deliveries(market):
    await sold(market, channels={})
    assert await Delivery.all().count() == 0


async def test_temporary_failures_retry_with_the_same_key_then_deliver(market):
    market.recorder.answers = [DeliveryResult.retry("503 busy", 503), DeliveryResult.retry("429", 429, retry_after=120)]
    _, _, _ = await sold(market)
    [d] = await Delivery.all()
    assert await run_now(d) == JobStatus.PENDING
    assert await run_now(d) == JobStatus.PENDING
    job = await job_for(d)
    assert job.run_after >= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=110)  # Retry-After honoured
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.next_attempt_at is not None and "429" in d.last_error
    assert await run_now(d) == JobStatus.DONE
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.DELIVERED and d.attempts == 3
    outcomes = [a.outcome for a in await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")]
    assert outcomes == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.DELIVERED]
    assert len({r.idempotency_key for r in market.recorder.requests}) == 1
    assert [r.attempt for r in market.recorder.requests] == [1, 2, 3]


async def test_a_permanent_failure_stops_at_once(market):
    market.recorder.answers = [DeliveryResult.failed("400 invalid phone", 400)]
    await sold(market)
    [d] = await Delivery.all()
    assert await run_now(d) == JobStatus.DONE
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.attempts == 1 and "invalid phone" in d.last_error


async def test_gives_up_after_max_attempts(market, monkeypatch):
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    market.recorder.answers = [DeliveryResult.retry("down")] * 5
    await sold(market)
    [d] = await Delivery.all()
    assert [await run_now(d) for _ in range(3)] == [JobStatus.PENDING, JobStatus.PENDING, JobStatus.DONE]
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.attempts == 3 and d.last_error.startswith("gave up after 3 attempts")
    assert len(market.recorder.requests) == 3


async def test_a_crashing_or_hanging_channel_is_a_retry_and_secrets_are_scrubbed(market, monkeypatch):
    monkeypatch.setattr(delivery, "ATTEMPT_TIMEOUT_SECONDS", 0.05)
    market.recorder.answers = [RuntimeError("auth failed for token tok-SECRET-123"), "hang"]
    await sold(market)
    [d] = await Delivery.all()
    assert await run_now(d) == JobStatus.PENDING
    assert await run_now(d) == JobStatus.PENDING
    errors = [a.error for a in await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")]
    assert errors[0] == "RuntimeError: auth failed for token ***"
    assert errors[1] == "no answer within 0.05 s"
    await d.refresh_from_db()
    assert "tok-SECRET-123" not in d.last_error


async def test_an_attempt_cut_short_by_a_dead_worker_shows_as_interrupted(market):
    await sold(market)
    [d] = await Delivery.all()
    # What a worker killed mid-call leaves behind: the attempt logged, no outcome.
    await DeliveryAttempt.create(delivery_id=d.id, number=1, started_at=dt.datetime.now(dt.timezone.utc))
    await Delivery.filter(id=d.id).update(attempts=1)
    assert await run_now(d) == JobStatus.DONE
    outcomes = [(a.number, a.outcome) for a in await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")]
    assert outcomes == [(1, AttemptOutcome.INTERRUPTED), (2, AttemptOutcome.DELIVERED)]


async def test_a_channel_removed_from_the_campaign_fails_the_pending_delivery(market):
    owner, campaign, _ = await sold(market)
    await update_campaign(owner, campaign.id, CampaignChanges(channels={}))
    [d] = await Delivery.all()
    await run_now(d)
    await d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and "no longer uses" in d.last_error and not market.recorder.requests


# -- re-send and visibility ---------------------------------------------------------------------


async def test_resend_is_a_new_delivery_with_a_new_key_for_those_who_see_the_lead(market):
    owner, _, _ = await sold(market)
    [d] = await Delivery.all()
    with pytest.raises(DomainError, match="still being attempted"):
        await delivery.resend(owner, d.id)
    await run_now(d)
    rep = await make_user(owner)
    from factories import viewer_for

    rep_viewer = await viewer_for(rep)
    with pytest.raises(DomainError) as exc:  # the buyer's copy is unassigned: above the rep
        await delivery.resend(rep_viewer, d.id)
    assert exc.value.errors[0].code.value == "not_found"
    _, stranger = await market.partner()
    with pytest.raises(DomainError):
        await delivery.resend(stranger, d.id)
    again = await delivery.resend(owner, d.id)
    assert again.generation == 2 and again.idempotency_key != d.idempotency_key and again.requested_by_id == owner.membership_id
    await run_now(again)
    assert [r.idempotency_key for r in market.recorder.requests] == [d.idempotency_key, again.idempotency_key]


async def test_who_sees_deliveries(market):
    from leadwire.core.access import visible_deliveries

    from factories import viewer_for

    owner, _, result = await sold(market)
    [d] = await Delivery.all()
    assert await visible_deliveries(owner).filter(id=d.id).exists()
    assert await visible_deliveries(market.operator).filter(id=d.id).exists()
    _, stranger = await market.partner()
    assert not await visible_deliveries(stranger).filter(id=d.id).exists()
    rep = await make_user(owner)
    assert not await visible_deliveries(await viewer_for(rep)).filter(id=d.id).exists()
    from leadwire.core.models.leads import Lead

    await Lead.filter(id=result.buyer_lead_ids[0]).update(assignee_id=rep.id)
    assert await visible_deliveries(await viewer_for(rep)).filter(id=d.id).exists()


# -- plugin events -------------------------------------------------------------------------------


async def test_received_and_sold_hooks_fire_after_commit_and_a_failing_hook_changes_nothing(market, tmp_path):
    from leadwire.core import intake
    from leadwire.core.auth import LeadSourcePrincipal
    from leadwire.core.models.identity import LeadSource
    from leadwire.plugins.hookspecs import hookimpl
    from leadwire.plugins.manager import build_plugin_manager

    seen = []

    class Listener:
        @hookimpl
        def leadwire_lead_received(self, event):
            seen.append(("received", event))

        @hookimpl
        def leadwire_lead_sold(self, event):
            seen.append(("sold", event))
            raise RuntimeError("a buggy plugin")

    plugins = build_plugin_manager(tmp_path / "none.toml", {}, load_entry_points=False)
    plugins.pm.register(Listener(), name="listener")
    extensions.install(plugins.hook)
    try:
        account, owner = await market.partner()
        await market.campaign(owner, await market.offer(market.local))
        source = await LeadSource.create(account_id=market.operator_account.id, name="Web")
        principal = LeadSourcePrincipal(source_id=source.id, account_id=market.operator_account.id, name="Web")
        result = await intake.submit_lead(principal, intake.LeadSubmission(
            product_id=market.local.id, first_name="Ann", last_name="Lee", phone="+13135550177", postal_code="48165",
            consent=intake.Consent(text="I agree."), data={"from_zip": "48165", "to_zip": "48104",
                                                           "move_date": "2026-12-20", "move_size": "studio"},
        ))
    finally:
        extensions.install(None)
    assert [kind for kind, _ in seen] == ["received", "sold"]
    received, sold_event = seen[0][1], seen[1][1]
    assert received.lead_id == result.lead.id and received.industry_key == "moving" and not received.duplicate
    assert sold_event.lead_id == result.lead.id and sold_event.account_id == account.id and sold_event.price_minor == 2500
    assert result.routing.sold_to  # the failing hook undid nothing


async def test_garbage_from_a_channel_is_logged_clean(market):
    """A receiver's binary answer must not break the write (PostgreSQL refuses NUL)."""
    market.recorder.answers = [DeliveryResult.retry("bad \x00\x01answer\x7f", 502), DeliveryResult.delivered("id\x00-7", 200)]
    await sold(market)
    [d] = await Delivery.all()
    assert await run_now(d) == JobStatus.PENDING
    assert await run_now(d) == JobStatus.DONE
    first, second = await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")
    assert first.error == "bad answer" and second.provider_message_id == "id-7"
