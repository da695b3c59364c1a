"""Benchmark: load + validate the synthetic estate, against a pure PyYAML parse of the same files.

For each size (default 25, 50 and 100 authorities = 25k, 50k and 100k hosts) the estate is
generated into a temporary directory, then measured with ``time.perf_counter`` (median of
``--runs`` runs each):

- ``baseline``: ``yaml.load(text, Loader=yaml.CSafeLoader)`` of every file (parse only, texts read before);
- ``load``: ``load_inventory`` (read, parse with positions, pydantic models);
- ``validate``: ``validate_inventory`` (every rule, per authority and across authorities).

Wall-clock time (``perf_counter``) is the figure of record; CPU time (``process_time``) is shown
too, because on a shared 2-core machine other processes stretch wall-clock time.

Prints a table and then the same figures as JSON. Usage:
``python benchmarks/bench_inventory.py [--authorities 25 50 100] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_estate import generate

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import validate_inventory

TARGET_SECONDS = 10.0


def median_seconds(action: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall-clock (perf_counter) and CPU (process_time) seconds of *runs* runs, and the last result."""
    wall: list[float] = []
    cpu: list[float] = []
    result: Any = None
    for _ in range(runs):
        result = None  # let the previous result go before measuring again
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def measure(root: Path, runs: int) -> dict[str, Any]:
    paths = sorted(root.glob("*.yml"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    baseline, baseline_cpu, _ = median_seconds(
        lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts], runs
    )
    load, load_cpu, inventory = median_seconds(lambda: load_inventory(root), runs)
    validate, validate_cpu, problems = median_seconds(lambda: validate_inventory(inventory), runs)
    if problems:
        raise SystemExit(f"the synthetic estate is invalid: {problems[0]}")
    total = load + validate
    total_cpu = load_cpu + validate_cpu
    return {
        "authorities": len(inventory.authorities),
        "hosts": len(inventory.hosts),
        "devices": len(inventory.devices),
        "megabytes": round(sum(len(t.encode()) for t in texts) / 1e6, 1),
        "baseline_s": round(baseline, 3),
        "load_s": round(load, 3),
        "validate_s": round(validate, 3),
        "total_s": round(total, 3),
        "ratio_to_baseline": round(total / baseline, 2),
        "baseline_cpu_s": round(baseline_cpu, 3),
        "total_cpu_s": round(total_cpu, 3),
        "cpu_ratio_to_baseline": round(total_cpu / baseline_cpu, 2),
        "us_per_host": round(total / len(inventory.hosts) * 1e6, 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'auth':>5} {'hosts':>8} {'devices':>8} {'MB':>5} {'pyyaml s':>9} {'load s':>7} {'valid. s':>8} "
        f"{'total s':>8} {'ratio':>6} {'µs/host':>8} {'cpu total s':>11} {'cpu ratio':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['authorities']:>5} {r['hosts']:>8} {r['devices']:>8} {r['megabytes']:>5} "
            f"{r['baseline_s']:>9.2f} "
            f"{r['load_s']:>7.2f} {r['validate_s']:>8.2f} {r['total_s']:>8.2f} "
            f"{r['ratio_to_baseline']:>6.2f} "
            f"{r['us_per_host']:>8.1f} {r['total_cpu_s']:>11.2f} {r['cpu_ratio_to_baseline']:>9.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorities", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ksm-estate-") as tmp:
        for count in args.authorities:
            root = Path(tmp) / f"estate-{count}"
            generate(root, count)
            rows.append(measure(root, args.runs))
            print(f"measured {count} authorities", file=sys.stderr)
    print(table(rows))
    largest = rows[-1]
    verdict = "meets" if largest["total_s"] < TARGET_SECONDS else "MISSES"
    print(
        f"\n{largest['hosts']} hosts: load + validate {largest['total_s']:.2f} s — {verdict} the target of "
        f"{TARGET_SECONDS:.0f} s"
    )
    print(json.dumps({"target_s": TARGET_SECONDS, "runs": args.runs, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
