"""The lab's own, lab-only credentials: one SSH key for hosts, generated passwords for devices.

They live in the lab directory (private key and ``secrets.json`` with mode 0600) and are never
printed. They have nothing to do with the authorities' real secrets in ansible-vault.
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ksm_provision.errors import LabError
from ksm_provision.fileio import write_atomic
from ksm_provision.lab import system

_lock = threading.Lock()


class DeviceSecret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password: str
    enable_secret: str

    def __repr__(self) -> str:  # never show a secret by accident
        return "DeviceSecret(password=***, enable_secret=***)"

    __str__ = __repr__


def ensure_key(key_file: Path) -> Path:
    """Create the lab's ed25519 key pair once; return the private key's path."""
    with _lock:
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ksm-lab", "-f", str(key_file)])
        key_file.chmod(0o600)
    return key_file


def public_key(key_file: Path) -> str:
    return key_file.with_suffix(".pub").read_text().strip()


def _read(path: Path) -> dict[str, DeviceSecret]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {k: DeviceSecret.model_validate(v) for k, v in raw.items()}
    except (OSError, ValueError) as exc:
        raise LabError(
            f"cannot read the lab secrets {path}", hint="run 'ksm lab down' and 'ksm lab up'"
        ) from exc


def device_secret(path: Path, secret_id: str) -> DeviceSecret:
    """The secret stored under *secret_id*, generated (and saved with mode 0600) on first use."""
    with _lock:
        stored = _read(path)
        if secret_id in stored:
            return stored[secret_id]
        secret = DeviceSecret(password=secrets.token_urlsafe(18), enable_secret=secrets.token_urlsafe(18))
        stored[secret_id] = secret
        _write(path, stored)
        return secret


def forget(path: Path, secret_id: str) -> None:
    with _lock:
        stored = _read(path)
        if stored.pop(secret_id, None) is not None:
            _write(path, stored)


def _write(path: Path, stored: dict[str, DeviceSecret]) -> None:
    text = json.dumps({k: v.model_dump() for k, v in stored.items()}, indent=2)
    write_atomic(path, text, mode=0o600, durable=False)  # lab-only secrets: owner only


def lookup(path: Path, secret_id: str) -> DeviceSecret:
    """The stored secret; error when it is missing (the lab was not built)."""
    with _lock:
        stored = _read(path)
    if secret_id not in stored:
        raise LabError(f"no lab secret for {secret_id!r}", hint="run 'ksm lab up' first")
    return stored[secret_id]
