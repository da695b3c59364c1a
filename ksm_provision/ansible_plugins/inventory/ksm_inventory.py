"""Ansible inventory plugin ``ksm.provision.ksm_inventory``: the ksm inventory as an Ansible/AWX source."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ksm_inventory
short_description: Hosts, groups and role variables of a ksm-provision inventory
version_added: 0.1.0
author:
  - KSM IT-Dienstleister (AöR)
description:
  - Reads the provider file C(ksm.yml) and every authority file next to it, validates them like
    C(ksm validate) and exposes every client and server, and the Linux side of every FRR router
    (group C(gateways)), with groups by authority (C(authority_<id>)), site (C(site_<id>)), role
    (C(role_<role>)), client profile (C(profile_<profile>)), OS and shared service
    (C(service_<id>)), and the variables of the ksm roles computed from the models.
  - The inventory source is a YAML file named C(ksm_inventory.yml) or C(ksm_inventory.yaml), or
    ending in C(.ksm.yml) or C(.ksm.yaml), whose C(plugin) is C(ksm.provision.ksm_inventory) and
    whose C(path) names the inventories directory.
  - Inventory text is data. Every value is untrusted (never templated by Ansible) except the vault
    references C(vault:<name>) that ksm turns into C({{ <name> }}); their values come from the
    authority's vault (vault id = authority id), which this plugin never reads.
  - An inventory that cannot be read or does not validate is an error naming the problem. Ansible
    turns a failed source into a warning unless C(ANSIBLE_INVENTORY_UNPARSED_FAILED) or
    C(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED) is set (AWX sets the first for every inventory
    update); set C([inventory] any_unparsed_is_failed = true) in the project's C(ansible.cfg) so
    that C(ansible-inventory) and C(ansible-playbook) exit non-zero.
  - Needs the Python package C(ksm-provision) (it brings pydantic and the ksm models) in the
    Python that runs Ansible; the execution environment of the repository installs both.
  - For backwards compatibility, C(-i inventories/ksm.yml) (the provider file itself) works too
    where the plugin is enabled, with every option at its default.
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin; it marks the file as a ksm-provision inventory source.
    required: true
    type: str
    choices: ["ksm.provision.ksm_inventory", "ksm_inventory"]
  path:
    description:
      - The directory holding C(ksm.yml) and the authority files.
      - A relative path is relative to the directory of the inventory source file (not to the
        working directory), so the source works from any directory and in an AWX project.
    type: str
    default: inventories
  authorities:
    description:
      - Only the hosts of these authorities (by id). Empty means every authority.
      - The whole inventory is still validated, as C(ksm validate) does. An id the inventory does
        not know is an error.
      - One AWX inventory per organisation (per authority) sets this to its own authority.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
# ksm_inventory.yml next to the inventories directory (an AWX project or any working directory):
#   ansible-inventory -i ksm_inventory.yml --graph
plugin: ksm.provision.ksm_inventory
path: inventories

---
# Only one authority's hosts (one AWX organisation per authority), fail on an unknown group key,
# and extra groups made from the ksm variables:
# schwerin.ksm.yml
plugin: ksm.provision.ksm_inventory
path: ../inventories
authorities:
  - schwerin
strict: true
keyed_groups:
  # authority_schwerin exists already; this adds e.g. tenant_schwerin
  - key: ksm_authority
    prefix: tenant
  - key: ksm_kind
    prefix: kind
groups:
  # every client of the "buergerbuero" profile
  counter_desks: ksm_profile == 'buergerbuero'
compose:
  # connect by the management address ksm computed
  ansible_host: ksm_address
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.template import trust_as_template

from ksm_provision.errors import KsmError
from ksm_provision.inventory.files import read_inventory_file
from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory, load_inventory
from ksm_provision.render.ansible_vars import AnsibleTemplate
from ksm_provision.render.gateway_vars import ansible_host_groups, ansible_host_vars, gateway_hosts
from ksm_provision.validate import validate_inventory

#: File names of an inventory source for this plugin (besides the provider file itself).
SOURCE_NAMES = ("ksm_inventory.yml", "ksm_inventory.yaml")
SOURCE_SUFFIXES = (".ksm.yml", ".ksm.yaml")


class InventoryModule(BaseInventoryPlugin, Constructable):  # type: ignore[misc]
    NAME = "ksm.provision.ksm_inventory"
    # Inventory text is data: each authority's file is untrusted input to every other authority, so
    # nothing is trusted by default (ansible-core >= 2.19 data tagging) and only ksm's own vault
    # references are marked as templates, in :func:`_mark_trusted_templates`.
    trusted_by_default = False

    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        name = Path(path).name
        if name in SOURCE_NAMES or name.endswith(SOURCE_SUFFIXES):
            return True
        return name == PROVIDER_FILE and _is_provider_file(Path(path))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        source = Path(path)
        if source.name == PROVIDER_FILE:  # the provider file itself (the repository's ansible.cfg)
            self.set_options(direct={"plugin": "ksm_inventory"})
            root = source.parent
        else:
            self._read_config_data(path)
            root = _inventory_root(source, str(self.get_option("path")))
        ksm_inventory = _load_valid(root)
        wanted = _selected(ksm_inventory, self.get_option("authorities") or [])
        # routers' Linux sides (group `gateways`) are hosts too, at their management address
        for host in [*ksm_inventory.hosts, *gateway_hosts(ksm_inventory)]:
            if host.authority in wanted:
                self._add_host(ksm_inventory, host)

    def _add_host(self, ksm_inventory: Inventory, host: Host) -> None:
        name = host.hostname
        self.inventory.add_host(name)
        self.inventory.set_variable(name, "ansible_host", str(host.address))
        for variable, value in ansible_host_vars(ksm_inventory, host).items():
            self.inventory.set_variable(name, variable, _mark_trusted_templates(value))
        for group in ansible_host_groups(ksm_inventory, host):
            self.inventory.add_group(group)
            self.inventory.add_child(group, name)
        # Constructable: compose, groups, keyed_groups over the variables just set
        strict = bool(self.get_option("strict"))
        variables = self.inventory.get_host(name).get_vars()
        self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
        variables = self.inventory.get_host(name).get_vars()  # with the composed ones
        self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)


def _is_provider_file(path: Path) -> bool:
    try:  # the same safe, bounded read as the loader: a FIFO or link named ksm.yml cannot hang us
        text = read_inventory_file(path).decode("utf-8", errors="replace")
    except KsmError:
        return True  # it is ours by name: parse() reports the problem loudly
    return any(line.startswith("provider:") for line in text.splitlines())


def _inventory_root(source: Path, path: str) -> Path:
    """The inventories directory: *path*, relative to the source file's directory unless absolute."""
    root = Path(path).expanduser()
    root = root if root.is_absolute() else source.resolve().parent / root
    if not (root / PROVIDER_FILE).is_file():
        raise AnsibleParserError(
            f"ksm inventory source {source}: no {PROVIDER_FILE} in {root} (option path: {path!r}); "
            "set `path` to the directory that holds ksm.yml and the authority files"
        )
    return root


def _load_valid(root: Path) -> Inventory:
    try:
        ksm_inventory = load_inventory(root)
        problems = validate_inventory(ksm_inventory)
    except KsmError as exc:
        raise AnsibleParserError(f"ksm inventory {root} is invalid:\n{exc}") from None
    if problems:
        raise AnsibleParserError(f"ksm inventory {root} is invalid:\n" + "\n".join(map(str, problems)))
    return ksm_inventory


def _selected(ksm_inventory: Inventory, authorities: Sequence[str]) -> set[str]:
    known = set(ksm_inventory.authorities)
    unknown = sorted(set(authorities) - known)
    if unknown:
        raise AnsibleParserError(
            f"ksm inventory {ksm_inventory.root}: unknown authorities {', '.join(unknown)} "
            f"(option authorities; the inventory has {', '.join(sorted(known))})"
        )
    return set(authorities) or known


def _mark_trusted_templates(value: Any) -> Any:
    """Trust exactly the :class:`AnsibleTemplate` values (vault references); all else stays data."""
    if isinstance(value, AnsibleTemplate):
        return trust_as_template(str(value))
    if isinstance(value, dict):
        return {key: _mark_trusted_templates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_trusted_templates(item) for item in value]
    return value
