"""``make demo``: the lab twin of the sample authorities, validated, planned, applied, verified.

Runs the same ``ksm`` commands an engineer would type, shows each one, and ends with a summary a
newcomer can read. Everything happens on 127.0.0.0/8 (KSM_LAB_ONLY=1 is enforced here too).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Step:
    title: str
    args: list[str]
    expect: tuple[int, ...] = (0,)
    json_out: bool = False


@dataclass
class Outcome:
    step: Step
    code: int
    seconds: float
    data: object = None
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        self.ok = self.code in self.step.expect


def run(step: Step, env: dict[str, str]) -> Outcome:
    command = [sys.executable, "-m", "ksm_provision", *step.args]
    print(f"\n\033[1m▶ {step.title}\033[0m\n  $ ksm {shlex.join(step.args)}", flush=True)
    started = time.monotonic()
    if step.json_out:
        captured = subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
        data = json.loads(captured.stdout) if captured.stdout.strip().startswith(("{", "[")) else None
        outcome = Outcome(step, captured.returncode, time.monotonic() - started, data)
    else:
        completed = subprocess.run(command, env=env, cwd=REPO, check=False)
        outcome = Outcome(step, completed.returncode, time.monotonic() - started)
    print(f"  {'ok' if outcome.ok else 'FAILED'} (exit {outcome.code}, {outcome.seconds:.1f} s)", flush=True)
    return outcome


def steps() -> list[Step]:
    scope = ["--all", "--target", "lab"]
    return [
        Step(
            "Validate the inventories (types, references, addresses, VLANs, across authorities)", ["validate"]
        ),
        Step(
            "Build the lab twin of both authorities on 127.0.0.0/8",
            ["lab", "up", "--authority", "lup", "--authority", "schwerin"],
        ),
        Step(
            "Plan: what would change on hosts and devices (check mode, secrets redacted; "
            "without --no-diff it shows every diff and device command)",
            ["plan", *scope, "--detailed-exitcode", "--no-diff"],
            expect=(0, 2),
        ),
        Step("Apply: configure every lab host and device", ["apply", *scope]),
        Step("Apply again: must change nothing (idempotency)", ["apply", *scope, "--json"], json_out=True),
        Step("Verify: services, sockets and files on the systemd hosts (testinfra)", ["verify", *scope]),
        Step(
            "Prove: DHCP leases through the relays, who reaches what and what stays blocked, "
            "probed from inside the twin's networks",
            ["prove", *scope],
        ),
        Step(
            "Drift check: live state equals the files (exit 2 would mean drift)",
            ["drift", *scope, "--no-diff"],
        ),
        Step(
            "Report for management: build/report.html (open it in a browser)",
            ["report", "--out", str(REPO / "build" / "report.html")],
        ),
        Step(
            "IT-Grundschutz-Check of Schwerin: each mapped BSI Anforderung with the evidence the steps "
            "above recorded (reads the state directory, contacts nothing; lab evidence, not production)",
            ["compliance", "--authority", "schwerin"],
        ),
    ]


def changed_count(data: object) -> int:
    """Changed hosts' tasks plus changed devices in `ksm apply --json` output; -1 when unreadable."""
    if not isinstance(data, dict):
        return -1
    host_changes = sum(h["changed"] for h in data["hosts"]["hosts"])
    device_changes = sum(1 for d in data["devices"]["devices"] if d["status"] != "unchanged")
    return int(host_changes) + device_changes


def main() -> int:
    env = dict(os.environ)
    env["KSM_LAB_ONLY"] = "1"
    env.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    (REPO / "build").mkdir(exist_ok=True)
    outcomes = []
    for step in steps():
        outcome = run(step, env)
        outcomes.append(outcome)
        if not outcome.ok:
            break
    second_apply = next((o for o in outcomes if o.step.json_out), None)
    print("\n\033[1mSummary\033[0m")
    for outcome in outcomes:
        print(f"  {'✔' if outcome.ok else '✘'} {outcome.step.title} ({outcome.seconds:.0f} s)")
    if second_apply is not None and second_apply.ok:
        changes = changed_count(second_apply.data)
        verdict = "idempotent" if changes == 0 else "NOT idempotent"
        print(f"  second apply changed {changes} thing(s) — {verdict}")
        if changes != 0:
            return 1
    all_ok = len(outcomes) == len(steps()) and all(o.ok for o in outcomes)
    print(
        "\nThe lab twin keeps running: try `ksm lab status`, `ksm plan --authority schwerin --target lab`,"
        "\n`ksm inventory show sn-sh-fs01`; `make demo-down` removes it."
        if all_ok
        else "\nThe demo stopped."
    )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
