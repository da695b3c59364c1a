"""German labels and number formats for management; the code and JSON stay English.

Every function is small and pure; unknown keys fall back to the key itself, so a new role or
platform shows up by its id instead of disappearing.
"""

from __future__ import annotations

from datetime import UTC, datetime

NO_DATA = "keine Daten"

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


def timestamp(value: datetime | None) -> str:
    """A time as German date and time in UTC.

    >>> timestamp(datetime(2024, 5, 1, 14, 3, tzinfo=UTC)), timestamp(None)
    ('01.05.2024 14:03 UTC', 'keine Daten')
    """
    if value is None:
        return NO_DATA
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%d.%m.%Y %H:%M UTC")
