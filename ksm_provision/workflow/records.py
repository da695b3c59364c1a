"""Status records ksm keeps between runs, read by ``ksm report`` and CI.

Everything lives under ``$KSM_STATE_DIR`` (default ``./.ksm-state``):

- ``audit.jsonl``: append-only, one :class:`AuditRecord` per apply per authority
- ``verify/<authority>.json``: the last :class:`VerifyRecord`
- ``verify-checks/<authority>.json``: the last :class:`VerifyChecksRecord` (each check's outcome per
  host, for ``ksm compliance``; the report reads only the counts above)
- ``drift/<authority>.json``: the last :class:`DriftRecord`
- ``plans/<authority>.json``: the last :class:`PlanRecord` (changes pending until applied)
- ``proof/<authority>.json``: the last :class:`ProofRecord` (``ksm prove``: cells sourced there only)
- ``locks/<authority>.lock``: apply locks (see ``locks.py``)
- ``history/<authority>/{verify,drift,pull-runs}.jsonl``: a bounded history of the verify, drift
  and pull-run records, for the trend of ``ksm report`` (see ``history.py``)

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
from ksm_provision.results import FrozenResult, ResultModel
from ksm_provision.workflow.history import DriftEntry, VerifyEntry, append_history, check_authority


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


class CheckOutcome(FrozenResult):
    """One verify check on one host: its stable id (``sshd``, ``service:chrony``), name and verdict."""

    host: str
    #: :func:`ksm_provision.verify.check_ids.check_id` of the check; None if the run named a check
    #: that the spec does not hold (never expected).
    check: str | None
    name: str
    passed: bool
    #: The first line of the failure, redacted like every verify output; empty when passed.
    message: str = ""


class VerifyChecksRecord(Record):
    """The outcome of every check of one authority's last verify run (same time as its VerifyRecord)."""

    time: datetime
    authority: str
    target: str
    results: list[CheckOutcome] = Field(default_factory=list)


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
    VerifyChecksRecord: "verify-checks",
    DriftRecord: "drift",
    PlanRecord: "plans",
    ProofRecord: "proof",
}


def save_status(
    record: VerifyRecord | VerifyChecksRecord | DriftRecord | PlanRecord | ProofRecord,
    base: Path | None = None,
) -> Path:
    """Keep *record* as the authority's last of its kind; a verify or drift record also goes to
    the authority's history (:mod:`.history`)."""
    base = base or state_dir()
    path = base / _KIND_DIRS[type(record)] / f"{check_authority(record.authority)}.json"
    write_atomic(path, record.model_dump_json(indent=2) + "\n", mode=0o600)
    if isinstance(record, VerifyRecord):
        append_history(VerifyEntry.of(record), base)
    elif isinstance(record, DriftRecord):
        append_history(DriftEntry.of(record), base)
    return path


def load_status(kind: type[R], authority: str, base: Path | None = None) -> R | None:
    path = (base or state_dir()) / _KIND_DIRS[kind] / f"{authority}.json"
    try:
        return kind.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError):
        return None


def clear_status(kind: type[Record], authority: str, base: Path | None = None) -> None:
    ((base or state_dir()) / _KIND_DIRS[kind] / f"{authority}.json").unlink(missing_ok=True)


# --------------------------------------------------------------------------- pull mode (ksm pull)
#
# ``pull/<authority>/enrollment.json``: the :class:`PullEnrollment` (which clients pull, how often)
# ``pull/<authority>/runs/<host>.json``: each client's last :class:`PullRunRecord`, written only by
# the collector (``ksm pull serve``) for the client that authenticated as that host; the collector
# also appends each run to ``history/<authority>/pull-runs.jsonl``.

PULL_DIR = "pull"


class PullEnrollment(Record):
    """The clients of one authority that apply their configuration themselves (``ksm pull enable``)."""

    authority: str
    time: datetime
    target: str
    server_url: str
    hosts: list[str] = Field(default_factory=list)
    interval_minutes: int
    stale_after_hours: float
    #: The commit of the authority's pull repository published with this enrollment (latest publish).
    commit: str | None = None


class PullRunRecord(Record):
    """One client's last pull run as the collector received it (names and counts only)."""

    authority: str
    host: str
    commit: str
    changed: int
    failed: int
    unreachable: int = 0
    ok: int = 0
    rc: int
    duration_s: float
    #: The client's own clock (shown, never trusted for staleness).
    finished: datetime
    #: The collector's clock when the record arrived: staleness is measured from here.
    received: datetime


def pull_dir(authority: str, base: Path | None = None) -> Path:
    return (base or state_dir()) / PULL_DIR / authority


def save_pull_enrollment(record: PullEnrollment, base: Path | None = None) -> Path:
    path = pull_dir(record.authority, base) / "enrollment.json"
    write_atomic(path, record.model_dump_json(indent=2) + "\n", mode=0o600)
    return path


def load_pull_enrollment(authority: str, base: Path | None = None) -> PullEnrollment | None:
    try:
        record = PullEnrollment.model_validate_json(
            (pull_dir(authority, base) / "enrollment.json").read_text(encoding="utf-8")
        )
    except (FileNotFoundError, ValidationError):
        return None
    return record if record.authority == authority else None


def save_pull_run(record: PullRunRecord, base: Path | None = None) -> Path:
    path = pull_dir(record.authority, base) / "runs" / f"{record.host}.json"
    write_atomic(path, record.model_dump_json(indent=2) + "\n", mode=0o600)
    return path


def load_pull_runs(authority: str, base: Path | None = None) -> dict[str, PullRunRecord]:
    """The last run of each client of *authority* (records of another authority are ignored)."""
    runs: dict[str, PullRunRecord] = {}
    directory = pull_dir(authority, base) / "runs"
    if not directory.is_dir():
        return runs
    for path in sorted(directory.glob("*.json")):
        try:
            record = PullRunRecord.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError):
            continue
        if record.authority == authority and path.stem == record.host:
            runs[record.host] = record
    return runs
