"""The bounded histories behind the weekly trend of ``ksm report``: every verify and drift save and
every pull run the collector accepts leaves a line, the trend counts them week by week, concurrent
writers never interleave or lose lines, old lines are pruned, unreadable lines are skipped, and a
report of one authority reads that authority's history only."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.errors import SafetyError
from ksm_provision.fileio import write_atomic
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.pull import collector, tokens
from ksm_provision.report import collect
from ksm_provision.report.collect import collect_report, load_state
from ksm_provision.workflow import history
from ksm_provision.workflow.history import (
    DriftEntry,
    PullRunEntry,
    VerifyEntry,
    append_history,
    history_path,
    read_history,
)
from ksm_provision.workflow.records import (
    DriftRecord,
    PullEnrollment,
    VerifyRecord,
    load_status,
    save_pull_enrollment,
    save_status,
)

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
#: A Wednesday in KW 11/2025; the trend of 4 weeks is KW 08-11.
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
#: One moment in each of KW 09, 10 and 11/2025 (Berlin time).
KW09, KW10, KW11 = (datetime(2025, 2, 26, 9, tzinfo=UTC), datetime(2025, 3, 5, 9, tzinfo=UTC), NOW)
LUP_CLIENTS = ["lup-pch-ws001", "lup-pch-ws002"]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


def verified(authority: str, time: datetime, checks: int, failed: int) -> VerifyRecord:
    return VerifyRecord(
        time=time,
        authority=authority,
        target="lab",
        passed=failed == 0,
        checks=checks,
        failed=failed,
        pass_rate=(checks - failed) / checks,
    )


def drifted(authority: str, time: datetime, hosts: list[str], devices: tuple[str, ...] = ()) -> DriftRecord:
    return DriftRecord(
        time=time,
        authority=authority,
        target="lab",
        drifted=bool(hosts or devices),
        hosts=hosts,
        devices=list(devices),
    )


def trend(inventory: Inventory, state: Path, authority: str = "lup") -> list[Any]:
    report = collect_report(inventory.select([authority]), state, generated_at=NOW, weeks=4)
    return next(a for a in report.authorities if a.id == authority).trend


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --------------------------------------------------------------------------- the trend is real


def test_three_verify_runs_in_three_weeks_are_three_weeks_of_the_trend(
    inventory: Inventory, tmp_path: Path
) -> None:
    for time, failed in ((KW09, 10), (KW10, 5), (KW11, 0)):
        save_status(verified("lup", time, 200, failed), tmp_path)

    rows = trend(inventory, tmp_path)
    assert [(w.week, w.checks, w.failed_checks) for w in rows] == [
        ("2025-W08", None, None),
        ("2025-W09", 200, 10),
        ("2025-W10", 200, 5),
        ("2025-W11", 200, 0),  # the last record is also in the history: counted once
    ]
    assert [w.pass_rate for w in rows] == [None, 0.95, 0.975, 1.0]
    last = load_status(VerifyRecord, "lup", tmp_path)
    assert last is not None and last.time == KW11  # the last record is kept as before

    path = history_path(VerifyEntry, "lup", tmp_path)
    assert path == tmp_path / "history" / "lup" / "verify.jsonl"
    assert (mode(path), mode(path.parent), mode(path.parent.parent)) == (0o600, 0o700, 0o700)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {
        "time": "2025-02-26T09:00:00Z",
        "authority": "lup",
        "checks": 200,
        "failed": 10,
    }


def test_three_drift_runs_in_three_weeks_are_three_weeks_of_the_trend(
    inventory: Inventory, tmp_path: Path
) -> None:
    save_status(drifted("lup", KW09, ["lup-pch-ws001", "lup-pch-ws002"], ("lup-hgw-sw01",)), tmp_path)
    save_status(drifted("lup", KW10, ["lup-pch-ws017", "sn-rh-ws001"]), tmp_path)  # Schwerin's is not lup's
    save_status(drifted("lup", KW11 - timedelta(hours=2), ["lup-pch-ws017"]), tmp_path)
    save_status(drifted("lup", KW11, []), tmp_path)  # the week's last drift run counts

    assert [w.drifted_systems for w in trend(inventory, tmp_path)] == [None, 3, 1, 0]
    assert len(read_history(DriftEntry, "lup", tmp_path).entries) == 4


def enroll(base: Path, authority: str, hosts: list[str]) -> bytes:
    save_pull_enrollment(
        PullEnrollment(
            authority=authority,
            time=NOW,
            target="lab",
            server_url="http://127.0.0.1:8631",
            hosts=hosts,
            interval_minutes=60,
            stale_after_hours=24 * 30,
        ),
        base,
    )
    return tokens.ensure_key(authority, base)


def client_report(host: str, **changes: Any) -> bytes:
    record = {
        "host": host,
        "commit": "a" * 40,
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "ok": 30,
        "rc": 0,
        "duration_s": 12.5,
        "finished": "2025-03-01T17:59:00+00:00",
    }
    return json.dumps(record | changes).encode()


def test_pull_runs_the_collector_accepts_are_weeks_of_the_trend(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = enroll(tmp_path, "lup", LUP_CLIENTS)
    runs = [
        (KW09, LUP_CLIENTS[0], {}),
        (KW09, LUP_CLIENTS[1], {"failed": 2}),
        (KW10, LUP_CLIENTS[0], {"unreachable": 1}),
        (KW10, LUP_CLIENTS[1], {"rc": 2}),
        (KW11, LUP_CLIENTS[0], {}),
    ]
    for received, host, changes in runs:
        monkeypatch.setattr(collector, "utc_now", lambda received=received: received)
        collector.accept(tmp_path, "lup", host, tokens.host_token(key, host), client_report(host, **changes))

    rows = trend(inventory, tmp_path)
    assert [(w.checks, w.failed_checks) for w in rows] == [(None, None), (2, 1), (2, 2), (1, 0)]
    entries = read_history(PullRunEntry, "lup", tmp_path).entries
    assert [(e.host, e.failed) for e in entries] == [(h, bool(c)) for _, h, c in runs]
    assert mode(history_path(PullRunEntry, "lup", tmp_path)) == 0o600


def test_runs_of_a_client_no_longer_enrolled_do_not_count(inventory: Inventory, tmp_path: Path) -> None:
    enroll(tmp_path, "lup", LUP_CLIENTS[:1])
    for host in LUP_CLIENTS:
        append_history(PullRunEntry(time=KW10, authority="lup", host=host, failed=True), tmp_path)
    assert [w.checks for w in trend(inventory, tmp_path)] == [None, None, 1, None]


def test_a_state_directory_without_history_still_shows_its_last_records(
    inventory: Inventory, tmp_path: Path
) -> None:
    """Written as ksm did before histories: only the last record of each kind."""
    write_atomic(
        tmp_path / "verify" / "lup.json", verified("lup", KW10, 100, 1).model_dump_json(), mode=0o600
    )
    write_atomic(
        tmp_path / "drift" / "lup.json", drifted("lup", KW11, ["lup-pch-ws017"]).model_dump_json(), mode=0o600
    )
    rows = trend(inventory, tmp_path)
    assert [(w.checks, w.failed_checks, w.drifted_systems) for w in rows] == [
        (None, None, None),
        (None, None, None),
        (100, 1, None),
        (None, None, 1),
    ]


# --------------------------------------------------------------------------- concurrent writers


def test_concurrent_appends_never_interleave_or_get_lost(tmp_path: Path) -> None:
    """Lines far longer than PIPE_BUF (4096 bytes), from many threads at once."""
    hosts = [f"lup-pch-ws{n:03d}" for n in range(400)]  # about 6 kB per line
    threads, per_thread = 8, 40

    def write(worker: int) -> None:
        for n in range(per_thread):
            moment = NOW - timedelta(minutes=worker * per_thread + n)
            append_history(DriftEntry(time=moment, authority="lup", hosts=hosts), tmp_path, now=NOW)

    workers = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    read = read_history(DriftEntry, "lup", tmp_path)
    assert read.skipped == 0
    assert len({e.time for e in read.entries}) == len(read.entries) == threads * per_thread
    assert all(e.hosts == hosts for e in read.entries)


def test_no_line_is_lost_while_other_writers_prune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every append rewrites the file here: a writer waiting for the lock must follow the new file."""
    monkeypatch.setattr(history, "PRUNE_ABOVE", 0)
    monkeypatch.setattr(history, "PRUNE_SLACK", -timedelta(days=10_000))  # always due
    old = NOW - timedelta(days=500)
    threads, per_thread = 8, 40

    def write(worker: int) -> None:
        for n in range(per_thread):
            fresh = worker % 2 == 0
            moment = (NOW if fresh else old) - timedelta(minutes=worker * per_thread + n)
            append_history(VerifyEntry(time=moment, authority="lup", checks=1, failed=0), tmp_path, now=NOW)

    workers = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    read = read_history(VerifyEntry, "lup", tmp_path)
    assert read.skipped == 0
    assert all(e.time > old + timedelta(days=1) for e in read.entries)  # each old line pruned at once
    assert len({e.time for e in read.entries}) == len(read.entries) == threads // 2 * per_thread
    assert mode(history_path(VerifyEntry, "lup", tmp_path)) == 0o600


# --------------------------------------------------------------------------- pruning


def seed(base: Path, *days_ago: int) -> Path:
    for days in days_ago:
        append_history(
            VerifyEntry(time=NOW - timedelta(days=days), authority="lup", checks=days, failed=0),
            base,
            now=NOW,
        )
    return history_path(VerifyEntry, "lup", base)


def checks_in(base: Path) -> list[int]:
    return [e.checks for e in read_history(VerifyEntry, "lup", base).entries]


def test_a_large_file_drops_lines_older_than_400_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seed(tmp_path, 500, 410, 100)  # small: never pruned
    with path.open("ab") as handle:
        handle.write(b"garbage\n")
    assert checks_in(tmp_path) == [500, 410, 100]

    monkeypatch.setattr(history, "PRUNE_ABOVE", 0)
    seed(tmp_path, 1)
    assert checks_in(tmp_path) == [100, 1]
    assert read_history(VerifyEntry, "lup", tmp_path).skipped == 0  # the unreadable line went too
    assert mode(path) == 0o600


def test_a_file_is_not_rewritten_until_its_oldest_line_is_well_past_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seed(tmp_path, 410, 100)
    monkeypatch.setattr(history, "PRUNE_ABOVE", 0)
    inode = path.stat().st_ino
    seed(tmp_path, 1)  # 410 days is past retention, but within the slack: no rewrite yet
    assert (checks_in(tmp_path), path.stat().st_ino) == ([410, 100, 1], inode)
    append_history(
        VerifyEntry(time=NOW, authority="lup", checks=0, failed=0), tmp_path, now=NOW + timedelta(days=30)
    )
    assert checks_in(tmp_path) == [100, 1, 0]


# --------------------------------------------------------------------------- unreadable lines


def test_unreadable_lines_are_skipped_and_counted(inventory: Inventory, tmp_path: Path) -> None:
    save_status(verified("lup", KW09, 100, 10), tmp_path)
    path = history_path(VerifyEntry, "lup", tmp_path)
    other = VerifyEntry(time=KW10, authority="schwerin", checks=5, failed=5).model_dump_json()
    with path.open("ab") as handle:
        for line in (
            b"not json",
            b"[]",
            b'{"time": "2025-03-05T09:00:00Z", "authority": "lup"}',
            b"\xff\xfe",
        ):
            handle.write(line + b"\n")
        handle.write(other.encode() + b"\n")  # a line of another authority
        handle.write(b'{"time": "2025-03-0')  # torn: a crash during an append
    save_status(verified("lup", KW10, 100, 0), tmp_path)  # starts on a line of its own

    read = read_history(VerifyEntry, "lup", tmp_path)
    assert ([e.checks for e in read.entries], read.skipped) == ([100, 100], 6)
    assert load_state(tmp_path, ["lup"]).history_skipped_lines == {"lup": 6}
    assert [w.pass_rate for w in trend(inventory, tmp_path)] == [None, 0.9, 1.0, None]


# --------------------------------------------------------------------------- tenant safety


def test_a_report_of_one_authority_reads_only_its_history(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)  # the CLI's report is of this week
    save_status(verified("lup", now, 100, 2), tmp_path)
    save_status(verified("schwerin", now, 50, 50), tmp_path)
    read: list[str] = []

    def spy(kind: Any, authority: str, base: Path) -> Any:
        read.append(authority)
        return read_history(kind, authority, base)

    monkeypatch.setattr(collect, "read_history", spy)
    result = CliRunner().invoke(
        ksm,
        [
            "--inventory",
            str(INVENTORY),
            "report",
            "--authority",
            "lup",
            "--json",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert set(read) == {"lup"}
    [lup] = json.loads(result.stdout)["authorities"]
    assert lup["id"] == "lup"
    assert [w["failed_checks"] for w in lup["trend"]][-2:] == [None, 2]


@pytest.mark.parametrize("authority", ["../lup", "lup/../../etc", "", "LUP", "a" * 40])
def test_a_history_path_is_never_built_from_a_bad_authority_id(tmp_path: Path, authority: str) -> None:
    entry = VerifyEntry(time=NOW, authority=authority, checks=1, failed=0)
    with pytest.raises(SafetyError):
        append_history(entry, tmp_path)
    with pytest.raises(SafetyError):
        read_history(VerifyEntry, authority, tmp_path)
    with pytest.raises(SafetyError):
        save_status(verified(authority, NOW, 1, 0), tmp_path)
    assert not any(tmp_path.iterdir())
