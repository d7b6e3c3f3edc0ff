"""The plugin manager: built-in plugins, then third-party plugins from the
``leadwire`` entry-point group, filtered by plugins.toml and configured from it.

Built once, at start-up, by :func:`build_plugin_manager` (never at import
time). Any broken plugin or bad setting raises :class:`PluginError` with one
line naming the plugin and the key.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from leadwire.plugins import hookspecs
from leadwire.plugins.config import PluginError, Setting, environment, read_plugins_file, validate_block

log = logging.getLogger("leadwire.plugins")

ENTRY_POINT_GROUP = "leadwire"
BUILTIN_PLUGINS = (
    "leadwire.plugins.builtin.industries",
    "leadwire.plugins.builtin.email_channel",
    "leadwire.plugins.builtin.sms_channel",
    "leadwire.plugins.builtin.webhook_channel",
    "leadwire.plugins.builtin.hubspot_channel",
    "leadwire.plugins.builtin.manual_gateway",
    "leadwire.plugins.builtin.stripe_gateway",
    "leadwire.plugins.builtin.twilio_voice",
)


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    source: str  # "builtin" or "entry point: dist==version"
    hooks: tuple[str, ...]
    settings: tuple[Setting, ...]


@dataclass
class LeadwirePlugins:
    pm: pluggy.PluginManager
    _loaded: list[LoadedPlugin] = field(default_factory=list)
    _config: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def hook(self):
        return self.pm.hook

    def loaded(self) -> list[LoadedPlugin]:
        return list(self._loaded)

    def config_for(self, name: str) -> dict[str, Any]:
        return dict(self._config.get(name, {}))

    def collect(self, hook_name: str, *, key: str) -> list[Any]:
        """Merge a ``register_*`` hook's lists from every plugin, refusing two
        registrations with the same ``key`` attribute."""
        return [item for _, item in self.collect_with_owner(hook_name, key=key)]

    def collect_with_owner(self, hook_name: str, *, key: str) -> list[tuple[str, Any]]:
        """As :meth:`collect`, each item with the name of the plugin that registered it."""
        seen: dict[str, str] = {}
        merged = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            owner = self.pm.get_name(impl.plugin) or "?"
            try:
                items = list(impl.function() or [])
            except Exception as exc:
                raise PluginError(f"plugin {owner!r}: {hook_name} failed: {exc.__class__.__name__}: {exc}") from exc
            for item in items:
                name = getattr(item, key, None)
                if name in seen:
                    raise PluginError(
                        f"plugin {owner!r}: {hook_name} registers {name!r}, which plugin {seen[name]!r} registered already"
                    )
                seen[name] = owner
                merged.append((owner, item))
        return merged

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for p in self._loaded:
            config = self._config.get(p.name, {})
            out.append({
                "name": p.name,
                "source": p.source,
                "hooks": list(p.hooks),
                "settings": {s.name: ("***" if s.secret and config.get(s.name) is not None else config.get(s.name))
                             for s in p.settings},
            })
        return out


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or []))


def build_plugin_manager(
    plugins_file: Path, env: Mapping[str, str] | None = None, *, load_entry_points: bool = True
) -> LeadwirePlugins:
    env = environment() if env is None else env
    spec = read_plugins_file(plugins_file)
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if env.get("LEADWIRE_PLUGINS_TRACE") == "1":
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()
    plugins = LeadwirePlugins(pm)

    def wanted(name: str) -> bool:
        return name not in spec.disabled and (spec.enabled is None or name in spec.enabled)

    candidates: list[tuple[str, str, Any]] = []  # (name, source, loader)
    for module_name in BUILTIN_PLUGINS:
        candidates.append((module_name.rsplit(".", 1)[-1], "builtin", lambda m=module_name: importlib.import_module(m)))
    if load_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = f"{ep.dist.name}=={ep.dist.version}" if ep.dist else "unknown distribution"
            candidates.append((ep.name, f"entry point: {dist}", ep.load))

    names = set()
    for name, source, load in candidates:
        if name in names:
            raise PluginError(f"plugin {name!r}: two plugins have this name ({source})")
        names.add(name)
        if not wanted(name):
            continue
        try:
            plugin = load()
            pm.register(plugin, name=name)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {name!r} ({source}) failed to load: {exc.__class__.__name__}: {exc}") from exc
        settings: list[Setting] = []
        for impl in pm.hook.leadwire_plugin_settings.get_hookimpls():
            if impl.plugin is plugin:
                settings = list(impl.function() or [])
        plugins._config[name] = validate_block(name, settings, spec.blocks.get(name, {}), env)
        plugins._loaded.append(LoadedPlugin(name, source, _hooks_of(pm, plugin), tuple(settings)))

    for name in spec.blocks:
        if name not in names:
            raise PluginError(f"plugin {name!r}: plugins.toml configures it, but no such plugin is installed")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {getattr(exc, 'plugin_name', '?')!r}: {exc}") from None
    for p in plugins._loaded:
        for impl in pm.hook.leadwire_startup.get_hookimpls():
            if pm.get_name(impl.plugin) == p.name:
                try:
                    impl.function(config=plugins._config[p.name])
                except Exception as exc:
                    raise PluginError(f"plugin {p.name!r}: start-up failed: {exc.__class__.__name__}: {exc}") from exc
    return plugins


def install_registrations(plugins: LeadwirePlugins) -> None:
    """Hand what plugins registered to core (the only way core learns of them)."""
    from leadwire.core import delivery, extensions, industries, payments
    from leadwire.core.calls import providers as telephony

    try:
        industries.install(plugins.collect("leadwire_register_industries", key="key"))
        delivery.install(
            delivery.InstalledChannel(channel, owner, plugins.config_for(owner))
            for owner, channel in plugins.collect_with_owner("leadwire_register_delivery_channels", key="name")
        )
        payments.install(
            payments.InstalledGateway(gateway, owner, plugins.config_for(owner))
            for owner, gateway in plugins.collect_with_owner("leadwire_register_payment_gateways", key="name")
        )
        telephony.install(
            telephony.InstalledProvider(provider, owner, plugins.config_for(owner))
            for owner, provider in plugins.collect_with_owner("leadwire_register_telephony_providers", key="name")
        )
    except ValueError as exc:
        raise PluginError(str(exc)) from None
    extensions.install(plugins.hook)


def load_plugins(plugins_file: Path) -> LeadwirePlugins:
    plugins = build_plugin_manager(plugins_file, os.environ)
    install_registrations(plugins)
    return plugins
