"""Network devices: in-process rendering, hier_config remediation, and plan/apply serial vs parallel.

1. Render 10,000 device configs in-process with the one Jinja2 environment (sample switches and
   routers, round robin); per config: median and mean, switches and routers apart.
2. hier_config per device: parse running, parse intended, remediation (the circular test data).
3. Lab (root only, ``--devices N``, default 50): a private lab of N stand-ins (switch simulators and
   real FRR routers, cloned from the sample devices, named ``bench-*`` on 127.120.x.y), then in the
   same run: plan one at a time vs with a pool; one hand edit per device and apply one at a time vs
   with a pool. The lab is torn down at the end.

Usage: ``python -m benchmarks.bench_network [--renders 10000] [--devices 50] [--workers 16] [--skip-lab]``.
Ansible's ``template`` module per host is measured separately (DESIGN.md: ~0.4 s per host).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.inventory.models import NetworkDevice, Platform
from ksm_provision.network.intended import render_device
from ksm_provision.network.pipeline import DEFAULT_WORKERS
from ksm_provision.network.platforms import platform_info
from ksm_provision.network.remediation import parse, remediate
from ksm_provision.vault import NetworkSecrets

REPO = Path(__file__).resolve().parents[1]
LAB_DIR = Path("/var/tmp/ksm-net-bench-lab")
LAB_INSTANCE = 12
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_render(inventory: Inventory, renders: int) -> None:
    devices = inventory.devices
    secrets = {
        a: NetworkSecrets(a, "auth-key-123", "priv-key-123", "pw", "en") for a in inventory.authorities
    }
    for device in devices:  # compile and cache every template once (not part of the figure)
        render_device(inventory, device, secrets[device.authority])
    samples: dict[Platform, list[float]] = {Platform.CISCO_IOS: [], Platform.FRR: []}
    lines = 0
    started = time.perf_counter()
    for i in range(renders):
        device = devices[i % len(devices)]
        t0 = time.perf_counter()
        text = render_device(inventory, device, secrets[device.authority])
        samples[device.model.platform].append(time.perf_counter() - t0)
        lines += text.count("\n")
    total = time.perf_counter() - started
    print(
        f"render: {renders} device configs in {total:.2f} s, {total / renders * 1000:.3f} ms per config "
        f"(mean {lines / renders:.0f} lines); template module per host ~400 ms -> "
        f"~{0.4 / (total / renders):.0f}x"
    )
    for platform, values in samples.items():
        if values:
            print(
                f"  {platform.value:9}: median {statistics.median(values) * 1000:.3f} ms, "
                f"p95 {sorted(values)[int(len(values) * 0.95)] * 1000:.3f} ms ({len(values)} configs)"
            )


def bench_remediation(rounds: int = 200) -> None:
    for platform in (Platform.CISCO_IOS, Platform.FRR):
        info = platform_info(platform)
        running = (REPO / "tests" / "data" / platform.value / "running.conf").read_text()
        intended = (REPO / "tests" / "data" / platform.value / "intended.conf").read_text()
        parse_s: list[float] = []
        diff_s: list[float] = []
        for _ in range(rounds):
            t_parse, parsed = timed(
                lambda info=info, running=running, intended=intended: (
                    parse(info, running),
                    parse(info, intended),
                )
            )
            t_diff, _result = timed(lambda parsed=parsed: remediate(*parsed))
            parse_s.append(t_parse)
            diff_s.append(t_diff)
        p, d = statistics.median(parse_s), statistics.median(diff_s)
        print(
            f"hier_config {platform.value:9}: {(p + d) * 1000:.2f} ms per device "
            f"(parse both {p * 1000:.2f} ms = {p / (p + d):.0%}, remediation+rollback {d * 1000:.2f} ms; "
            f"{running.count(chr(10))} running lines)"
        )


# --------------------------------------------------------------------------- lab


def bench_inventory(inventory: Inventory, count: int) -> Inventory:
    """*count* devices cloned from the sample devices of authority 'lup' (hostnames bench-NN-...)."""
    authority = inventory.authorities["lup"]
    samples = list(authority.network_devices)
    clones: list[NetworkDevice] = []
    for i in range(count):
        sample = samples[i % len(samples)]
        clones.append(sample.model_copy(update={"hostname": f"bench-{i:03d}-{sample.hostname}"[:60]}))
    changed = authority.model_copy(update={"network_devices": clones})
    return dataclasses.replace(inventory.select(["lup"]), authorities={"lup": changed})


def lab_specs(inventory: Inventory) -> list[object]:
    from ksm_provision.lab.state import LabNodeSpec, NodeKind

    specs = []
    for n, device in enumerate(inventory.devices):
        router = device.model.platform is Platform.FRR
        specs.append(
            LabNodeSpec(
                name=f"bench-{n:03d}",
                kind=NodeKind.ROUTER if router else NodeKind.SWITCH,
                authority=device.authority,
                address=f"127.120.{100 + n // 200}.{1 + n % 200}",
                hostname=device.hostname[:60],
                represents=(device.hostname,),
                platform=device.model.platform.value,
                interfaces=tuple(i.name for i in device.model.interfaces) if router else (),
            )
        )
    return specs


def hand_edit(device: Device, lab: object) -> None:
    from ksm_provision.lab.targets import LabTargets
    from ksm_provision.network.session import DeviceSession, Endpoint

    first = device.model.interfaces[0].name
    endpoint = Endpoint.of(device, LabTargets(lab).stand_in(device))  # type: ignore[arg-type]
    with DeviceSession(endpoint) as session:
        session.send_config([f"interface {first}", "description von Hand", "exit"])


def bench_lab(inventory: Inventory, count: int, workers: int) -> None:
    from ksm_provision.lab.config import LabConfig
    from ksm_provision.lab.manager import Lab
    from ksm_provision.lab.targets import LabTargets
    from ksm_provision.network.pipeline import DeviceRunOptions, apply_devices, plan_devices

    os.environ["KSM_LAB_ONLY"] = "1"
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    bench = bench_inventory(inventory, count)
    lab = Lab(LabConfig(lab_dir=LAB_DIR, instance=LAB_INSTANCE))
    routers = sum(1 for d in bench.devices if d.model.platform is Platform.FRR)
    print(
        f"lab: {count} devices ({count - routers} switch simulators, {routers} FRR routers), "
        f"pool of {workers} vs one at a time; {os.cpu_count()} cores"
    )
    try:
        t_up, _ = timed(lambda: lab.up(lab_specs(bench)))  # type: ignore[arg-type]
        print(f"  lab up: {t_up:.1f} s")
        t_first, first = timed(
            lambda: apply_devices(bench, LabTargets(lab), DeviceRunOptions(workers=workers))
        )
        print(
            f"  first apply (from factory config), pool: {t_first:.1f} s, "
            f"{first.commands_sent} commands, {len(first.changed_devices)} changed, "
            f"{len(first.failed_devices)} failed"
        )
        for device in first.devices:
            if device.status not in ("changed", "unchanged"):
                print(f"    {device.hostname}: {device.status}: {'; '.join(device.messages)[:300]}")
        t_plan1, _ = timed(lambda: plan_devices(bench, LabTargets(lab), DeviceRunOptions(workers=1)))
        t_plan, plan = timed(lambda: plan_devices(bench, LabTargets(lab), DeviceRunOptions(workers=workers)))
        print(
            f"  plan (in sync):   one at a time {t_plan1:6.1f} s, pool {t_plan:6.1f} s -> "
            f"{t_plan1 / t_plan:.1f}x ({len(plan.changed_devices)} with changes)"
        )
        results = {}
        for label, pool in (("one at a time", 1), ("pool", workers)):
            for device in bench.devices:
                hand_edit(device, lab)
            results[label] = timed(
                lambda pool=pool: apply_devices(bench, LabTargets(lab), DeviceRunOptions(workers=pool))
            )
        serial, parallel = results["one at a time"], results["pool"]
        assert len(serial[1].changed_devices) == len(parallel[1].changed_devices) == count
        print(
            f"  apply (1 edit):   one at a time {serial[0]:6.1f} s, pool {parallel[0]:6.1f} s -> "
            f"{serial[0] / parallel[0]:.1f}x"
        )
        t_idem, idem = timed(lambda: apply_devices(bench, LabTargets(lab), DeviceRunOptions(workers=workers)))
        print(f"  second apply (nothing to do), pool: {t_idem:.1f} s, {idem.commands_sent} commands sent")
    finally:
        lab.down()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--skip-lab", action="store_true")
    args = parser.parse_args(argv)
    inventory = load_inventory(REPO / "inventories")
    bench_render(inventory, args.renders)
    bench_remediation()
    if args.skip_lab:
        return
    if os.geteuid() != 0:
        print("lab part skipped: it needs root", file=sys.stderr)
        return
    bench_lab(inventory, args.devices, args.workers)


if __name__ == "__main__":
    main()
