"""Secrets and personal data out of the logs: the one place that masks them.

:func:`install` wraps the logging record factory, so every record made in the
process (ours, the libraries', tracebacks included) is masked before any
handler sees it, whatever the handlers and formatters are:

- credentials: Leadwire tokens and keys (``lw_ses_``, ``lw_pat_``, ``lw_src_``),
  ``Bearer`` values, ``password=``/``secret=``/``token=``/``api_key=`` pairs and
  the password of a URL (``scheme://user:***@host``);
- personal data: e-mail addresses (``j***@example.com``) and phone numbers in
  international form (``+1313***67``).

It is idempotent (the server and the CLI both call it at start-up).
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\b(lw_(?:ses|pat|src)_)[A-Za-z0-9_\-]{4,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{6,}")
_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|token|authorization)"
    r"(\"?\s*[=:]\s*\"?)([^\s&,;\"']+)"
)
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE)
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"(?<![\w+])\+(\d)[\d ().\-]{4,16}(\d{2})\b")

_INSTALLED_MARK = "_leadwire_masking"


def mask(text: str) -> str:
    """``text`` with credentials and personal data masked."""
    if not text:
        return text
    text = _TOKEN.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _PHONE.sub(r"+\1***\2", text)
    return text


def _masked_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let the handler report it as usual
        return record
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    return record


def install() -> None:
    factory = logging.getLogRecordFactory()
    if getattr(factory, _INSTALLED_MARK, False):
        return

    def masking_factory(*args, **kwargs) -> logging.LogRecord:
        return _masked_record(factory(*args, **kwargs))

    setattr(masking_factory, _INSTALLED_MARK, True)
    logging.setLogRecordFactory(masking_factory)
