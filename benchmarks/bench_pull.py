"""Scale-out: N lab clients converge by pull (ansible-pull on each client) vs push (ksm apply), same run.

One throwaway twin of both sample authorities; its clients (every client stand-in: one per client
profile and authority) are the N. Measured, in this order:

1. pull, first convergence: ``ksm pull enable`` (once), then every client's ``ksm-pull.service``
   started at the same moment; the time until the last status record has arrived, and the
   controller's CPU meanwhile (the pull server; the lab's reverse forwarders counted separately:
   production has none);
2. pull, steady state: the same again (nothing left to change);
3. push, steady state: ``ksm apply --target lab --limit <the clients>`` (idempotent), its CPU being
   ksm's and all its children's (ansible-playbook, ssh);
4. push, first convergence: the twin rebuilt (fresh clients), then the same apply;
5. publishing: ``ksm pull publish`` of every client of ``lup`` (inventory per client + git commit).

The projection for 5,000 clients takes the controller CPU per client of each mode. The clients run
on this machine too, so the wall times here are bounded by its cores; a real client brings its own.
Root only; run with ``python -m benchmarks pull``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.manager import Lab
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.state import NodeKind
from ksm_provision.lab.topology import derive
from ksm_provision.pull import lab as pull_lab
from ksm_provision.workflow.records import PullEnrollment, load_pull_runs, save_pull_enrollment, utc_now
from tests.testlab import throwaway_lab

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
CLIENTS_5000 = 5000
#: What the timer does, started by hand. In the lab's containers (cgroup v1) a unit started again
#: within seconds of its last run can fail with 219/CGROUP while the old cgroup is released: retry once.
START = (
    "systemctl start ksm-pull.service || "
    "(sleep 5; systemctl reset-failed ksm-pull.service; systemctl start ksm-pull.service)"
)
SSH = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
       "-o", "BatchMode=yes"]  # fmt: skip


def ksm(env: dict[str, str], *args: str, codes: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """Run ksm; (wall seconds, CPU seconds of ksm and all its children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ksm_provision", *args], env=env, cwd=REPO, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in codes:
        raise SystemExit(
            f"ksm {' '.join(args)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def on_client(lab: Lab, host: str, command: str) -> subprocess.CompletedProcess[str]:
    login = lab.login(host)
    return subprocess.run(
        ["ssh", *SSH, "-i", str(login.key_file), "-p", str(login.port), f"{login.username}@{login.address}",
         command],
        capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip


def clients_of(lab: Lab) -> list[str]:
    state = lab.state()
    assert state is not None
    inventory = load_inventory(REPO / "inventories")
    return sorted(
        n.spec.represents[0]
        for n in state.nodes.values()
        if n.spec.kind is NodeKind.HOST
        and n.spec.represents
        and inventory.hosts_by_name[n.spec.represents[0]].kind == "client"
    )


def pull_round(lab: Lab, clients: list[str], state: Path) -> dict[str, float]:
    """Start every client's pull at once; wall time until all reported, controller CPU meanwhile."""
    procs = pull_lab.processes(lab.config)
    server = procs["server"].pid
    forwarders = [r.pid for name, r in procs.items() if name.startswith("revforward-")]
    cpu0 = cpu_seconds(server), sum(cpu_seconds(p) for p in forwarders)
    started_at = time.time()
    with ThreadPoolExecutor(len(clients)) as pool:
        done = list(pool.map(lambda h: on_client(lab, h, START), clients))
    assert all(d.returncode == 0 for d in done), [d.stdout[-500:] + d.stderr[-500:] for d in done]
    runs = {}
    for authority in ("lup", "schwerin"):
        runs.update(load_pull_runs(authority, state))
    fresh = [r for h, r in runs.items() if h in clients and r.received.timestamp() >= started_at]
    assert len(fresh) == len(clients), f"reported: {[r.host for r in fresh]} of {clients}"
    failed = [r.host for r in fresh if r.failed or r.rc]
    assert not failed, f"pull runs failed on {failed}"
    return {
        "wall_s": max(r.received.timestamp() for r in fresh) - started_at,
        "server_cpu_s": cpu_seconds(server) - cpu0[0],
        "forwarders_cpu_s": sum(cpu_seconds(p) for p in forwarders) - cpu0[1],
        "changed_tasks": float(sum(r.changed for r in fresh)),
        "client_run_s_mean": sum(r.duration_s for r in fresh) / len(fresh),
    }


def host_results(value: Any) -> list[dict[str, Any]]:
    """Every ``{host, changed, failed, ...}`` object anywhere in ``ksm apply --json``."""
    if isinstance(value, dict):
        found = [value] if {"host", "changed", "failed"} <= value.keys() else []
        return found + [r for v in value.values() for r in host_results(v)]
    if isinstance(value, list):
        return [r for v in value for r in host_results(v)]
    return []


def applied(out: str, clients: list[str]) -> dict[str, float]:
    """Changed tasks of ``ksm apply --json``; every client must have been applied without failure."""
    results = {r["host"]: r for r in host_results(json.loads(out))}
    missing = sorted(set(clients) - set(results))
    assert not missing, f"apply did not reach {missing}:\n{out[-2000:]}"
    assert not any(results[h]["failed"] or results[h].get("unreachable") for h in clients), out[-2000:]
    return {"changed_tasks": float(sum(int(results[h]["changed"]) for h in clients))}


def lab_env(lab: Lab, state: str) -> dict[str, str]:
    return {
        **os.environ,
        "KSM_LAB_DIR": str(lab.config.lab_dir),
        "KSM_LAB_INSTANCE": str(lab.config.instance),
        "KSM_LAB_SSH_PORT": str(lab.config.ssh_port),
        "KSM_STATE_DIR": state,
        "KSM_LAB_ONLY": "1",
        "KSM_VAULT_PASSWORDS_DIR": os.environ.get(
            "KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords")
        ),
    }


def up(lab: Lab) -> None:
    inventory = load_inventory(REPO / "inventories")
    plan = plan_lab(inventory, instance=lab.config.instance, port=lab.config.ssh_port)
    assert lab.up(plan.specs, topology=derive(inventory, plan.specs)).healthy


def publish_cost(state: str, env: dict[str, str]) -> dict[str, float]:
    """``ksm pull publish`` of every client of lup (the sample's largest authority)."""
    inventory = load_inventory(REPO / "inventories")
    hosts = sorted(h.hostname for h in inventory.hosts if h.authority == "lup" and h.kind == "client")
    base = Path(state) / "publish"
    save_pull_enrollment(
        PullEnrollment(authority="lup", time=utc_now(), target="production",
                       server_url="https://pull.example", hosts=hosts, interval_minutes=60,
                       stale_after_hours=24),
        base,
    )  # fmt: skip
    wall, cpu, _ = ksm(env, "pull", "publish", "--authority", "lup", "--state-dir", str(base))
    return {"clients": float(len(hosts)), "wall_s": wall, "cpu_s": cpu}


def main() -> None:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir="/var/tmp") as state, throwaway_lab("bench-pull") as lab:
        env = lab_env(lab, state)
        up(lab)
        clients = clients_of(lab)
        if on_client(lab, clients[0], "command -v ansible-pull").returncode != 0:
            raise SystemExit(
                "the lab image lacks ansible-pull: see CHROOT_PACKAGES in ksm_provision/lab/rootfs.py"
            )
        n = len(clients)
        try:
            for authority in ("lup", "schwerin"):
                wall, cpu, _ = ksm(env, "pull", "enable", "--authority", authority, "--target", "lab")
                figures[f"pull enable {authority}"] = {"wall_s": wall, "cpu_s": cpu}
            figures["pull first"] = pull_round(lab, clients, Path(state))
            time.sleep(10)
            figures["pull steady"] = pull_round(lab, clients, Path(state))
        finally:
            pull_lab.stop(lab.config)
        limit = ",".join(clients)
        wall, cpu, out = ksm(
            env, "apply", "--all", "--target", "lab", "--limit", limit, "--only", "hosts", "--json"
        )
        figures["push steady"] = {"wall_s": wall, "cpu_s": cpu, **applied(out, clients)}
        lab.down()
        up(lab)  # fresh clients for push's first convergence
        wall, cpu, out = ksm(
            env, "apply", "--all", "--target", "lab", "--limit", limit, "--only", "hosts", "--json"
        )
        figures["push first"] = {"wall_s": wall, "cpu_s": cpu, **applied(out, clients)}
        figures["publish lup"] = publish_cost(state, env)
    report(figures, n)


def report(figures: dict[str, Any], n: int) -> None:
    pull_cpu = {k: (figures[f"pull {k}"]["server_cpu_s"]) / n for k in ("first", "steady")}
    push_cpu = {k: figures[f"push {k}"]["cpu_s"] / n for k in ("first", "steady")}
    publish = figures["publish lup"]
    publish_per_client = publish["cpu_s"] / publish["clients"]
    print(f"N = {n} lab clients (every client stand-in of both sample authorities)")
    print(f"{'':24}{'wall':>9}{'controller CPU':>16}{'per client':>12}")
    for mode in ("pull first", "pull steady", "push first", "push steady"):
        f = figures[mode]
        cpu = f.get("server_cpu_s", f.get("cpu_s", 0.0))
        print(f"{mode:24}{f['wall_s']:8.1f}s{cpu:15.2f}s{cpu / n:11.3f}s")
    for mode in ("pull first", "pull steady"):
        print(f"  {mode}: lab-only reverse forwarders {figures[mode]['forwarders_cpu_s']:.2f} s CPU, "
              f"mean client run {figures[mode]['client_run_s_mean']:.1f} s")  # fmt: skip
    print(f"publish lup ({publish['clients']:.0f} clients): {publish['wall_s']:.1f} s wall, "
          f"{publish['cpu_s']:.1f} s CPU = {publish_per_client * 1000:.1f} ms per client")  # fmt: skip
    projection = {
        "push_steady_cpu_s": push_cpu["steady"] * CLIENTS_5000,
        "pull_steady_cpu_s": pull_cpu["steady"] * CLIENTS_5000,
        "publish_cpu_s": publish_per_client * CLIENTS_5000,
    }
    print(
        f"5,000 clients, one idempotent pass: push {projection['push_steady_cpu_s'] / 3600:.1f} CPU-hours "
        f"(≥ {projection['push_steady_cpu_s'] / 2 / 3600:.1f} h on 2 cores); pull "
        f"{projection['pull_steady_cpu_s']:.0f} CPU-s at the server per pass + "
        f"{projection['publish_cpu_s']:.0f} CPU-s per publish; "
        f"ratio {push_cpu['steady'] / max(pull_cpu['steady'], 1e-6):.0f}x"
    )
    print(json.dumps({"benchmark": "pull", "clients": n, **figures, "projection_5000": projection}))


if __name__ == "__main__":
    os.environ["KSM_LAB_ONLY"] = "1"
    main()
