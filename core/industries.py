"""The industry lead schemas in force, as the plugins registered them.

Filled once at start-up from the plugin manager (``install``); core looks
schemas up here and never imports an industry plugin.
"""

from __future__ import annotations

from collections.abc import Iterable

from leadwire.plugins.industry import IndustrySchema

_schemas: dict[str, IndustrySchema] = {}


def install(schemas: Iterable[IndustrySchema]) -> None:
    """Replace the registry; duplicate keys are a configuration error."""
    seen: dict[str, IndustrySchema] = {}
    for schema in schemas:
        if schema.key in seen:
            raise ValueError(f"two industry schemas are registered under the key {schema.key!r}")
        seen[schema.key] = schema
    _schemas.clear()
    _schemas.update(seen)


def schema_for(key: str) -> IndustrySchema | None:
    return _schemas.get(key)


def installed() -> list[IndustrySchema]:
    return sorted(_schemas.values(), key=lambda s: s.name)
