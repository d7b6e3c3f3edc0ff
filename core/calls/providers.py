"""The telephony providers plugins registered (installed at start-up)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadwire.plugins.telephony import TelephonyProvider


@dataclass(frozen=True)
class InstalledProvider:
    provider: TelephonyProvider
    plugin: str  # the plugin that registered it
    plugin_config: Mapping[str, Any]  # that plugin's validated plugins.toml block

    @property
    def name(self) -> str:
        return self.provider.name

    def setting(self, key: str, default: Any) -> Any:
        value = self.plugin_config.get(key)
        return default if value is None else value


_providers: dict[str, InstalledProvider] = {}


def install(items: Iterable[InstalledProvider]) -> None:
    """Replace the registry; a bad or repeated name is a configuration error."""
    seen: dict[str, InstalledProvider] = {}
    for item in items:
        if not isinstance(item.provider, TelephonyProvider):
            raise ValueError(f"plugin {item.plugin!r} registered a telephony provider that is not a TelephonyProvider")
        if not item.name or not item.name.replace("_", "").isalnum() or len(item.name) > 50:
            raise ValueError(f"plugin {item.plugin!r}: telephony provider name {item.name!r} must be 1-50 letters, digits or _")
        if item.name in seen:
            raise ValueError(
                f"plugin {item.plugin!r}: telephony provider {item.name!r} is registered already by {seen[item.name].plugin!r}"
            )
        seen[item.name] = item
    _providers.clear()
    _providers.update(seen)


def installed() -> list[InstalledProvider]:
    return sorted(_providers.values(), key=lambda p: p.name)


def provider(name: str) -> InstalledProvider | None:
    return _providers.get(name)
