"""Git-friendly backups of running configs: ``<out>/<authority>/<device>.conf``, secrets stripped.

The text is stable between runs of an unchanged device: no "Current configuration : N bytes"
header, no timestamps, ``\\n`` line ends, one trailing newline. Vault values and every
secret-bearing token (SNMP keys, password hashes) are replaced by ``********``.
"""

from __future__ import annotations

from pathlib import Path

from ksm_provision.fileio import write_atomic
from ksm_provision.inventory.hosts import Device
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import clean_running


def backup_path(out: Path, device: Device) -> Path:
    return out / device.authority / f"{device.hostname}.conf"


def backup_text(running: str, redact: ConfigRedactor) -> str:
    return redact(clean_running(running))


def write_backup(out: Path, device: Device, running: str, redact: ConfigRedactor) -> Path:
    """Write the device's backup atomically (never a torn file); return its path."""
    return write_atomic(backup_path(out, device), backup_text(running, redact), mode=0o640)
