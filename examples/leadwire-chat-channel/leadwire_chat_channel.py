"""An example third-party Leadwire plugin: a delivery channel that posts each
sold lead to a team chat through an "incoming webhook" (the JSON ``{"text":
...}`` POST that Slack, Mattermost and Rocket.Chat accept).

Plugin settings (plugins.toml, ``[plugin.chat_channel]``): ``username`` shown
as the poster, ``timeout_seconds``. Campaign settings (the Integration tab):
``webhook_url`` (secret: whoever has it can post to the channel) and
``mention`` (optional, e.g. ``@here``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryRequest, DeliveryResult, SettingProblem
from leadwire.plugins.hookspecs import hookimpl


class ChatChannel(DeliveryChannel):
    name = "chat"
    label = "Team chat"
    description = "Post each lead to a Slack, Mattermost or Rocket.Chat incoming webhook."
    settings = (
        Setting("webhook_url", required=True, secret=True, description="Incoming webhook URL. From your chat's integrations page."),
        Setting("mention", default="", description="Mention to prepend, e.g. @here."),
    )

    def check(self, settings):
        url = urlsplit(settings["webhook_url"])
        # Plain http only to this machine (a local test chat); never over a network.
        if url.scheme == "https" or (url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost", "::1")):
            return []
        return [SettingProblem("webhook_url", "Must be an https:// URL.")]

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        lead, sale = request.lead, request.sale
        lines = [
            f"{request.settings['mention']} New {lead.product} lead: {lead.first_name} {lead.last_name}".strip(),
            f"{lead.phone} {lead.email}".strip(),
            f"{lead.city}, {lead.state} {lead.postal_code}",
        ]
        lines += [f"{lead.field_labels.get(k, k)}: {v}" for k, v in lead.data.items()]
        body = {"text": "\n".join(lines), "username": request.plugin_config["username"]}
        try:
            response = await request.http.post(
                request.settings["webhook_url"].reveal(), json=body,
                headers={"Idempotency-Key": request.idempotency_key},
                timeout=request.plugin_config["timeout_seconds"],
            )
        except httpx.TransportError as exc:
            return DeliveryResult.retry(f"cannot reach the chat: {type(exc).__name__}")
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("retry-after")
            return DeliveryResult.retry(f"chat answered {response.status_code}", response.status_code,
                                        float(after) if after and after.isdigit() else None)
        if response.status_code >= 400:
            return DeliveryResult.failed(f"chat refused the message: {response.status_code} {response.text[:200]}",
                                         response.status_code)
        return DeliveryResult.delivered(status_code=response.status_code)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("username", default="Leadwire", description="Name the messages are posted under."),
        Setting("timeout_seconds", type="float", default=10.0, description="How long to wait for the chat."),
    ]


@hookimpl
def leadwire_register_delivery_channels():
    return [ChatChannel()]
