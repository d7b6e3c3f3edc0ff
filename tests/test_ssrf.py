"""The SSRF guard: outgoing requests go only to public addresses, checked when
a campaign's URL is saved and again when connecting (after DNS resolution,
connecting to the address that was checked). The rest of the suite runs with
LEADWIRE_ALLOW_PRIVATE_NETWORKS=true (conftest) for its loopback receivers;
these tests turn it off."""

import asyncio
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadwire.core import http
from leadwire.integrations import netguard
from leadwire.integrations.delivery_errors import transport_failure
from leadwire.integrations.signed_webhook import post as webhook_post
from leadwire.integrations.delivery_errors import DeliveryFailed

from loopback import serve_asgi
from test_graphql_delivery import CAMPAIGN, partner_with_campaign, recorder  # noqa: F401  (fixture)
from test_graphql_marketplace import world  # noqa: F401  (fixture)

REFUSED = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.1/admin",
    "http://100.64.0.1/",
    "http://0.0.0.0:5432/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://intranet/hook",
    "http://printer.local/",
    "ftp://crm.example.com/",
    "https://crm.example.com:99999/",
]
ALLOWED = ["https://crm.example.com/leads?token=abc", "https://93.184.216.34/hook", "http://[2606:4700::1111]/"]


@pytest.fixture
def guarded(monkeypatch):
    monkeypatch.setenv(http.ALLOW_PRIVATE_ENV, "false")


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_destinations_are_refused_without_the_network(guarded, url):
    assert http.url_problem(url), url


@pytest.mark.parametrize("url", ALLOWED)
def test_public_destinations_pass(guarded, url):
    assert http.url_problem(url) is None


def test_the_setting_allows_private_networks(monkeypatch):
    monkeypatch.setenv(http.ALLOW_PRIVATE_ENV, "true")
    assert http.url_problem("http://127.0.0.1:8000/hook") is None


async def test_a_campaign_webhook_to_the_metadata_service_is_refused_on_save(guarded, world, client_factory, recorder):
    partner, campaign_id = await partner_with_campaign(client_factory, world)
    for url in ("https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/hook", "https://2130706433/"):
        bad = await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "channels": {
            "recorder": {"url": url, "token": "tok-123"}}}})
        [error] = bad["updateCampaign"]["userErrors"]
        assert error["field"] == "channels.recorder.url" and error["code"] == "INVALID"
        assert "only public internet addresses are allowed" in error["message"]
        assert bad["updateCampaign"]["campaign"] is None
    read = await partner.data("query($id: ID!) { node(id: $id) { ... on Campaign { channels } } }", {"id": campaign_id})
    assert read["node"]["channels"] in ({}, None)  # nothing saved
    good = await partner.data(CAMPAIGN, {"i": {"campaignId": campaign_id, "channels": {
        "recorder": {"url": "https://crm.example.com/leads", "token": "tok-123"}}}})
    assert good["updateCampaign"]["userErrors"] == []


def _receiver():
    hits = []

    async def hook(request: Request):
        hits.append((request.headers.get("host"), await request.body()))
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), hits


def _fake_dns(monkeypatch, answers: list[str]):
    """The attacker's DNS: the buyer's host name resolves to ``answers``."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    asked = []

    async def getaddrinfo(host, port, *args, **kwargs):
        if host == "hooks.buyer.example":
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers]
        return await real(host, port, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


async def test_connections_to_loopback_are_refused_and_nothing_is_sent(guarded, monkeypatch):
    app, hits = _receiver()
    async with serve_asgi(app) as address:
        port = address.split(":")[1]
        with pytest.raises(netguard.BlockedDestination, match="127.0.0.1 is a loopback address"):
            await http.client().post(f"http://{address}/hook", json={"lead": 1})
        # A name that passed the save-time check, rebound to loopback at delivery time.
        asked = _fake_dns(monkeypatch, ["127.0.0.1"])
        with pytest.raises(DeliveryFailed) as failure:
            await webhook_post(http.client(), f"http://hooks.buyer.example:{port}/hook?token=s3cret", {"lead": 1},
                               secret="x" * 32, idempotency_key="k1", timeout=5)
        assert asked and not failure.value.retryable
        assert "loopback" in failure.value.message and "s3cret" not in failure.value.message
    assert hits == []
    await http.close()


async def test_every_answer_is_checked_and_the_checked_address_is_the_one_connected(monkeypatch):
    """With private networks allowed, resolution is the system's; with the guard
    on, a public answer is used as-is: here the fake DNS answers only a private
    and a metadata address, so the guard refuses without connecting anywhere."""
    monkeypatch.setenv(http.ALLOW_PRIVATE_ENV, "false")
    _fake_dns(monkeypatch, ["10.1.2.3", "169.254.169.254"])
    with pytest.raises(netguard.BlockedDestination) as refused:
        await netguard.resolve_public("hooks.buyer.example", 443)
    assert "10.1.2.3 is a private network address" in str(refused.value)
    assert "169.254.169.254 is a link-local address" in str(refused.value)
    _fake_dns(monkeypatch, ["10.1.2.3", "93.184.216.34"])
    assert await netguard.resolve_public("hooks.buyer.example", 443) == "93.184.216.34"


async def test_guard_off_connects_to_loopback(monkeypatch):
    monkeypatch.setenv(http.ALLOW_PRIVATE_ENV, "true")
    app, hits = _receiver()
    async with serve_asgi(app) as address:
        response = await http.client().post(f"http://{address}/hook", json={"lead": 1})
    assert response.status_code == 200 and len(hits) == 1
    await http.close()


def test_a_refusal_is_a_permanent_delivery_failure():
    failure = transport_failure(netguard.BlockedDestination("refused to connect: 10.0.0.1 is a private network address"),
                                service="Webhook")
    assert not failure.retryable and "private network" in failure.message
