"""The audit log: append-only JSON lines in ``state_dir()/audit.jsonl``, one record per apply per authority.

A record is written with a single ``os.write`` of the whole line to a file opened with
``O_APPEND``, then ``fsync``: a killed process leaves either the whole line or none of it, and
concurrent writers never interleave. Should a line still be torn (power loss, full disk), the next
append starts on a fresh line and :func:`read_audit` skips the torn one and reports it.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ksm_provision.errors import KsmError
from ksm_provision.workflow.gitrepo import head_commit
from ksm_provision.workflow.records import AuditRecord, state_dir

AUDIT_FILE = "audit.jsonl"


def audit_path(base: Path | None = None) -> Path:
    return (base or state_dir()) / AUDIT_FILE


def new_record_id() -> str:
    """A short random id for an audit record or a lock, e.g. ``'3f9a1c2e7b44'``."""
    return secrets.token_hex(6)


def current_user() -> str:
    """Who is acting: ``$KSM_USER``, else the GitLab user who started the pipeline, else the login name."""
    for variable in ("KSM_USER", "GITLAB_USER_LOGIN"):
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def machine_name() -> str:
    return socket.gethostname()


def git_commit(repo: Path) -> str | None:
    """The commit checked out in *repo* (None outside a git work tree)."""
    return head_commit(repo)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def append_audit(record: AuditRecord, base: Path | None = None) -> Path:
    """Append *record* as one JSON line, durably; never leaves a partial line behind a complete one."""
    path = audit_path(base)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (record.model_dump_json() + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        if not _ends_with_newline(fd):  # a torn line from an earlier crash: keep it on its own line
            line = b"\n" + line
        written = os.write(fd, line)
        if written != len(line):
            raise KsmError(
                f"the audit log {path} took only {written} of {len(line)} bytes",
                "free disk space, then check the log with `ksm report` (the torn line is skipped)",
            )
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


@dataclass
class AuditLog:
    """The records that could be read, and a note for every line that could not."""

    records: list[AuditRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, complete)`` for each line; the last is incomplete without a newline."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        complete = number < len(lines)
        if raw.strip():
            yield number, raw, complete


def read_audit(base: Path | None = None) -> AuditLog:
    """Every complete record of the audit log; torn or corrupt lines are skipped and reported."""
    path = audit_path(base)
    log = AuditLog()
    if not path.exists():
        return log
    for number, raw, complete in _lines(path):
        try:
            log.records.append(AuditRecord.model_validate_json(raw))
        except ValidationError:
            what = "a torn last line (an append was cut off)" if not complete else "a corrupt line"
            log.problems.append(f"{path}:{number}: skipped {what} — the other records are intact")
    return log
