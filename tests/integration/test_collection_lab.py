"""A lab apply through the *installed* collection: what AWX or a user's own ansible-playbook runs.

The collection tarball is built and installed with ``ansible-galaxy collection install --offline``
into a fresh collections path outside the checkout; ``ansible-playbook ksm.provision.site`` then
runs from a directory outside the checkout with only that path, against lup's clients in the lab
twin (the static inventory and ansible.cfg ksm itself would write for them). A hand edit on a
client must be repaired by it, and ksm must then find nothing left to do: the installed collection
and ksm's own runs converge to the same state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ksm_provision.ansible_plugins.collection import build_collection
from ksm_provision.hostkeys import run_known_hosts
from ksm_provision.inventory.hosts import HostKind
from ksm_provision.lab.targets import LabTargets
from ksm_provision.playbook.runner import RunSettings, ansible_cfg
from ksm_provision.playbook.scope import host_scope
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AUTHORITY = "lup"


def _tool(name: str) -> str:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: install the dev extras (make venv, or pip install -e '.[dev]')")
    return str(path)


@pytest.fixture
def control() -> Iterator[Path]:
    """ssh's ControlPersist sockets: a short path (unix sockets hold at most 108 characters)."""
    path = Path(tempfile.mkdtemp(prefix="ksm-cp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_lab_apply_through_the_installed_collection_leaves_nothing_for_ksm(
    lab_twin: LabTwin, tmp_path: Path, control: Path
) -> None:
    assert REPO not in tmp_path.parents
    collections, site = tmp_path / "collections", tmp_path / "site"
    site.mkdir()
    tarball = build_collection(tmp_path / "build", REPO)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    installed = subprocess.run(
        [_tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), str(tarball)],
        cwd=site, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr

    inventory = lab_twin.inventory.select([AUTHORITY])  # type: ignore[attr-defined]
    clients = sorted(h.hostname for h in inventory.hosts if h.kind is HostKind.CLIENT)
    scope = host_scope(inventory, LabTargets(lab_twin.lab), ",".join(clients))  # type: ignore[arg-type]
    assert scope.hosts, f"the lab twin has no client of {AUTHORITY}"
    hosts_file = write_ansible_inventory(scope.inventory, scope.hosts, site / "inventory", scope.connections)
    keys = run_known_hosts(scope.connections, scope.authority_of)  # as ksm's runs: None, the lab's own
    known_hosts = site / "known_hosts" if keys is not None else None
    if known_hosts is not None and keys is not None:
        known_hosts.write_text(keys, encoding="utf-8")
    cfg = site / "ansible.cfg"  # without ksm's roles_path into the toolkit: roles only from the collection
    plain = RunSettings(strategy="linear")  # Ansible alone: nothing of ksm's venv but the collection
    settings = ansible_cfg(plain, control, known_hosts, keys is not None, collections).splitlines()
    cfg.write_text("\n".join(line for line in settings if not line.startswith("roles_path")) + "\n")

    host = scope.hosts[0].hostname
    ssh(lab_twin.lab, host, "echo Pacific/Fiji > /etc/timezone")  # a hand edit the base role repairs

    run = subprocess.run(
        [_tool("ansible-playbook"), "-i", str(hosts_file), "ksm.provision.site"],
        cwd=site,
        env={**env, "ANSIBLE_CONFIG": str(cfg), "ANSIBLE_COLLECTIONS_PATH": str(collections)},
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "Pacific/Fiji" not in ssh(lab_twin.lab, host, "cat /etc/timezone")
    recap = [line for line in output.splitlines() if line.startswith(host) and "changed=" in line]
    assert recap and "changed=0" not in recap[-1], output[-3000:]

    # ksm, from the checkout, finds nothing left to do on these clients
    ksm(
        lab_twin.env,
        "plan", "--authority", AUTHORITY, "--target", "lab", "--only", "hosts",
        "--limit", ",".join(clients), "--detailed-exitcode",
    )  # fmt: skip
