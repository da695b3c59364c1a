"""Bounded histories of status records, for the weekly trend of ``ksm report``.

The state directory keeps only the *last* verify, drift and pull-run record; every save also appends
a compact entry (the time and what the trend counts) to the authority's history of that kind:

- ``history/<authority>/verify.jsonl``: one :class:`VerifyEntry` per saved verify record
- ``history/<authority>/drift.jsonl``: one :class:`DriftEntry` per saved drift record
- ``history/<authority>/pull-runs.jsonl``: one :class:`PullRunEntry` per run the collector accepts
- ``history/<authority>/compliance.jsonl``: one :class:`ComplianceEntry` per ``ksm compliance`` run
  (see :func:`ksm_provision.compliance.state.record_summaries` for why it is written there)

Writers (CLI runs and the threads of ``ksm pull serve``) append under an exclusive ``flock`` of the
file with one ``os.write`` of the whole line to a file opened ``O_APPEND``: lines never interleave.
Entries older than :data:`RETENTION` are dropped now and then: once a file is above
:data:`PRUNE_ABOVE` bytes and its first line is older than :data:`RETENTION` plus
:data:`PRUNE_SLACK`, the appender rewrites it atomically under the same lock. Readers take a shared
lock and skip (and count) lines they cannot read. Files are 0600, directories 0700; an authority id
becomes a path component only after :func:`~ksm_provision.inventory.types.check_identifier`.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

from pydantic import AfterValidator, Field, ValidationError

from ksm_provision.errors import KsmError, SafetyError
from ksm_provision.fileio import write_atomic
from ksm_provision.inventory.types import check_identifier
from ksm_provision.results import FrozenResult

if TYPE_CHECKING:
    from ksm_provision.workflow.records import DriftRecord, PullRunRecord, VerifyRecord

HISTORY_DIR = "history"
#: Entries older than this are dropped when a file is pruned.
RETENTION = timedelta(days=400)
#: A file is pruned only when its oldest entry is this much beyond :data:`RETENTION` (so a large
#: file is rewritten about once a month, not on every append).
PRUNE_SLACK = timedelta(days=30)
#: Files up to this size are never pruned (a year of weekly verify runs is a few kB).
PRUNE_ABOVE = 256 * 1024


def as_utc(moment: datetime) -> datetime:
    """*moment* in UTC; a naive time is taken as UTC.

    >>> as_utc(datetime(2025, 3, 10, 12)).isoformat()
    '2025-03-10T12:00:00+00:00'
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(as_utc)]


class HistoryEntry(FrozenResult):
    """One line of a history: when, and of which authority (a line of another one is skipped)."""

    time: UtcTime
    authority: str

    @property
    def key(self) -> tuple[datetime, str]:
        """What identifies the event (the latest record of it is the same entry)."""
        return (self.time, "")


class VerifyEntry(HistoryEntry):
    checks: int = Field(ge=0)
    failed: int = Field(ge=0)

    @classmethod
    def of(cls, record: VerifyRecord) -> VerifyEntry:
        return cls(time=record.time, authority=record.authority, checks=record.checks, failed=record.failed)


class DriftEntry(HistoryEntry):
    hosts: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, record: DriftRecord) -> DriftEntry:
        return cls(time=record.time, authority=record.authority, hosts=record.hosts, devices=record.devices)


class PullRunEntry(HistoryEntry):
    """One client run; *time* is when the collector received it (its own clock)."""

    host: str
    #: Whether the run failed (:func:`ksm_provision.pull.status.run_failed` of the record).
    failed: bool

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.time, self.host)

    @classmethod
    def of(cls, record: PullRunRecord, *, failed: bool) -> PullRunEntry:
        return cls(time=record.received, authority=record.authority, host=record.host, failed=failed)


class ComplianceEntry(HistoryEntry):
    """One Grundschutz-Check of one authority: how many mapped Anforderungen had which status."""

    #: Kompendium edition of the mapping the check used (a new edition starts a new series).
    edition: str
    #: Anforderungen with ksm evidence (coverage full or partial): the base of the share met.
    mapped: int = Field(ge=0)
    met: int = Field(ge=0)
    partial: int = Field(ge=0)
    not_met: int = Field(ge=0)
    #: Mapped, but none of their evidence recorded ("keine Daten").
    no_data: int = Field(ge=0)


E = TypeVar("E", bound=HistoryEntry)

_FILES: dict[type[HistoryEntry], str] = {
    VerifyEntry: "verify.jsonl",
    DriftEntry: "drift.jsonl",
    PullRunEntry: "pull-runs.jsonl",
    ComplianceEntry: "compliance.jsonl",
}


def check_authority(authority: str) -> str:
    """*authority* if it is safe as a path component (an authority id), else :class:`SafetyError`.

    >>> check_authority("lup")
    'lup'
    >>> check_authority("../lup")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ksm_provision.errors.SafetyError: '../lup' is not an authority id; ...
    """
    try:
        return check_identifier(authority)
    except ValueError:
        raise SafetyError(
            f"{authority!r} is not an authority id; no state file is named after it",
            "authority ids are a lower-case letter then letters, digits or '-', e.g. 'lup'",
        ) from None


def history_path(kind: type[HistoryEntry], authority: str, base: Path) -> Path:
    return base / HISTORY_DIR / check_authority(authority) / _FILES[kind]


@dataclass(frozen=True)
class History(Generic[E]):
    """The readable entries of one history file, oldest line first, and how many lines were not."""

    entries: tuple[E, ...] = ()
    skipped: int = 0


def line_time(raw: bytes) -> datetime | None:
    """The ``time`` of a history line in UTC, or None when the line is not a JSON object with one.

    >>> line_time(b'{"time":"2025-03-10T12:00:00Z","authority":"lup"}').isoformat()
    '2025-03-10T12:00:00+00:00'
    >>> line_time(b'{"time":"2025-03-1'), line_time(b'[]'), line_time(b'{"time":7}')
    (None, None, None)
    """
    try:
        value = json.loads(raw)
        if not isinstance(value, dict) or not isinstance(value.get("time"), str):
            return None
        return as_utc(datetime.fromisoformat(value["time"]))
    except (ValueError, OverflowError):
        return None


def _make_dirs(path: Path) -> None:
    """The history directories of *path* (0700); the state directory above them as it comes."""
    path.parent.parent.parent.mkdir(parents=True, exist_ok=True)
    for directory in (path.parent.parent, path.parent):
        directory.mkdir(mode=0o700, exist_ok=True)


@contextmanager
def _locked_for_append(path: Path) -> Iterator[int]:
    """An ``O_APPEND`` descriptor of *path* under an exclusive lock, re-opened if pruning replaced it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = path.stat().st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)  # another writer pruned (replaced) the file while we waited: take the new one
    try:
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _first_line(fd: int) -> bytes:
    line, offset = b"", 0
    while b"\n" not in line:
        chunk = os.pread(fd, 64 * 1024, offset)
        if not chunk:
            break
        line += chunk
        offset += len(chunk)
    return line.split(b"\n", 1)[0]


def _prune_if_due(fd: int, path: Path, now: datetime) -> None:
    """Drop entries older than :data:`RETENTION` (and unreadable lines) if the file is due for it."""
    if os.fstat(fd).st_size <= PRUNE_ABOVE:
        return
    oldest = line_time(_first_line(fd))
    if oldest is not None and oldest >= now - RETENTION - PRUNE_SLACK:
        return
    cutoff = now - RETENTION
    kept = []
    for line in _read_all(fd).split(b"\n"):
        moment = line_time(line) if line.strip() else None
        if moment is not None and moment >= cutoff:
            kept.append(line + b"\n")
    write_atomic(path, b"".join(kept), mode=0o600)


def append_history(entry: HistoryEntry, base: Path, *, now: datetime | None = None) -> Path:
    """Append *entry* as one line to its authority's history of its kind; prune the file if due."""
    path = history_path(type(entry), entry.authority, base)
    _make_dirs(path)
    line = (entry.model_dump_json() + "\n").encode("utf-8")
    with _locked_for_append(path) as fd:
        if not _ends_with_newline(fd):  # a torn line from a crash: keep it on its own line
            line = b"\n" + line
        written = os.write(fd, line)
        if written != len(line):
            raise KsmError(
                f"the history {path} took only {written} of {len(line)} bytes",
                "free disk space; `ksm report` skips the torn line",
            )
        os.fsync(fd)
        _prune_if_due(fd, path, as_utc(now) if now is not None else datetime.now(UTC))
    return path


def read_history(kind: type[E], authority: str, base: Path) -> History[E]:
    """The entries of *authority*'s history of *kind*; unreadable lines and those of another
    authority are skipped and counted. No file: an empty history."""
    path = history_path(kind, authority, base)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return History()
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        data = _read_all(fd)
    finally:
        os.close(fd)
    entries: list[E] = []
    skipped = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            entry = kind.model_validate_json(line)
        except ValidationError:
            skipped += 1
            continue
        if entry.authority != authority:
            skipped += 1
            continue
        entries.append(entry)
    return History(tuple(entries), skipped)
