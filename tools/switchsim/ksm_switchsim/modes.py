"""CLI modes and their prompts."""

from __future__ import annotations

from enum import Enum


class Mode(Enum):
    USER_EXEC = ">"
    PRIV_EXEC = "#"
    CONFIG = "(config)#"
    CONFIG_IF = "(config-if)#"
    CONFIG_IF_RANGE = "(config-if-range)#"
    CONFIG_VLAN = "(config-vlan)#"
    CONFIG_LINE = "(config-line)#"

    @property
    def is_config(self) -> bool:
        return self not in (Mode.USER_EXEC, Mode.PRIV_EXEC)


def prompt(hostname: str, mode: Mode) -> str:
    """The prompt IOS shows, e.g. ``SW1(config-if)#``.

    >>> prompt("SW1", Mode.CONFIG_IF)
    'SW1(config-if)#'
    """
    return f"{hostname}{mode.value}"
