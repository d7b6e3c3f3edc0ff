"""A worker killed with SIGKILL in the middle of a delivery loses nothing: the
next worker sends it again with the same idempotency key, the receiver drops
the repeat, and the log shows the cut-short attempt. Real broker (Redis and
RabbitMQ), real worker processes, a real webhook receiver on loopback."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadwire.core import delivery, industries, routing
from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from leadwire.integrations import signed_webhook
from leadwire.plugins.manager import build_plugin_manager, install_registrations

from loopback import serve_asgi
from market import Market
from test_jobs import _start_worker, _stop, broker_world, wait_for  # noqa: F401  (fixture)

SECRET = "whsec-kill-test-0123456789"


async def test_a_worker_killed_mid_delivery_loses_no_delivery(broker_world, tmp_path):
    database_url, broker_url, queue = broker_world
    seen: list[str] = []
    processed: dict[str, dict] = {}
    release = asyncio.Event()

    async def hook(request: Request):
        body = await request.body()
        signed_webhook.verify(SECRET, request.headers.get(signed_webhook.SIGNATURE_HEADER), body)
        key = request.headers["idempotency-key"]
        seen.append(key)
        if len(seen) == 1:  # the first attempt hangs until its worker is dead
            try:
                await asyncio.wait_for(release.wait(), 60)
            except TimeoutError:
                pass
            return JSONResponse({"late": True}, 503)
        processed.setdefault(key, await request.json())  # de-duplicate by idempotency key
        return JSONResponse({"ok": True})

    plugins = tmp_path / "plugins.toml"
    plugins.write_text("[plugin.webhook_channel]\ntimeout_seconds = 60.0\n")
    install_registrations(build_plugin_manager(plugins, {}, load_entry_points=False))
    try:
        m = await Market().setup()
        async with serve_asgi(Starlette(routes=[Route("/leads", hook, methods=["POST"])])) as address:
            _, owner = await m.partner()
            await m.campaign(owner, await m.offer(m.local),
                             channels={"webhook": {"url": f"http://{address}/leads", "secret": SECRET}})
            lead = await m.lead()
            result = await routing.route_lead(lead.id)
            [d] = await Delivery.filter(buyer_lead_id=result.buyer_lead_ids[0])
            env = {"LEADWIRE_PLUGINS_FILE": str(plugins)}
            first = _start_worker(database_url, broker_url, queue, lease_seconds=2, **env)
            try:
                await wait_for(lambda: asyncio.sleep(0, len(seen) == 1), timeout=40, what="the first attempt")
                first.kill()  # SIGKILL mid-request
                first.wait(timeout=10)
                assert (await DeliveryAttempt.get(delivery_id=d.id)).outcome == AttemptOutcome.IN_PROGRESS
                second = _start_worker(database_url, broker_url, queue, lease_seconds=2, **env)
                try:
                    async def delivered():
                        return (await Delivery.get(id=d.id)).status == DeliveryStatus.DELIVERED

                    await wait_for(delivered, timeout=60, what="the delivery to complete after the crash")
                finally:
                    output = _stop(second)
            finally:
                _stop(first)
                release.set()
        assert seen == [d.idempotency_key, d.idempotency_key], output
        assert "leadwire worker" in output and f"{address}/leads" not in output  # URLs can carry tokens: never logged
        assert list(processed) == [d.idempotency_key] and processed[d.idempotency_key]["lead"]["first_name"] == "Casey"
        log = [a.outcome for a in await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")]
        assert log == [AttemptOutcome.INTERRUPTED, AttemptOutcome.DELIVERED]
    finally:
        industries.install([])
        delivery.install([])
