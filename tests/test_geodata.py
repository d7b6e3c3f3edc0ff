"""The US ZIP data (integrations/geodata.py) as Leadwire reads it."""

from zoneinfo import ZoneInfo

from leadwire.integrations import geodata


def test_every_time_zone_is_a_zone_or_unknown():
    zones = {geodata.lookup(z).time_zone for z in geodata.all_zip_codes()}
    for zone in zones - {""}:
        ZoneInfo(zone)  # raises for a name that is not a time zone
    assert geodata.lookup("48165").time_zone == "America/Detroit"
    # The upstream data names a city where the zone belongs: read as unknown.
    assert geodata.lookup("99634").city == "Napakiak" and geodata.lookup("99634").time_zone == ""
