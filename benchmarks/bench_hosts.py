"""Apply and idempotent re-apply on lab hosts: ksm's Ansible settings vs plain ansible-playbook defaults.

Same hosts, same run: a throwaway lab of Schwerin's stand-ins is built, applied with Ansible's
defaults (no pipelining, no ControlPersist, 5 forks), torn down and rebuilt fresh, then applied with
ksm's settings (pipelining + ControlPersist, 8 forks). Each side: first apply and second apply.
Needs root (the lab twin). Prints a table and JSON; run with ``python -m benchmarks.bench_hosts``.
"""

from __future__ import annotations

import json
import os
import time
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
}


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
        for label in ("first apply", "second apply"):
            started = time.perf_counter()
            run = run_hosts(scope, RunMode.APPLY, settings)
            figures[label] = time.perf_counter() - started
            assert not run.failed_hosts, run.failed_hosts
            if label == "second apply":
                assert run.total_changed == 0, "second apply must change nothing"
        return figures


def main() -> None:
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    os.environ["KSM_LAB_ONLY"] = "1"
    hosts = int(os.environ.get("KSM_BENCH_HOSTS", "4"))
    results = {name: measure(name, settings, hosts) for name, settings in SETTINGS.items()}
    base, ours = results["ansible defaults"], results["ksm settings"]
    print(f"{'':16}{'first apply':>14}{'second apply':>14}   ({int(base['hosts'])} lab hosts)")
    for name, figures in results.items():
        print(f"{name:16}{figures['first apply']:>12.1f} s{figures['second apply']:>12.1f} s")
    ratios = {label: base[label] / ours[label] for label in ("first apply", "second apply")}
    print(f"{'speed-up':16}{ratios['first apply']:>13.2f}x{ratios['second apply']:>13.2f}x")
    print(json.dumps({"benchmark": "hosts_apply", "results": results, "speedup": ratios}))


if __name__ == "__main__":
    main()
