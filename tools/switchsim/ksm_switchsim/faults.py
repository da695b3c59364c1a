"""Fault injection for tests: misbehaviour read from ``<state_dir>/faults.json`` at every session.

>>> Faults(drop_after_config_lines=2).drop_after_config_lines
2
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ksm_switchsim.storage import DeviceStore, write_atomically


class Faults(BaseModel):
    """What a session should get wrong. The default is a well-behaved device."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Close the SSH transport once the session has typed this many lines in configuration mode.
    drop_after_config_lines: int | None = Field(default=None, ge=0)
    #: Wait this long before answering each line.
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    #: Regular expressions; configuration lines matching one are refused and change nothing.
    reject_commands: tuple[str, ...] = ()
    #: How a refused line is answered: ``ios`` as IOS does (``^`` marker and ``% Invalid input
    #: detected at '^' marker.``); ``foreign`` in a style no IOS prints (``No such command: LINE``,
    #: no ``%``, no marker), to test that a push notices refusals it has no pattern for.
    reject_style: Literal["ios", "foreign"] = "ios"

    @field_validator("reject_commands")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"reject_commands: {pattern!r} is not a regular expression: {exc}") from exc
        return patterns

    def rejects(self, line: str) -> bool:
        return any(re.search(pattern, line) for pattern in self.reject_commands)


#: The refusal of ``reject_style="foreign"``: deliberately unlike any IOS message.
FOREIGN_REFUSAL = "No such command: {line}"


def set_faults(state_dir: Path, faults: Faults) -> None:
    """Make the device in ``state_dir`` misbehave from its next session on."""
    write_atomically(DeviceStore(state_dir).faults_path, faults.model_dump_json(indent=2) + "\n")


def clear_faults(state_dir: Path) -> None:
    DeviceStore(state_dir).faults_path.unlink(missing_ok=True)


def load_faults(state_dir: Path) -> Faults:
    """The faults currently configured (none when the file is missing)."""
    path = DeviceStore(state_dir).faults_path
    if not path.is_file():
        return Faults()
    return Faults.model_validate_json(path.read_text(encoding="utf-8"))
