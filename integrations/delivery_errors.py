"""The shared failure vocabulary of the delivery clients (SMTP, SMS, webhook,
CRM): one exception that says whether trying again can help and when.

A caller that retries (a background job) needs exactly three facts: retry or
give up, the provider's status, and how long the provider asked us to wait.
Messages end up in a delivery log that people read, so they are built from
our own words and the provider's error text, never from credentials.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterable

import httpx

from .netguard import BlockedDestination

__all__ = [
    "DeliveryFailed", "classify_http", "is_retryable_status", "parse_retry_after", "redact", "snippet",
    "transport_failure",
]

SNIPPET_CHARS = 200


class DeliveryFailed(Exception):
    """A delivery attempt did not go through.

    ``retryable``: a later attempt may succeed (the provider was down, slow,
    rate-limiting); otherwise the same request will fail the same way.
    ``retry_after``: seconds the provider asked us to wait, if it said.
    ``message`` never contains a secret.
    """

    def __init__(
        self, message: str, *, retryable: bool, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after

    def __reduce__(self):  # keyword-only arguments: pickle (a job queue) needs the recipe
        return (_rebuild, (self.message, self.retryable, self.status_code, self.retry_after))

    def __repr__(self) -> str:
        return (
            f"DeliveryFailed({self.message!r}, retryable={self.retryable}, status_code={self.status_code}, "
            f"retry_after={self.retry_after})"
        )


def _rebuild(message: str, retryable: bool, status_code: int | None, retry_after: float | None) -> DeliveryFailed:
    return DeliveryFailed(message, retryable=retryable, status_code=status_code, retry_after=retry_after)


def is_retryable_status(status_code: int) -> bool:
    """408 Request Timeout, 425 Too Early, 429 Too Many Requests and any 5xx:
    the receiver may accept the same request later. Other 4xx (and 3xx, since
    delivery clients do not follow redirects) need someone to fix something."""
    return status_code in (408, 425, 429) or 500 <= status_code <= 599


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds ("120") or an
    HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"); None when absent or unreadable.
    A date in the past means 0."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP-dates are always UTC
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def redact(text: str, secrets: Iterable[str | bytes] = ()) -> str:
    """``text`` with every occurrence of each secret replaced by ``[redacted]``:
    a second line of defence for text that comes from outside (a receiver that
    echoes what it was sent)."""
    for secret in secrets:
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a response body on one line, for a log."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def classify_http(
    response: httpx.Response,
    *,
    service: str,
    detail: str | None = None,
    secrets: Iterable[str | bytes] = (),
) -> DeliveryFailed | None:
    """None for a 2xx answer, otherwise the failure it means (see
    :func:`is_retryable_status`), with Retry-After read on retryable ones.

    ``detail`` is the provider's own explanation when the caller parsed one;
    by default the start of the body (if it was read) is used.
    """
    status = response.status_code
    if 200 <= status <= 299:
        return None
    if detail is None:
        try:
            detail = snippet(response.text)
        except httpx.ResponseNotRead:
            detail = ""
    if 300 <= status <= 399:
        detail = "redirects are not followed; configure the final URL" + (f" ({detail})" if detail else "")
    reason = response.reason_phrase or ""
    message = f"{service} answered HTTP {status}" + (f" {reason}" if reason else "") + (f": {detail}" if detail else "")
    retryable = is_retryable_status(status)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
    return DeliveryFailed(redact(message, secrets), retryable=retryable, status_code=status, retry_after=retry_after)


def transport_failure(exc: BaseException, *, service: str) -> DeliveryFailed:
    """The failure an exception raised while talking HTTP means.

    Timeouts, refused or reset connections, DNS failures and a peer that broke
    the protocol are retryable. A request we could not even form (a header
    value HTTP does not allow, a URL scheme we cannot speak) is permanent. Only
    OS-level text (errno, TLS reason) is quoted: protocol errors can echo the
    header values we sent, and those may hold a token.
    """
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer (the request may have been received)",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "before the exchange finished (the request may have been received)")
        return DeliveryFailed(f"{service}: timed out {phase}", retryable=True)
    if isinstance(exc, BlockedDestination):  # the SSRF guard: no retry will make the address public
        return DeliveryFailed(f"{service}: {exc}", retryable=False)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return DeliveryFailed(f"{service}: the URL must start with http:// or https://", retryable=False)
    if isinstance(exc, httpx.InvalidURL):  # its text quotes the URL, which may carry a token
        return DeliveryFailed(f"{service}: the URL is not valid", retryable=False)
    if isinstance(exc, (httpx.LocalProtocolError, UnicodeEncodeError)):
        return DeliveryFailed(
            f"{service}: the request could not be formed (a header or URL holds characters HTTP does not allow)",
            retryable=False,
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        return DeliveryFailed(f"{service}: the server broke the HTTP protocol or closed the connection", retryable=True)
    if isinstance(exc, (httpx.NetworkError, httpx.ProxyError, OSError)):
        reason = snippet(str(exc)) or type(exc).__name__
        return DeliveryFailed(f"{service}: network error: {reason}", retryable=True)
    if isinstance(exc, httpx.DecodingError):
        return DeliveryFailed(f"{service}: the response body could not be decoded", retryable=True)
    return DeliveryFailed(f"{service}: {type(exc).__name__}", retryable=True)
