"""integrations.delivery_errors: which HTTP answers and transport errors are
worth retrying, and Retry-After in both of its forms."""

from __future__ import annotations

import datetime as dt
import pickle

import httpx
import pytest

from leadwire.integrations.delivery_errors import (
    DeliveryFailed, classify_http, is_retryable_status, parse_retry_after, redact, transport_failure,
)

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 0 ", 0.0), ("Wed, 01 May 2024 12:00:30 GMT", 30.0), ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
    ("Wednesday, 01-May-24 12:01:00 GMT", 60.0), (None, None), ("", None), ("soon", None), ("-5", None),
    ("1.5", None), ("٣", None),
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(("status", "retryable"), [
    (408, True), (425, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (301, False), (400, False), (401, False), (403, False), (404, False), (409, False), (410, False), (422, False),
])
def test_classify_http(status, retryable):
    response = httpx.Response(status, headers={"Retry-After": "9"}, text="nope")
    failure = classify_http(response, service="CRM")
    assert isinstance(failure, DeliveryFailed)
    assert (failure.retryable, failure.status_code) == (retryable, status)
    assert failure.retry_after == (9.0 if retryable else None)
    assert failure.message.startswith(f"CRM answered HTTP {status}")
    assert is_retryable_status(status) is retryable


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_success(status):
    assert classify_http(httpx.Response(status), service="CRM") is None


def test_classify_http_quotes_the_body_briefly_and_redacts_secrets():
    response = httpx.Response(400, text="invalid signature for secret s3cr3t-value\n" + "x" * 1000)
    failure = classify_http(response, service="Webhook", secrets=["s3cr3t-value"])
    assert failure is not None
    assert "s3cr3t-value" not in failure.message and "[redacted]" in failure.message
    assert len(failure.message) < 300
    assert redact("a token b", [b"token", ""]) == "a [redacted] b"


def test_transport_failures():
    request = httpx.Request("POST", "https://crm.example/hook?token=abc")
    cases = [
        (httpx.ConnectError("[Errno 111] Connection refused", request=request), True, "Connection refused"),
        (httpx.ConnectTimeout("", request=request), True, "timed out connecting"),
        (httpx.ReadTimeout("", request=request), True, "may have been received"),
        (httpx.PoolTimeout("", request=request), True, "free connection"),
        (TimeoutError(), True, "timed out"),
        (httpx.ReadError("", request=request), True, "network error"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request), True,
         "broke the HTTP protocol"),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'.", request=request), False,
         "http:// or https://"),
        (httpx.InvalidURL("Invalid URL 'https://crm.example/hook?token=abc'"), False, "not valid"),
        # h11 quotes the offending header value, which may be a token
        (httpx.LocalProtocolError("Illegal header value b'Bearer abc\\n'", request=request), False, "could not be formed"),
    ]
    for exc, retryable, words in cases:
        failure = transport_failure(exc, service="CRM")
        assert failure.retryable is retryable, exc
        assert words in failure.message, (exc, failure.message)
        assert "abc" not in failure.message
        assert failure.message.startswith("CRM: ")


def test_a_failure_survives_pickling():
    failure = DeliveryFailed("CRM answered HTTP 429", retryable=True, status_code=429, retry_after=3.0)
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.message, copy.retryable, copy.status_code, copy.retry_after) == ("CRM answered HTTP 429", True, 429, 3.0)
    assert str(copy) == "CRM answered HTTP 429"
