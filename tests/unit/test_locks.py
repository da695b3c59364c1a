"""Per-authority apply locks with real processes: one holder at a time, stale locks after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ksm_provision.errors import SafetyError, UsageError
from ksm_provision.workflow.locks import (
    LockHeldError,
    LockInfo,
    acquire,
    break_lock,
    list_locks,
    lock_path,
    process_alive,
    process_start,
    read_lock,
)
from ksm_provision.workflow.records import utc_now

HOLDER = """
import sys, time
from ksm_provision.workflow.locks import acquire, LockHeldError
hold, wait = float(sys.argv[1]), float(sys.argv[2])
try:
    with acquire(["lup"], ttl=600, wait=wait, command="ksm apply --authority lup") as locks:
        print("got", locks[0].id, flush=True)
        time.sleep(hold)
except LockHeldError as exc:
    print("held", exc, flush=True)
    sys.exit(3)
"""


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KSM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def holder(hold: float, wait: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(hold), str(wait)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def wait_for_lock(authority: str = "lup", timeout: float = 10.0) -> LockInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_lock(lock_path(authority))
        if info is not None:
            return info
        time.sleep(0.02)
    raise AssertionError(f"no lock for {authority} after {timeout} s")


def test_acquire_writes_owner_and_releases(state: Path) -> None:
    with acquire(["schwerin", "lup", "lup"], ttl=60) as locks:
        assert [lock.authority for lock in locks] == ["lup", "schwerin"]  # sorted, once each
        info = read_lock(state / "locks" / "lup.lock")
        assert info is not None and info.pid == os.getpid() and info.ttl_seconds == 60
        assert info.expires - info.started == timedelta(seconds=60)
        assert [s.stale for s in list_locks()] == [None, None]
    assert list_locks() == []
    assert sorted(p.name for p in (state / "locks").iterdir()) == []  # no temporary files left behind


def test_locks_are_released_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), acquire(["lup"]):
        raise RuntimeError("apply failed")
    assert list_locks() == []


def test_second_apply_on_the_same_authority_fails_clearly_while_the_first_runs() -> None:
    first = holder(hold=3)
    try:
        held = wait_for_lock()
        start = time.monotonic()
        with pytest.raises(LockHeldError) as caught, acquire(["lup"], wait=0.5):
            pytest.fail("must not get the lock")
        assert time.monotonic() - start >= 0.5
        message = str(caught.value)
        assert f"authority lup is locked by {held.user}@{held.machine} (pid {first.pid})" in message
        assert "running `ksm apply --authority lup`" in message and held.id in message
        assert "--lock-wait" in caught.value.hint
        with acquire(["schwerin"], wait=0):  # another authority is free
            pass
    finally:
        first.kill()
        first.wait()


def test_concurrent_applies_exactly_one_proceeds() -> None:
    """Four applies at once: three are refused at once, one holds the lock (however slowly the
    processes start on a loaded machine: the winner holds until the losers are done)."""
    runs = [holder(hold=120) for _ in range(4)]
    try:
        deadline = time.monotonic() + 60
        while sum(run.poll() is not None for run in runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        finished = [run for run in runs if run.poll() is not None]
        assert [run.returncode for run in finished] == [3, 3, 3]
        (winner,) = [run for run in runs if run.poll() is None]
    finally:
        for run in runs:
            if run.poll() is None:
                run.terminate()
    outputs = [run.communicate(timeout=30)[0] for run in runs]
    assert outputs[runs.index(winner)].startswith("got")
    assert sum(out.startswith("held") for out in outputs) == 3


def test_waiting_apply_proceeds_after_release() -> None:
    first = holder(hold=1)
    wait_for_lock()
    second = holder(hold=0, wait=20)
    out_first, _ = first.communicate(timeout=30)
    out_second, err = second.communicate(timeout=30)
    assert first.returncode == 0 and second.returncode == 0, err
    assert out_first.split()[1] != out_second.split()[1]


def test_sigkilled_holder_leaves_a_stale_lock_that_can_be_broken() -> None:
    run = holder(hold=600)
    info = wait_for_lock()
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    [status] = list_locks()
    assert status.id == info.id and status.stale == f"process {run.pid} on {info.machine} is gone"
    start = time.monotonic()
    with pytest.raises(LockHeldError, match="has a stale lock") as caught, acquire(["lup"], wait=30):
        pass
    assert time.monotonic() - start < 5  # a stale lock fails at once: waiting cannot help
    assert f"ksm lock break {info.id}" in caught.value.hint
    broken = break_lock(info.id)
    assert broken.info == info
    with acquire(["lup"]) as locks:
        assert locks[0].id != info.id


def test_killed_but_unreaped_holder_counts_as_gone() -> None:
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        start = process_start(run.pid)
        assert process_alive(run.pid, start)
        os.kill(run.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_alive(run.pid, start) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not process_alive(run.pid, start)  # a zombie until wait(): still gone
    finally:
        run.wait()


def test_reused_pid_counts_as_gone() -> None:
    assert process_alive(os.getpid(), process_start(os.getpid()))
    assert not process_alive(os.getpid(), "1")


def test_expired_ttl_makes_a_live_lock_stale() -> None:
    with acquire(["lup"], ttl=0.05) as locks:
        time.sleep(0.1)
        [status] = list_locks()
        assert status.stale is not None and status.stale.startswith("its TTL expired at")
        assert locks[0].stale_reason(utc_now() - timedelta(seconds=1)) is None


def test_breaking_a_live_lock_needs_force() -> None:
    with acquire(["lup"]) as locks:
        with pytest.raises(SafetyError, match="is not stale") as caught:
            break_lock("lup")
        assert "--force" in caught.value.hint
        break_lock(locks[0].id, force=True)
        assert list_locks() == []
        with acquire(["lup"]) as again:  # someone else takes it; our release must leave theirs alone
            pass
        assert again[0].id != locks[0].id


def test_release_leaves_a_newer_lock_alone() -> None:
    with acquire(["lup"]) as locks:
        break_lock("lup", force=True)
        outer = holder(hold=3)
        newer = wait_for_lock()
    try:
        assert newer.id != locks[0].id
        assert [s.id for s in list_locks()] == [newer.id]
    finally:
        outer.kill()
        outer.wait()


def test_unknown_lock_and_unreadable_lock_file(state: Path) -> None:
    with pytest.raises(UsageError, match="no lock 'nope'"):
        break_lock("nope")
    (state / "locks").mkdir(parents=True)
    (state / "locks" / "lup.lock").write_text("garbage")
    [status] = list_locks()
    assert status.info is None and status.stale == "the lock file is unreadable"
    with pytest.raises(LockHeldError, match="stale lock - of an unknown run"), acquire(["lup"]):
        pass
    break_lock("lup")
    assert list_locks() == []


def test_lock_commands(state: Path) -> None:
    run = holder(hold=600)
    info = wait_for_lock()
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    env = {**os.environ, "KSM_STATE_DIR": str(state)}
    listed = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "lock", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    [row] = json.loads(listed.stdout)
    assert row["id"] == info.id and row["stale"] is True and row["pid"] == run.pid
    table = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "lock", "list"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        check=True,
    )
    assert info.id in table.stdout and "stale: process" in table.stdout
    broke = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "lock", "break", info.id],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert broke.stdout.startswith(f"broke lock {info.id} of lup")
    again = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "lock", "break", info.id],
        capture_output=True,
        text=True,
        env=env,
    )
    assert again.returncode == 64 and f"no lock '{info.id}'" in again.stderr
