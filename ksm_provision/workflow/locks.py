"""Apply locks, one per authority: ``state_dir()/locks/<authority>.lock``.

A lock file holds who took it (user, machine, pid), when, for how long (TTL) and a lock id. It
appears atomically with its full content: written to a temporary file created with
``O_CREAT|O_EXCL``, then hard-linked to the lock name, which fails if the lock exists. A lock is
stale when its TTL has expired or when its process is gone on this machine; stale locks are never
taken over silently: ``ksm lock break ID`` removes them, and only them unless ``--force``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from ksm_provision.errors import SafetyError, UsageError
from ksm_provision.results import FrozenResult
from ksm_provision.workflow.audit import current_user, machine_name, new_record_id
from ksm_provision.workflow.records import state_dir, utc_now

#: Default time to live of a lock: longer than any apply should take.
DEFAULT_TTL = 4 * 3600.0
#: How often a waiting acquire looks again.
POLL_INTERVAL = 0.1


class LockHeldError(SafetyError):
    """Another run holds the lock of an authority (or left a stale one behind)."""


class LockInfo(FrozenResult):
    """The content of a lock file: who holds it, since when, for how long."""

    id: str
    authority: str
    user: str
    machine: str
    pid: int
    pid_start: str | None = None
    started: datetime
    ttl_seconds: float
    command: str = ""

    @property
    def expires(self) -> datetime:
        return self.started + timedelta(seconds=self.ttl_seconds)

    def holder(self) -> str:
        return f"{self.user}@{self.machine} (pid {self.pid}) since {self.started:%Y-%m-%d %H:%M:%S %Z}"

    def stale_reason(self, now: datetime | None = None) -> str | None:
        """Why the lock is stale (TTL expired, process gone on this machine), or None while it is held."""
        if (now or utc_now()) >= self.expires:
            return f"its TTL expired at {self.expires:%Y-%m-%d %H:%M:%S %Z}"
        if self.machine == machine_name() and not process_alive(self.pid, self.pid_start):
            return f"process {self.pid} on {self.machine} is gone"
        return None


@dataclass(frozen=True)
class LockStatus:
    """A lock file as found: its content (None when unreadable) and whether it is stale."""

    authority: str
    path: Path
    info: LockInfo | None
    stale: str | None

    @property
    def id(self) -> str:
        return self.info.id if self.info else "-"


# --------------------------------------------------------------------------- processes


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None without /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_start(pid: int) -> str | None:
    """The start time of *pid* in clock ticks since boot (tells a reused pid apart), if known."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether *pid* runs on this machine (a zombie or a reused pid counts as gone)."""
    fields = _proc_stat(pid)
    if fields is not None:
        if fields[0] == "Z":
            return False
        if start is not None and len(fields) > 19 and fields[19] != start:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- lock files


def lock_dir(base: Path | None = None) -> Path:
    return (base or state_dir()) / "locks"


def lock_path(authority: str, base: Path | None = None) -> Path:
    return lock_dir(base) / f"{authority}.lock"


def read_lock(path: Path) -> LockInfo | None:
    """The lock's content; None when the file is gone. A corrupt file raises ValueError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return LockInfo.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"unreadable lock file {path}") from exc


def _create(path: Path, info: LockInfo) -> bool:
    """Create the lock file with its full content in one step; False when it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{info.id}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, (info.model_dump_json(indent=2) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _remove(path: Path, lock_id: str | None) -> bool:
    """Remove the lock file if it is still the one with *lock_id* (any, for None); True if removed.

    The file is first renamed aside, so a lock taken by another run in the meantime is never lost.
    """
    aside = path.with_name(f".{path.name}.{new_record_id()}.removed")
    try:
        path.rename(aside)
    except FileNotFoundError:
        return False
    try:
        try:
            found = read_lock(aside)
        except ValueError:
            found = None
        if lock_id is None or (found is not None and found.id == lock_id):
            return True
        with contextlib.suppress(FileExistsError):  # not ours: put it back unless a newer lock exists
            os.link(aside, path)
        return False
    finally:
        aside.unlink(missing_ok=True)


def status_of(path: Path) -> LockStatus:
    authority = path.name.removesuffix(".lock")
    try:
        info = read_lock(path)
    except ValueError:
        return LockStatus(authority, path, None, "the lock file is unreadable")
    return LockStatus(authority, path, info, info.stale_reason() if info else None)


def list_locks(base: Path | None = None) -> list[LockStatus]:
    """Every lock file, held or stale, sorted by authority."""
    directory = lock_dir(base)
    if not directory.is_dir():
        return []
    statuses = [status_of(p) for p in sorted(directory.glob("*.lock"))]
    return [s for s in statuses if s.info is not None or s.path.exists()]


# --------------------------------------------------------------------------- taking and breaking


def _held_error(status: LockStatus, waited: float) -> LockHeldError:
    if status.stale is not None or status.info is None:
        who = status.info.holder() if status.info else "an unknown run"
        name = status.id if status.info else status.authority
        return LockHeldError(
            f"authority {status.authority} has a stale lock {status.id} of {who}: {status.stale}",
            f"check that run is really gone, then `ksm lock break {name}`",
        )
    info = status.info
    doing = f" running `{info.command}`" if info.command else ""
    return LockHeldError(
        f"authority {status.authority} is locked by {info.holder()}{doing} (lock {info.id}, "
        f"expires {info.expires:%H:%M:%S %Z}); gave up after waiting {waited:.0f} s",
        "wait for that run to finish or wait longer (--lock-wait SECONDS); `ksm lock list` shows all locks",
    )


def _take(authority: str, ttl: float, deadline: float, command: str, base: Path | None) -> LockInfo:
    started = time.monotonic()
    pid = os.getpid()
    while True:
        info = LockInfo(
            id=new_record_id(),
            authority=authority,
            user=current_user(),
            machine=machine_name(),
            pid=pid,
            pid_start=process_start(pid),
            started=utc_now(),
            ttl_seconds=ttl,
            command=command,
        )
        path = lock_path(authority, base)
        if _create(path, info):
            return info
        status = status_of(path)
        if status.info is None and status.stale is None:
            continue  # released between our attempt and our look: try again at once
        if status.stale is not None or time.monotonic() >= deadline:
            raise _held_error(status, time.monotonic() - started)
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


def release(lock: LockInfo, base: Path | None = None) -> bool:
    """Remove *lock* if it is still ours (it may have been broken with --force meanwhile)."""
    return _remove(lock_path(lock.authority, base), lock.id)


@contextlib.contextmanager
def acquire(
    authorities: Iterable[str],
    ttl: float = DEFAULT_TTL,
    wait: float = 0.0,
    *,
    command: str = "",
    base: Path | None = None,
) -> Iterator[list[LockInfo]]:
    """Hold the locks of *authorities* for the ``with`` block.

    Locks are taken in sorted order (two runs never wait on each other crosswise); a held lock is
    polled for up to *wait* seconds in total, then :class:`LockHeldError` names its holder. A stale
    lock fails at once: it must be broken explicitly. Locks taken are released on every exit.
    """
    if ttl <= 0:
        raise UsageError(f"lock TTL must be positive, got {ttl}", "e.g. --lock-ttl 14400 (four hours)")
    deadline = time.monotonic() + max(0.0, wait)
    taken: list[LockInfo] = []
    try:
        for authority in sorted(set(authorities)):
            taken.append(_take(authority, ttl, deadline, command, base))
        yield taken
    finally:
        for lock in reversed(taken):
            release(lock, base)


def find_lock(id_or_authority: str, base: Path | None = None) -> LockStatus:
    locks = list_locks(base)
    for status in locks:
        if id_or_authority in (status.id, status.authority):
            return status
    known = ", ".join(f"{s.id} ({s.authority})" for s in locks) or "none"
    raise UsageError(f"no lock '{id_or_authority}'", f"current locks: {known}; see `ksm lock list`")


def break_lock(id_or_authority: str, force: bool = False, base: Path | None = None) -> LockStatus:
    """Remove a stale lock (any lock with *force*); return what was removed."""
    status = find_lock(id_or_authority, base)
    if status.stale is None and status.info is not None and not force:
        raise SafetyError(
            f"lock {status.id} of {status.authority} is held by {status.info.holder()} and is not stale",
            "let that run finish; only if you are sure it is gone: `ksm lock break ID --force`",
        )
    if not _remove(status.path, status.info.id if status.info else None):
        raise UsageError(
            f"lock {status.id} of {status.authority} changed while breaking it",
            "look again with `ksm lock list`",
        )
    return status
