"""Shared test setup: the lab-only guard everywhere, sample vault keys, and one lab twin.

The ``lab_twin`` fixture brings up the sample authorities' lab once per test session on a claimed
test instance (its own addresses, namespaces, users and lab dir under /var/tmp/ksm-lab-tests, away
from pytest's rotating temp dirs), so tests never touch an engineer's running lab (instance 0) nor
another test run. `make test` runs the tests marked ``lab`` in one process, so they share it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_VAULT_PASSWORDS = REPO / "inventories" / "vault" / "sample-passwords"
LAB_HOSTS_PER_AUTHORITY = 8


def pytest_configure(config: pytest.Config) -> None:
    os.environ["KSM_LAB_ONLY"] = "1"  # whatever the caller set: tests never reach production
    os.environ.setdefault("KSM_VAULT_PASSWORDS_DIR", str(SAMPLE_VAULT_PASSWORDS))


@dataclass(frozen=True)
class LabTwin:
    """The running lab of both sample authorities and the environment ksm needs to use it."""

    inventory: object  # ksm_provision.inventory.inventory.Inventory
    lab: object  # ksm_provision.lab.manager.Lab
    lab_dir: Path
    state_dir: Path
    env: dict[str, str]


@contextlib.contextmanager
def twin(name: str, base: Path) -> Iterator[LabTwin]:
    """A lab twin of both sample authorities, cabled as the inventory says, in a throwaway instance."""
    from ksm_provision.inventory.inventory import load_inventory
    from ksm_provision.lab.planner import plan_lab
    from ksm_provision.lab.topology import derive
    from tests.testlab import throwaway_lab

    if os.geteuid() != 0:
        pytest.fail("the lab twin needs root (namespaces, mounts, sshd); run the suite as root like CI does")
    inventory = load_inventory(REPO / "inventories")
    with throwaway_lab(name) as lab:
        env = {
            "KSM_LAB_DIR": str(lab.config.lab_dir),
            "KSM_LAB_INSTANCE": str(lab.config.instance),
            "KSM_LAB_SSH_PORT": str(lab.config.ssh_port),
            "KSM_STATE_DIR": str(base / "state"),
            "KSM_BUILD_DIR": str(base / "build"),
        }
        patch = pytest.MonkeyPatch()
        for key, value in env.items():
            patch.setenv(key, value)
        try:
            plan = plan_lab(
                inventory,
                hosts_per_authority=LAB_HOSTS_PER_AUTHORITY,
                instance=lab.config.instance,
                port=lab.config.ssh_port,
            )
            status = lab.up(plan.specs, topology=derive(inventory, plan.specs))
            assert status.healthy, status.model_dump_json(indent=2)
            yield LabTwin(inventory, lab, lab.config.lab_dir, base / "state", {**os.environ, **env})
        finally:
            patch.undo()


@pytest.fixture(scope="session")
def lab_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabTwin]:
    with twin("twin", tmp_path_factory.mktemp("lab-twin")) as shared:
        yield shared
