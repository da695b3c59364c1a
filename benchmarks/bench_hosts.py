"""Plan and idempotent re-apply of every host of the lab twin: ksm's settings vs Mitogen, same run.

One throwaway twin of both sample authorities (systemd hosts, FRR routers, switch simulators) is
built and applied once with ``ksm apply --all`` (devices first, as always: the routers' Linux side
needs its interfaces); its time is the first apply. Then, on the same converged hosts, for each
setting: a plan (``--check --diff``, nothing pending) and a second apply (nothing changed), each
with the slowest tasks listed. The settings: ksm's (pipelining + ControlPersist, 8 forks, Ansible's
linear strategy: the baseline, ``--ansible-strategy linear``) and the same with Mitogen's strategy
(``--ansible-strategy mitogen``); with ``KSM_BENCH_ANSIBLE_DEFAULTS=1`` also Ansible's defaults (no
pipelining, no ControlPersist, 5 forks; slow: about 4.6x ksm's). Ratios are against ksm's settings.
Needs root (the lab twin). Run with ``python -m benchmarks.bench_hosts``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.targets import LabTargets
from ksm_provision.lab.topology import derive
from ksm_provision.playbook.pipeline import run_hosts
from ksm_provision.playbook.results import RunMode
from ksm_provision.playbook.runner import RunSettings
from ksm_provision.playbook.scope import HostScope, host_scope
from tests.testlab import throwaway_lab

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "ksm settings": RunSettings(forks=8, pipelining=True, control_persist=True),
    "ksm + mitogen": RunSettings(forks=8, pipelining=True, control_persist=True, strategy="mitogen"),
}
ANSIBLE_DEFAULTS = RunSettings(forks=5, pipelining=False, control_persist=False)
RUNS = (("plan", RunMode.PLAN), ("second apply", RunMode.APPLY))


class TaskTimer:
    """A run's progress watcher (``HostProgress``) that times each task: the linear strategies run one
    task on every host before the next starts, so a task lasts until the next one starts."""

    verbosity = 0
    artifacts_dir = None
    run_name = "bench"

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._current: tuple[str, float] | None = None

    def __call__(self, node: str, step: str, status: str) -> None:
        pass

    def hosts_started(self, hosts: Sequence[str]) -> None:
        pass

    def task_started(self, play: str, task: str) -> None:  # noqa: ARG002 (the protocol's signature)
        self._close()
        self._current = (task, time.perf_counter())

    def host_finished(self, host: str, summary: str, failed: bool, seconds: float) -> None:  # noqa: ARG002
        self._close()  # the run's end (playbook_on_stats) or a failed host

    def show(self, text: str) -> None:
        pass

    def _close(self) -> None:
        if self._current is not None:
            task, started = self._current
            self.seconds[task] += time.perf_counter() - started
            self._current = None

    def slowest(self, count: int = 8) -> list[tuple[str, float]]:
        return sorted(self.seconds.items(), key=lambda item: -item[1])[:count]


def measure(name: str, settings: RunSettings, scope: HostScope) -> dict[str, float]:
    figures: dict[str, float] = {}
    for label, mode in RUNS:
        timer = TaskTimer()
        started = time.perf_counter()
        run = run_hosts(scope, mode, settings, timer)
        figures[label] = time.perf_counter() - started
        assert not run.failed_hosts, (name, label, [h.errors for h in run.hosts if h.errors])
        assert run.total_changed == 0, f"{name}: {label} must find nothing to change"
        print(f"{name}, {label}: {figures[label]:.1f} s; slowest tasks (summed over plays)", flush=True)
        for task, seconds in timer.slowest():
            print(f"  {seconds:6.1f} s  {task}", flush=True)
    return figures


def first_apply(env: dict[str, str]) -> float:
    """``ksm apply --all --target lab`` on the fresh twin: hosts and devices, as an engineer runs it."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "apply", "--all", "--target", "lab"],
        env=env, cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"first apply exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    os.environ["KSM_LAB_ONLY"] = "1"
    settings = dict(SETTINGS)
    if os.environ.get("KSM_BENCH_ANSIBLE_DEFAULTS") == "1":
        settings["ansible defaults"] = ANSIBLE_DEFAULTS
    inventory = load_inventory(REPO / "inventories")
    with throwaway_lab("bench-hosts") as lab, tempfile.TemporaryDirectory(dir="/var/tmp") as state:
        lab_env = {
            "KSM_LAB_DIR": str(lab.config.lab_dir),
            "KSM_LAB_INSTANCE": str(lab.config.instance),
            "KSM_LAB_SSH_PORT": str(lab.config.ssh_port),
            "KSM_STATE_DIR": state,
        }
        os.environ.update(lab_env)
        plan = plan_lab(inventory, instance=lab.config.instance, port=lab.config.ssh_port)
        assert lab.up(plan.specs, topology=derive(inventory, plan.specs)).healthy
        first = first_apply(dict(os.environ))
        scope = host_scope(inventory, LabTargets(lab))
        results = {name: measure(name, run_settings, scope) for name, run_settings in settings.items()}
    base = results["ksm settings"]
    labels = [label for label, _ in RUNS]
    print(f"first apply (ksm apply --all, hosts and devices): {first:.1f} s")
    print(f"{'':18}" + "".join(f"{label:>15}" for label in labels) + f"   ({len(scope.hosts)} lab hosts)")
    for name, figures in results.items():
        print(f"{name:18}" + "".join(f"{figures[label]:>13.1f} s" for label in labels))
    ratios = {
        name: {label: base[label] / figures[label] for label in labels} for name, figures in results.items()
    }
    for name, by_label in ratios.items():
        cells = "".join(f"{by_label[label]:>14.2f}x" for label in labels)
        print(f"{'vs ksm settings':18}{cells}  {name}")
    print(
        json.dumps(
            {
                "benchmark": "hosts",
                "hosts": len(scope.hosts),
                "first_apply_s": first,
                "results": results,
                "speedup_vs_ksm_settings": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
