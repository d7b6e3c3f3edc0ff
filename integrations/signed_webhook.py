"""A signed JSON webhook: POST a lead to a URL the buyer chose (their CRM, a
Zapier or Make hook, their own endpoint) so the receiver can prove it came
from us, unchanged and recently.

Signature (Stripe's scheme): HMAC-SHA256, keyed with the shared secret, over
``f"{timestamp}.".encode() + body``, sent as::

    Leadwire-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``t`` is the Unix time of signing, ``v1`` the hex digest. While a secret is
being rotated the sender signs with both and sends one ``v1`` per secret; a
receiver accepts the request if any of them matches any secret it holds. The
timestamp inside the signed bytes stops an old request being replayed. The
``Idempotency-Key`` header stays the same on every attempt of one delivery:
receivers drop repeats by it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .delivery_errors import DeliveryFailed, classify_http, redact, snippet, transport_failure

__all__ = [
    "IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "SignatureError", "WebhookResponse", "check_field_mapping",
    "map_fields", "post", "sign", "signature_header", "verify",
]

SIGNATURE_HEADER = "Leadwire-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "Leadwire-Webhook/1"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
RESPONSE_BODY_LIMIT = 64 * 1024  # bytes read from the receiver's answer; the rest is dropped

SERVICE = "Webhook receiver"
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in ("Content-Type", "Content-Length", "Transfer-Encoding", "Host", "Connection", SIGNATURE_HEADER,
              IDEMPOTENCY_HEADER)
)
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


class SignatureError(ValueError):
    """The signature header does not prove the request. ``reason`` is
    "malformed", "mismatch" or "expired"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _key(secret: Secret) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def _keys(secrets: Secrets) -> list[bytes]:
    listed = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    if not listed:
        raise ValueError("no signing secret given")
    return [_key(s) for s in listed]


def sign(secret: Secret, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative integer (Unix seconds)")
    return hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Secrets, timestamp: int, body: bytes) -> str:
    """The header value: ``t=<unix>,v1=<hex>[,v1=<hex>...]``, one v1 per secret."""
    return ",".join([f"t={timestamp}"] + [f"{SIGNATURE_SCHEME}={sign(k, timestamp, body)}" for k in _keys(secrets)])


def verify(
    secret: Secrets,
    header_value: str | None,
    body: bytes,
    *,
    tolerance_seconds: float | None = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Return if ``header_value`` proves ``body`` (the raw bytes received, not
    re-serialised JSON); raise :class:`SignatureError` otherwise.

    ``secret`` may be several (during a rotation). Unknown schemes (``v0``, a
    future ``v2``) are ignored. Signatures compare in constant time. The
    timestamp must be within ``tolerance_seconds`` of ``now`` either way (a
    clock ahead is as suspect as a replay); None turns the check off.
    """
    if not header_value:
        raise SignatureError("malformed", f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header_value.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed", f"{SIGNATURE_HEADER}: expected t=<unix>,v1=<hex>")
        if name == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                raise SignatureError("malformed", f"{SIGNATURE_HEADER}: t must appear once, as Unix seconds")
            timestamp = int(value)
        elif name == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("malformed", f"{SIGNATURE_HEADER}: no timestamp (t=)")
    if not signatures:
        raise SignatureError("malformed", f"{SIGNATURE_HEADER}: no {SIGNATURE_SCHEME} signature")
    expected = [sign(k, timestamp, body).encode() for k in _keys(secret)]
    matched = False
    for candidate in signatures:
        got = candidate.encode("ascii", "replace")
        for digest in expected:  # no early exit: timing says nothing about which one matched
            matched |= hmac.compare_digest(got, digest)
    if not matched:
        raise SignatureError("mismatch", "the signature does not match the body and secret")
    if tolerance_seconds is not None:
        age = (time.time() if now is None else now) - timestamp
        if abs(age) > tolerance_seconds:
            raise SignatureError(
                "expired", f"the signature timestamp is {abs(age):.0f} s {'old' if age > 0 else 'ahead'}, "
                f"beyond the {tolerance_seconds:g} s window"
            )


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    body: str  # the start of the receiver's answer, one line, for the delivery log
    latency_ms: float


async def post(
    http: httpx.AsyncClient,
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: Secrets,
    idempotency_key: str,
    timeout: float,
    extra_headers: Mapping[str, str] | None = None,
) -> WebhookResponse:
    """POST ``payload`` as JSON, signed; return the receiver's 2xx answer.

    The JSON is serialised once and the signature covers exactly those bytes.
    ``timeout`` bounds the whole exchange (connect, send, answer), not each
    step. ``extra_headers`` (e.g. the buyer's own Authorization) may not
    replace the content, signature or idempotency headers. Redirects are not
    followed. Raises :class:`DeliveryFailed`: retryable for 408/425/429/5xx
    (with Retry-After), timeouts and connection failures; permanent for other
    non-2xx answers and for a request that cannot be built (bad URL or header,
    a payload that is not JSON). No message contains the secret or the URL
    (webhook URLs often carry a token).
    """
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, */*;q=0.5",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME.fullmatch(name):
            raise DeliveryFailed(f"{SERVICE}: {name!r} is not a valid header name", retryable=False)
        if name.lower() in _RESERVED_HEADERS:
            raise DeliveryFailed(f"{SERVICE}: the {name} header cannot be overridden", retryable=False)
        if not _HEADER_VALUE.fullmatch(value):
            raise DeliveryFailed(
                f"{SERVICE}: the value of the {name} header must be printable ASCII on one line", retryable=False
            )
        headers[name] = value
    if not _HEADER_VALUE.fullmatch(idempotency_key) or not idempotency_key:
        raise DeliveryFailed(f"{SERVICE}: the idempotency key must be printable ASCII", retryable=False)
    if not url.lower().startswith(("https://", "http://")):
        raise DeliveryFailed(f"{SERVICE}: the URL must start with http:// or https://", retryable=False)
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DeliveryFailed(f"{SERVICE}: the payload is not JSON: {snippet(str(exc), 120)}", retryable=False) from None
    headers[SIGNATURE_HEADER] = signature_header(secrets, int(time.time()), body)

    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            request = http.build_request("POST", url, content=body, headers=headers, timeout=timeout)
            response = await http.send(request, follow_redirects=False, stream=True)
            try:
                received = await _read_limited(response)
            finally:
                await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError, OSError) as exc:
        raise transport_failure(exc, service=SERVICE) from None
    latency_ms = (time.perf_counter() - started) * 1000
    # A receiver may echo what it got; the buyer's own header values (often a token) must not reach the log.
    echoed = [v for v in (extra_headers or {}).values() if len(v) >= 8]
    text = redact(snippet(received.decode("utf-8", "replace")), [*secrets, *echoed])
    failure = classify_http(response, service=SERVICE, detail=text, secrets=secrets)
    if failure is not None:
        raise failure
    return WebhookResponse(response.status_code, text, round(latency_ms, 1))


async def _read_limited(response: httpx.Response) -> bytes:
    """Up to RESPONSE_BODY_LIMIT bytes of the answer (a receiver cannot make
    us buffer a huge body). An undecodable body (bad gzip) reads as empty:
    the status code is what counts."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= RESPONSE_BODY_LIMIT:
                break
    except httpx.DecodingError:
        return b""
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT]


# ---------------------------------------------------------------------------
# Field mapping: the receiver's field names, filled from paths in our payload.

_PATH = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")


def check_field_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Problems with a mapping {receiver field: source path}, by receiver
    field; empty when it is usable. A path is dot-separated keys
    ("data.move_size"); list items are addressed by index ("phones.0")."""
    problems: dict[str, str] = {}
    if not isinstance(mapping, Mapping):
        return {"": "the field mapping must be an object of field name to source path"}
    for target, path in mapping.items():
        if not isinstance(target, str) or not target.strip():
            problems[str(target)] = "the receiver's field name is empty"
        elif not isinstance(path, str) or not path:
            problems[target] = "the source path is empty"
        elif not _PATH.fullmatch(path):
            problems[target] = f"{path!r} is not a path like data.move_size (letters, digits, _ and - between dots)"
    return problems


_MISSING = object()


def _lookup(source: Any, path: str) -> Any:
    value = source
    for key in path.split("."):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, (list, tuple)) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def map_fields(source: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """{receiver field: value at the source path}. A path that leads nowhere
    gives None (the receiver sees the field, empty) rather than an error: the
    same mapping serves leads of industries that lack some fields. Raises
    ValueError if :func:`check_field_mapping` finds problems."""
    problems = check_field_mapping(mapping)
    if problems:
        raise ValueError("invalid field mapping: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))
    mapped: dict[str, Any] = {}
    for target, path in mapping.items():
        value = _lookup(source, path)
        mapped[target] = None if value is _MISSING else value
    return mapped
