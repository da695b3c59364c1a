"""Progress people can read: lines in a log from ansible-runner events and device results, heartbeats,
``-v`` reaching Ansible, and the artifacts a failed run keeps (scrubbed, private, the newest five).

No Ansible runs here: the events are plain dicts as ansible-runner hands them to its event handler,
and ``ansible_runner.run`` is replaced by a stand-in that writes what ansible-runner writes.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.commands import change
from ksm_provision.commands.progress import Display, RunProgress, task_progress
from ksm_provision.network.pipeline import DeviceProgress, _run_pool, device_summary
from ksm_provision.network.results import ApplyStatus, DeviceApply, DevicePlan, PlanStatus
from ksm_provision.playbook.results import RunMode
from ksm_provision.playbook.runner import (
    KEEP_ARTIFACTS,
    HostProgress,
    _EventCollector,
    keep_artifacts,
    run_playbook,
)
from ksm_provision.vault import Redactor
from ksm_provision.workflow.run import ChangeResult

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-vault-value"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def log_progress(clock: Clock, lines: list[str], **kwargs: Any) -> RunProgress:
    """The progress as a CI log shows it, its lines collected in *lines*."""
    return RunProgress("plan", Display.LINES, write=lines.append, clock=clock, **kwargs)


def event(kind: str, **data: Any) -> dict[str, Any]:
    """An ansible-runner event as its event handler gets it (``stdout`` only where given)."""
    stdout = data.pop("stdout", "")
    return {"event": kind, "event_data": data, "stdout": stdout}


def task(name: str, play: str = "Apply the baseline to every host") -> dict[str, Any]:
    return event("playbook_on_task_start", play=play, task=name, name=name)


def ok(host: str, name: str, changed: bool = False) -> dict[str, Any]:
    return event("runner_on_ok", host=host, task=name, res={"changed": changed})


# --------------------------------------------------------------------------- hosts (Ansible events)


def test_a_log_gets_a_line_per_host_failures_at_once_the_others_at_the_end() -> None:
    clock, lines = Clock(), list[str]()
    progress = log_progress(clock, lines)
    collect = _EventCollector(
        {"h1": "lup", "h2": "lup", "h3": "lup"}, Redactor([SECRET]), progress, clock=clock
    )
    progress.hosts_started(list(collect.results))
    for ev in [
        event("playbook_on_play_start", play="Apply the baseline to every host"),
        task("Ensure chrony"),
        event("runner_on_start", host="h1", task="Ensure chrony"),
        ok("h1", "Ensure chrony", changed=True),
        ok("h2", "Ensure chrony"),
        event("runner_on_unreachable", host="h3", task="Ensure chrony", res={"msg": "ssh: timed out"}),
    ]:
        collect(ev)
    clock.now += 5
    collect(task("Ensure the password"))
    collect(event("runner_on_failed", host="h2", task="Ensure the password", res={"msg": f"bad {SECRET}"}))
    collect(ok("h1", "Ensure the password"))
    assert lines == [
        "plan: 3 hosts",
        "[1/3] h3: FAILED: unreachable: ssh: timed out (0 s)",
        "[2/3] h2: FAILED: Ensure the password: bad ******** (5 s)",  # redacted, shown at once
    ]
    clock.now += 36
    collect(event("playbook_on_stats", changed={"h1": 1}, ok={"h1": 2}, failures={"h2": 1}, dark={"h3": 1}))
    assert lines[3:] == ["[3/3] h1: ok=2 changed=1 failed=0 (41 s)"]
    collect(event("playbook_on_stats", changed={"h1": 1}))  # a host's line goes out once
    assert len(lines) == 4


def test_an_ignored_failure_does_not_end_a_host() -> None:
    clock, lines = Clock(), list[str]()
    progress = log_progress(clock, lines)
    collect = _EventCollector({"h1": "lup"}, Redactor([]), progress, clock=clock)
    progress.hosts_started(["h1"])
    collect(event("runner_on_failed", host="h1", task="Probe", ignore_errors=True, res={"msg": "no"}))
    assert lines == ["plan: 1 host"]
    collect(event("playbook_on_stats"))
    assert lines[1:] == ["[1/1] h1: ok=0 changed=0 failed=0 (0 s)"]


def test_a_long_quiet_stretch_gets_a_heartbeat_naming_play_and_task() -> None:
    clock, lines = Clock(), list[str]()
    progress = log_progress(clock, lines, heartbeat=30)
    collect = _EventCollector({"h1": "lup", "h2": "lup"}, Redactor([]), progress, clock=clock)
    progress.hosts_started(["h1", "h2"])
    collect(task("Ensure samba is installed", play="Provision the file servers"))
    collect(ok("h1", "Ensure samba is installed", changed=True))
    clock.now += 29
    progress.beat()
    assert lines == ["plan: 2 hosts"]
    clock.now += 1
    progress.beat()
    progress.beat()  # the heartbeat was a line: the next one is 30 s away
    assert lines[1:] == [
        'plan: 0/2 hosts done after 30 s; running task "Ensure samba is installed" of play '
        '"Provision the file servers" [task results: ok=0 changed=1 failed=0]'
    ]
    collect(event("playbook_on_stats"))
    clock.now += 300
    progress.beat()  # every host is done: nothing is running
    assert len(lines) == 4


@pytest.mark.parametrize("display", [Display.BAR, Display.QUIET])
def test_only_a_log_gets_heartbeats_and_result_lines(display: Display) -> None:
    clock, lines = Clock(), list[str]()
    progress = RunProgress("plan", display, write=lines.append, clock=clock)
    progress.hosts_started(["h1"])
    clock.now += 600
    progress.beat()
    progress.host_finished("h1", "ok=1 changed=0 failed=0", False, 600)
    assert lines == []


def test_verbose_output_is_ansibles_own_redacted_and_only_with_v() -> None:
    clock, lines = Clock(), list[str]()
    verbose = RunProgress("plan", Display.QUIET, verbosity=2, write=lines.append, clock=clock)
    quiet = RunProgress("plan", Display.QUIET, verbosity=0, write=lines.append, clock=clock)
    output = f'\r\nTASK [Ensure x] ***\r\nok: [h1] => {{"pw": "{SECRET}"}}\r\n'
    for progress in (verbose, quiet):
        collect = _EventCollector({"h1": "lup"}, Redactor([SECRET]), progress, clock=clock)
        collect(event("runner_on_ok", host="h1", task="Ensure x", res={}, stdout=output))
        collect(event("verbose", stdout="<127.0.0.1> ESTABLISH SSH CONNECTION\x1b[2J"))
    assert lines == [
        'TASK [Ensure x] ***\nok: [h1] => {"pw": "********"}',
        "<127.0.0.1> ESTABLISH SSH CONNECTION\\x1b[2J",  # data: control characters visible
    ]


def test_hostile_names_stay_one_visible_line() -> None:
    clock, lines = Clock(), list[str]()
    progress = log_progress(clock, lines)
    progress.hosts_started(["x"])
    progress.host_finished("evil\x1b]0;t\x07\nfake: ok", "FAILED: " + "long " * 50 + "\nsecond line", True, 3)
    (line,) = lines[1:]
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert line.startswith("[1/1] evil\\x1b]0;t\\x07\\x0afake: ok: FAILED: long") and line.endswith(
        " … (3 s)"
    )


def test_the_progress_is_what_both_stages_look_for() -> None:
    progress = RunProgress("plan", Display.QUIET)
    assert isinstance(progress, HostProgress) and isinstance(progress, DeviceProgress)
    host_progress: HostProgress = progress  # mypy checks the structure too
    assert host_progress.run_name == "plan"


# --------------------------------------------------------------------------- devices


def plan_result(hostname: str, status: PlanStatus, **kwargs: Any) -> DevicePlan:
    return DevicePlan(
        hostname=hostname, authority="sn", platform="ios", role="access", status=status, **kwargs
    )


def test_devices_get_a_line_each_as_they_finish_failures_too() -> None:
    clock, lines = Clock(), list[str]()
    progress = log_progress(clock, lines)
    progress.devices_started(["sn-sw01", "sn-sw02", "sn-rt01"])
    heard: list[tuple[str, str, str]] = []

    def work(name: str) -> DeviceApply:
        if name == "sn-rt01":
            raise RuntimeError("bug")
        commands = ("interface Gi0/1", " description x", " no shutdown") if name == "sn-sw01" else ()
        status = ApplyStatus.CHANGED if commands else ApplyStatus.UNCHANGED
        return DeviceApply(
            hostname=name, authority="sn", platform="ios", role="access", status=status,
            commands=commands, seconds=12.3,
        )  # fmt: skip

    def fail(name: str, message: str) -> DeviceApply:
        return DeviceApply(
            hostname=name, authority="sn", platform="ios", role="access",
            status=ApplyStatus.FAILED_STATE_UNKNOWN, messages=(message,),
        )  # fmt: skip

    def done(result: DeviceApply) -> None:
        summary, failed = device_summary(result)
        heard.append((result.hostname, summary, str(failed)))
        progress.device_finished(result.hostname, summary, failed, result.seconds)

    _run_pool(["sn-sw01", "sn-sw02", "sn-rt01"], work, 1, str, fail, done)
    assert lines == [
        "plan: 3 devices",
        "[1/3] sn-sw01: 3 lines changed (12 s)",
        "[2/3] sn-sw02: unchanged (12 s)",
        "[3/3] sn-rt01: FAILED, state unknown: internal error on sn-rt01: RuntimeError: bug (0 s)",
    ]
    assert heard[2][2] == "True"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (plan_result("a", PlanStatus.IN_SYNC), ("in sync", False)),
        (plan_result("a", PlanStatus.CHANGES, remediation=("vlan 10",)), ("1 line to change", False)),
        (
            plan_result("a", PlanStatus.FAILED, messages=("not reached: timeout",)),
            ("FAILED: not reached: timeout", True),
        ),
    ],
)
def test_a_device_plan_in_a_few_words(result: DevicePlan, expected: tuple[str, bool]) -> None:
    assert device_summary(result) == expected


# --------------------------------------------------------------------------- run_playbook: -v and artifacts


class FakeRunner:
    def __init__(self, status: str, rc: int) -> None:
        self.status, self.rc = status, rc


def fake_ansible_runner(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]], fail: bool) -> None:
    """``ansible_runner.run`` writing what ansible-runner writes, then ending as *fail* says."""
    import ansible_runner

    def run(**kwargs: Any) -> FakeRunner:
        calls.append(kwargs)
        work = Path(kwargs["private_data_dir"])
        env = work / "env"
        env.mkdir()
        (env / "envvars").write_text(json.dumps({"VAULT_TOKEN": "env-secret"}))
        (env / "cmdline").write_text(kwargs["cmdline"])
        (env / "ssh_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
        ident = work / "artifacts" / "0b5e2c"
        (ident / "job_events").mkdir(parents=True)
        (ident / "job_events" / "1-x-partial.json").write_text(json.dumps({"res": SECRET}))
        (ident / "fact_cache").mkdir()
        (ident / "fact_cache" / "h1").write_text("{}")
        (ident / "stdout").write_text(f"TASK [Ensure x]\nfatal: [h1]: FAILED! pw={SECRET}\n")
        (ident / "command").write_text(
            json.dumps(
                {"command": ["ansible-playbook", "-vv"], "cwd": str(work), "env": {"TOKEN": "env-secret"}}
            )
        )
        (ident / "rc").write_text("2" if fail else "0")
        (ident / "status").write_text("failed" if fail else "successful")
        handler: Callable[[dict[str, Any]], bool] = kwargs["event_handler"]
        if fail:
            handler(event("runner_on_failed", host="h1", task="Ensure x", res={"msg": "boom"}))
        handler(event("playbook_on_stats"))
        return FakeRunner("failed" if fail else "successful", 2 if fail else 0)

    monkeypatch.setattr(ansible_runner, "run", run)


def run_plan(tmp_path: Path, progress: Any) -> Any:
    return run_playbook(
        tmp_path / "hosts.yml", {"h1": "lup"}, RunMode.PLAN, [], Redactor([SECRET]), progress=progress
    )


@pytest.fixture
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KSM_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path / "build"


def test_verbosity_reaches_ansible_runner(
    tmp_path: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    fake_ansible_runner(monkeypatch, calls, fail=False)
    run_plan(tmp_path, RunProgress("plan", Display.QUIET, verbosity=3, write=list[str]().append))
    run_plan(tmp_path, lambda host, step, status: None)  # a plain callback: Ansible's default
    assert [c["verbosity"] for c in calls] == [3, 0]
    assert all(c["quiet"] for c in calls)  # Ansible's output reaches the user only through the redactor
    assert calls[0]["envvars"]["ANSIBLE_NOCOLOR"] == "1"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_failed_run_keeps_its_artifacts_scrubbed_and_private(
    tmp_path: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ansible_runner(monkeypatch, [], fail=True)
    lines: list[str] = []
    root = tmp_path / "state" / "artifacts"
    progress = RunProgress("plan", Display.QUIET, artifacts_dir=root, run_name="drift", write=lines.append)
    run = run_plan(tmp_path, progress)
    assert run.failed_hosts == ["h1"]
    (kept,) = root.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z-drift", kept.name)
    assert lines == [f"ansible-runner artifacts kept at {kept} (may contain raw task output; mode 0700)"]
    assert sorted(p.name for p in kept.iterdir()) == ["ansible.cfg", "command", "rc", "status", "stdout"]
    assert mode(root) == mode(kept) == 0o700
    assert all(mode(p) == 0o600 for p in kept.iterdir())
    everything = "".join(p.read_text() for p in kept.iterdir())
    assert SECRET not in everything and "env-secret" not in everything and "PRIVATE KEY" not in everything
    assert "fatal: [h1]: FAILED! pw=********" in (kept / "stdout").read_text()
    assert json.loads((kept / "command").read_text())["command"] == ["ansible-playbook", "-vv"]
    assert not list(build_dir.glob("run-*"))  # the run directory itself is gone


def test_a_successful_run_keeps_nothing(
    tmp_path: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ansible_runner(monkeypatch, [], fail=False)
    lines: list[str] = []
    root = tmp_path / "state" / "artifacts"
    run_plan(tmp_path, RunProgress("plan", Display.QUIET, artifacts_dir=root, write=lines.append))
    assert not root.exists() and lines == []
    assert not list(build_dir.glob("run-*"))


def test_only_the_newest_kept_runs_stay(tmp_path: Path) -> None:
    work = tmp_path / "run"
    (work / "artifacts" / "id").mkdir(parents=True)
    (work / "artifacts" / "id" / "stdout").write_text("out\n")
    root = tmp_path / "artifacts"
    (root / "notes").mkdir(parents=True)  # not a kept run: left alone
    kept = [
        keep_artifacts(work, root, "apply", Redactor([]), datetime(2025, 1, day, 12, 0, tzinfo=UTC))
        for day in range(1, 8)
    ]
    again = keep_artifacts(work, root, "apply", Redactor([]), datetime(2025, 1, 7, 12, 0, tzinfo=UTC))
    assert again.name == "20250107T120000Z-apply-2"  # same second: a second directory
    names = sorted(p.name for p in root.iterdir())
    assert names == sorted(["notes", *(p.name for p in [*kept[-(KEEP_ARTIFACTS - 1) :], again])])
    assert (again / "stdout").read_text() == "out\n"


# --------------------------------------------------------------------------- the command line


def test_task_progress_keeps_artifacts_in_the_state_dir_also_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSM_STATE_DIR", str(tmp_path / "state"))
    with task_progress("plan", enabled=False) as nothing:
        assert nothing is None
    with task_progress("drift check", enabled=False, verbosity=1, run_name="drift") as progress:
        assert progress is not None and progress.display is Display.QUIET
        assert progress.artifacts_dir == tmp_path / "state" / "artifacts"
        assert (progress.verbosity, progress.run_name) == (1, "drift")


@pytest.mark.parametrize(
    ("flags", "verbosity"), [([], 0), (["-v"], 1), (["-vvv"], 3), (["--verbose", "-v"], 2)]
)
def test_v_on_the_change_commands_reaches_the_progress(
    flags: list[str], verbosity: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[Any] = []

    def run_change(request: Any, progress: Any, note: Any = None) -> ChangeResult:
        heard.append(progress)
        return ChangeResult(request.mode)

    monkeypatch.setattr(change, "run_change", run_change)
    inventory = ["--inventory", str(REPO / "inventories")]
    for command in (["plan"], ["apply"], ["drift"]):
        result = CliRunner().invoke(ksm, [*inventory, *command, "--authority", "lup", *flags])
        assert result.exit_code == 0, result.output
    assert [(p.verbosity, p.run_name) for p in heard] == [(verbosity, m) for m in ("plan", "apply", "drift")]
