"""Helpers for the money tests: the built-in gateways installed against a fake
Stripe on a loopback server, a card saved the way a browser saves it, and
running due outbox jobs now."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

import httpx

from leadwire.core import payments
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.plugins.builtin import manual_gateway, stripe_gateway
from leadwire.plugins.config import validate_block

from fake_stripe import API_KEY, PUBLISHABLE_KEY, FakeStripe
from loopback import serve_asgi


@dataclass
class StripeEnv:
    fake: FakeStripe
    address: str

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    async def confirm_in_browser(self, started, fixture: str = "pm_card_visa") -> None:
        """What Stripe.js does with the client secret and the card the partner typed."""
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{self.base_url}/v1/setup_intents/{started.setup.setup_ref}/confirm",
                data={"payment_method": fixture, "client_secret": started.client_secret},
                headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
            )
        assert r.status_code == 200, r.text

    async def add_card(self, owner, fixture: str = "pm_card_visa"):
        started = await payments.start_card_setup(owner, "stripe")
        await self.confirm_in_browser(started, fixture)
        return await payments.complete_card_setup(owner, started.setup.id)


def install_gateways(base_url: str, **extra) -> None:
    config = validate_block(
        "stripe_gateway", stripe_gateway.leadwire_plugin_settings(),
        {"api_key": API_KEY, "publishable_key": PUBLISHABLE_KEY, "base_url": base_url, **extra}, {},
    )
    payments.install([
        payments.InstalledGateway(manual_gateway.ManualGateway(), "manual_gateway", {}),
        payments.InstalledGateway(stripe_gateway.StripeGateway(), "stripe_gateway", config),
    ])


@contextlib.asynccontextmanager
async def stripe_env(**extra):
    fake = FakeStripe()
    async with serve_asgi(fake.app) as address:
        install_gateways(f"http://{address}", **extra)
        try:
            yield StripeEnv(fake, address)
        finally:
            payments.install([])


async def run_due_jobs(name: str | None = None, *, rounds: int = 1) -> list[JobStatus | None]:
    """Run every pending job (of ``name``) now, as if its time had come; repeat
    for jobs those jobs write (up to ``rounds`` times)."""
    statuses = []
    for _ in range(rounds):
        qs = OutboxJob.filter(status=JobStatus.PENDING)
        if name:
            qs = qs.filter(name=name)
        ids = await qs.order_by("id").values_list("id", flat=True)
        if not ids:
            break
        await OutboxJob.filter(id__in=ids).update(run_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
        for job_id in ids:
            statuses.append(await run_job(job_id))
    return statuses
