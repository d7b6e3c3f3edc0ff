"""Built-in delivery channel: e-mail over SMTP (STARTTLS, SSL or a local
relay; authentication), plain text with an HTML alternative.

The operator configures the relay once in plugins.toml::

    [plugin.email_channel]
    host = "smtp.example.com"
    port = 587
    security = "starttls"            # starttls | ssl | none
    username = "leads@example.com"
    password = "${SMTP_PASSWORD}"
    from_address = "Leadwire <leads@example.com>"

A campaign lists its recipients: ``{"email": {"to": ["sales@buyer.example"]}}``.
"""

from __future__ import annotations

from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email

from leadwire.integrations import smtp_mail
from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.plugins.builtin import lead_text
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import DeliveryChannel, DeliveryRequest, DeliveryResult, SettingProblem
from leadwire.plugins.hookspecs import hookimpl

MAX_RECIPIENTS = 10


class EmailChannel(DeliveryChannel):
    name = "email"
    label = "E-mail"
    description = "Each lead e-mailed to the addresses you list, as readable text and HTML."
    settings = (
        Setting("to", type="list", required=True, description="Recipients. One or more e-mail addresses."),
        Setting("reply_to", description="Reply-To address. Optional."),
    )

    def check(self, settings):
        problems = []
        to = settings["to"]
        if not to or len(to) > MAX_RECIPIENTS:
            problems.append(SettingProblem("to", f"List 1 to {MAX_RECIPIENTS} e-mail addresses."))
        for address in [*to, *([settings["reply_to"]] if settings.get("reply_to") else [])]:
            try:
                validate_email(str(address), check_deliverability=False)
            except EmailNotValidError as exc:
                problems.append(SettingProblem("reply_to" if address == settings.get("reply_to") else "to",
                                               f"{address!r} is not an e-mail address: {exc}"))
        return problems

    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        c = request.plugin_config
        if not c.get("host"):
            return DeliveryResult.failed("E-mail is not set up: the operator must set host in [plugin.email_channel] (plugins.toml).")
        try:
            config = smtp_mail.SmtpConfig(
                host=c["host"], port=c.get("port"), security=c["security"], username=c.get("username") or "",
                password=c["password"].reveal() if c.get("password") else "", from_address=c["from_address"],
                timeout=c["timeout_seconds"], ca_file=c.get("ca_file") or None,
            )
        except ValueError as exc:
            return DeliveryResult.failed(f"[plugin.email_channel] is not usable: {exc}")
        domain = parseaddr(config.from_address)[1].rpartition("@")[2] or "leadwire.invalid"
        message = smtp_mail.build_message(
            to=list(request.settings["to"]), subject=lead_text.subject(request), text=lead_text.text_body(request),
            html=lead_text.html_body(request), reply_to=request.settings.get("reply_to") or None,
            # The same Message-ID on every attempt: mail systems drop the repeat.
            message_id=f"<{request.idempotency_key}@{domain}>",
            headers={"X-Leadwire-Delivery": request.idempotency_key},
        )
        try:
            message_id = await smtp_mail.send(config, message)
        except DeliveryFailed as failure:
            return lead_text.from_failure(failure)
        return DeliveryResult.delivered(message_id, 250)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("host", description="SMTP relay host. E-mail delivery is off until it is set."),
        Setting("port", type="int", description="Port (default: 587 for starttls, 465 for ssl, 25 for none)."),
        Setting("security", default="starttls", description="starttls, ssl or none (a relay on this host or network)."),
        Setting("username", description="SMTP user, if the relay wants one."),
        Setting("password", secret=True, description="SMTP password."),
        Setting("from_address", default="Leadwire <leads@localhost>", description="The From address."),
        Setting("timeout_seconds", type="float", default=30.0, description="How long to wait for the relay."),
        Setting("ca_file", description="Extra CA bundle to trust (a relay with a private CA)."),
    ]


@hookimpl
def leadwire_startup(config):
    if config["security"] not in smtp_mail.SMTP_SECURITY:
        raise ValueError(f"security must be one of {', '.join(smtp_mail.SMTP_SECURITY)}, not {config['security']!r}")


@hookimpl
def leadwire_register_delivery_channels():
    return [EmailChannel()]
