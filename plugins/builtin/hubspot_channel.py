"""Built-in delivery channel: a HubSpot contact per lead (CRM contacts API v3;
an existing contact with the same e-mail is updated, not duplicated).

A campaign sets ``{"hubspot": {"access_token": "pat-..."}}`` (a private app
token with the crm.objects.contacts.write scope) and optionally
``property_mapping`` ({HubSpot property: path such as lead.data.move_size}).
"""

from __future__ import annotations

from leadwire.integrations import hubspot, signed_webhook
from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.plugins.builtin import lead_text
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryRequest, DeliveryResult, SettingProblem
from leadwire.plugins.hookspecs import hookimpl

DEFAULT_PROPERTIES = {
    "email": "lead.email", "firstname": "lead.first_name", "lastname": "lead.last_name", "phone": "lead.phone",
    "city": "lead.city", "state": "lead.state", "zip": "lead.postal_code",
}


class HubSpotChannel(DeliveryChannel):
    name = "hubspot"
    label = "HubSpot"
    description = "Each lead created (or updated, by e-mail) as a HubSpot contact."
    settings = (
        Setting("access_token", secret=True, required=True, description="Private app token. Needs crm.objects.contacts.write."),
        Setting("property_mapping", type="dict", description="Extra properties. {HubSpot property: path such as "
                "lead.data.move_size}, added to e-mail, names, phone, city, state and ZIP."),
    )

    def check(self, settings):
        return [
            SettingProblem("property_mapping", f"{target}: {problem}")
            for target, problem in signed_webhook.check_field_mapping(settings.get("property_mapping") or {}).items()
        ]

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        source = {"lead": request.lead.as_dict(), "sale": request.sale.as_dict()}
        properties = signed_webhook.map_fields(source, {**DEFAULT_PROPERTIES, **(request.settings.get("property_mapping") or {})})
        properties = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in properties.items()}
        try:
            config = hubspot.HubSpotConfig(
                access_token=request.settings["access_token"].reveal(), base_url=request.plugin_config["base_url"],
                timeout=request.plugin_config["timeout_seconds"],
            )
            contact_id = await hubspot.upsert_contact(request.http, config, properties)
        except ValueError as exc:
            return DeliveryResult.failed(f"The HubSpot settings are not usable: {exc}")
        except DeliveryFailed as failure:
            return lead_text.from_failure(failure)
        return DeliveryResult.delivered(contact_id, 200)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("base_url", default="https://api.hubapi.com", description="HubSpot API base URL."),
        Setting("timeout_seconds", type="float", default=10.0, description="How long to wait for HubSpot."),
    ]


@hookimpl
def leadwire_register_delivery_channels():
    return [HubSpotChannel()]
