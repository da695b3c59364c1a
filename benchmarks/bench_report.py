"""Benchmark: ``ksm report`` on the synthetic estate, against one plain pass over its hosts.

For each size (default 25, 50 and 100 authorities = 25k, 50k and 100k hosts) the estate is
generated and loaded once, a state directory gets a few audit lines and a verify/drift/plan record
per authority, then measured with ``time.perf_counter`` (median of ``--runs`` runs each):

- ``baseline``: one ``Counter`` of (authority, site) over every host: the least any report must do;
- ``collect``: :func:`collect_report` (read the state directory, count, address usage, totals);
- ``html``: :func:`render_html` of that report; ``json``: ``model_dump_json``.

Prints a table and then the same figures as JSON. Usage:
``python benchmarks/bench_report.py [--authorities 25 50 100] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.report.collect import collect_report
from ksm_provision.report.html import render_html
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    VerifyRecord,
    save_status,
)

APPLIES_PER_AUTHORITY = 20
TARGET_SECONDS = 5.0


def median_seconds(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def write_state(base: Path, inventory: Inventory) -> None:
    """An audit log with a history per authority and the last verify/drift/plan records."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with (base / "audit.jsonl").open("w", encoding="utf-8") as log:
        for i in range(APPLIES_PER_AUTHORITY):
            for aid in inventory.authorities:
                result = ApplyResult.SUCCESS if i % 7 else ApplyResult.FAILED
                record = AuditRecord(
                    id=f"{aid}-{i}",
                    time=start + timedelta(hours=i),
                    user="ci",
                    machine="ci",
                    authority=aid,
                    target="lab",
                    result=result,
                    hosts=1000,
                    devices=100,
                )
                log.write(record.model_dump_json() + "\n")
    for aid in inventory.authorities:
        when = start + timedelta(days=2)
        save_status(
            VerifyRecord(
                time=when, authority=aid, target="lab", passed=True, checks=5000, failed=0, pass_rate=1.0
            ),
            base,
        )
        save_status(DriftRecord(time=when, authority=aid, target="lab", drifted=False), base)
        save_status(PlanRecord(time=when, authority=aid, target="lab", changes_pending=3), base)


def measure(root: Path, state: Path, runs: int) -> dict[str, Any]:
    inventory = load_inventory(root)
    hosts = inventory.hosts
    write_state(state, inventory)
    baseline, _ = median_seconds(lambda: Counter((h.authority, h.site) for h in hosts), runs)
    collect, report = median_seconds(lambda: collect_report(inventory, state), runs)
    html, page = median_seconds(lambda: render_html(report), runs)
    as_json, _ = median_seconds(report.model_dump_json, runs)
    return {
        "authorities": len(inventory.authorities),
        "hosts": len(hosts),
        "devices": len(inventory.devices),
        "baseline_s": round(baseline, 3),
        "collect_s": round(collect, 3),
        "html_s": round(html, 3),
        "json_s": round(as_json, 3),
        "html_kb": round(len(page.encode()) / 1024),
        "ratio_to_baseline": round((collect + html) / baseline, 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'auth':>5} {'hosts':>8} {'devices':>8} {'baseline s':>10} {'collect s':>9} {'html s':>7} "
        f"{'json s':>7} {'HTML kB':>8} {'ratio':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['authorities']:>5} {r['hosts']:>8} {r['devices']:>8} {r['baseline_s']:>10.3f} "
            f"{r['collect_s']:>9.3f} {r['html_s']:>7.3f} {r['json_s']:>7.3f} {r['html_kb']:>8} "
            f"{r['ratio_to_baseline']:>6.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorities", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ksm-report-") as tmp:
        for count in args.authorities:
            root, state = Path(tmp) / f"estate-{count}", Path(tmp) / f"state-{count}"
            generate(root, count)
            state.mkdir()
            rows.append(measure(root, state, args.runs))
            print(f"measured {count} authorities", file=sys.stderr)
    print(table(rows))
    largest = rows[-1]
    total = largest["collect_s"] + largest["html_s"]
    verdict = "meets" if total < TARGET_SECONDS else "MISSES"
    hosts = largest["hosts"]
    print(f"\n{hosts} hosts: collect + HTML {total:.2f} s — {verdict} the target of {TARGET_SECONDS:.0f} s")
    print(json.dumps({"target_s": TARGET_SECONDS, "runs": args.runs, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
