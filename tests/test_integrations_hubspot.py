"""integrations.hubspot against a fake HubSpot CRM (contacts v3) served by a
real uvicorn on 127.0.0.1: bearer auth and scopes, e-mail uniqueness with
HubSpot's 409 CONFLICT message, validation errors, rate limits and faults."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from loopback import free_port, serve_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.integrations.hubspot import HubSpotConfig, parse_existing_id, upsert_contact

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
READ_ONLY_TOKEN = "pat-na1-99999999-8888-7777-6666-555555555555"
KNOWN_PROPERTIES = {"email", "firstname", "lastname", "phone", "zip", "city", "state", "lead_source", "move_size"}


def _error(status: int, category: str, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category} | extra
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class FakeHubSpot:
    """The contacts object API: ids are numeric strings, e-mail is unique."""

    fault: str | None = None
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    next_id: int = 51

    def _auth(self, request: Request) -> Response | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token == READ_ONLY_TOKEN:
            return _error(
                403, "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. Read more about required "
                "scopes here: https://developers.hubspot.com/scopes.",
                errors=[{"message": "One of the following scopes is required: [crm.objects.contacts.write]"}],
            )
        if token != TOKEN:
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports "
                          "OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com")
        return None

    async def _properties(self, request: Request) -> dict[str, str] | Response:
        try:
            body = await request.json()
            properties = body["properties"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        wrong = [name for name, value in properties.items() if name not in KNOWN_PROPERTIES or not isinstance(value, str)]
        if wrong:
            return _error(400, "VALIDATION_ERROR", "Property values were not valid: "
                          f'[{{"isValid":false,"message":"Property \\"{wrong[0]}\\" does not exist",'
                          f'"error":"PROPERTY_DOESNT_EXIST","name":"{wrong[0]}"}}]')
        return properties

    def _contact(self, contact_id: str, status: int) -> JSONResponse:
        now = "2024-05-01T12:00:00.000Z"
        return JSONResponse({"id": contact_id, "properties": self.contacts[contact_id] | {"hs_object_id": contact_id},
                             "createdAt": now, "updatedAt": now, "archived": False}, status_code=status)

    async def create(self, request: Request) -> Response:
        self.calls.append("POST")
        if refused := self._auth(request):
            return refused
        if self.fault == "slow":
            await self.release.wait()
        if self.fault == "rate-limited":
            return JSONResponse({"status": "error", "message": "You have reached your secondly limit.",
                                 "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                                 "policyName": "SECONDLY"}, status_code=429, headers={"Retry-After": "2"})
        if self.fault == "down":
            return _error(502, "INTERNAL_ERROR", "Bad Gateway")
        if self.fault == "conflict-without-id":
            return _error(409, "CONFLICT", "Contact already exists.")
        properties = await self._properties(request)
        if isinstance(properties, Response):
            return properties
        for contact_id, existing in self.contacts.items():
            if properties.get("email") and existing.get("email") == properties["email"]:
                return _error(409, "CONFLICT", f"Contact already exists. Existing ID: {contact_id}")
        contact_id, self.next_id = str(self.next_id), self.next_id + 1
        self.contacts[contact_id] = dict(properties)
        if self.fault == "garbled-once":
            self.fault = None
            return PlainTextResponse("Created", status_code=201)
        return self._contact(contact_id, 201)

    async def update(self, request: Request) -> Response:
        self.calls.append("PATCH")
        if refused := self._auth(request):
            return refused
        contact_id = request.path_params["contact_id"]
        if self.fault == "deleted-before-update":
            self.contacts.pop(contact_id, None)
        if contact_id not in self.contacts:
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        properties = await self._properties(request)
        if isinstance(properties, Response):
            return properties
        self.contacts[contact_id].update(properties)
        return self._contact(contact_id, 200)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/crm/v3/objects/contacts", self.create, methods=["POST"]),
            Route("/crm/v3/objects/contacts/{contact_id}", self.update, methods=["PATCH"]),
        ])


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def _config(host: str, token: str = TOKEN, timeout: float = 2.0) -> HubSpotConfig:
    return HubSpotConfig(access_token=token, base_url=f"http://{host}", timeout=timeout)


LEAD = {"email": "jane.doe@example.com", "firstname": "Jane", "lastname": "Doe", "phone": "+16175550100",
        "zip": "02108", "move_size": "2 bedrooms"}


async def _upsert_expecting_failure(http, config, properties=None) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        await upsert_contact(http, config, LEAD if properties is None else properties)
    for text in (caught.value.message, str(caught.value), repr(caught.value)):
        assert config.access_token not in text
    return caught.value


async def test_creates_a_contact_and_returns_its_id(http):
    hubspot = FakeHubSpot()
    async with serve_asgi(hubspot.app()) as host:
        contact_id = await upsert_contact(http, _config(host), LEAD | {"lead_source": None})
    assert contact_id == "51"
    assert hubspot.contacts == {"51": LEAD}  # None values are left out


async def test_an_existing_email_updates_that_contact(http):
    hubspot = FakeHubSpot(contacts={"7": {"email": "jane.doe@example.com", "firstname": "J", "city": "Boston"}})
    async with serve_asgi(hubspot.app()) as host:
        contact_id = await upsert_contact(http, _config(host), LEAD)
    assert contact_id == "7"
    assert hubspot.calls == ["POST", "PATCH"]
    assert hubspot.contacts["7"] == LEAD | {"city": "Boston"}
    assert len(hubspot.contacts) == 1


async def test_values_travel_as_hubspot_strings(http):
    hubspot = FakeHubSpot()
    async with serve_asgi(hubspot.app()) as host:
        await upsert_contact(http, _config(host), {"email": "a@example.com", "move_size": 3, "state": True})
    assert hubspot.contacts["51"] == {"email": "a@example.com", "move_size": "3", "state": "true"}


def test_the_existing_id_is_read_from_hubspots_message():
    assert parse_existing_id("Contact already exists. Existing ID: 12345") == "12345"
    assert parse_existing_id("Contact already exists.") is None


async def test_an_invalid_token_is_permanent_and_says_so(http):
    async with serve_asgi(FakeHubSpot().app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host, token="pat-na1-revoked-token-000"))
    assert (failure.retryable, failure.status_code) == (False, 401)
    assert "invalid, expired or revoked" in failure.message
    assert "pat-na1-revoked-token-000" not in failure.message


async def test_a_token_without_the_write_scope_is_permanent_and_names_the_scope(http):
    async with serve_asgi(FakeHubSpot().app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host, token=READ_ONLY_TOKEN))
    assert (failure.retryable, failure.status_code) == (False, 403)
    assert "crm.objects.contacts.write" in failure.message


async def test_an_unknown_property_is_a_permanent_validation_error(http):
    async with serve_asgi(FakeHubSpot().app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host), LEAD | {"budget": "5000"})
    assert (failure.retryable, failure.status_code) == (False, 400)
    assert failure.message.startswith("HubSpot answered HTTP 400 Bad Request: VALIDATION_ERROR: ")
    assert 'Property \\"budget\\" does not exist' in failure.message


async def test_a_conflict_without_an_id_is_permanent(http):
    async with serve_asgi(FakeHubSpot(fault="conflict-without-id").app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code) == (False, 409)


async def test_a_contact_deleted_between_create_and_update_is_retried(http):
    hubspot = FakeHubSpot(fault="deleted-before-update", contacts={"7": {"email": "jane.doe@example.com"}})
    async with serve_asgi(hubspot.app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host))
        assert (failure.retryable, failure.status_code) == (True, 404)
        hubspot.fault = None
        assert await upsert_contact(http, _config(host), LEAD) == "51"  # the retry creates it


async def test_429_is_retryable_after_the_time_hubspot_asked(http):
    async with serve_asgi(FakeHubSpot(fault="rate-limited").app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code, failure.retry_after) == (True, 429, 2.0)
    assert "RATE_LIMIT: You have reached your secondly limit." in failure.message


async def test_a_5xx_is_retryable(http):
    async with serve_asgi(FakeHubSpot(fault="down").app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code) == (True, 502)


async def test_an_unreadable_created_answer_is_retried_and_the_retry_finds_the_contact(http):
    hubspot = FakeHubSpot(fault="garbled-once")
    async with serve_asgi(hubspot.app()) as host:
        failure = await _upsert_expecting_failure(http, _config(host))
        assert (failure.retryable, failure.status_code) == (True, 201)
        assert "without a contact id" in failure.message
        assert await upsert_contact(http, _config(host), LEAD) == "51"
    assert list(hubspot.contacts) == ["51"]  # one contact, not two
    assert hubspot.calls == ["POST", "POST", "PATCH"]


async def test_without_an_email_an_unreadable_created_answer_counts_as_done(http):
    # A retry could not be matched to the contact and would create a duplicate.
    hubspot = FakeHubSpot(fault="garbled-once")
    async with serve_asgi(hubspot.app()) as host:
        assert await upsert_contact(http, _config(host), {"phone": "+16175550100"}) == ""
    assert len(hubspot.contacts) == 1


async def test_connection_refused_is_retryable(http):
    failure = await _upsert_expecting_failure(http, _config(f"127.0.0.1:{free_port()}"))
    assert failure.retryable is True and failure.status_code is None


async def test_a_slow_answer_times_out_retryably(http):
    hubspot = FakeHubSpot(fault="slow")
    async with serve_asgi(hubspot.app()) as host:
        try:
            failure = await _upsert_expecting_failure(http, _config(host, timeout=0.2))
        finally:
            hubspot.release.set()
    assert failure.retryable is True
    assert "timed out" in failure.message


def test_config_rejects_a_token_that_cannot_travel_in_a_header():
    with pytest.raises(ValueError, match="access_token"):
        HubSpotConfig(access_token="pat-na1 with spaces")
    with pytest.raises(ValueError, match="access_token"):
        HubSpotConfig(access_token="")
    assert TOKEN not in repr(HubSpotConfig(access_token=TOKEN))
