"""The example third-party plugin in examples/ is pip-installed for real, found
through the `leadwire` entry point, configured from plugins.toml, listed by
`leadwire plugins`, and delivers a sold lead to a real local chat server."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from leadwire.core import delivery, extensions, industries, routing
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import OutboxJob
from leadwire.core.models.delivery import Delivery, DeliveryStatus
from leadwire.plugins.manager import load_plugins

from loopback import serve_asgi
from market import Market

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "leadwire-chat-channel"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """`pip install` of the example into its own directory (the test venv stays as it is)."""
    site = tmp_path_factory.mktemp("site")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(EXAMPLE)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert list(site.glob("leadwire_chat_channel-1.0.0.dist-info"))
    return site


def test_leadwire_plugins_lists_the_installed_example(installed_example, tmp_path):
    (tmp_path / "plugins.toml").write_text('[plugin.chat_channel]\nusername = "Lead bot"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
    env.update(PYTHONPATH=str(installed_example), LEADWIRE_SECRET_KEY="k" * 40, LEADWIRE_ENV="test")
    out = subprocess.run([sys.executable, "-m", "leadwire", "plugins"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    block = out.stdout[out.stdout.index("chat_channel"):]
    assert "entry point: leadwire-chat-channel==1.0.0" in block.splitlines()[0]
    assert "leadwire_register_delivery_channels" in block and "Lead bot" in block


async def test_the_example_delivers_a_sold_lead_to_a_real_chat_server(installed_example, db, tmp_path, monkeypatch):
    received = []

    async def incoming_webhook(request: Request):
        received.append((request.headers.get("idempotency-key"), await request.json()))
        return PlainTextResponse("ok")

    chat = Starlette(routes=[Route("/hooks/T0/B0/secret", incoming_webhook, methods=["POST"])])
    monkeypatch.syspath_prepend(str(installed_example))
    importlib.invalidate_caches()
    (tmp_path / "plugins.toml").write_text('[plugin.chat_channel]\nusername = "Lead bot"\ntimeout_seconds = 5.0\n')
    try:
        load_plugins(tmp_path / "plugins.toml")
        assert delivery.channel("chat").plugin == "chat_channel"
        m = await Market().setup()
        _, owner = await m.partner()
        async with serve_asgi(chat) as address:
            url = f"http://{address}/hooks/T0/B0/secret"
            await m.campaign(owner, await m.offer(m.local), channels={"chat": {"webhook_url": url, "mention": "@here"}})
            lead = await m.lead()
            await routing.route_lead(lead.id)
            [d] = await Delivery.all()
            [job] = await OutboxJob.filter(name="deliver")
            await OutboxJob.filter(id=job.id).update(run_after=dt.datetime.now(dt.timezone.utc))
            await run_job(job.id)
        await d.refresh_from_db()
        assert d.status == DeliveryStatus.DELIVERED, d.last_error
        [(key, body)] = received
        assert key == d.idempotency_key and body["username"] == "Lead bot"
        assert body["text"].startswith("@here New Local moving lead: Casey Mover") and "Move size: 2_bedrooms" in body["text"]
    finally:
        industries.install([])
        delivery.install([])
        extensions.install(None)
