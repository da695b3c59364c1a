"""How to reach each host or device: the interface every target implements.

A *target* is one way to reach the nodes of an inventory: production (each node's inventory
address) or the lab twin (its stand-in on 127.x). Code that renders, plans or pushes receives a
:class:`TargetResolver` and never knows which one it has; only the wiring
(:func:`ksm_provision.target_resolution.resolver_for`) picks the implementation, so production
code never imports the lab. Every implementation passes each resolved address through the
lab-only guard (:func:`ksm_provision.safety.check_address`) before returning it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ksm_provision.inventory.hosts import Device
    from ksm_provision.inventory.inventory import Inventory
    from ksm_provision.vault import NetworkSecrets

#: What the lab-only guard calls the connections a resolver hands out (shown in its refusal).
HOST_CONNECTION = "SSH connection"
DEVICE_SESSION = "SSH session to a network device"


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


@dataclass(frozen=True)
class JumpEndpoint:
    """An SSH jump host in front of a device: the session is tunnelled through it (``direct-tcpip``).

    Its host key is checked against *known_hosts* (the device's authority's file); ksm logs in with
    *key_file*, else the SSH agent and the default keys of the account running ksm.
    """

    address: str
    port: int = 22
    user: str = "ksm-automation"
    known_hosts: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class SessionTimeouts:
    """A device's own timeouts in seconds (None: the run's default)."""

    connect: float | None = None
    command: float | None = None
    keepalive: float | None = None


@dataclass(frozen=True)
class DeviceEndpoint:
    """Where and as whom to open a session on a network device. Holds secrets; its repr hides them.

    *address* is an address or a DNS name (production only: the lab-only guard refuses names).
    """

    address: str
    port: int
    username: str
    password: str = field(repr=False)
    enable_secret: str = field(repr=False, default="")
    #: Check the device's host key against *known_hosts* (production); the lab's stand-ins are not.
    check_host_key: bool = True
    known_hosts: Path | None = None
    jump: JumpEndpoint | None = None
    timeouts: SessionTimeouts = field(default_factory=SessionTimeouts)
    #: ``auto``, ``configure_replace`` or ``remediation`` (see ``inventory.models.DeviceRollback``).
    rollback: str = "auto"

    def addresses(self) -> list[str]:
        """Every address a session to this endpoint connects to (the jump host first)."""
        return [*([self.jump.address] if self.jump else []), self.address]


class TargetResolver(Protocol):
    """One way to reach the hosts and devices of an inventory (production, the lab twin)."""

    @property
    def target(self) -> Target: ...

    def hosts(self, inventory: Inventory, only: Collection[str] | None = None) -> dict[str, Connection]:
        """Inventory host name -> how to reach it, for every host of *inventory* this target reaches.

        With *only*, just those hosts (a lab stand-in is kept when any host it represents is named).
        An empty result is not an error here; the caller decides what an empty scope means.
        """
        ...

    def device(self, inventory: Inventory, device: Device, secrets: NetworkSecrets) -> DeviceEndpoint:
        """How to reach *device*; *secrets* are its own authority's (production logs in with them)."""
        ...
