"""How to reach each host or device: its inventory address (production) or its lab stand-in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    PRODUCTION = "production"
    LAB = "lab"


@dataclass(frozen=True)
class Connection:
    """Where and as whom to connect. Credentials are file paths or vault references, never values."""

    address: str
    port: int = 22
    user: str = "ksm-automation"
    key_file: str | None = None
    become: bool = True
