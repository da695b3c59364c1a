"""The collector's rules: who may write which status record, and what a record may hold.

A client authenticates as one host of one authority (:mod:`.tokens`); the record it sends must name
that very host, and it is stored as that host's record of that authority, nowhere else. Anything
else is refused: an unknown or not enrolled host, a wrong token, a record for another host, a body
that is not exactly the documented JSON object (unknown fields, wrong types, oversize).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from ksm_provision.pull import tokens
from ksm_provision.pull.status import run_failed
from ksm_provision.workflow.history import PullRunEntry, append_history
from ksm_provision.workflow.records import (
    PullRunRecord,
    load_pull_enrollment,
    save_pull_run,
    utc_now,
)

#: A status record is a few hundred bytes; anything larger is refused unread.
MAX_BODY = 4096
HOSTNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")
AUTHORITY = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|unknown)$")
_COUNT_MAX = 1_000_000


class CollectorRefusedError(Exception):
    """A request the collector refuses; *status* is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientReport(BaseModel):
    """What a client sends after each run (``ksm-pull-run`` on the client)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    host: StrictStr
    commit: StrictStr
    changed: StrictInt = Field(ge=0, le=_COUNT_MAX)
    failed: StrictInt = Field(ge=0, le=_COUNT_MAX)
    unreachable: StrictInt = Field(default=0, ge=0, le=_COUNT_MAX)
    ok: StrictInt = Field(default=0, ge=0, le=_COUNT_MAX)
    rc: StrictInt = Field(ge=-255, le=255)
    duration_s: StrictFloat | StrictInt = Field(ge=0, le=7 * 86400)
    finished: StrictStr


def authenticate(base: Path, authority: str, host: str, token: str) -> None:
    """Refuse unless *host* is an enrolled client of *authority* and *token* is its token."""
    if not AUTHORITY.match(authority) or not HOSTNAME.match(host):
        raise CollectorRefusedError(401, "unknown client")
    enrollment = load_pull_enrollment(authority, base)
    key = tokens.read_key(authority, base)
    if enrollment is None or key is None or host not in enrollment.hosts:
        raise CollectorRefusedError(401, "unknown client")
    if not tokens.token_matches(key, host, token):
        raise CollectorRefusedError(401, "unknown client")


def parse_report(body: bytes) -> ClientReport:
    if len(body) > MAX_BODY:
        raise CollectorRefusedError(413, f"a status record is at most {MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
        report = ClientReport.model_validate(data)
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        reason = "not JSON" if not isinstance(exc, ValidationError) else "not a status record"
        raise CollectorRefusedError(400, reason) from None
    if not COMMIT.match(report.commit):
        raise CollectorRefusedError(400, "commit is not a git object id")
    try:
        finished = datetime.fromisoformat(report.finished)
    except ValueError:
        raise CollectorRefusedError(400, "finished is not an ISO 8601 time") from None
    if finished.tzinfo is None:
        raise CollectorRefusedError(400, "finished needs a time zone")
    return report


def accept(base: Path, authority: str, host: str, token: str, body: bytes) -> PullRunRecord:
    """Check and store one status record; *host*/*token* are the credentials the client sent.

    The record becomes the host's last run and a line of the authority's pull-run history.
    """
    authenticate(base, authority, host, token)
    report = parse_report(body)
    if report.host != host:
        raise CollectorRefusedError(403, "a client may only report its own runs")
    record = PullRunRecord(
        authority=authority,
        host=host,
        commit=report.commit,
        changed=report.changed,
        failed=report.failed,
        unreachable=report.unreachable,
        ok=report.ok,
        rc=report.rc,
        duration_s=float(report.duration_s),
        finished=datetime.fromisoformat(report.finished),
        received=utc_now(),
    )
    save_pull_run(record, base)
    append_history(PullRunEntry.of(record, failed=run_failed(record)), base)
    return record
