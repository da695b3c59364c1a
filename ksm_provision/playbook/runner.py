"""Run playbooks through ansible-runner and collect its structured events into typed results.

We never scrape Ansible's human output: every figure comes from runner events
(``runner_on_ok``, ``runner_on_failed``, ``runner_on_unreachable``...). Ansible's output is shown
only when asked for (``-v``, see :class:`HostProgress`), redacted; a failed run's artifacts are kept,
scrubbed, for the user to read (see :func:`keep_artifacts`).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ksm_provision.ansible_plugins.collection import link_collection
from ksm_provision.digests import keyed_digest
from ksm_provision.errors import KsmError
from ksm_provision.fileio import write_atomic
from ksm_provision.hostkeys import host_key_args, run_known_hosts
from ksm_provision.playbook.results import HostRunResult, PlaybookRun, RunMode, TaskChange
from ksm_provision.resources import build_dir, playbook, roles_dir
from ksm_provision.results import ProgressCallback as ProgressCallback
from ksm_provision.targets import Connection
from ksm_provision.vault import Redactor, VaultAccess


@runtime_checkable
class HostProgress(Protocol):
    """A :data:`ProgressCallback` that also follows the run as a whole (``commands/progress.py``).

    It hears the hosts of the run, each play's task as it starts and each host as it finishes.
    Ansible's verbosity and where a failed run keeps its artifacts are its business too: both change
    only what the user gets to read, never what the run does.
    """

    #: ``-v`` count for ansible-playbook; above 0 Ansible's output goes to :meth:`show`, redacted.
    verbosity: int
    #: Where a failed run keeps its artifacts (``<dir>/<time>-<run_name>/``); None: never kept.
    artifacts_dir: Path | None
    #: The command, in the name of kept artifacts: ``plan``, ``apply``, ``drift``.
    run_name: str

    def __call__(self, node: str, step: str, status: str) -> None: ...

    def hosts_started(self, hosts: Sequence[str]) -> None: ...

    def task_started(self, play: str, task: str) -> None: ...

    def host_finished(self, host: str, summary: str, failed: bool, seconds: float) -> None: ...

    def show(self, text: str) -> None:
        """Text for the user's stderr, already redacted: Ansible's output, where artifacts went."""


#: Ansible strategies ksm can run with: Ansible's own ``linear``, or Mitogen's ``mitogen_linear``
#: (one persistent Python per host instead of a module upload and interpreter start per task).
STRATEGIES = ("linear", "mitogen")
#: The managed hosts' Python (Debian 12); ``ANSIBLE_PYTHON_INTERPRETER`` or a host's
#: ``ansible_python_interpreter`` overrides it.
PYTHON_INTERPRETER = "/usr/bin/python3"
#: Mitogen since 2026-12-01: plan and re-apply about 3x faster, and the whole lab tier passes with it
#: (check mode, diffs, no_log accounting); ``linear`` stays for hosts where Mitogen cannot run.
DEFAULT_STRATEGY = "mitogen"


@dataclass
class RunSettings:
    forks: int = 8
    pipelining: bool = True
    control_persist: bool = True
    limit: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    #: One of :data:`STRATEGIES`.
    strategy: str = DEFAULT_STRATEGY


def mitogen_strategy_dir() -> Path:
    """Where Mitogen's strategy plugins are (found without importing Mitogen into ksm)."""
    import importlib.util

    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        raise KsmError(
            "the mitogen strategy needs the Python package mitogen, which is not installed",
            "pip install 'mitogen>=0.3.54', or run with --ansible-strategy linear",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"


def _strategy_lines(strategy: str) -> list[str]:
    if strategy == "linear":
        return []
    if strategy == "mitogen":
        return [f"strategy_plugins = {mitogen_strategy_dir()}", "strategy = mitogen_linear"]
    raise KsmError(f"unknown Ansible strategy {strategy!r}", f"use one of: {', '.join(STRATEGIES)}")


def ansible_cfg(
    settings: RunSettings,
    control_dir: Path,
    known_hosts: Path | None = None,
    check_host_keys: bool = True,
    collections: Path | None = None,
) -> str:
    """ksm's Ansible settings: pipelining and ControlPersist on by default (1.6-2.5x faster).

    Host keys are checked strictly against *known_hosts* (the run's keys, taken from the managed
    files); only lab stand-ins whose keys the lab did not record run with *check_host_keys* off.
    *collections* is the run's collections path holding ``ksm.provision`` (see :func:`link_collection`).
    """
    ssh_args = f"{host_key_args(known_hosts, check_host_keys)} -o LogLevel=ERROR"
    if settings.control_persist:
        ssh_args = "-o ControlMaster=auto -o ControlPersist=120s " + ssh_args
    return "\n".join(
        [
            "[defaults]",
            f"roles_path = {roles_dir()}",
            *([f"collections_path = {collections}"] if collections else []),
            f"forks = {settings.forks}",
            f"host_key_checking = {check_host_keys}",
            # Debian's python3 (every managed host is Debian 12), not discovery: under Mitogen,
            # discovery tries interpreters one connection at a time and doubled each host's start
            f"interpreter_python = {PYTHON_INTERPRETER}",
            "retry_files_enabled = False",
            "deprecation_warnings = False",
            "gathering = implicit",
            # vars plugins (group_vars/host_vars beside inventory and playbook) read once at the
            # start, not again for every host and task: nothing adds such files during a run
            "run_vars_plugins = start",
            *_strategy_lines(settings.strategy),
            "",
            "[ssh_connection]",
            f"pipelining = {settings.pipelining}",
            f"ssh_args = {ssh_args}",
            f"control_path_dir = {control_dir}",
            "control_path = %(directory)s/%%C",
            "",
        ]
    )


def _diff_text(diff: Any, headers: bool = True) -> str:
    """Ansible's diff(s) as text; *headers* False leaves out the file names, which may be random
    (the template module names its temporary source file)."""
    items = diff if isinstance(diff, list) else [diff]
    parts: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "prepared" in item:
            parts.append(str(item["prepared"]))
        before, after = item.get("before"), item.get("after")
        if isinstance(before, str) and isinstance(after, str):
            parts.extend(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=str(item.get("before_header", "before")) if headers else "before",
                    tofile=str(item.get("after_header", "after")) if headers else "after",
                )
            )
        elif before is not None or after is not None:
            parts.append(f"- {before}\n+ {after}\n")
    return "".join(parts)


def _changed_items(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The changed items of a loop task's result (a task without a loop has none)."""
    results = res.get("results")
    if not isinstance(results, list):
        return []
    return [r for r in results if isinstance(r, dict) and r.get("changed")]


def _task_diff(res: dict[str, Any], headers: bool = True) -> str:
    """The task's diff; a loop task's diffs are in its items."""
    items = "".join(_diff_text(r.get("diff", []), headers) for r in _changed_items(res))
    return _diff_text(res.get("diff", []), headers) + items


def _change_digest(key: bytes, task: str, action: str, res: dict[str, Any]) -> str:
    """Keyed digest of the unredacted change: task, action, diff (without file names, which may be
    temporary) and the labels of the changed items (a registered result as item holds run details)."""
    labels = [r.get("_ansible_item_label", r.get("item")) for r in _changed_items(res)]  # as Ansible shows
    items = [json.dumps(label, sort_keys=True, default=str) for label in labels]
    return keyed_digest(key, [task, action, _task_diff(res, headers=False), *items])


class _EventCollector:
    def __init__(
        self,
        authority_of: dict[str, str],
        redact: Redactor,
        progress: ProgressCallback | None,
        digest_keys: Mapping[str, bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.results: dict[str, HostRunResult] = {
            host: HostRunResult(host=host, authority=authority) for host, authority in authority_of.items()
        }
        self.redact = redact
        self.progress = progress
        #: Digest key of each host's authority (none given: digests are keyed with b"").
        self.keys = {
            host: (digest_keys or {}).get(authority, b"") for host, authority in authority_of.items()
        }
        #: Tasks whose result Ansible censored (no_log): their changed flag is not in the event.
        self.censored: dict[str, list[tuple[str, str]]] = {host: [] for host in authority_of}
        self.host_progress = progress if isinstance(progress, HostProgress) else None
        self.clock = clock
        self.started = clock()
        #: Hosts whose result line is out (see :meth:`_finish`).
        self.finished: set[str] = set()

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        self._watch(kind, data, event)
        if kind == "playbook_on_stats":
            self._end(data)
            return False
        host = data.get("host")
        if host not in self.results:
            return False
        result = self.results[host]
        task = str(data.get("task", ""))
        res = data.get("res", {}) or {}
        if kind == "runner_on_ok":
            self._ok(result, task, str(data.get("task_action", "")), res)
        elif kind == "runner_on_skipped":
            result.skipped += 1
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            result.failed = True
            result.errors.append(self.redact(f"{task}: {res.get('msg', 'failed')}"))
        elif kind == "runner_on_unreachable":
            result.unreachable = True
            result.errors.append(self.redact(f"unreachable: {res.get('msg', '')}"))
        if self.progress and kind.startswith("runner_on_"):
            self.progress(host, task, _status(kind, data, res))
        if result.failed or result.unreachable:  # Ansible runs nothing more on it: it is done
            self._finish(host)
        return False  # keep no event on disk: events may carry diffs

    def _ok(self, result: HostRunResult, task: str, action: str, res: dict[str, Any]) -> None:
        result.ok += 1
        if "censored" in res:
            self.censored[result.host].append((task, action))
        elif res.get("changed"):
            result.changed += 1
            result.changes.append(
                TaskChange(
                    task=task,
                    action=action,
                    diff=self.redact(_task_diff(res)),
                    digest=_change_digest(self.keys[result.host], task, action, res),
                )
            )

    def _end(self, stats: dict[str, Any]) -> None:
        """``playbook_on_stats``: the run's end; every host is done."""
        self._reconcile(stats.get("changed", {}) or {})
        for host in self.results:
            self._finish(host)

    def _watch(self, kind: str, data: dict[str, Any], event: dict[str, Any]) -> None:
        """Ansible's own output (only with -v, redacted) and each task as it starts."""
        watcher = self.host_progress
        if watcher is None:
            return
        if watcher.verbosity > 0 and event.get("stdout"):
            watcher.show(self.redact(str(event["stdout"])))
        if kind == "playbook_on_task_start":
            watcher.task_started(str(data.get("play", "")), str(data.get("task", "")))

    def _finish(self, host: str) -> None:
        """Tell the progress that *host* is done, once.

        When is a host done? With the linear strategy every host runs every task of a play, and the
        next play may name it again: only a failed or unreachable host (Ansible runs nothing more on
        it) is known to be done before ``playbook_on_stats`` ends the run. So a failure shows at
        once, every other host at the end; in between the progress shows the running task (a
        terminal) or a heartbeat line (a log), so that a long run is never silent.
        """
        if self.host_progress is None or host in self.finished:
            return
        self.finished.add(host)
        result = self.results[host]
        if result.failed or result.unreachable:
            summary = f"FAILED: {result.errors[-1] if result.errors else result.status}"
        else:
            summary = f"ok={result.ok} changed={result.changed} failed=0"
        failed = result.failed or result.unreachable
        self.host_progress.host_finished(host, summary, failed, self.clock() - self.started)

    def _reconcile(self, changed_per_host: dict[str, int]) -> None:
        for host, result in self.results.items():
            _reconcile_host(result, int(changed_per_host.get(host, 0)), self.censored[host], self.keys[host])


def _status(kind: str, data: dict[str, Any], res: dict[str, Any]) -> str:
    """A task result's status for the progress: start, ok, changed, skipped, failed, ignored, unreachable."""
    status = kind.removeprefix("runner_on_")
    if status == "ok" and res.get("changed"):
        return "changed"
    if status == "failed" and data.get("ignore_errors"):
        return "ignored"
    return status


def _reconcile_host(
    result: HostRunResult, changed: int, censored: list[tuple[str, str]], key: bytes = b""
) -> None:
    """Ansible's stats count every changed task, censored ones too; the difference is theirs.

    Their content is not in the events: their digest covers only task and action.
    """
    for task, action in censored[: max(0, changed - result.changed)]:
        result.changes.append(
            TaskChange(
                task=task,
                action=action,
                diff="(not shown: the task handles secrets)",
                digest=keyed_digest(key, [task, action]),
            )
        )
    result.changed = max(result.changed, changed)


def run_playbook(
    hosts_file: Path,
    authority_of: dict[str, str],
    mode: RunMode,
    vaults: list[VaultAccess],
    redact: Redactor,
    settings: RunSettings | None = None,
    progress: ProgressCallback | None = None,
    playbook_name: str = "site.yml",
    connections: Mapping[str, Connection] | None = None,
    digest_keys: Mapping[str, bytes] | None = None,
) -> PlaybookRun:
    """Run *playbook_name* against the hosts in *hosts_file*; plan = ``--check --diff``.

    *connections* say where each host's key is known; a host without an entry stops the run here,
    before Ansible starts. Without *connections* ssh checks strictly against the user's known_hosts.
    *digest_keys* (by authority) key the digest of each changed task (see :class:`TaskChange`).
    A *progress* that is a :class:`HostProgress` also sets Ansible's verbosity and, when the run
    fails, has its artifacts kept (see :func:`keep_artifacts`).
    """
    import ansible_runner

    watcher = progress if isinstance(progress, HostProgress) else None
    settings = settings or RunSettings()
    host_keys = run_known_hosts(connections, authority_of) if connections is not None else ""
    build = build_dir()
    build.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=build))
    control_dir = Path(tempfile.mkdtemp(prefix="ksm-cp-"))  # short path: unix sockets max 108 chars
    succeeded = False
    try:
        cfg = work / "ansible.cfg"
        known_hosts = None
        if host_keys:
            known_hosts = work / "known_hosts"
            known_hosts.write_text(host_keys, encoding="utf-8")
        # site.yml names the roles by FQCN (ksm.provision.<role>): this run's collection is ksm's own
        collections = link_collection(work / "collections")
        cfg.write_text(
            ansible_cfg(settings, control_dir, known_hosts, host_keys is not None, collections),
            encoding="utf-8",
        )
        args = [arg for vault in vaults for arg in ("--vault-id", vault.cli_argument)]
        if mode is RunMode.PLAN:
            args += ["--check", "--diff"]
        collector = _EventCollector(authority_of, redact, progress, digest_keys)
        if watcher is not None:
            watcher.hosts_started(list(authority_of))
        runner = ansible_runner.run(
            private_data_dir=str(work),
            playbook=str(playbook(playbook_name)),
            inventory=str(hosts_file),
            cmdline=shlex.join(args),
            envvars={
                "ANSIBLE_CONFIG": str(cfg),
                # before any ksm.provision installed elsewhere: the run uses the files its plan hashed
                "ANSIBLE_COLLECTIONS_PATH": str(collections),
                "PATH": _path_with_venv(),
                # Ansible runs under a pty: without this its output (-v, kept stdout) holds colour codes
                "ANSIBLE_NOCOLOR": "1",
                **settings.extra_env,
            },
            limit=settings.limit,
            forks=settings.forks,
            verbosity=watcher.verbosity if watcher is not None else 0,
            quiet=True,
            event_handler=collector,
            rotate_artifacts=1,
        )
        if runner.status not in ("successful", "failed"):
            raise KsmError(
                f"ansible-playbook did not run ({runner.status}, rc={runner.rc})",
                "check the playbook syntax with `ansible-playbook --syntax-check`",
            )
        if runner.status == "failed" and not any(
            r.failed or r.unreachable for r in collector.results.values()
        ):
            tail = redact(_stdout_tail(work))
            raise KsmError(
                f"ansible-playbook failed before running tasks (rc={runner.rc}):\n{tail}",
                "see the message above",
            )
        succeeded = runner.status == "successful"
        return PlaybookRun(mode=mode, hosts=list(collector.results.values()), return_code=int(runner.rc or 0))
    finally:
        if not succeeded and watcher is not None and watcher.artifacts_dir is not None:
            _keep_for(watcher, work, redact)
        shutil.rmtree(work, ignore_errors=True)  # artifacts hold Ansible's raw output: kept only above
        shutil.rmtree(control_dir, ignore_errors=True)


#: Kept artifacts of failed runs (``artifacts/<time>-<command>/``): the newest this many stay.
KEEP_ARTIFACTS = 5
#: What a kept run holds, from ansible-runner's artifacts: an allow-list, so that nothing new
#: ansible-runner writes (its ``env/`` with passwords and ssh keys, ``job_events/`` with raw results,
#: the fact cache) is ever kept by accident.
_KEPT_ARTIFACTS = ("stdout", "stderr", "rc", "status", "command")
_KEPT_NAME = re.compile(r"^\d{8}T\d{6}Z-")


def _keep_for(watcher: HostProgress, work: Path, redact: Redactor) -> None:
    """Keep a failed run's artifacts (when Ansible got as far as writing any) and say where."""
    if watcher.artifacts_dir is None or not (work / "artifacts").is_dir():
        return
    try:
        kept = keep_artifacts(work, watcher.artifacts_dir, watcher.run_name, redact)
    except OSError as exc:  # keeping them must not hide why the run failed
        watcher.show(f"ansible-runner artifacts not kept: {exc}")
        return
    watcher.show(f"ansible-runner artifacts kept at {kept} (may contain raw task output; mode 0700)")


def keep_artifacts(
    work: Path, root: Path, run_name: str, redact: Redactor, now: datetime | None = None
) -> Path:
    """Copy what helps to read a failed run from the run directory *work* to ``root/<time>-<run_name>/``.

    Kept: ``ansible.cfg`` and, from ansible-runner's artifacts, the command (without the
    environment it ran in, which may hold tokens), return code, status and Ansible's output with
    every vault value redacted. Nothing else: not ``env/`` (vault password files, ssh keys, the
    command line), not ``job_events/`` or the fact cache. Directories are 0700, files 0600; of
    the kept runs under *root* only the newest :data:`KEEP_ARTIFACTS` stay. Returns the directory.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    _private_dir(root)
    kept = root / f"{stamp}-{run_name}"
    number = 1
    while True:
        try:
            kept.mkdir(mode=0o700)
            break
        except FileExistsError:
            number += 1
            kept = root / f"{stamp}-{run_name}-{number}"
    kept.chmod(0o700)
    runs = sorted((p for p in (work / "artifacts").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    sources = {"ansible.cfg": work / "ansible.cfg"}
    if runs:  # rotate_artifacts=1: one run directory; the newest if ever there were more
        sources.update({name: runs[-1] / name for name in _KEPT_ARTIFACTS})
    for name, source in sources.items():
        if source.is_file() and not source.is_symlink():
            text = source.read_text(encoding="utf-8", errors="replace")
            content = _without_env(text) if name == "command" else redact(text)
            write_atomic(kept / name, content, mode=0o600, durable=False)
    _prune(root, KEEP_ARTIFACTS)
    return kept


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _without_env(command: str) -> str:
    """ansible-runner's ``command`` file without ``env`` (the whole environment of the run)."""
    try:
        data = json.loads(command)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return json.dumps({key: value for key, value in data.items() if key != "env"}, indent=2) + "\n"


def _prune(root: Path, keep: int) -> None:
    """Remove all but the newest *keep* kept runs under *root* (their names begin with the time)."""
    runs = sorted(p.name for p in root.iterdir() if p.is_dir() and _KEPT_NAME.match(p.name))
    for name in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(root / name, ignore_errors=True)


def _path_with_venv() -> str:
    """PATH with this Python's bin dir first: ansible-runner must find the venv's ansible-playbook."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def _stdout_tail(work: Path, lines: int = 15) -> str:
    for stdout in work.glob("artifacts/*/stdout"):
        return "\n".join(stdout.read_text(errors="replace").splitlines()[-lines:])
    return ""
