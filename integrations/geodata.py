"""US ZIP code geodata from the `zipcodes` package (data shipped on PyPI, no
download at run time): city, state, coordinates, time zone, area codes, and
great-circle distances for ZIP + radius filters.

Knows nothing of Leadwire. The table is loaded once, lazily, into arrays so
that a radius query over all ~42,000 ZIPs is one pass of arithmetic.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EARTH_RADIUS_MILES = 3958.7613


@dataclass(frozen=True)
class ZipInfo:
    zip_code: str
    city: str
    state: str
    latitude: float
    longitude: float
    time_zone: str  # an IANA zone, or "" when the data has none (or one that is not a zone)
    area_codes: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    by_zip: dict[str, ZipInfo]
    zips: tuple[str, ...]
    lat_rad: tuple[float, ...]
    lon_rad: tuple[float, ...]
    # The same ZIPs ordered by latitude, for a radius query's band.
    band_lat: tuple[float, ...]
    band_lon: tuple[float, ...]
    band_zips: tuple[str, ...]
    states_by_area_code: dict[str, frozenset[str]]


@lru_cache(maxsize=None)
def _zone(name: str) -> str:
    """``name`` if it is a time zone this machine knows, else "": the ZIP data
    has at least one city name where a zone belongs (99634: "Napakiak")."""
    if not name:
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name


@lru_cache(maxsize=1)
def _table() -> _Table:
    import zipcodes

    by_zip: dict[str, ZipInfo] = {}
    area: dict[str, set[str]] = {}
    for row in zipcodes.list_all():
        if not row.get("active", True) or not row.get("lat"):
            continue
        info = ZipInfo(
            zip_code=row["zip_code"],
            city=row["city"].title() if row["city"].isupper() else row["city"],
            state=row["state"],
            latitude=float(row["lat"]),
            longitude=float(row["long"]),
            time_zone=_zone(row.get("timezone") or ""),
            area_codes=tuple(row.get("area_codes") or ()),
        )
        by_zip[info.zip_code] = info
        for code in info.area_codes:
            area.setdefault(code, set()).add(info.state)
    zips = tuple(sorted(by_zip))
    by_latitude = sorted(zips, key=lambda z: by_zip[z].latitude)
    return _Table(
        by_zip=by_zip,
        zips=zips,
        lat_rad=tuple(math.radians(by_zip[z].latitude) for z in zips),
        lon_rad=tuple(math.radians(by_zip[z].longitude) for z in zips),
        band_lat=tuple(math.radians(by_zip[z].latitude) for z in by_latitude),
        band_lon=tuple(math.radians(by_zip[z].longitude) for z in by_latitude),
        band_zips=tuple(by_latitude),
        states_by_area_code={k: frozenset(v) for k, v in area.items()},
    )


def lookup(zip_code: str) -> ZipInfo | None:
    """The ZIP's place, or None for a ZIP that does not exist (or is retired)."""
    return _table().by_zip.get(zip_code.strip()[:5])


def distance_miles(a: ZipInfo, b: ZipInfo) -> float:
    """Great-circle (haversine) distance between two ZIPs' centres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def zips_within(center_zip: str, miles: float) -> list[str]:
    """Every ZIP whose centre is within ``miles`` of the centre ZIP's, itself included."""
    t = _table()
    center = t.by_zip.get(center_zip)
    if center is None:
        return []
    lat0, lon0 = math.radians(center.latitude), math.radians(center.longitude)
    cos0 = math.cos(lat0)
    # Only the band of latitudes the radius can reach (latitude degrees are ~69
    # miles everywhere), found by bisection, then haversine: about 1% of the
    # table for a 40-mile radius instead of all of it.
    dlat = miles / EARTH_RADIUS_MILES
    lo = bisect.bisect_left(t.band_lat, lat0 - dlat)
    hi = bisect.bisect_right(t.band_lat, lat0 + dlat)
    out = []
    asin, sin, cos, sqrt = math.asin, math.sin, math.cos, math.sqrt
    limit = miles / (2 * EARTH_RADIUS_MILES)
    for z, lat, lon in zip(t.band_zips[lo:hi], t.band_lat[lo:hi], t.band_lon[lo:hi]):
        h = sin((lat - lat0) / 2) ** 2 + cos0 * cos(lat) * sin((lon - lon0) / 2) ** 2
        if asin(min(1.0, sqrt(h))) <= limit:
            out.append(z)
    out.sort()  # in ZIP order, as before
    return out


def states_for_area_code(area_code: str) -> frozenset[str]:
    """States a telephone area code serves (usually one)."""
    return _table().states_by_area_code.get(area_code, frozenset())


def all_zip_codes() -> tuple[str, ...]:
    return _table().zips
