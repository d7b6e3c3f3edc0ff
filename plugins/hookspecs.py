"""Leadwire's plugin hooks. Each hook is synchronous (pluggy does not await):
hooks register providers; the providers' own methods may be async.

``register_*`` hooks return lists; the host merges every plugin's list at
start-up and refuses two registrations under one name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

PROJECT = "leadwire"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def leadwire_plugin_settings() -> list[Any]:
    """Declare the settings of this plugin's own block in plugins.toml.

    :return: a list of :class:`leadwire.plugins.config.Setting` (name, type,
        required, default, secret, description), so the host can validate the
        block and a UI can build a form and hide secrets.
    """


@hookspec
def leadwire_startup(config: Mapping[str, Any]) -> None:
    """Called once at start-up with this plugin's validated settings.

    :param config: the plugin's block from plugins.toml, checked against its
        declared settings; secret values are :class:`leadwire.core.settings.Secret`.
    """


@hookspec
def leadwire_register_industries() -> list[Any]:
    """Register industry lead schemas.

    :return: a list of :class:`leadwire.plugins.industry.IndustrySchema`; keys
        must be unique across all plugins.
    """


@hookspec
def leadwire_register_delivery_channels() -> list[Any]:
    """Register delivery channels (e-mail, SMS, a CRM push...) that campaigns can use.

    :return: a list of :class:`leadwire.plugins.delivery.DeliveryChannel`
        instances; names must be unique across all plugins.
    """


@hookspec
def leadwire_lead_received(event: Any) -> None:
    """A lead was stored by intake (after commit), before or while it is routed.

    :param event: a :class:`leadwire.plugins.events.LeadReceived`. Called in the
        process that stored the lead; keep it fast and do not raise (an
        exception is logged and ignored). At most once per lead.
    """


@hookspec
def leadwire_lead_sold(event: Any) -> None:
    """A lead was sold to one campaign (after the sale committed).

    :param event: a :class:`leadwire.plugins.events.LeadSold`, once per sale.
        Same rules as ``leadwire_lead_received``.
    """


@hookspec
def leadwire_return_decided(event: Any) -> None:
    """The operator approved or declined a partner's return (after it committed).

    :param event: a :class:`leadwire.plugins.events.ReturnDecided`, once per
        decision. Same rules as ``leadwire_lead_received``.
    """


@hookspec
def leadwire_register_payment_gateways() -> list[Any]:
    """Register payment gateways (cards on file, off-session charges, refunds).

    :return: a list of :class:`leadwire.plugins.payments.PaymentGateway`
        instances; names must be unique across all plugins. Leadwire calls a
        gateway by the name stored with each card, payment and refund, never
        every gateway.
    """


@hookspec
def leadwire_register_telephony_providers() -> list[Any]:
    """Register telephony providers (inbound call webhooks for call leads).

    :return: a list of :class:`leadwire.plugins.telephony.TelephonyProvider`
        instances; names must be unique across all plugins. Leadwire serves a
        provider's webhooks under ``/telephony/<name>/`` and calls only the
        provider named in the URL.
    """
