"""The whole twin of both sample authorities, all real: up, plan, apply, re-apply, verify, prove.

One throwaway lab (systemd hosts, FRR routers, switch simulators, data plane) goes through what
``make demo`` does; each step is timed. Ratios in the same run: the idempotent re-apply against the
first apply, and the proof with its probes in parallel against the same proof one probe at a time.
Root only; run with ``python -m benchmarks twin``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.topology import derive
from tests.testlab import throwaway_lab

REPO = Path(__file__).resolve().parents[1]


def _ksm(env: dict[str, str], *args: str, accept: tuple[int, ...] = (0,), expect: str = "") -> float:
    """Seconds one ``ksm`` command takes; an exit code outside *accept*, or output without *expect*,
    ends the benchmark."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "ksm_provision", *args]
    proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode not in accept or expect not in proc.stdout:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise SystemExit(f"ksm {' '.join(args)} exited {proc.returncode} (wanted {expect!r}):\n{tail}")
    return time.perf_counter() - started


def main() -> None:
    inventory = load_inventory(REPO / "inventories")
    figures: dict[str, float] = {}
    with throwaway_lab("bench-twin") as lab, tempfile.TemporaryDirectory(dir="/var/tmp") as state:
        env = {
            **os.environ,
            "KSM_LAB_DIR": str(lab.config.lab_dir),
            "KSM_LAB_INSTANCE": str(lab.config.instance),
            "KSM_LAB_SSH_PORT": str(lab.config.ssh_port),
            "KSM_STATE_DIR": state,
            "KSM_LAB_ONLY": "1",
        }
        plan = plan_lab(inventory, instance=lab.config.instance, port=lab.config.ssh_port)
        started = time.perf_counter()
        assert lab.up(plan.specs, topology=derive(inventory, plan.specs)).healthy
        figures["lab up (warm image)"] = time.perf_counter() - started
        scope = ["--all", "--target", "lab"]
        figures["plan"] = _ksm(env, "plan", *scope, "--no-diff", accept=(0, 2))  # 2: changes pending
        figures["apply"] = _ksm(env, "apply", *scope)
        idempotent = "0 host(s) and 0 device(s) changed, 0 failed"
        figures["re-apply (0 changes)"] = _ksm(env, "apply", *scope, expect=idempotent)
        figures["verify"] = _ksm(env, "verify", *scope)
        figures["prove"] = _ksm(env, "prove", *scope)
        figures["prove, one probe at a time"] = _ksm(env, "prove", *scope, "--workers", "1")
    width = max(map(len, figures))
    for name, seconds in figures.items():
        print(f"{name:<{width}}  {seconds:7.1f} s")
    print(
        f"re-apply / apply: {figures['re-apply (0 changes)'] / figures['apply']:.2f}; "
        f"prove parallel speed-up: {figures['prove, one probe at a time'] / figures['prove']:.1f}x"
    )
    print(json.dumps({"benchmark": "twin", "nodes": len(plan.specs), **figures}))


if __name__ == "__main__":
    os.environ["KSM_LAB_ONLY"] = "1"
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    main()
