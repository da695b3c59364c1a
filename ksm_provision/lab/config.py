"""Where a lab lives and how its machine-wide resources are named.

Network namespaces, FRR path spaces and Unix users are global to the machine, so their names carry
the lab *instance* (0 for an engineer's lab, another number for e.g. the test suite's lab). Two labs
with different instances never touch each other's resources.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab.addresses import MAX_INSTANCE

DEFAULT_LAB_DIR = Path("/var/lib/ksm-provision/lab")
#: Root-owned directory for the login shells of router users (a user's shell must be reachable by it).
SHELL_DIR = Path("/usr/local/libexec/ksm-lab")
FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
_USER_MAX = 32


@dataclass(frozen=True)
class LabConfig:
    """A lab: its state directory and its instance number."""

    lab_dir: Path = DEFAULT_LAB_DIR
    instance: int = 0
    #: TCP port of every node's SSH server (on its own address). Needs another value only when a
    #: process on this machine listens on port 22 of *all* addresses (0.0.0.0:22).
    ssh_port: int = 22

    def __post_init__(self) -> None:
        if not 0 <= self.instance <= MAX_INSTANCE:
            raise LabError(f"lab instance {self.instance} is out of range", hint=f"use 0..{MAX_INSTANCE}")
        if not 1 <= self.ssh_port <= 65535:
            raise LabError(f"lab SSH port {self.ssh_port} is out of range", hint="e.g. 22 or 2222")
        if not self.lab_dir.is_absolute():
            object.__setattr__(self, "lab_dir", self.lab_dir.resolve())

    @classmethod
    def from_env(cls) -> LabConfig:
        """``$KSM_LAB_DIR`` (default /var/lib/ksm-provision/lab), ``$KSM_LAB_INSTANCE`` (default 0),
        ``$KSM_LAB_SSH_PORT`` (default 22)."""
        numbers = {}
        for name, default in (("KSM_LAB_INSTANCE", "0"), ("KSM_LAB_SSH_PORT", "22")):
            raw = os.environ.get(name) or default
            if not raw.isdigit():
                raise LabError(f"{name}={raw!r} is not a number", hint=f"e.g. {name}={default}")
            numbers[name] = int(raw)
        return cls(
            lab_dir=Path(os.environ.get("KSM_LAB_DIR") or DEFAULT_LAB_DIR),
            instance=numbers["KSM_LAB_INSTANCE"],
            ssh_port=numbers["KSM_LAB_SSH_PORT"],
        )

    # ------------------------------------------------------------------ files in the lab dir

    @property
    def state_file(self) -> Path:
        return self.lab_dir / "state.json"

    @property
    def secrets_file(self) -> Path:
        return self.lab_dir / "secrets.json"

    @property
    def key_file(self) -> Path:
        return self.lab_dir / "ssh" / "id_ed25519"

    @property
    def known_hosts_file(self) -> Path:
        return self.lab_dir / "ssh" / "known_hosts"

    @property
    def lock_file(self) -> Path:
        return self.lab_dir / ".lock"

    def node_dir(self, name: str) -> Path:
        return self.lab_dir / "nodes" / name

    # ------------------------------------------------------------------ machine-wide names

    @property
    def _tag(self) -> str:
        return "ksm" if self.instance == 0 else f"ksm{self.instance}"

    def netns(self, name: str) -> str:
        """``ksm-<name>`` (instance 0) or ``ksm<k>-<name>``."""
        return f"{self._tag}-{name}"

    def pathspace(self, name: str) -> str:
        """FRR ``-N`` path space: /etc/frr/<pathspace>, /var/run/frr/<pathspace>."""
        return name if self.instance == 0 else f"{self._tag}-{name}"

    def router_user(self, name: str) -> str:
        """``ksmfrr-<short>`` (instance 0) or ``ksm<k>frr-<short>``, at most 32 characters."""
        prefix = f"{self._tag}frr-"
        room = _USER_MAX - len(prefix)
        if len(name) <= room:
            return prefix + name
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        return f"{prefix}{name[: room - 7]}-{digest}"

    @property
    def user_prefix(self) -> str:
        return f"{self._tag}frr-"
