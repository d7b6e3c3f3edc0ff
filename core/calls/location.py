"""Where a caller is: the state of the caller's area code (North American
numbers), or the place of a ZIP code the caller keys in at a prompt."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from leadwire.integrations import geodata


@dataclass(frozen=True)
class Place:
    postal_code: str = ""
    city: str = ""
    state: str = ""
    source: str = ""  # "keypad", "area_code" or "" (unknown)


def from_zip(digits: str | None) -> Place | None:
    z = (digits or "").strip()
    if len(z) != 5 or not z.isdigit():
        return None
    info = geodata.lookup(z)
    if info is None:
        return None
    return Place(postal_code=z, city=info.city, state=info.state, source="keypad")


def from_caller(number: str) -> Place:
    """The state of a NANP caller's area code, when it serves exactly one state."""
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return Place()
    if parsed.country_code != 1:
        return Place()
    area = str(parsed.national_number)[:3]
    states = geodata.states_for_area_code(area)
    if len(states) == 1:
        return Place(state=next(iter(states)), source="area_code")
    return Place()
