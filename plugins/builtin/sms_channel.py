"""Built-in delivery channel: a text message through Twilio's Messages API
(or any provider speaking it: the base URL is configurable).

::

    [plugin.sms_channel]
    account_sid = "AC..."
    auth_token = "${TWILIO_AUTH_TOKEN}"
    from_number = "+13135550100"       # or messaging_service_sid = "MG..."

A campaign gives the number to text: ``{"sms": {"to": "+13135550123"}}``.
"""

from __future__ import annotations

import phonenumbers

from leadwire.integrations import twilio_sms
from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.plugins.builtin import lead_text
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryRequest, DeliveryResult, SettingProblem
from leadwire.plugins.hookspecs import hookimpl


def e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class SmsChannel(DeliveryChannel):
    name = "sms"
    label = "Text message"
    description = "A short text with the lead's name, phone and place, to one mobile number."
    settings = (Setting("to", required=True, description="Mobile number to text. E.164 or a US number."),)

    def check(self, settings):
        if e164(settings["to"]) is None:
            return [SettingProblem("to", f"{settings['to']!r} is not a valid phone number.")]
        return []

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        c = request.plugin_config
        if not c.get("account_sid") or not c.get("auth_token"):
            return DeliveryResult.failed("Text messages are not set up: the operator must set account_sid and auth_token "
                                         "in [plugin.sms_channel] (plugins.toml).")
        try:
            config = twilio_sms.TwilioConfig(
                account_sid=c["account_sid"], auth_token=c["auth_token"].reveal(), from_number=c.get("from_number") or "",
                messaging_service_sid=c.get("messaging_service_sid") or "", base_url=c["base_url"],
                timeout=c["timeout_seconds"],
            )
        except ValueError as exc:
            return DeliveryResult.failed(f"[plugin.sms_channel] is not usable: {exc}")
        body = twilio_sms.fit_sms(lead_text.sms_text(request), max_segments=c["max_segments"])
        try:
            sid = await twilio_sms.send_sms(request.http, config, to=e164(request.settings["to"]) or "", body=body)
        except DeliveryFailed as failure:
            return lead_text.from_failure(failure)
        return DeliveryResult.delivered(sid, 201)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("account_sid", description="Twilio Account SID (AC...). Text messages are off until it is set."),
        Setting("auth_token", secret=True, description="Twilio auth token."),
        Setting("from_number", description="Sending number, E.164 (or set messaging_service_sid)."),
        Setting("messaging_service_sid", description="Messaging Service SID (MG...), instead of from_number."),
        Setting("base_url", default="https://api.twilio.com", description="API base URL."),
        Setting("timeout_seconds", type="float", default=10.0, description="How long to wait for the provider."),
        Setting("max_segments", type="int", default=1, description="Longest text, in SMS segments (1 to 10)."),
    ]


@hookimpl
def leadwire_startup(config):
    if not 1 <= config["max_segments"] <= twilio_sms.MAX_SEGMENTS:
        raise ValueError(f"max_segments must be 1 to {twilio_sms.MAX_SEGMENTS}")


@hookimpl
def leadwire_register_delivery_channels():
    return [SmsChannel()]
