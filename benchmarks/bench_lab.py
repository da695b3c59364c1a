"""How long ``ksm lab up`` takes for the two sample authorities (systemd hosts, routers, switches and
the data plane that cables them): cold cache and warm cache.

Cold: the Debian base image is built with debootstrap into an empty temporary cache
(``KSM_LAB_CACHE``), then the lab comes up. Warm: the same lab torn down and brought up again on
the cached image. Each in a throwaway lab instance; root only.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.topology import derive
from tests.testlab import throwaway_lab

REPO = Path(__file__).resolve().parents[1]


def lab_up_seconds(cache: Path | None) -> tuple[float, int]:
    inventory = load_inventory(REPO / "inventories")
    if cache is not None:
        os.environ["KSM_LAB_CACHE"] = str(cache)  # where the image is built (and looked up)
    else:
        os.environ.pop("KSM_LAB_CACHE", None)
    with throwaway_lab("bench-lab") as lab:
        plan = plan_lab(
            inventory, hosts_per_authority=8, instance=lab.config.instance, port=lab.config.ssh_port
        )
        started = time.perf_counter()
        status = lab.up(plan.specs, topology=derive(inventory, plan.specs))
        seconds = time.perf_counter() - started
        assert status.healthy
        return seconds, len(plan.specs)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ksm-bench-cache-", dir="/var/tmp") as cold_cache:
        cold, nodes = lab_up_seconds(Path(cold_cache))
    warm, _ = lab_up_seconds(None)
    print(f"ksm lab up, both sample authorities ({nodes} nodes): cold {cold:.1f} s, warm {warm:.1f} s")
    print(json.dumps({"benchmark": "lab_up", "nodes": nodes, "cold_s": cold, "warm_s": warm,
                      "ratio": cold / warm}))  # fmt: skip


if __name__ == "__main__":
    os.environ["KSM_LAB_ONLY"] = "1"
    main()
