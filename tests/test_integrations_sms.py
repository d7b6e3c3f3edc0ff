"""integrations.twilio_sms against a fake Twilio Messages API served by a real
uvicorn on 127.0.0.1 (auth, form fields and error JSON as Twilio's), and
fit_sms's segment arithmetic."""

from __future__ import annotations

import asyncio
import base64
import re
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
from leadwire.integrations.twilio_sms import GSM7_SINGLE, SmsLength, TwilioConfig, fit_sms, send_sms, sms_length

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfacecafebabe0123456789abcdef"
FROM = "+16175550100"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
BUYER = "+16175550199"
E164 = re.compile(r"\+[1-9]\d{6,14}")


def _twilio_error(status: int, code: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status, headers=headers,
    )


@dataclass
class FakeTwilio:
    """Twilio's Messages resource, with a switch for the faults to play."""

    fault: str | None = None
    sent: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def create_message(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected or request.path_params["account"] != ACCOUNT_SID:
            return _twilio_error(401, 20003, "Authenticate")
        if self.fault == "slow":
            await self.release.wait()
        if self.fault == "rate-limited":
            return _twilio_error(429, 20429, "Too Many Requests", headers={"Retry-After": "7"})
        if self.fault == "down":
            return _twilio_error(500, 20500, "An internal server error has occurred")
        if self.fault == "proxy-html":
            return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", status_code=502)
        if self.fault == "accepted-garbled":
            return PlainTextResponse("queued", status_code=201)
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return _twilio_error(400, 20001, "Unsupported content type")
        form = await request.form()
        to, body = form.get("To"), form.get("Body")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(str(to)):
            return _twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        if len(str(body)) > 1600:
            return _twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        sid = "SM" + uuid.uuid4().hex
        self.sent.append(dict(form))
        return JSONResponse(
            {
                "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": body, "direction": "outbound-api",
                "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_segments": str(sms_length(str(body)).segments), "price": None, "sid": sid, "status": "queued",
                "to": to, "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            status_code=201,
        )

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/2010-04-01/Accounts/{account}/Messages.json", self.create_message, methods=["POST"])
        ])


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def _config(host: str, **overrides) -> TwilioConfig:
    values = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM,
              "base_url": f"http://{host}", "timeout": 2.0}
    return TwilioConfig(**(values | overrides))


def _assert_no_token(failure: DeliveryFailed) -> None:
    for text in (failure.message, str(failure), repr(failure)):
        assert AUTH_TOKEN not in text
        assert base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode() not in text


async def _send_expecting_failure(http, config, **kwargs) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        await send_sms(http, config, **({"to": BUYER, "body": "New lead"} | kwargs))
    _assert_no_token(caught.value)
    return caught.value


async def test_sends_the_form_twilio_expects_and_returns_the_sid(http):
    twilio = FakeTwilio()
    async with serve_asgi(twilio.app()) as host:
        sid = await send_sms(http, _config(host), to=BUYER, body="New lead: Jane Doe, Boston MA")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert twilio.sent == [{"To": BUYER, "From": FROM, "Body": "New lead: Jane Doe, Boston MA"}]


async def test_a_messaging_service_replaces_the_from_number(http):
    twilio = FakeTwilio()
    async with serve_asgi(twilio.app()) as host:
        await send_sms(http, _config(host, from_number="", messaging_service_sid=SERVICE_SID), to=BUYER, body="Hi")
    assert twilio.sent == [{"To": BUYER, "MessagingServiceSid": SERVICE_SID, "Body": "Hi"}]


async def test_wrong_credentials_are_permanent_and_never_quoted(http):
    async with serve_asgi(FakeTwilio().app()) as host:
        failure = await _send_expecting_failure(http, _config(host, auth_token=AUTH_TOKEN[::-1]))
    assert failure.retryable is False
    assert failure.status_code == 401
    assert "20003" in failure.message and "auth token" in failure.message
    assert AUTH_TOKEN[::-1] not in failure.message


async def test_an_invalid_number_is_permanent_with_twilios_code_and_message(http):
    async with serve_asgi(FakeTwilio().app()) as host:
        failure = await _send_expecting_failure(http, _config(host), to="617-555")
    assert (failure.retryable, failure.status_code) == (False, 400)
    assert "Twilio error 21211: Invalid 'To' Phone Number: 617-555" in failure.message
    assert "https://www.twilio.com/docs/errors/21211" in failure.message


async def test_429_is_retryable_after_the_time_twilio_asked(http):
    async with serve_asgi(FakeTwilio(fault="rate-limited").app()) as host:
        failure = await _send_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code, failure.retry_after) == (True, 429, 7.0)
    assert "20429" in failure.message


async def test_500_is_retryable(http):
    async with serve_asgi(FakeTwilio(fault="down").app()) as host:
        failure = await _send_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code, failure.retry_after) == (True, 500, None)


async def test_a_non_json_error_page_is_retryable_and_quoted_briefly(http):
    async with serve_asgi(FakeTwilio(fault="proxy-html").app()) as host:
        failure = await _send_expecting_failure(http, _config(host))
    assert (failure.retryable, failure.status_code) == (True, 502)
    assert "502 Bad Gateway" in failure.message


async def test_an_accepted_message_with_an_unreadable_answer_counts_as_sent(http, caplog):
    # Twilio created the message: failing here would invite a second text to the buyer.
    async with serve_asgi(FakeTwilio(fault="accepted-garbled").app()) as host:
        assert await send_sms(http, _config(host), to=BUYER, body="New lead") == ""
    assert "without a readable SID" in caplog.text


async def test_connection_refused_is_retryable(http):
    failure = await _send_expecting_failure(http, _config(f"127.0.0.1:{free_port()}"))
    assert failure.retryable is True and failure.status_code is None
    assert "network error" in failure.message


async def test_a_slow_answer_times_out_retryably(http):
    twilio = FakeTwilio(fault="slow")
    async with serve_asgi(twilio.app()) as host:
        try:
            failure = await _send_expecting_failure(http, _config(host, timeout=0.2))
        finally:
            twilio.release.set()
    assert failure.retryable is True
    assert "timed out" in failure.message


def test_config_is_checked_and_hides_the_token():
    with pytest.raises(ValueError, match="exactly one"):
        TwilioConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    with pytest.raises(ValueError, match="account_sid"):
        TwilioConfig(account_sid="AC123", auth_token=AUTH_TOKEN, from_number=FROM)
    assert AUTH_TOKEN not in repr(TwilioConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM))


# --- fit_sms -----------------------------------------------------------------


def test_gsm7_exact_limits():
    assert sms_length("a" * 160) == SmsLength("GSM-7", 160, 1)
    assert sms_length("a" * 161).segments == 2
    assert sms_length("a" * 306).segments == 2  # 2 x 153
    assert sms_length("a" * 307).segments == 3
    assert fit_sms("a" * 160) == "a" * 160
    assert fit_sms("a" * 306, max_segments=2) == "a" * 306


def test_gsm7_extension_characters_count_two():
    assert sms_length("€" * 80) == SmsLength("GSM-7", 160, 1)
    assert sms_length("€" * 80 + "a").segments == 2
    assert sms_length("{}[]~|^\\").units == 16
    fitted = fit_sms("Price: " + "€" * 100)
    assert sms_length(fitted).units <= GSM7_SINGLE
    assert fitted.endswith("€...")
    assert fitted == "Price: " + "€" * 75 + "..."  # 7 + 150 + 3 = 160 septets


def test_an_extension_character_is_not_split_between_segments():
    # 152 septets then "€" (2): the escape and its character go to the next segment.
    assert sms_length("a" * 152 + "€" + "a" * 152).segments == 3
    assert sms_length("a" * 151 + "€" + "a" * 153).segments == 2


def test_accented_letters_in_the_gsm_alphabet_stay_gsm7():
    assert sms_length("Zoé Müller, Malmö, Señor José, Ça va? 50£ ¥ §").encoding == "GSM-7"
    assert sms_length("Zoë").encoding == "UCS-2"  # ë is not in the GSM alphabet
    assert sms_length("Łukasz").encoding == "UCS-2"
    assert sms_length("tab\there").encoding == "UCS-2"  # no tab in GSM-7


def test_emoji_switch_to_ucs2_and_count_two_code_units():
    assert sms_length("😀").encoding == "UCS-2"
    assert sms_length("😀" * 35) == SmsLength("UCS-2", 70, 1)
    assert sms_length("😀" * 35 + "a").segments == 2
    assert sms_length("é" * 70 + "Ł").segments == 2  # 71 > 70
    assert sms_length("Ł" * 134).segments == 2  # 2 x 67
    assert sms_length("Ł" * 135).segments == 3


def test_truncation_never_splits_a_surrogate_pair_and_uses_a_one_unit_ellipsis():
    fitted = fit_sms("a" + "😀" * 40)
    assert fitted == "a" + "😀" * 34 + "…"  # 1 + 68 + 1 = 70 code units
    assert sms_length(fitted) == SmsLength("UCS-2", 70, 1)
    fitted.encode("utf-16-le")  # a lone surrogate would raise


def test_the_ellipsis_keeps_a_gsm7_text_gsm7():
    fitted = fit_sms("x" * 200)
    assert fitted == "x" * 157 + "..."
    assert sms_length(fitted).encoding == "GSM-7"


def test_dropping_the_only_emoji_can_keep_more_text():
    text = "New lead: " + "x" * 150 + " 🚚"
    fitted = fit_sms(text)
    assert fitted == "New lead: " + "x" * 147 + "..."
    assert sms_length(fitted).encoding == "GSM-7"


def test_a_ucs2_text_is_cut_to_67_per_segment_when_several_are_allowed():
    fitted = fit_sms("Ł" * 500, max_segments=3)
    assert fitted == "Ł" * 200 + "…"
    assert sms_length(fitted).segments == 3


def test_visible_symbols_are_not_broken_apart():
    # 59 + 2 flags (8) + half a flag (2) + "…" would be exactly 70 code units.
    flags = "🇺🇸" * 10  # regional-indicator pairs, 4 code units each
    fitted = fit_sms("a" * 59 + flags)
    assert fitted == "a" * 59 + "🇺🇸" * 2 + "…"
    # 64 + "👨" + ZWJ + "👩" + "…" would be exactly 70 code units.
    family = "👨\u200d👩\u200d👧"  # 8 code units joined by ZWJ
    fitted = fit_sms("Ł" * 64 + family + "b" * 10)
    assert fitted == "Ł" * 64 + "…"
    combining = "e\u0301" * 100  # é as e + combining acute: never cut between them
    assert fit_sms(combining).endswith("e\u0301…")


def test_trailing_spaces_go_before_the_ellipsis_and_short_texts_are_untouched():
    assert fit_sms("a" * 156 + "    " + "b" * 50) == "a" * 156 + "..."
    assert fit_sms("") == ""
    assert fit_sms("Hi 👋") == "Hi 👋"


def test_max_segments_is_bounded():
    with pytest.raises(ValueError):
        fit_sms("x", max_segments=0)
    with pytest.raises(ValueError):
        fit_sms("x", max_segments=11)
