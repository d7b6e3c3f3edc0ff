"""The contract of an industry lead schema plugin.

An industry plugin returns :class:`IndustrySchema` objects from the
``leadwire_register_industries`` hook. The schema says which fields a lead of
that industry carries (types, required, allowed values), how they are
normalised and which are derived from others, which fields campaigns can filter
on, and how many buyers a shared lead may have. Core calls it through these
plain dataclasses; it never imports a particular plugin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class FieldType(str, Enum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"  # ISO 8601 calendar date
    CHOICE = "choice"  # one of ``choices``; ordered when the filter is min/max
    ZIP = "zip"  # a US ZIP code, checked against the geodata


class FilterOp(str, Enum):
    IN = "in"  # the campaign lists the values it accepts
    MIN = "min"  # the lead's value must be at least the campaign's (choices: by their order)
    MAX = "max"
    REQUIRE_TRUE = "require_true"  # the campaign can require a yes/no field to be yes


@dataclass(frozen=True)
class LeadField:
    name: str
    type: FieldType
    label: str
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int = 200
    derived: bool = False  # computed by ``derive``; never accepted from input


@dataclass(frozen=True)
class CampaignFilter:
    """A filter a campaign may set on one of the industry's fields."""

    field: str
    op: FilterOp
    label: str


class FieldProblem(ValueError):
    """Raised by ``derive``/``validate`` hooks of a schema: which field, why."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class IndustrySchema:
    key: str  # stable identifier, e.g. "moving"
    name: str
    fields: tuple[LeadField, ...]
    filters: tuple[CampaignFilter, ...] = ()
    default_max_buyers: int = 4
    # Product names (case-insensitive) whose shared leads may go to more buyers.
    max_buyers_by_product: Mapping[str, int] = field(default_factory=dict)
    # Computes derived fields from the normalised input and the geodata lookup
    # (``zip_lookup(zip) -> object with .latitude/.longitude/.state or None``);
    # may raise FieldProblem.
    derive: Callable[[dict[str, Any], Callable[[str], Any]], dict[str, Any]] | None = None

    def field_named(self, name: str) -> LeadField | None:
        return next((f for f in self.fields if f.name == name), None)

    def max_buyers_for(self, product_name: str) -> int:
        return self.max_buyers_by_product.get(product_name.strip().lower(), self.default_max_buyers)

    def validate(self, raw: Mapping[str, Any], zip_lookup: Callable[[str], Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Normalise ``raw`` industry data. Returns (data, problems); data is only
        meaningful when there are no problems."""
        problems: list[FieldProblem] = []
        data: dict[str, Any] = {}
        known = {f.name for f in self.fields if not f.derived}
        for name in raw:
            if name not in known:
                problems.append(FieldProblem(name, f"is not a field of {self.name} leads"))
        for f in self.fields:
            if f.derived:
                continue
            value = raw.get(f.name)
            if value is None or value == "":
                if f.required:
                    problems.append(FieldProblem(f.name, f"{f.label} is required"))
                continue
            try:
                data[f.name] = _coerce(f, value, zip_lookup)
            except FieldProblem as p:
                problems.append(p)
        if not problems and self.derive is not None:
            try:
                data.update(self.derive(dict(data), zip_lookup))
            except FieldProblem as p:
                problems.append(p)
        return data, problems


def _coerce(f: LeadField, value: Any, zip_lookup: Callable[[str], Any]) -> Any:
    if f.type == FieldType.STRING:
        text = str(value).strip()
        if len(text) > f.max_length:
            raise FieldProblem(f.name, f"{f.label} is at most {f.max_length} characters")
        return text
    if f.type == FieldType.INTEGER:
        if isinstance(value, bool):
            raise FieldProblem(f.name, f"{f.label} must be a whole number")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise FieldProblem(f.name, f"{f.label} must be a whole number, got {value!r}") from None
        if f.min_value is not None and number < f.min_value:
            raise FieldProblem(f.name, f"{f.label} must be at least {f.min_value}")
        if f.max_value is not None and number > f.max_value:
            raise FieldProblem(f.name, f"{f.label} must be at most {f.max_value}")
        return number
    if f.type == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "y"):
            return True
        if text in ("false", "no", "0", "n"):
            return False
        raise FieldProblem(f.name, f"{f.label} must be yes or no, got {value!r}")
    if f.type == FieldType.DATE:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise FieldProblem(f.name, f"{f.label} must be a date as YYYY-MM-DD, got {value!r}") from None
    if f.type == FieldType.CHOICE:
        text = str(value).strip().lower()
        if text not in f.choices:
            raise FieldProblem(f.name, f"{f.label} must be one of {', '.join(f.choices)}; got {value!r}")
        return text
    if f.type == FieldType.ZIP:
        text = str(value).strip()[:5]
        if not (len(text) == 5 and text.isdigit()) or zip_lookup(text) is None:
            raise FieldProblem(f.name, f"{f.label} is not a known US ZIP code: {value!r}")
        return text
    raise FieldProblem(f.name, f"unsupported field type {f.type}")


def filter_accepts(schema: IndustrySchema, filters: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """None if the lead's data passes the campaign's field filters, else the
    name of the first field that fails (for the routing trace)."""
    for spec in schema.filters:
        wanted = filters.get(spec.field)
        if wanted is None or wanted == [] or wanted is False:
            continue
        value = data.get(spec.field)
        if spec.op == FilterOp.IN:
            if value not in wanted:
                return spec.field
        elif spec.op == FilterOp.REQUIRE_TRUE:
            if value is not True:
                return spec.field
        elif spec.op in (FilterOp.MIN, FilterOp.MAX):
            if value is None:
                return spec.field
            f = schema.field_named(spec.field)
            if f is not None and f.type == FieldType.CHOICE:
                value, wanted = f.choices.index(value), f.choices.index(wanted)
            if (spec.op == FilterOp.MIN and value < wanted) or (spec.op == FilterOp.MAX and value > wanted):
                return spec.field
    return None


def validate_filters(schema: IndustrySchema, filters: Mapping[str, Any]) -> list[FieldProblem]:
    """Check a campaign's field-filter settings against the schema."""
    problems: list[FieldProblem] = []
    specs = {s.field: s for s in schema.filters}
    for name, wanted in filters.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(FieldProblem(name, f"{schema.name} campaigns cannot filter on {name!r}"))
            continue
        f = schema.field_named(name)
        if wanted is None:
            continue
        if spec.op == FilterOp.IN:
            if not isinstance(wanted, list) or (f and f.choices and any(v not in f.choices for v in wanted)):
                allowed = ", ".join(f.choices) if f and f.choices else "values"
                problems.append(FieldProblem(name, f"expected a list of {allowed}"))
        elif spec.op == FilterOp.REQUIRE_TRUE:
            if not isinstance(wanted, bool):
                problems.append(FieldProblem(name, "expected true or false"))
        else:
            if f is not None and f.type == FieldType.CHOICE:
                if wanted not in f.choices:
                    problems.append(FieldProblem(name, f"expected one of {', '.join(f.choices)}"))
            elif not isinstance(wanted, int) or isinstance(wanted, bool):
                problems.append(FieldProblem(name, "expected a whole number"))
    return problems
