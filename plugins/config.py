"""plugins.toml: which plugins are enabled, and each one's settings.

::

    [plugins]
    disabled = ["some_plugin"]        # never load these
    # enabled = ["a", "b"]            # if present: load only these

    [plugin.smtp]
    host = "smtp.example.com"
    password = "${SMTP_PASSWORD}"      # from the environment
    api_key = { "$file" = "/run/secrets/key" }   # from a file

A setting's value is checked against the plugin's declared
:class:`Setting`; every error names the plugin and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadwire.core.settings import Secret


class PluginError(Exception):
    """A plugin could not be loaded or configured. ``str()`` is one line naming
    the plugin (and the key)."""


SETTING_TYPES = {"str": str, "int": int, "bool": bool, "float": (int, float), "list": list, "dict": dict}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Setting:
    name: str
    type: str = "str"  # str, int, bool, float, list, dict
    required: bool = False
    default: Any = None
    secret: bool = False
    description: str = ""

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has the declared type (a bool is not an int here)."""
        return isinstance(value, SETTING_TYPES[self.type]) and (self.type == "bool" or not isinstance(value, bool))

    def __post_init__(self) -> None:
        if self.type not in SETTING_TYPES:
            raise ValueError(f"setting {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class PluginsFile:
    enabled: tuple[str, ...] | None
    disabled: tuple[str, ...]
    blocks: Mapping[str, Mapping[str, Any]]


def read_plugins_file(path: Path) -> PluginsFile:
    if not path.exists():
        return PluginsFile(enabled=None, disabled=(), blocks={})
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PluginError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"plugins", "plugin"}
    if unknown:
        raise PluginError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; expected [plugins] and [plugin.<name>]")
    top = doc.get("plugins", {})
    for key in set(top) - {"enabled", "disabled"}:
        raise PluginError(f"{path}: [plugins] has no setting {key!r} (expected enabled, disabled)")
    enabled = top.get("enabled")
    disabled = top.get("disabled", [])
    for name, value in (("enabled", enabled), ("disabled", disabled)):
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise PluginError(f"{path}: [plugins] {name} must be a list of plugin names")
    blocks = doc.get("plugin", {})
    for name, block in blocks.items():
        if not isinstance(block, dict):
            raise PluginError(f"{path}: [plugin.{name}] must be a table")
    return PluginsFile(tuple(enabled) if enabled is not None else None, tuple(disabled), blocks)


def _resolve(plugin: str, key: str, value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"$file"}:
        try:
            return Path(value["$file"]).read_text().strip()
        except OSError as exc:
            raise PluginError(f"plugin {plugin!r}: setting {key!r}: cannot read {value['$file']}: {exc.strerror}") from None
    if isinstance(value, str):
        def sub(match: re.Match) -> str:
            name = match.group(1)
            if name not in env:
                raise PluginError(f"plugin {plugin!r}: setting {key!r}: environment variable {name} is not set")
            return env[name]

        return _ENV_REF.sub(sub, value)
    return value


def validate_block(plugin: str, declared: list[Setting], block: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The plugin's settings: references resolved, types checked, defaults
    filled, secrets wrapped."""
    by_name = {s.name: s for s in declared}
    for key in block:
        if key not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise PluginError(f"plugin {plugin!r}: setting {key!r} is not one of its settings ({known})")
    out: dict[str, Any] = {}
    for s in declared:
        if s.name not in block:
            if s.required:
                raise PluginError(f"plugin {plugin!r}: setting {s.name!r} is required")
            out[s.name] = s.default
            continue
        value = _resolve(plugin, s.name, block[s.name], env)
        if not s.accepts(value):
            raise PluginError(f"plugin {plugin!r}: setting {s.name!r}: expected {s.type}, got {value!r}" if not s.secret
                              else f"plugin {plugin!r}: setting {s.name!r}: expected {s.type}")
        out[s.name] = Secret(value) if s.secret else value
    return out


def environment() -> Mapping[str, str]:
    return dict(os.environ)
