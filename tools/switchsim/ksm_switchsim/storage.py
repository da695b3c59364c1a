"""Where a simulated device keeps its state on disk, and safe reads and writes of it.

Layout of ``state_dir``::

    ssh_host_rsa_key        generated on first start, mode 0600
    nvram/startup-config    written by ``write memory``, loaded at start (like a boot)
    nvram/snmp-users.json   the SNMP users saved with it (IOS keeps them outside the config)
    flash/<NAME>            ``copy running-config flash:NAME``, ``configure replace flash:NAME``
    faults.json             optional fault injection, read at every new session
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ksm_switchsim.config_tree import SnmpUser

_FLASH_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FlashNameError(ValueError):
    """A flash file name that the simulator will not turn into a path."""


@dataclass(frozen=True)
class FlashFile:
    name: str
    size: int
    modified: datetime


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` so that a crash leaves either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp_name).chmod(mode)
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class DeviceStore:
    """The files of one simulated device."""

    state_dir: Path

    @property
    def host_key_path(self) -> Path:
        return self.state_dir / "ssh_host_rsa_key"

    @property
    def startup_config_path(self) -> Path:
        return self.state_dir / "nvram" / "startup-config"

    @property
    def flash_dir(self) -> Path:
        return self.state_dir / "flash"

    @property
    def faults_path(self) -> Path:
        return self.state_dir / "faults.json"

    def prepare(self) -> None:
        for directory in (self.state_dir, self.startup_config_path.parent, self.flash_dir):
            directory.mkdir(parents=True, exist_ok=True)

    def read_startup_config(self) -> str | None:
        path = self.startup_config_path
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def write_startup_config(self, text: str) -> None:
        write_atomically(self.startup_config_path, text)

    @property
    def snmp_users_path(self) -> Path:
        return self.state_dir / "nvram" / "snmp-users.json"

    def read_snmp_users(self) -> dict[str, SnmpUser]:
        path = self.snmp_users_path
        if not path.is_file():
            return {}
        records = json.loads(path.read_text(encoding="utf-8"))
        return {r["name"]: SnmpUser(**r) for r in records}

    def write_snmp_users(self, users: list[SnmpUser]) -> None:
        write_atomically(self.snmp_users_path, json.dumps([asdict(u) for u in users], indent=2) + "\n", 0o600)

    def flash_path(self, name: str) -> Path:
        """The path of flash file ``name``; rejects names that could leave the flash directory."""
        if not _FLASH_NAME_RE.match(name):
            raise FlashNameError(f"invalid flash file name {name!r}, expected e.g. backup-1.cfg")
        return self.flash_dir / name

    def flash_files(self) -> list[FlashFile]:
        if not self.flash_dir.is_dir():
            return []
        files = []
        for path in sorted(self.flash_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                files.append(FlashFile(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        return files
