"""Scoped plans on the synthetic estate: a one-host change costs time proportional to the change.

Generates the estate (``generate_estate.py``, default 100 authorities = 100,000 hosts) in a temporary
git repository, commits it, edits one line and measures, for ``ksm plan --changed-since``, the work
before Ansible starts: change-scope selection plus rendering the selected hosts' variables. The
same for the whole estate is the baseline; the ratio is what to compare between machines.

Scenarios: a client's profile (one host), a client's address (the host and its DHCP server, whose
reservations change), a range growing by one (the new host and the DHCP server).

Usage: ``python -m benchmarks.bench_changes [--authorities N] [--skip-whole]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.generate_estate import authority_id, generate
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.ansible_vars import host_vars
from ksm_provision.workflow.changes import ChangeScope, changed_scope, scope_hosts, whole_scope

BUDGET_SECONDS = 2.0
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def scope_and_render(inventory: Inventory, select: Callable[[], ChangeScope]) -> tuple[int, float, float]:
    """Hosts selected, seconds for the selection, seconds for rendering their variables."""
    scope, selecting = timed(select)
    hosts = scope_hosts(inventory, scope)
    _, rendering = timed(lambda: [host_vars(inventory, h) for h in hosts])
    return len(hosts), selecting, rendering


def replace_once(path: Path, anchor: str, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    at = text.index(old, text.index(anchor))
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


def scenarios(k: int) -> dict[str, tuple[str, str, str]]:
    aid = authority_id(k)
    return {
        "client profile (1 host)": (
            f"hostname: {aid}-s4-pc07",
            "profile: buergerbuero",
            "profile: verwaltung",
        ),
        "client address (host + DHCP server)": (f"hostname: {aid}-s5-pc03", "address: 10.", "address: 10."),
        "range grows by one (new host + DHCP server)": ("name: s6-tz\n", "count: 25", "count: 26"),
    }


def run(authorities: int = 100, whole: bool = True) -> dict[str, float]:
    figures: dict[str, float] = {}
    k = authorities // 2
    aid = authority_id(k)
    with tempfile.TemporaryDirectory(prefix="ksm-bench-changes-") as tmp:
        repo = Path(tmp)
        generate(repo / "inventories", authorities)
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "estate")
        inventory, loading = timed(lambda: load_inventory(repo / "inventories"))
        print(f"estate: {authorities} authorities; inventory loaded in {loading:.1f} s (not counted)")
        for name, (anchor, old, new) in scenarios(k).items():
            path = repo / "inventories" / f"{aid}.yml"
            original = path.read_text(encoding="utf-8")
            if old == new:  # the address scenario: bump the host's last octet
                text = original
                at = text.index("address: ", text.index(anchor)) + len("address: ")
                end = text.index("\n", at)
                ip = text[at:end].rsplit(".", 1)
                replace_once(path, anchor, text[at:end], f"{ip[0]}.{int(ip[1]) + 100}")
            else:
                replace_once(path, anchor, old, new)
            current = load_inventory(repo / "inventories") if old == new or "count" in old else inventory
            count, selecting, rendering = scope_and_render(
                current, lambda c=current: changed_scope(c, "HEAD", repo)
            )
            total = selecting + rendering
            figures[name] = total
            verdict = "ok" if total < BUDGET_SECONDS else "OVER BUDGET"
            print(
                f"{name:45s} {count:6d} host(s): scope {selecting * 1000:7.1f} ms + render "
                f"{rendering * 1000:7.1f} ms = {total:6.3f} s  [{verdict}, budget {BUDGET_SECONDS} s]"
            )
            path.write_text(original, encoding="utf-8")
        if whole:
            count, selecting, rendering = scope_and_render(inventory, lambda: whole_scope(inventory))
            figures["whole estate"] = selecting + rendering
            print(
                f"{'whole estate (baseline)':45s} {count:6d} host(s): scope {selecting:7.2f} s  + render "
                f"{rendering:7.2f} s  = {selecting + rendering:6.1f} s"
            )
            one = figures["client profile (1 host)"]
            print(f"ratio whole estate / one-host change: {figures['whole estate'] / one:,.0f}x")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorities", type=int, default=100, help="1..100 (1,000 hosts each)")
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole-estate baseline")
    args = parser.parse_args()
    figures = run(args.authorities, whole=not args.skip_whole)
    over = [name for name, seconds in figures.items() if name != "whole estate" and seconds >= BUDGET_SECONDS]
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
