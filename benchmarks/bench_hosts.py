"""Plan and idempotent re-apply of every host of the lab twin: today's ksm against its baseline, same run.

One throwaway twin of both sample authorities (systemd hosts, FRR routers, switch simulators) is
built and applied once with ``ksm apply --all`` (devices first, as always: the routers' Linux side
needs its interfaces); its time is the first apply. Then, on the same converged hosts, for each
setting: a plan (``--check --diff``, nothing pending) and a second apply (nothing changed), each
with the slowest tasks listed. The settings:

* the baseline: ksm as it was at ``KSM_BENCH_BASELINE_REF`` (default :data:`BASELINE_REF`, the
  last commit before the roles were consolidated; pipelining + ControlPersist, 8 forks, Ansible's
  linear strategy), its code and roles taken from git into a temporary directory and run there;
* today's roles with Ansible's linear strategy (``--ansible-strategy linear``);
* today's roles with Mitogen's strategy (the default since 2026-12-01);
* with ``KSM_BENCH_ANSIBLE_DEFAULTS=1`` also Ansible's defaults (no pipelining, no ControlPersist,
  5 forks; slow).

Ratios are against the baseline. Needs root (the lab twin) and a git checkout with history. Run with
``python -m benchmarks.bench_hosts``.
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
#: ksm before the roles were consolidated and Mitogen became the default (2026-12-01).
BASELINE_REF = "01471bf"
BASELINE = "ksm 01471bf (linear)"
SETTINGS = {
    "today, linear": RunSettings(forks=8, pipelining=True, control_persist=True, strategy="linear"),
    "today, mitogen": RunSettings(forks=8, pipelining=True, control_persist=True, strategy="mitogen"),
}
ANSIBLE_DEFAULTS = RunSettings(forks=5, pipelining=False, control_persist=False, strategy="linear")
#: Runs the baseline's own ``measure`` (its code, roles and inventories) in a child Python; the lab
#: is found through the environment (KSM_LAB_DIR, ...), as ``ksm --target lab`` finds it.
_BASELINE_SCRIPT = """
import json, sys
from pathlib import Path
from benchmarks.bench_hosts import measure
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.targets import LabTargets
from ksm_provision.playbook.runner import RunSettings
from ksm_provision.playbook.scope import host_scope
scope = host_scope(load_inventory(Path("inventories")), LabTargets())
figures = measure(sys.argv[1], RunSettings(forks=8, pipelining=True, control_persist=True), scope)
print("BASELINE " + json.dumps(figures))
"""
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


def measure_baseline(ref: str, env: dict[str, str]) -> dict[str, float]:
    """The baseline's plan and second apply: ksm at git revision *ref*, run from a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="ksm-baseline-", dir="/var/tmp") as tree:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=False)
        if archive.returncode != 0:
            raise SystemExit(f"the baseline needs git revision {ref}: {archive.stderr.decode()[-500:]}")
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        done = subprocess.run(
            [sys.executable, "-c", _BASELINE_SCRIPT, BASELINE],
            env={**env, "PYTHONPATH": tree}, cwd=tree, stdout=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
    lines = done.stdout.splitlines()
    print("".join(line + "\n" for line in lines if not line.startswith("BASELINE ")), end="")
    results = [line for line in lines if line.startswith("BASELINE ")]
    if done.returncode != 0 or not results:
        raise SystemExit(f"the baseline (ksm {ref}) failed with exit code {done.returncode}")
    figures: dict[str, float] = json.loads(results[-1].removeprefix("BASELINE "))
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
        ref = os.environ.get("KSM_BENCH_BASELINE_REF", BASELINE_REF)
        results = {BASELINE: measure_baseline(ref, dict(os.environ))}
        results.update({name: measure(name, run_settings, scope) for name, run_settings in settings.items()})
    base = results[BASELINE]
    labels = [label for label, _ in RUNS]
    print(f"first apply (ksm apply --all, hosts and devices): {first:.1f} s")
    print(f"{'':22}" + "".join(f"{label:>15}" for label in labels) + f"   ({len(scope.hosts)} lab hosts)")
    for name, figures in results.items():
        print(f"{name:22}" + "".join(f"{figures[label]:>13.1f} s" for label in labels))
    ratios = {
        name: {label: base[label] / figures[label] for label in labels} for name, figures in results.items()
    }
    for name, by_label in ratios.items():
        cells = "".join(f"{by_label[label]:>14.2f}x" for label in labels)
        print(f"{'vs baseline':22}{cells}  {name}")
    print(
        json.dumps(
            {
                "benchmark": "hosts",
                "hosts": len(scope.hosts),
                "first_apply_s": first,
                "results": results,
                "baseline": BASELINE,
                "speedup_vs_baseline": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
