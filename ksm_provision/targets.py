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
    #: The known_hosts file that must hold this node's host key (checked strictly): in production
    #: the authority's managed file (:mod:`ksm_provision.hostkeys`), in the lab the lab's own.
    known_hosts: str | None = None
    #: False only for a lab stand-in whose key the lab did not record: trusted as it is (127.x only).
    check_host_key: bool = True
