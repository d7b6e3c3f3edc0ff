"""Twilio Programmable Voice: TwiML answers for an inbound call, the
``X-Twilio-Signature`` check of Twilio's webhooks, and reading their
parameters.

Signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
take the full URL Twilio requested (scheme, host, path and query string),
append every POST parameter sorted by name as name followed by value with no
delimiters, sign that with HMAC-SHA1 keyed by the account's auth token and
base64-encode the digest. A request whose header does not match is not from
Twilio.

Knows nothing of Leadwire: plain strings and dataclasses in, strings out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "DialStatus", "compute_signature", "dial", "gather", "hangup", "parse_dial", "parse_inbound", "say", "signature_valid",
]

SIGNATURE_HEADER = "X-Twilio-Signature"


def compute_signature(auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The X-Twilio-Signature Twilio sends for a POST of ``params`` to ``url``."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    data = url + "".join(k + v for k, v in sorted(pairs, key=lambda kv: kv[0]))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(
    auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not auth_token or not signature:
        return False
    return hmac.compare_digest(compute_signature(auth_token, url, params), signature)


# -- TwiML ------------------------------------------------------------------------------


def _response(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def _say(message: str) -> str:
    return f"<Say>{escape(message)}</Say>"


def say(message: str, *, hangup: bool = True) -> str:
    """Speak ``message`` and hang up."""
    return _response(_say(message), "<Hangup/>" if hangup else "")


def hangup() -> str:
    return _response("<Hangup/>")


def dial(
    number: str, *, timeout: int, action: str, status_callback: str = "", caller_id: str = "", record: bool = False,
    announce: str = "",
) -> str:
    """Connect the caller to ``number``; after ``timeout`` seconds unanswered
    (or when the call ends) Twilio requests ``action`` with DialCallStatus,
    DialCallDuration and, if recorded, RecordingUrl."""
    attrs = [f"timeout={quoteattr(str(int(timeout)))}", f"action={quoteattr(action)}", 'method="POST"']
    if caller_id:
        attrs.append(f"callerId={quoteattr(caller_id)}")
    if record:
        attrs.append('record="record-from-answer-dual"')
    number_attrs = ""
    if status_callback:
        number_attrs = (f" statusCallback={quoteattr(status_callback)}"
                        ' statusCallbackEvent="initiated ringing answered completed" statusCallbackMethod="POST"')
    return _response(_say(announce) if announce else "",
                     f"<Dial {' '.join(attrs)}><Number{number_attrs}>{escape(number)}</Number></Dial>")


def gather(prompt: str, *, action: str, num_digits: int, timeout: int = 6) -> str:
    """Ask the caller to key in ``num_digits`` digits, posted to ``action`` as
    Digits; with no input Twilio posts to ``action`` all the same, with Digits
    empty (actionOnEmptyResult)."""
    return _response(
        f"<Gather input=\"dtmf\" numDigits={quoteattr(str(num_digits))} timeout={quoteattr(str(timeout))} "
        f"action={quoteattr(action)} method=\"POST\" actionOnEmptyResult=\"true\">{_say(prompt)}</Gather>"
    )


# -- webhook parameters --------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    call_sid: str
    caller: str  # From
    called: str  # To
    digits: str | None  # Digits, after a <Gather>
    call_status: str  # CallStatus (ringing, in-progress, completed, busy, failed, no-answer, canceled)
    duration_seconds: int  # CallDuration, on the final status callback


def parse_inbound(params: Mapping[str, str]) -> Inbound:
    return Inbound(
        call_sid=params.get("CallSid", ""),
        caller=params.get("From", ""),
        called=params.get("To", ""),
        digits=params.get("Digits"),
        call_status=params.get("CallStatus", ""),
        duration_seconds=_int(params.get("CallDuration")),
    )


class DialStatus:
    """Values of DialCallStatus."""

    COMPLETED = "completed"  # answered, then hung up
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class DialOutcome:
    call_sid: str
    dial_status: str  # DialCallStatus
    duration_seconds: int  # DialCallDuration: how long the dialed party was connected
    recording_url: str  # RecordingUrl, when the dial was recorded


def parse_dial(params: Mapping[str, str]) -> DialOutcome:
    return DialOutcome(
        call_sid=params.get("CallSid", ""),
        dial_status=params.get("DialCallStatus", ""),
        duration_seconds=_int(params.get("DialCallDuration")),
        recording_url=params.get("RecordingUrl", ""),
    )


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
