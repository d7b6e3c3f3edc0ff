"""Built-in telephony provider: Twilio Programmable Voice.

::

    [plugin.twilio_voice]
    account_sid = "AC..."
    auth_token = "${TWILIO_AUTH_TOKEN}"
    public_url = "https://leads.example.com"

In the Twilio console, each tracking number's "A call comes in" webhook is
``POST {public_url}/telephony/twilio/voice`` and its "Call status changes"
callback ``POST {public_url}/telephony/twilio/status``. Every request must
carry a valid ``X-Twilio-Signature`` (HMAC-SHA1 with the auth token). See
docs/calls.md.
"""

from __future__ import annotations

from leadwire.integrations import twilio_voice
from leadwire.plugins.config import Setting
from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.telephony import (
    CALL_SETTINGS,
    AskDigits,
    CallEnded,
    Connect,
    Hangup,
    DialOutcome,
    DialResult,
    InboundCall,
    Say,
    TelephonyProvider,
    WebhookRequest,
    WebhookResponse,
)

_OUTCOMES = {
    twilio_voice.DialStatus.COMPLETED: DialOutcome.ANSWERED,
    twilio_voice.DialStatus.ANSWERED: DialOutcome.ANSWERED,
    twilio_voice.DialStatus.NO_ANSWER: DialOutcome.NO_ANSWER,
    twilio_voice.DialStatus.BUSY: DialOutcome.BUSY,
    twilio_voice.DialStatus.FAILED: DialOutcome.FAILED,
    twilio_voice.DialStatus.CANCELED: DialOutcome.CANCELED,
}
_FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


class TwilioVoice(TelephonyProvider):
    name = "twilio"
    label = "Twilio Voice"

    def verify(self, request: WebhookRequest) -> bool:
        token = request.plugin_config.get("auth_token")
        if token is None:
            return False
        return twilio_voice.signature_valid(
            token.reveal(), request.url, request.params, request.headers.get("x-twilio-signature")
        )

    def parse_inbound(self, request: WebhookRequest) -> InboundCall:
        p = twilio_voice.parse_inbound(request.params)
        return InboundCall(call_id=p.call_sid, caller=p.caller, called=p.called, digits=p.digits)

    def parse_dial_result(self, request: WebhookRequest) -> DialResult:
        d = twilio_voice.parse_dial(request.params)
        outcome = _OUTCOMES.get(d.dial_status, DialOutcome.FAILED)
        return DialResult(
            call_id=d.call_sid, outcome=outcome,
            connected_seconds=d.duration_seconds if outcome == DialOutcome.ANSWERED else 0,
            recording_url=d.recording_url,
        )

    def parse_call_status(self, request: WebhookRequest) -> CallEnded | None:
        p = twilio_voice.parse_inbound(request.params)
        if p.call_status not in _FINAL_CALL_STATUSES:
            return None
        return CallEnded(call_id=p.call_sid, duration_seconds=p.duration_seconds)

    def render(self, instruction: Connect | Say | AskDigits | Hangup) -> WebhookResponse:
        if isinstance(instruction, Connect):
            body = twilio_voice.dial(
                instruction.number, timeout=instruction.timeout_seconds, action=instruction.action_url,
                status_callback=instruction.status_url, caller_id=instruction.caller_id, record=instruction.record,
            )
        elif isinstance(instruction, AskDigits):
            body = twilio_voice.gather(instruction.prompt, action=instruction.action_url, num_digits=instruction.digits)
        elif isinstance(instruction, Hangup):
            body = twilio_voice.hangup()
        else:
            body = twilio_voice.say(instruction.message)
        return WebhookResponse(body, "text/xml")


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("account_sid", description="Twilio Account SID (AC...)."),
        Setting("auth_token", secret=True, description="Twilio auth token: checks every webhook's X-Twilio-Signature. "
                "Calls are refused (403) until it is set."),
        Setting("base_url", default="https://api.twilio.com", description="Twilio API base URL."),
        *CALL_SETTINGS,
    ]


@hookimpl
def leadwire_startup(config):
    if not 5 <= config["ring_timeout_seconds"] <= 120:
        raise ValueError("ring_timeout_seconds must be 5 to 120")
    if not 1 <= config["missed_calls_to_pause"] <= 100:
        raise ValueError("missed_calls_to_pause must be 1 to 100")


@hookimpl
def leadwire_register_telephony_providers():
    return [TwilioVoice()]
