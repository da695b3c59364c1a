"""Apply, plan and idempotent re-apply on lab hosts: Ansible's defaults, ksm's settings, and Mitogen.

Same hosts, same run: for each setting a throwaway lab of Schwerin's stand-ins is built fresh and
applied (first apply), planned (``--check --diff``, nothing pending) and applied again (second
apply, nothing changed). The settings: Ansible's defaults (no pipelining, no ControlPersist, 5
forks); ksm's settings (pipelining + ControlPersist, 8 forks: the baseline of ``--ansible-strategy
linear``); the same with Mitogen's strategy (``--ansible-strategy mitogen``). Ratios are against
ksm's linear settings. Needs root (the lab twin). ``KSM_BENCH_HOSTS`` hosts per authority (4).
Run with ``python -m benchmarks.bench_hosts``.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.targets import LabTargets
from ksm_provision.playbook.pipeline import run_hosts
from ksm_provision.playbook.results import RunMode
from ksm_provision.playbook.runner import RunSettings
from ksm_provision.playbook.scope import host_scope
from tests.testlab import throwaway_lab

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "ansible defaults": RunSettings(forks=5, pipelining=False, control_persist=False),
    "ksm settings": RunSettings(forks=8, pipelining=True, control_persist=True),
    "ksm + mitogen": RunSettings(forks=8, pipelining=True, control_persist=True, strategy="mitogen"),
}
RUNS = (("first apply", RunMode.APPLY), ("plan", RunMode.PLAN), ("second apply", RunMode.APPLY))


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


def measure(name: str, settings: RunSettings, hosts_per_authority: int) -> dict[str, float]:
    inventory = load_inventory(REPO / "inventories").select(["schwerin"])
    with throwaway_lab(f"bench-{name.split()[0]}") as lab:
        os.environ["KSM_LAB_DIR"] = str(lab.config.lab_dir)
        os.environ["KSM_LAB_INSTANCE"] = str(lab.config.instance)
        plan = plan_lab(
            inventory,
            hosts_per_authority=hosts_per_authority,
            instance=lab.config.instance,
            port=lab.config.ssh_port,
        )
        lab.up(plan.specs)
        scope = host_scope(inventory, LabTargets(lab))
        figures: dict[str, float] = {"hosts": len(scope.hosts)}
        for label, mode in RUNS:
            timer = TaskTimer()
            started = time.perf_counter()
            run = run_hosts(scope, mode, settings, timer)
            figures[label] = time.perf_counter() - started
            if label == "second apply":
                print(f"{name}, {label}: slowest tasks (summed over plays)")
                for task, seconds in timer.slowest():
                    print(f"  {seconds:6.1f} s  {task}")
            assert not run.failed_hosts, (name, label, run.failed_hosts)
            if label != "first apply":
                assert run.total_changed == 0, f"{name}: {label} must find nothing to change"
        return figures


def main() -> None:
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    os.environ["KSM_LAB_ONLY"] = "1"
    hosts = int(os.environ.get("KSM_BENCH_HOSTS", "4"))
    results = {name: measure(name, settings, hosts) for name, settings in SETTINGS.items()}
    base = results["ksm settings"]
    labels = [label for label, _ in RUNS]
    print(f"{'':18}" + "".join(f"{label:>15}" for label in labels) + f"   ({int(base['hosts'])} lab hosts)")
    for name, figures in results.items():
        print(f"{name:18}" + "".join(f"{figures[label]:>13.1f} s" for label in labels))
    ratios = {
        name: {label: base[label] / figures[label] for label in labels} for name, figures in results.items()
    }
    for name, by_label in ratios.items():
        cells = "".join(f"{by_label[label]:>14.2f}x" for label in labels)
        print(f"{'vs ksm settings':18}{cells}  {name}")
    print(json.dumps({"benchmark": "hosts_apply", "results": results, "speedup_vs_ksm_settings": ratios}))


if __name__ == "__main__":
    main()
