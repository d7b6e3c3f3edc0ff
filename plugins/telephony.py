"""The contract of a telephony provider plugin (call leads, core.calls).

A provider plugin returns :class:`TelephonyProvider` objects from the
``leadwire_register_telephony_providers`` hook. Leadwire serves each
provider's webhooks under ``/telephony/<name>/...`` and calls the provider by
that name to:

- :meth:`TelephonyProvider.verify`: check that a webhook request really comes
  from the provider (its signature), before anything of it is read;
- :meth:`TelephonyProvider.parse_inbound` / :meth:`parse_dial_result` /
  :meth:`parse_call_status`: turn the provider's parameters into plain
  dataclasses (the caller, the keyed-in digits, whether the buyer answered,
  how long they talked, the recording link);
- :meth:`TelephonyProvider.render`: turn Leadwire's routing instruction
  (:class:`Connect`, :class:`Say`, :class:`AskDigits`, :class:`Hangup`) into the provider's
  answer (TwiML for Twilio).

Methods are synchronous and pure: no I/O, so a webhook is answered fast.

Besides its own settings, a provider's block in plugins.toml may carry the
call settings Leadwire reads (:data:`CALL_SETTINGS`): include them in the
plugin's ``leadwire_plugin_settings``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from leadwire.plugins.config import Setting

__all__ = [
    "AskDigits", "CALL_SETTINGS", "CallEnded", "Connect", "DialOutcome", "DialResult", "Hangup", "InboundCall", "Say",
    "TelephonyProvider", "WebhookRequest", "WebhookResponse",
]

CALL_SETTINGS = (
    Setting("public_url", description="The public base URL of this Leadwire (https://leads.example.com): webhook URLs "
            "are built from it and signatures are checked against it. Empty: the URL of each request."),
    Setting("ring_timeout_seconds", type="int", default=20,
            description="How long a buyer's phone rings before the call goes to the next campaign (5 to 120)."),
    Setting("missed_calls_to_pause", type="int", default=3,
            description="Missed calls in a row after which a campaign is paused and its owner told why (1 to 100)."),
    Setting("fallback_message", default="Sorry, nobody can take your call right now. Please call again during "
            "business hours.", description="Said when no campaign can take a call (outside every schedule...), "
            "unless the tracking number has its own."),
    Setting("record_calls", type="bool", default=False, description="Record connected calls (the buyer sees the link)."),
)


@dataclass(frozen=True)
class WebhookRequest:
    url: str  # the full public URL the provider requested, query string included
    params: Mapping[str, str]  # the POST form parameters
    headers: Mapping[str, str]  # lower-case names
    plugin_config: Mapping[str, Any]  # the provider plugin's validated plugins.toml block


@dataclass(frozen=True)
class WebhookResponse:
    body: str
    content_type: str = "text/xml"


@dataclass(frozen=True)
class InboundCall:
    call_id: str  # the provider's id of the call (Twilio CallSid): the same on every webhook of it
    caller: str  # the caller's number, E.164 when the provider knows it
    called: str  # the tracking number dialled, E.164
    digits: str | None = None  # what the caller keyed in at an AskDigits prompt


class DialOutcome(str, Enum):
    ANSWERED = "answered"  # the buyer picked up (connected_seconds says how long)
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELED = "canceled"  # the caller hung up while it rang


@dataclass(frozen=True)
class DialResult:
    call_id: str
    outcome: DialOutcome
    connected_seconds: int = 0
    recording_url: str = ""


@dataclass(frozen=True)
class CallEnded:
    """The provider's final status of the whole inbound call (None if the webhook is not a final one)."""

    call_id: str
    duration_seconds: int = 0


@dataclass(frozen=True)
class Connect:
    """Ring ``number``; after ``timeout_seconds`` without an answer, or when the
    connected call ends, request ``action_url`` (then :meth:`parse_dial_result`)."""

    number: str
    timeout_seconds: int
    action_url: str
    status_url: str = ""
    record: bool = False
    caller_id: str = ""


@dataclass(frozen=True)
class Say:
    """Say ``message`` and hang up."""

    message: str


@dataclass(frozen=True)
class AskDigits:
    """Say ``prompt`` and post the ``digits`` keys pressed to ``action_url`` (as the inbound webhook)."""

    prompt: str
    action_url: str
    digits: int


@dataclass(frozen=True)
class Hangup:
    """End the call (after a connected call, nothing more to say)."""


class TelephonyProvider(abc.ABC):
    name: str = ""  # the id in webhook URLs and on tracking numbers
    label: str = ""

    @abc.abstractmethod
    def verify(self, request: WebhookRequest) -> bool:
        """Whether the request carries the provider's valid signature."""

    @abc.abstractmethod
    def parse_inbound(self, request: WebhookRequest) -> InboundCall:
        """A new call to a tracking number (or the same call back from an AskDigits prompt)."""

    @abc.abstractmethod
    def parse_dial_result(self, request: WebhookRequest) -> DialResult:
        """How a Connect ended."""

    def parse_call_status(self, request: WebhookRequest) -> CallEnded | None:
        """The status callback of the inbound call: a CallEnded once it is over, else None."""
        return None

    @abc.abstractmethod
    def render(self, instruction: Connect | Say | AskDigits | Hangup) -> WebhookResponse:
        """The provider's answer to a webhook."""
