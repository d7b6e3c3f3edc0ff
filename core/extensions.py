"""Notifying plugins of domain events (the ``leadwire_lead_*`` hooks).

The plugin manager hands core its hook relay at start-up (``install``); core
calls hooks only through :func:`notify`, after the change has committed. A
plugin that raises is logged and ignored: a notification must never undo or
delay a sale.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("leadwire.plugins")

_hook: Any = None


def install(hook_relay: Any) -> None:
    global _hook
    _hook = hook_relay


def listening(hook_name: str) -> bool:
    """Whether any plugin implements the hook (so hot paths build no event for nobody)."""
    return _hook is not None and bool(getattr(_hook, hook_name).get_hookimpls())


def notify(hook_name: str, *events: Any) -> None:
    if not events or not listening(hook_name):
        return
    caller = getattr(_hook, hook_name)
    for event in events:
        try:
            caller(event=event)
        except Exception:
            log.exception("a %s hook failed", hook_name)
