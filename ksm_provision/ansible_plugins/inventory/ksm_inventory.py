"""Ansible inventory plugin: the ksm inventory as an Ansible/AWX inventory source."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ksm_inventory
short_description: Hosts, groups and role variables of the ksm-provision inventory
description:
  - Reads C(ksm.yml) and every authority file next to it, validates them like C(ksm validate) and
    exposes every client and server, and the Linux side of every FRR router (group C(gateways)),
    with groups by authority, site, role, client profile, OS and shared service, and the variables
    of the ksm roles computed from the models.
  - Use it by pointing C(-i) at the provider file, e.g. C(ansible-inventory -i inventories/ksm.yml --graph),
    with C(inventory_plugins) and C(enable_plugins) set as in the project's ansible.cfg.
options: {}
"""

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.template import trust_as_template

from ksm_provision.errors import KsmError
from ksm_provision.inventory.files import read_inventory_file
from ksm_provision.inventory.inventory import PROVIDER_FILE, load_inventory
from ksm_provision.render.ansible_vars import AnsibleTemplate
from ksm_provision.render.gateway_vars import ansible_host_groups, ansible_host_vars, gateway_hosts
from ksm_provision.validate import validate_inventory


class InventoryModule(BaseInventoryPlugin):  # type: ignore[misc]
    NAME = "ksm_inventory"
    # Inventory text is data: each authority's file is untrusted input to every other authority, so
    # nothing is trusted by default (ansible-core >= 2.19 data tagging) and only ksm's own vault
    # references are marked as templates, in :func:`_mark_trusted_templates`.
    trusted_by_default = False

    def verify_file(self, path: str) -> bool:
        if not (super().verify_file(path) and Path(path).name == PROVIDER_FILE):
            return False
        try:  # the same safe, bounded read as the loader: a FIFO or link named ksm.yml cannot hang us
            text = read_inventory_file(Path(path)).decode("utf-8", errors="replace")
        except KsmError:
            return True  # it is ours by name: parse() reports the problem loudly
        return any(line.startswith("provider:") for line in text.splitlines())

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        try:
            ksm_inventory = load_inventory(Path(path).parent)
            problems = validate_inventory(ksm_inventory)
        except KsmError as exc:
            raise AnsibleParserError(f"ksm inventory is invalid:\n{exc}") from None
        if problems:
            raise AnsibleParserError("ksm inventory is invalid:\n" + "\n".join(map(str, problems)))
        # routers' Linux sides (group `gateways`) are hosts too, at their management address
        for host in [*ksm_inventory.hosts, *gateway_hosts(ksm_inventory)]:
            self.inventory.add_host(host.hostname)
            self.inventory.set_variable(host.hostname, "ansible_host", str(host.address))
            for name, value in ansible_host_vars(ksm_inventory, host).items():
                self.inventory.set_variable(host.hostname, name, _mark_trusted_templates(value))
            for group in ansible_host_groups(ksm_inventory, host):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host.hostname)


def _mark_trusted_templates(value: Any) -> Any:
    """Trust exactly the :class:`AnsibleTemplate` values (vault references); all else stays data."""
    if isinstance(value, AnsibleTemplate):
        return trust_as_template(str(value))
    if isinstance(value, dict):
        return {key: _mark_trusted_templates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_trusted_templates(item) for item in value]
    return value
