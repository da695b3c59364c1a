"""The audit log stays parseable: torn lines are skipped and reported, SIGKILL never tears a record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ksm_provision.workflow.audit import (
    append_audit,
    audit_path,
    current_user,
    git_commit,
    machine_name,
    new_record_id,
    read_audit,
)
from ksm_provision.workflow.records import ApplyResult, AuditRecord, utc_now

WRITER = """
import sys
from ksm_provision.workflow.audit import append_audit, new_record_id
from ksm_provision.workflow.records import ApplyResult, AuditRecord, utc_now
tag, count, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hosts = [f"{tag}-host-{i:05d}" for i in range(width)]
i = 0
while count < 0 or i < count:
    append_audit(AuditRecord(id=f"{tag}-{i}", time=utc_now(), user="ci", machine="runner", authority="lup",
                             target="lab", changed_hosts=hosts, changed_tasks=i, result=ApplyResult.SUCCESS))
    if i == 0:
        print("writing", flush=True)
    i += 1
"""


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KSM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def record(n: int = 0, authority: str = "lup") -> AuditRecord:
    return AuditRecord(
        id=new_record_id(),
        time=utc_now(),
        user=current_user(),
        machine=machine_name(),
        authority=authority,
        target="lab",
        git_commit="a" * 40,
        plan_hash="b" * 64,
        changed_hosts=[f"lup-pch-ws{n:03d}"],
        changed_tasks=n,
        hosts=1,
        result=ApplyResult.SUCCESS,
    )


def writer(tag: str, count: int, width: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, tag, str(count), str(width)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_records_round_trip_one_line_each(state: Path) -> None:
    written = [record(n) for n in range(3)]
    for item in written:
        append_audit(item)
    log = read_audit()
    assert log.records == written and log.problems == []
    assert len(audit_path().read_text().splitlines()) == 3
    assert audit_path() == state / "audit.jsonl"


def test_missing_log_reads_empty() -> None:
    log = read_audit()
    assert log.records == [] and log.problems == []


def test_torn_trailing_line_is_skipped_and_reported_and_the_next_append_is_whole() -> None:
    append_audit(first := record(1))
    with audit_path().open("ab") as handle:  # what a power cut in the middle of a write leaves
        handle.write(record(2).model_dump_json().encode()[:40])
    log = read_audit()
    assert log.records == [first]
    assert len(log.problems) == 1 and "audit.jsonl:2: skipped a torn last line" in log.problems[0]
    append_audit(third := record(3))
    log = read_audit()
    assert log.records == [first, third]
    assert len(log.problems) == 1 and ":2: skipped a corrupt line" in log.problems[0]


def test_sigkill_while_appending_never_tears_a_record() -> None:
    run = writer("killed", count=-1, width=2000)  # ~40 kB per record
    assert run.stdout is not None and run.stdout.readline().strip() == "writing"
    time.sleep(0.5)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    log = read_audit()
    assert log.problems == []
    assert len(log.records) >= 2
    assert [r.changed_tasks for r in log.records] == list(range(len(log.records)))  # none lost, none doubled
    assert all(len(r.changed_hosts) == 2000 for r in log.records)


def test_concurrent_appenders_do_not_interleave() -> None:
    runs = [writer(f"w{n}", count=100, width=300) for n in range(4)]
    for run in runs:
        run.communicate(timeout=120)
        assert run.returncode == 0
    log = read_audit()
    assert log.problems == []
    assert len(log.records) == 400 and len({r.id for r in log.records}) == 400


def test_git_commit_and_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert git_commit(tmp_path) is None
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert git_commit(tmp_path) is None  # no commit yet
    subprocess.run(
        ["git", "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"], check=True, env=env
    )
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_commit(tmp_path) == head
    monkeypatch.delenv("KSM_USER", raising=False)
    monkeypatch.setenv("GITLAB_USER_LOGIN", "m.mustermann")
    assert current_user() == "m.mustermann"
    monkeypatch.setenv("KSM_USER", "ops-bot")
    assert current_user() == "ops-bot"
