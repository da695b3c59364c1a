"""``make bench``: every benchmark in turn; each prints its figures and a JSON line.

The ratios are what counts (baseline and ksm measured in the same run on the same machine);
lab benchmarks need root. Pass names to run a subset, e.g. ``python -m benchmarks inventory``.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = {
    "inventory": ["benchmarks.bench_inventory"],
    "changes": ["benchmarks.bench_changes"],
    "report": ["benchmarks.bench_report"],
    "template": ["benchmarks.bench_template_module"],
    "network": ["benchmarks.bench_network"],
    "hosts": ["benchmarks.bench_hosts"],
    "lab": ["benchmarks.bench_lab"],
    "twin": ["benchmarks.bench_twin"],
    "pull": ["benchmarks.bench_pull"],
}


def main(names: list[str]) -> int:
    failed = []
    for name in names or list(BENCHMARKS):
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", *BENCHMARKS[name]], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
