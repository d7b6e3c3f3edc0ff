"""integrations.smtp_mail against a real aiosmtpd server on 127.0.0.1: plain,
STARTTLS and implicit TLS with a certificate made for the run, AUTH, and the
replies and network faults a relay can produce."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.integrations.smtp_mail import SmtpConfig, build_message, send
from loopback import free_port

USERNAME = "relay-user"
PASSWORD = "s3cret-Relay-Pa55word"
SENDER = "Leadwire Leads <leads@market.example>"
UNKNOWN_MAILBOX = "nobody@buyer.example"
GREYLISTED = "later@buyer.example"


@dataclass
class Relay:
    """An aiosmtpd handler that keeps what it accepted."""

    received: list = field(default_factory=list)
    tls_sessions: list = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == UNKNOWN_MAILBOX:
            return "550 5.1.1 <nobody@buyer.example>: Recipient address rejected: User unknown"
        if address == GREYLISTED:
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.tls_sessions.append(server.transport.get_extra_info("ssl_object") is not None)
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                                   policy=email.policy.default))
        )
        return "250 2.0.0 Ok: queued"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data == (USERNAME.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command
    (neither cryptography nor trustme is installed)."""
    directory = tmp_path_factory.mktemp("smtp-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def _server_context(certificate) -> ssl.SSLContext:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@contextlib.contextmanager
def smtp_server(handler: Relay, **kwargs):
    """A real aiosmtpd SMTP server on its own thread; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _message(to: str = "buyer@buyer.example", **kwargs):
    return build_message(
        to=to,
        subject="New lead: Jane Doe, 2-bedroom move",
        text="Jane Doe\n+1 617 555 0100\nBoston, MA 02108",
        html="<p><b>Jane Doe</b><br>+1 617 555 0100<br>Boston, MA 02108</p>",
        message_id="<delivery-42.attempt-stable@market.example>",
        headers={"X-Leadwire-Idempotency-Key": "dlv_42"},
        **kwargs,
    )


def _assert_no_password(failure: DeliveryFailed) -> None:
    assert PASSWORD not in failure.message
    assert PASSWORD not in str(failure)
    assert PASSWORD not in repr(failure)


async def test_plain_relay_receives_text_and_html_alternatives_with_extra_headers():
    relay = Relay()
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=5)
        message_id = await send(config, _message())

    assert message_id == "<delivery-42.attempt-stable@market.example>"
    [(mail_from, rcpt_tos, received)] = relay.received
    assert mail_from == "leads@market.example"
    assert rcpt_tos == ["buyer@buyer.example"]
    assert received["Message-ID"] == message_id
    assert received["From"] == SENDER
    assert received["X-Leadwire-Idempotency-Key"] == "dlv_42"
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip().endswith("Boston, MA 02108")
    assert "<b>Jane Doe</b>" in received.get_body(("html",)).get_content()
    assert relay.tls_sessions == [False]


async def test_send_assigns_a_message_id_when_the_caller_gave_none():
    relay = Relay()
    message = build_message(to="buyer@buyer.example", subject="Lead", text="Jane Doe")
    assert message["Message-ID"] is None
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=5)
        message_id = await send(config, message)
    assert message_id.startswith("<") and message_id.endswith("@market.example>")
    assert relay.received[0][2]["Message-ID"] == message_id
    assert relay.received[0][2].get_content_type() == "text/plain"


async def test_starttls_with_authentication(certificate):
    relay = Relay()
    with smtp_server(
        relay, tls_context=_server_context(certificate), require_starttls=True, authenticator=_authenticate,
        auth_required=True,
    ) as port:
        config = SmtpConfig(
            host="127.0.0.1", port=port, security="starttls", username=USERNAME, password=PASSWORD,
            from_address=SENDER, ca_file=str(certificate[0]), timeout=5, local_hostname="mailer.market.example",
        )
        await send(config, _message())
    assert relay.tls_sessions == [True]
    assert len(relay.received) == 1


async def test_wrong_password_is_a_permanent_535_without_the_password(certificate):
    relay = Relay()
    with smtp_server(
        relay, tls_context=_server_context(certificate), require_starttls=True, authenticator=_authenticate,
        auth_required=True,
    ) as port:
        config = SmtpConfig(
            host="127.0.0.1", port=port, username=USERNAME, password=PASSWORD + "-wrong",
            from_address=SENDER, ca_file=str(certificate[0]), timeout=5,
        )
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message())
    failure = caught.value
    assert failure.retryable is False
    assert failure.status_code == 535
    assert "username and password" in failure.message
    _assert_no_password(failure)
    assert relay.received == []


async def test_implicit_tls(certificate):
    relay = Relay()
    with smtp_server(relay, ssl_context=_server_context(certificate)) as port:
        config = SmtpConfig(
            host="127.0.0.1", port=port, security="ssl", from_address=SENDER, ca_file=str(certificate[0]), timeout=5
        )
        await send(config, _message())
    assert relay.tls_sessions == [True]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_an_untrusted_certificate_is_a_permanent_failure(certificate, security):
    relay = Relay()
    server_tls = (
        {"tls_context": _server_context(certificate), "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": _server_context(certificate)}
    )
    with smtp_server(relay, **server_tls) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security=security, from_address=SENDER, timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message())
    assert caught.value.retryable is False
    assert "certificate did not verify" in caught.value.message
    assert relay.received == []


async def test_starttls_required_but_not_offered_is_permanent():
    relay = Relay()
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="starttls", from_address=SENDER, timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message())
    assert caught.value.retryable is False
    assert "STARTTLS" in caught.value.message
    assert relay.received == []


async def test_550_unknown_mailbox_is_permanent():
    relay = Relay()
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message(to=UNKNOWN_MAILBOX))
    assert caught.value.retryable is False
    assert caught.value.status_code == 550
    assert "User unknown" in caught.value.message
    assert relay.received == []


async def test_451_greylisting_is_retryable():
    relay = Relay()
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message(to=GREYLISTED))
    assert caught.value.retryable is True
    assert caught.value.status_code == 451


async def test_one_refused_recipient_among_several_still_sends_to_the_others(caplog):
    relay = Relay()
    with smtp_server(relay) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=5)
        await send(config, _message(to=["buyer@buyer.example", UNKNOWN_MAILBOX]))
    assert relay.received[0][1] == ["buyer@buyer.example"]
    assert "refused 1 recipient" in caplog.text


async def test_connection_refused_is_retryable():
    config = SmtpConfig(
        host="127.0.0.1", port=free_port(), username=USERNAME, password=PASSWORD, from_address=SENDER, timeout=2
    )
    with pytest.raises(DeliveryFailed) as caught:
        await send(config, _message())
    assert caught.value.retryable is True
    assert "could not connect" in caught.value.message
    _assert_no_password(caught.value)


@contextlib.asynccontextmanager
async def raw_server(on_connect):
    """A bare TCP server on this loop, for relays that misbehave."""
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_relay_that_never_greets_times_out_retryably():
    release = asyncio.Event()

    async def silent(reader, writer):
        await release.wait()
        writer.close()

    async with raw_server(silent) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=0.2)
        try:
            with pytest.raises(DeliveryFailed) as caught:
                await send(config, _message())
        finally:
            release.set()
    assert caught.value.retryable is True
    assert "timed out" in caught.value.message


async def test_a_relay_that_hangs_up_mid_conversation_is_retryable():
    async def hang_up_after_ehlo(reader, writer):
        writer.write(b"220 relay.example ESMTP\r\n")
        await writer.drain()
        await reader.readline()
        writer.close()

    async with raw_server(hang_up_after_ehlo) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=2)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message())
    assert caught.value.retryable is True


@pytest.mark.parametrize(("greeting", "retryable"), [(b"421 4.3.2 Service shutting down", True),
                                                      (b"554 5.7.1 No SMTP service here", False)])
async def test_a_refusing_greeting_maps_by_its_code(greeting, retryable):
    async def refuse(reader, writer):
        writer.write(greeting + b"\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(refuse) as port:
        config = SmtpConfig(host="127.0.0.1", port=port, security="none", from_address=SENDER, timeout=2)
        with pytest.raises(DeliveryFailed) as caught:
            await send(config, _message())
    assert caught.value.retryable is retryable
    assert caught.value.status_code == int(greeting[:3])


def test_extra_headers_cannot_inject_or_replace_headers():
    with pytest.raises(ValueError, match="linefeed"):
        _message(reply_to="x@example.com\r\nBcc: victim@example.com")
    with pytest.raises(ValueError, match="set by build_message"):
        build_message(to="a@b.example", subject="s", text="t", headers={"Bcc": "victim@example.com"})
    with pytest.raises(ValueError, match="not a valid header name"):
        build_message(to="a@b.example", subject="s", text="t", headers={"X Bad": "1"})
    with pytest.raises(ValueError):
        build_message(to="a@b.example", subject="Lead\nBcc: victim@example.com", text="t")


def test_config_refuses_credentials_in_clear_and_mismatched_settings():
    with pytest.raises(ValueError, match="clear"):
        SmtpConfig(host="h", security="none", username="u", password="p", from_address=SENDER)
    with pytest.raises(ValueError, match="security"):
        SmtpConfig(host="h", security="tls", from_address=SENDER)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="together"):
        SmtpConfig(host="h", username="u", from_address=SENDER)
    config = SmtpConfig(host="h", security="ssl", username="u", password=PASSWORD, from_address=SENDER)
    assert config.effective_port == 465
    assert PASSWORD not in repr(config)
