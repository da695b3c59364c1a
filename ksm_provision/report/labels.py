"""German labels and number formats for management; the code and JSON stay English.

Every function is small and pure; unknown keys fall back to the key itself, so a new role or
platform shows up by its id instead of disappearing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ksm_provision.report.model import DEFAULT_TIMEZONE

NO_DATA = "keine Daten"
#: German names of the zone abbreviations of Europe/Berlin; others are shown as the tz database has them.
ZONE_ABBREVIATIONS = {"CET": "MEZ", "CEST": "MESZ"}

PURPOSES = {
    "clients": "Arbeitsplätze",
    "servers": "Server",
    "management": "Management",
    "printers": "Drucker",
    "voice": "Telefonie",
    "transit": "Transit",
}
SERVER_ROLES = {
    "fileserver": "Dateiserver",
    "dhcp": "DHCP",
    "fachverfahren": "Fachverfahren",
    "loghost": "Logserver",
    "printserver": "Druckserver",
    "none": "ohne Rolle",
}
DEVICE_ROLES = {"router": "Router", "core_switch": "Core-Switch", "access_switch": "Access-Switch"}
OPERATING_SYSTEMS = {"debian12": "Debian 12", "cisco_ios": "Cisco IOS", "frr": "FRRouting"}
#: The status of an Anforderung in the IT-Grundschutz section (keys as in ``ksm compliance --json``).
GRUNDSCHUTZ_STATUS = {
    "met": "erfüllt",
    "partial": "teilweise",
    "not_met": "nicht erfüllt",
    "not_checked": NO_DATA,
}
APPLY_RESULTS = {
    "success": "erfolgreich",
    "failed": "fehlgeschlagen",
    "failed_untouched": "fehlgeschlagen, Gerät unverändert",
    "failed_state_unknown": "fehlgeschlagen, Zustand unbekannt – prüfen",
    "rolled_back": "zurückgerollt",
    "refused": "abgelehnt",
}
TARGETS = {"production": "Produktion", "lab": "Labor"}


def label(table: dict[str, str], key: str) -> str:
    """The German label of *key*, or *key* itself.

    >>> label(SERVER_ROLES, "dhcp"), label(SERVER_ROLES, "backup")
    ('DHCP', 'backup')
    """
    return table.get(key, key)


def number(value: int) -> str:
    """An integer with German thousands separators.

    >>> number(1234567), number(12)
    ('1.234.567', '12')
    """
    return f"{value:,}".replace(",", ".")


def plural(count: int, singular: str, plural_form: str) -> str:
    """A count with the right German noun form.

    >>> plural(1, "Gerät", "Geräte"), plural(3, "Gerät", "Geräte")
    ('1 Gerät', '3 Geräte')
    """
    return f"{number(count)} {singular if count == 1 else plural_form}"


def percent(fraction: float | None, decimals: int = 1) -> str:
    """A fraction as a German percentage; ``None`` is "keine Daten".

    >>> percent(0.9876), percent(1.0, 0), percent(None)
    ('98,8 %', '100 %', 'keine Daten')
    """
    if fraction is None:
        return NO_DATA
    return f"{fraction * 100:.{decimals}f} %".replace(".", ",")


@cache
def zone(name: str | None) -> tzinfo:
    """The time zone *name* of the tz database; UTC when it is unknown here (the label then says UTC).

    >>> str(zone("Europe/Berlin")), str(zone(None)), str(zone("Mars/Olympus"))
    ('Europe/Berlin', 'Europe/Berlin', 'UTC')
    """
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local(value: datetime, zone_name: str | None = None) -> datetime:
    """*value* in the zone *zone_name* (default Europe/Berlin); a naive time is taken as UTC.

    >>> local(datetime(2025, 3, 30, 0, 59)).isoformat(), local(datetime(2025, 3, 30, 1, 0)).isoformat()
    ('2025-03-30T01:59:00+01:00', '2025-03-30T03:00:00+02:00')
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone(zone_name))


def timestamp(value: datetime | None, zone_name: str | None = None) -> str:
    """A time as German date and time in *zone_name* (default Europe/Berlin), with MEZ or MESZ.

    >>> winter, summer = datetime(2024, 1, 15, 12, 0, tzinfo=UTC), datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
    >>> timestamp(winter), timestamp(summer)
    ('15.01.2024 13:00 MEZ', '01.05.2024 16:03 MESZ')
    >>> timestamp(datetime(2024, 5, 1, 14, 3, tzinfo=UTC), "UTC"), timestamp(None)
    ('01.05.2024 14:03 UTC', 'keine Daten')
    """
    if value is None:
        return NO_DATA
    shown = local(value, zone_name)
    abbreviation = shown.tzname() or ""
    return f"{shown:%d.%m.%Y %H:%M} {ZONE_ABBREVIATIONS.get(abbreviation, abbreviation)}".rstrip()


def iso_week(day: date) -> str:
    """The ISO week of *day* as in the JSON, e.g. ``2025-W02``.

    >>> iso_week(date(2025, 1, 6)), iso_week(date(2024, 12, 30))
    ('2025-W02', '2025-W01')
    """
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def calendar_week(day: date) -> str:
    """The German calendar week ("Kalenderwoche", ISO 8601) of *day*.

    >>> calendar_week(date(2025, 3, 10)), calendar_week(date(2024, 12, 30))
    ('KW 11/2025', 'KW 01/2025')
    """
    year, week, _ = day.isocalendar()
    return f"KW {week:02d}/{year}"
