"""Baseline for device rendering: Ansible's ``template`` module per host, measured in this run.

20 hosts (connection local, forks 8) each render their sample device's intended config through
the template module into a temporary directory; the same configs rendered in-process by ksm's one
Jinja2 environment are timed alongside. The module's payload is the intended config text, so the
figure is the module's own per-host cost (task dispatch, templating, file write), the part ksm
avoids by rendering in-process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.network.intended import render_device
from ksm_provision.vault import NetworkSecrets

REPO = Path(__file__).resolve().parents[1]
HOSTS = 20


def main() -> None:
    inventory = load_inventory(REPO / "inventories")
    secrets = {
        a: NetworkSecrets(a, "auth-key-123", "priv-key-123", "pw", "en") for a in inventory.authorities
    }
    devices = [inventory.devices[i % len(inventory.devices)] for i in range(HOSTS)]
    render_device(inventory, devices[0], secrets[devices[0].authority])  # compile once
    in_process = []
    configs = []
    for device in devices:
        started = time.perf_counter()
        configs.append(render_device(inventory, device, secrets[device.authority]))
        in_process.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory(prefix="ksm-bench-template-") as tmp:
        work = Path(tmp)
        hosts = {
            f"dev{i:02d}": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                            "device_config": text}
            for i, text in enumerate(configs)
        }  # fmt: skip
        (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}), encoding="utf-8")
        (work / "config.j2").write_text("{{ device_config }}\n", encoding="utf-8")
        (work / "out").mkdir()
        dest = str(work / "out") + "/{{ inventory_hostname }}.conf"
        task = {
            "name": "Render the device config with the template module",
            "ansible.builtin.template": {"src": str(work / "config.j2"), "dest": dest},
        }
        play = [{"name": "Render", "hosts": "all", "gather_facts": False, "tasks": [task]}]
        (work / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(work / "hosts.yml"),
                   "-f", "8", str(work / "play.yml")]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=work)
        module_total = time.perf_counter() - started
        assert len(list((work / "out").iterdir())) == HOSTS
    per_host = module_total / HOSTS
    ours = statistics.median(in_process)
    print(f"Ansible template module: {per_host * 1000:.0f} ms per host ({HOSTS} hosts, {module_total:.1f} s)")
    print(f"ksm in-process render:   {ours * 1000:.2f} ms per config (median)")
    print(f"ratio: {per_host / ours:,.0f}x")
    print(json.dumps({"benchmark": "template_module", "module_per_host_s": per_host,
                      "in_process_median_s": ours, "ratio": per_host / ours}))  # fmt: skip


if __name__ == "__main__":
    main()
