"""Text messages through Twilio Programmable Messaging (the Messages API),
and fitting a text into SMS segments.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the
form fields To, From (or MessagingServiceSid) and Body, HTTP basic auth with
the Account SID and auth token. Twilio has no idempotency key for this call:
a retry after an answer that was lost can send the buyer a second text, so
this client only reports failures that did not create a message as retryable,
except a timed-out answer, which cannot be told apart.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import httpx

from .delivery_errors import classify_http, snippet, transport_failure

__all__ = ["SmsLength", "TwilioConfig", "fit_sms", "send_sms", "sms_length"]

log = logging.getLogger(__name__)

SERVICE = "Twilio"
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass(frozen=True, kw_only=True)
class TwilioConfig:
    """An account and a sender: a Twilio number (``from_number``, E.164) or a
    Messaging Service (``messaging_service_sid``, MG...), exactly one."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str = ""
    messaging_service_sid: str = ""
    base_url: str = "https://api.twilio.com"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not _ACCOUNT_SID.fullmatch(self.account_sid):
            raise ValueError("account_sid must be AC followed by 32 hexadecimal digits")
        if not self.auth_token:
            raise ValueError("auth_token is required")
        if bool(self.from_number) == bool(self.messaging_service_sid):
            raise ValueError("give exactly one of from_number and messaging_service_sid")
        if self.messaging_service_sid and not _MESSAGING_SERVICE_SID.fullmatch(self.messaging_service_sid):
            raise ValueError("messaging_service_sid must be MG followed by 32 hexadecimal digits")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// or http://")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")


async def send_sms(http: httpx.AsyncClient, config: TwilioConfig, *, to: str, body: str) -> str:
    """Ask Twilio to send ``body`` to ``to`` (E.164); returns the message SID
    (``SM...``), or "" if Twilio accepted the message with an unreadable answer.

    Raises :class:`DeliveryFailed`: retryable for 429 (with Retry-After), 5xx,
    timeouts and connection failures; permanent for other 4xx, with Twilio's
    error code and message (21211 invalid To, 21610 unsubscribed recipient,
    20003 bad credentials...).
    """
    url = f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
    form = {"To": to, "Body": body}
    if config.messaging_service_sid:
        form["MessagingServiceSid"] = config.messaging_service_sid
    else:
        form["From"] = config.from_number
    try:
        response = await http.post(
            url,
            data=form,
            auth=httpx.BasicAuth(config.account_sid, config.auth_token),
            headers={"Accept": "application/json"},
            timeout=config.timeout,
            follow_redirects=False,
        )
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        raise transport_failure(exc, service=SERVICE) from None
    secrets = (config.auth_token,)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if 200 <= response.status_code <= 299:
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if isinstance(sid, str) and sid:
            return sid
        # Twilio said yes: the message exists and will be sent. Raising here
        # (even as permanent) would mark the delivery failed and invite a
        # resend, i.e. a second text to the buyer; a missing SID only costs
        # the delivery log its reference.
        log.warning("Twilio accepted a message (HTTP %s) without a readable SID", response.status_code)
        return ""
    failure = classify_http(response, service=SERVICE, detail=_error_detail(response, answer), secrets=secrets)
    assert failure is not None
    raise failure


def _error_detail(response: httpx.Response, answer: object) -> str:
    """Twilio's error JSON: {"code": 21211, "message": "...", "more_info": "...", "status": 400}."""
    if isinstance(answer, dict) and ("code" in answer or "message" in answer):
        code, message = answer.get("code"), answer.get("message")
        detail = f"Twilio error {code}: {snippet(str(message or ''))}"
        if answer.get("more_info"):
            detail += f" ({snippet(str(answer['more_info']), 100)})"
    else:
        detail = f"unexpected body: {snippet(response.text, 100)}" if response.text.strip() else ""
    if response.status_code == 401:
        detail += " - check the Account SID and auth token"
    return detail


# ---------------------------------------------------------------------------
# SMS length: GSM-7 vs UCS-2 and segments.

# 3GPP TS 23.038 default alphabet (ESC, 0x1B, is not a character) ...
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# ... and its extension table: ESC + character, two septets each.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PER_SEGMENT = 160, 153  # septets; a multi-part header takes 7
UCS2_SINGLE, UCS2_PER_SEGMENT = 70, 67  # UTF-16 code units
MAX_SEGMENTS = 10  # Twilio's advice; its hard limit is 1,600 characters

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsLength:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # the messages the carrier sends and bills


def _is_gsm7(text: str) -> bool:
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text)


def _units(text: str, encoding: Encoding) -> list[int]:
    """Per character: septets in GSM-7, UTF-16 code units in UCS-2. An
    extension character or a surrogate pair is never split between segments."""
    if encoding == "GSM-7":
        return [2 if c in _GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_length(text: str) -> SmsLength:
    """How ``text`` travels: GSM-7 if every character is in the GSM alphabet,
    else UCS-2, and how many segments that takes."""
    encoding: Encoding = "GSM-7" if _is_gsm7(text) else "UCS-2"
    single, per_segment = (GSM7_SINGLE, GSM7_PER_SEGMENT) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PER_SEGMENT)
    units = _units(text, encoding)
    total = sum(units)
    if total <= single:
        return SmsLength(encoding, total, 1)
    segments, used = 1, 0
    for u in units:
        if used + u > per_segment:
            segments, used = segments + 1, 0
        used += u
    return SmsLength(encoding, total, segments)


def fit_sms(text: str, *, max_segments: int = 1) -> str:
    """``text`` unchanged if it fits in ``max_segments`` segments, else its
    longest prefix that fits followed by an ellipsis.

    The default is one segment: a lead text is a courtesy alert (the
    dashboard is the record), every segment is billed per lead, and a single
    segment arrives whole on every handset. Raise it for richer texts.

    The ellipsis is "..." while the kept text is GSM-7 ("…" is not in the GSM
    alphabet and would turn the whole text into UCS-2, shrinking a segment
    from 160 to 70 characters), "…" otherwise. A cut that drops the only
    non-GSM characters may keep more text, so both are tried. Cuts never fall
    inside a character (surrogate pairs are whole code points here) nor, as
    far as cheaply possible, inside a visible symbol: before a combining mark,
    a variation selector, a skin-tone modifier, after a zero-width joiner, or
    between the two halves of a flag.
    """
    if not 1 <= max_segments <= MAX_SEGMENTS:
        raise ValueError(f"max_segments must be between 1 and {MAX_SEGMENTS}")
    if sms_length(text).segments <= max_segments:
        return text
    options = [_longest_fit(text, ellipsis, max_segments) for ellipsis in ("...", "…")]
    # Most text kept wins; on a tie "..." if that stays GSM-7, else the tidier "…".
    _kept, result = max(options, key=lambda o: (o[0], o[1].endswith("…") or _is_gsm7(o[1])))
    return result


def _longest_fit(text: str, ellipsis: str, max_segments: int) -> tuple[int, str]:
    """(characters kept, shortened text). Binary search: segments only grow as
    the prefix grows."""

    def kept(n: int) -> str:
        return text[: _safe_cut(text, n)].rstrip()

    def shortened(n: int) -> str:
        return kept(n) + ellipsis

    low, high = 0, len(text)  # shortened(low) is assumed to fit; find the largest n that does
    while low < high:
        mid = (low + high + 1) // 2
        if sms_length(shortened(mid)).segments <= max_segments:
            low = mid
        else:
            high = mid - 1
    return len(kept(low)), shortened(low)


_ZWJ = "\u200d"


def _continues_symbol(c: str) -> bool:
    o = ord(c)
    return (
        unicodedata.category(c) in ("Mn", "Me", "Mc")
        or c == _ZWJ
        or 0xFE00 <= o <= 0xFE0F  # variation selectors (text/emoji presentation)
        or 0x1F3FB <= o <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= o <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def _safe_cut(text: str, n: int) -> int:
    """The largest cut <= n that does not break a visible symbol apart."""
    while 0 < n < len(text):
        if _continues_symbol(text[n]) or text[n - 1] == _ZWJ:
            n -= 1
            continue
        if _is_regional_indicator(text[n]) and _is_regional_indicator(text[n - 1]):
            run = 0
            while n - 1 - run >= 0 and _is_regional_indicator(text[n - 1 - run]):
                run += 1
            if run % 2 == 1:  # text[n - 1] opens a flag that text[n] closes
                n -= 1
                continue
        break
    return n
