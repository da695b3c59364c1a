"""Status records ksm keeps between runs, read by ``ksm report`` and CI.

Everything lives under ``$KSM_STATE_DIR`` (default ``./.ksm-state``):

- ``audit.jsonl``: append-only, one :class:`AuditRecord` per apply per authority
- ``verify/<authority>.json``: the last :class:`VerifyRecord`
- ``drift/<authority>.json``: the last :class:`DriftRecord`
- ``plans/<authority>.json``: the last :class:`PlanRecord` (changes pending until applied)
- ``proof/<authority>.json``: the last :class:`ProofRecord` (``ksm prove``: cells sourced there only)
- ``locks/<authority>.lock``: apply locks (see ``locks.py``)

Records hold names and counts, never secret values.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from pydantic import Field, ValidationError

from ksm_provision.fileio import write_atomic
from ksm_provision.prove.model import Cell, Totals
from ksm_provision.results import ResultModel


def state_dir() -> Path:
    return Path(os.environ.get("KSM_STATE_DIR", ".ksm-state"))


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(ResultModel):
    """A record ksm keeps between runs (unknown fields are refused when it is read back)."""


class ApplyResult(StrEnum):
    SUCCESS = "success"
    #: Hosts failed (Ansible) — and no device is in an unknown state.
    FAILED = "failed"
    #: Devices failed before a single configuration command was typed: nothing on them changed.
    FAILED_UNTOUCHED = "failed_untouched"
    #: At least one device had commands typed and its rollback could not be confirmed: check it.
    FAILED_STATE_UNKNOWN = "failed_state_unknown"
    ROLLED_BACK = "rolled_back"
    #: Refused before the first change: hosts or devices changed since the reviewed plan.
    REFUSED = "refused"


class AuditRecord(Record):
    id: str
    time: datetime
    user: str
    machine: str
    authority: str
    target: str
    git_commit: str | None = None
    plan_hash: str | None = None
    changed_hosts: list[str] = Field(default_factory=list)
    changed_devices: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    #: Of *failed*: devices that failed before anything was typed (untouched).
    untouched_devices: list[str] = Field(default_factory=list)
    #: Of *failed*: devices that may run part of the change (rollback not confirmed).
    state_unknown_devices: list[str] = Field(default_factory=list)
    changed_tasks: int = 0
    hosts: int = 0
    devices: int = 0
    result: ApplyResult


class VerifyRecord(Record):
    time: datetime
    authority: str
    target: str
    passed: bool
    checks: int
    failed: int
    pass_rate: float


class DriftRecord(Record):
    time: datetime
    authority: str
    target: str
    drifted: bool
    hosts: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)


class PlanRecord(Record):
    time: datetime
    authority: str
    target: str
    plan_hash: str | None = None
    changes_pending: int
    hosts: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)


class ProofRecord(Record):
    """The last reachability proof of one authority: only cells whose source is that authority."""

    time: datetime
    authority: str
    target: str
    passed: bool
    totals: Totals
    cells: list[Cell] = Field(default_factory=list)


R = TypeVar("R", bound=Record)

_KIND_DIRS: dict[type[Record], str] = {
    VerifyRecord: "verify",
    DriftRecord: "drift",
    PlanRecord: "plans",
    ProofRecord: "proof",
}


def save_status(
    record: VerifyRecord | DriftRecord | PlanRecord | ProofRecord, base: Path | None = None
) -> Path:
    path = (base or state_dir()) / _KIND_DIRS[type(record)] / f"{record.authority}.json"
    write_atomic(path, record.model_dump_json(indent=2) + "\n", mode=0o600)
    return path


def load_status(kind: type[R], authority: str, base: Path | None = None) -> R | None:
    path = (base or state_dir()) / _KIND_DIRS[kind] / f"{authority}.json"
    try:
        return kind.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError):
        return None


def clear_status(kind: type[Record], authority: str, base: Path | None = None) -> None:
    ((base or state_dir()) / _KIND_DIRS[kind] / f"{authority}.json").unlink(missing_ok=True)
