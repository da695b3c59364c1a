"""A run scoped to one authority renders exactly what a run over all authorities renders.

``ksm apply --authority schwerin`` once dropped Schwerin's permit for Kfz-Zulassung (served by lup)
from its routers' packet filters, because the host serving it was looked up among the authorities in
scope only; the twin's proof caught it. Every host's variables and every device's configuration must
not depend on which other authorities a run selected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.inventory.hosts import authority_devices, authority_hosts
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.intended import render_device
from ksm_provision.network.policy import authority_policy
from ksm_provision.render.gateway_vars import ansible_host_vars, authority_gateway_hosts
from ksm_provision.vault import NetworkSecrets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def _secrets(authority: str) -> NetworkSecrets:
    return NetworkSecrets(authority, f"{authority}-auth-key", f"{authority}-priv-key", "pw-x", "en-x")


@pytest.mark.parametrize("authority", ["lup", "schwerin"])
def test_host_vars_do_not_depend_on_the_scope(inventory: Inventory, authority: str) -> None:
    scoped = inventory.select([authority])
    hosts = [
        *authority_hosts(inventory.authorities[authority]),
        *authority_gateway_hosts(inventory, authority),
    ]
    assert authority_gateway_hosts(inventory, authority)  # the routers' Linux sides are covered
    for host in hosts:
        assert ansible_host_vars(scoped, host) == ansible_host_vars(inventory, host), host.hostname


@pytest.mark.parametrize("authority", ["lup", "schwerin"])
def test_device_configs_do_not_depend_on_the_scope(inventory: Inventory, authority: str) -> None:
    scoped = inventory.select([authority])
    devices = authority_devices(inventory.authorities[authority])
    assert devices
    for device in devices:
        secrets = _secrets(authority)
        assert render_device(scoped, device, secrets) == render_device(inventory, device, secrets), (
            device.hostname
        )


def test_the_consumer_side_permit_survives_a_scoped_run(inventory: Inventory) -> None:
    scoped = authority_policy(inventory.select(["schwerin"]), "schwerin")
    assert any("kfz" in rule.reason for rule in scoped.rules)
