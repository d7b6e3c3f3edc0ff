"""Built-in delivery channel: a signed JSON POST to the buyer's own URL (their
CRM, a Zapier or Make hook, their server). See docs/plugins.md, "Receiving
Leadwire webhooks", for the payload and how to verify the signature.

A campaign sets ``{"webhook": {"url": "https://crm.buyer.example/leads",
"secret": "at least 16 characters", "field_mapping": {"FirstName":
"lead.first_name"}, "headers": {"Authorization": "Bearer ..."}}}``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from leadwire.integrations import signed_webhook
from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.plugins.builtin import lead_text
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryRequest, DeliveryResult, SettingProblem
from leadwire.plugins.hookspecs import hookimpl

MIN_SECRET = 16
_config: dict = {"allow_http": False}


def payload(request: DeliveryRequest) -> dict:
    """The JSON body: the event, the sale and the lead (documented in docs/plugins.md)."""
    return {
        "event": "lead.sold",
        "idempotency_key": request.idempotency_key,
        "attempt": request.attempt,
        "sale": request.sale.as_dict(),
        "lead": request.lead.as_dict(),
    }


class WebhookChannel(DeliveryChannel):
    name = "webhook"
    label = "Webhook (CRM push)"
    description = "Each lead POSTed as signed JSON to your URL; map fields to your CRM's names if needed."
    settings = (
        Setting("url", required=True, description="Your endpoint. An https:// URL."),
        Setting("secret", secret=True, required=True, description="Signing secret. At least 16 characters, shared with your receiver."),
        Setting("field_mapping", type="dict", description="Field mapping. {your field: path such as lead.first_name}; "
                "without it the whole payload is sent."),
        Setting("headers", type="dict", secret=True, description="Extra headers. E.g. your CRM's Authorization."),
    )

    def check(self, settings):
        problems = []
        url = urlsplit(settings["url"])
        plain_ok = url.scheme == "http" and (_config["allow_http"] or lead_text.is_loopback_url(url.hostname))
        if not url.hostname or (url.scheme != "https" and not plain_ok):
            problems.append(SettingProblem("url", "Must be an https:// URL (leads carry personal data)."))
        if len(settings["secret"]) < MIN_SECRET:
            problems.append(SettingProblem("secret", f"Use at least {MIN_SECRET} characters."))
        for target, problem in signed_webhook.check_field_mapping(settings.get("field_mapping") or {}).items():
            problems.append(SettingProblem("field_mapping", f"{target}: {problem}"))
        for name, value in (settings.get("headers") or {}).items():
            if not isinstance(value, str):
                problems.append(SettingProblem("headers", f"{name}: the value must be a string."))
        return problems

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        s = request.settings
        body = payload(request)
        if s.get("field_mapping"):
            body = signed_webhook.map_fields(body, s["field_mapping"])
        headers = s.get("headers")  # a secret dict: plain here, scrubbed from the log by Leadwire
        try:
            answer = await signed_webhook.post(
                request.http, s["url"], body, secret=s["secret"].reveal(), idempotency_key=request.idempotency_key,
                timeout=request.plugin_config["timeout_seconds"], extra_headers=headers or None,
            )
        except DeliveryFailed as failure:
            return lead_text.from_failure(failure)
        return DeliveryResult.delivered(answer.body[:200], answer.status_code)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("timeout_seconds", type="float", default=10.0, description="How long to wait for a receiver."),
        Setting("allow_http", type="bool", default=False, description="Allow plain http:// URLs (a private network)."),
    ]


@hookimpl
def leadwire_startup(config):
    _config["allow_http"] = bool(config["allow_http"])


@hookimpl
def leadwire_register_delivery_channels():
    return [WebhookChannel()]
