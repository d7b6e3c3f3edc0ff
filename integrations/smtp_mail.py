"""Send e-mail through an SMTP relay (the operator's mail server or a
provider's SMTP endpoint) with aiosmtplib.

Mail is delivered at least once: a reply lost after the relay queued the
message makes the caller send it again. Pass the same Message-ID on every
attempt of one delivery (and, if you like, an idempotency header) so that
receiving systems can drop the repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Literal

import aiosmtplib

from .delivery_errors import DeliveryFailed, redact, snippet

__all__ = ["SMTP_SECURITY", "SmtpConfig", "build_message", "send"]

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
SMTP_SECURITY: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

# Headers build_message sets itself; extra headers may not replace them.
_STRUCTURAL_HEADERS = frozenset(
    h.lower()
    for h in (
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "Sender", "Return-Path",
    )
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII except ":" (RFC 5322 ftext)


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    """Where and how to hand mail over.

    ``security``: "starttls" (upgrade a plain connection, required, usually
    port 587), "ssl" (TLS from the first byte, usually 465) or "none" (plain
    text, for a relay on the same host or network; no credentials allowed).
    ``port`` defaults by security. ``ca_file`` adds a CA bundle to trust (a
    relay with a private CA); certificates are always verified.
    """

    host: str
    from_address: str
    port: int | None = None
    security: Security = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    local_hostname: str | None = None
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is required")
        if self.security not in SMTP_SECURITY:
            raise ValueError(f"security must be one of {', '.join(SMTP_SECURITY)}, not {self.security!r}")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError("port must be between 1 and 65535")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together")
        if self.username and self.security == "none":
            raise ValueError('credentials need security "starttls" or "ssl": they would cross the network in clear')
        if "@" not in parseaddr(self.from_address)[1]:
            raise ValueError("from_address must be an e-mail address")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


def build_message(
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    from_address: str | None = None,
    reply_to: str | None = None,
    message_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A MIME message: plain text, plus an HTML alternative when ``html`` is
    given (clients that cannot show HTML show the text).

    ``from_address`` may be left out: :func:`send` fills it from the config.
    ``message_id`` (``<unique@domain>``) should stay the same across retries
    of one delivery. ``headers`` adds headers such as an idempotency key; they
    may not replace the ones set here. Raises ValueError for a header name or
    value that would break the message (a line break: header injection).
    """
    message = EmailMessage()
    if from_address:
        message["From"] = from_address
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("at least one recipient is required")
    message["To"] = ", ".join(recipients)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    if message_id:
        message["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"not a valid header name: {name!r}")
        if name.lower() in _STRUCTURAL_HEADERS:
            raise ValueError(f"{name} is set by build_message, not as an extra header")
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def send(config: SmtpConfig, message: EmailMessage) -> str:
    """Hand ``message`` to the relay; returns its Message-ID.

    Fills in From (``config.from_address``) and a Message-ID when the message
    has none. The envelope sender (where bounces go) is ``from_address``.
    Raises :class:`DeliveryFailed`: retryable for 4xx replies, refused or
    dropped connections and timeouts; permanent for 5xx replies (unknown
    mailbox, bad credentials, message too large), a server that lacks a
    required extension, or a certificate that does not verify. If the relay
    refuses some recipients and accepts others the message is sent (it cannot
    be unsent) and the refusals are logged.
    """
    envelope_from = parseaddr(config.from_address)[1]
    if message["From"] is None:
        message["From"] = config.from_address
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(domain=Address(addr_spec=envelope_from).domain)
    message_id = str(message["Message-ID"])
    recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", []) +
                                                   message.get_all("Bcc", [])) if addr]
    if not recipients:
        raise DeliveryFailed("the message has no recipient", retryable=False)
    try:
        refused, _ = await aiosmtplib.send(
            message,
            sender=envelope_from,
            hostname=config.host,
            port=config.effective_port,
            username=config.username or None,
            password=config.password or None,
            local_hostname=config.local_hostname,
            timeout=config.timeout,
            use_tls=config.security == "ssl",
            start_tls=config.security == "starttls",
            validate_certs=True,
            cert_bundle=config.ca_file,
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes a DeliveryFailed
        failure = _failure(exc)
        failure.message = redact(failure.message, (config.password,))
        failure.args = (failure.message,)
        raise failure from None
    if refused:
        log.warning(
            "SMTP relay %s accepted %s and refused %d recipient(s) of %s: %s",
            config.host, len(recipients) - len(refused), len(refused), message_id,
            "; ".join(f"{r.code} {snippet(r.message, 80)}" for r in refused.values()),
        )
    return message_id


def _reply_failure(what: str, code: int, text: str) -> DeliveryFailed:
    """4xx: try later (greylisting, mailbox full, rate limit); 5xx: never."""
    retryable = not 500 <= code <= 599
    return DeliveryFailed(f"{what}: {code} {snippet(text)}".rstrip(), retryable=retryable, status_code=code)


def _failure(exc: BaseException) -> DeliveryFailed:
    if _certificate_rejected(exc):
        return DeliveryFailed("SMTP: the server's TLS certificate did not verify", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        detail = "; ".join(f"{r.recipient}: {r.code} {snippet(r.message, 120)}" for r in refusals)
        retryable = all(not 500 <= r.code <= 599 for r in refusals)
        code = refusals[0].code if refusals else None
        return DeliveryFailed(f"SMTP server refused the recipient: {detail}", retryable=retryable, status_code=code)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _reply_failure("SMTP server refused the username and password", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _reply_failure(f"SMTP server refused the sender {exc.sender}", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # greeting, HELO, DATA, ...
        return _reply_failure("SMTP server answered", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or type(exc) is aiosmtplib.SMTPException:
        # aiosmtplib raises the bare class only for a missing capability: no
        # STARTTLS, no AUTH, no XOAUTH2. Asking again will not add it.
        return DeliveryFailed(f"SMTP server lacks a required feature: {snippet(str(exc))}", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return DeliveryFailed(f"SMTP: timed out ({snippet(str(exc))})", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return DeliveryFailed(f"SMTP server disconnected: {snippet(str(exc))}", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return DeliveryFailed(f"SMTP: could not connect: {snippet(str(exc))}", retryable=True)
    if isinstance(exc, UnicodeError | ValueError):
        return DeliveryFailed(f"SMTP: the message cannot be sent as given ({type(exc).__name__})", retryable=False)
    return DeliveryFailed(f"SMTP: {type(exc).__name__}", retryable=True)


def _certificate_rejected(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
