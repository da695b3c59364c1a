"""A static Ansible inventory (hosts.yml + host_vars + group_vars) for inspection and for runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.ansible_vars import AnsibleTemplate, group_name
from ksm_provision.render.gateway_vars import ansible_group_members, ansible_host_vars
from ksm_provision.targets import Connection


def connection_vars(connection: Connection) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "ansible_host": connection.address,
        "ansible_port": connection.port,
        "ansible_user": connection.user,
        "ansible_become": connection.become,
    }
    if connection.key_file:
        variables["ansible_ssh_private_key_file"] = connection.key_file
    return variables


def inventory_document(
    inventory: Inventory, hosts: list[Host], connections: dict[str, Connection] | None = None
) -> dict[str, Any]:
    """The YAML inventory structure: every host under ``all.hosts``, groups as children."""
    children = {
        group: {"hosts": dict.fromkeys(names)}
        for group, names in sorted(ansible_group_members(inventory, hosts).items())
    }
    all_hosts: dict[str, Any] = {}
    for host in hosts:
        all_hosts[host.hostname] = connection_vars(connections[host.hostname]) if connections else None
    return {"all": {"hosts": all_hosts, "children": children}}


#: Mapping keys that cannot hold template syntax stay untagged, so the files remain readable.
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


class _UnsafeDumper(yaml.SafeDumper):
    """Every string is written as ``!unsafe`` (Ansible never templates it), except ksm's own
    :class:`AnsibleTemplate` vault references and keys that cannot carry template syntax."""

    def represent_mapping(self, tag: str, mapping: Any, flow_style: Any = None) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        for key_node, _ in node.value:
            if key_node.tag == _UNSAFE_TAG and _PLAIN_KEY.match(key_node.value):
                key_node.tag = _STR_TAG
        return node


_UNSAFE_TAG = "!unsafe"
_STR_TAG = "tag:yaml.org,2002:str"


def _represent_unsafe(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if not value:  # Ansible 2.19 reads `!unsafe ''` as null; an empty string cannot be a template anyway
        return dumper.represent_scalar(_STR_TAG, "")
    return dumper.represent_scalar(_UNSAFE_TAG, str(value))


def _represent_template(dumper: yaml.SafeDumper, value: AnsibleTemplate) -> yaml.ScalarNode:
    return dumper.represent_scalar(_STR_TAG, str(value))


_UnsafeDumper.add_representer(type(None), lambda d, _: d.represent_scalar("tag:yaml.org,2002:null", ""))
_UnsafeDumper.add_representer(str, _represent_unsafe)
_UnsafeDumper.add_multi_representer(str, _represent_unsafe)  # StrEnum values and other subclasses
_UnsafeDumper.add_representer(AnsibleTemplate, _represent_template)


def dump_yaml(data: Any) -> str:
    """YAML for Ansible: inventory text tagged ``!unsafe``, only vault references left as templates."""
    return "---\n" + yaml.dump(data, Dumper=_UnsafeDumper, sort_keys=False, allow_unicode=True, width=120)


def write_ansible_inventory(
    inventory: Inventory,
    hosts: list[Host],
    out: Path,
    connections: dict[str, Connection] | None = None,
    vault_files: dict[str, Path] | None = None,
) -> Path:
    """Write ``out/hosts.yml``, ``out/host_vars/<host>.yml`` and the authorities' vault links.

    *hosts* may include routers' Linux sides (:func:`~ksm_provision.render.gateway_vars.gateway_hosts`):
    they get group ``gateways`` and the ``gateway`` role's variables.

    Returns the path of hosts.yml. *out* is replaced as a whole, so no stale host survives.
    """
    if out.exists():
        shutil.rmtree(out)
    (out / "host_vars").mkdir(parents=True)
    hosts_file = out / "hosts.yml"
    hosts_file.write_text(dump_yaml(inventory_document(inventory, hosts, connections)), encoding="utf-8")
    for host in hosts:
        (out / "host_vars" / f"{host.hostname}.yml").write_text(
            dump_yaml(ansible_host_vars(inventory, host)), encoding="utf-8"
        )
    for authority, vault_file in (vault_files or {}).items():
        group_dir = out / "group_vars" / group_name("authority", authority)
        group_dir.mkdir(parents=True)
        # a link, not a copy: the encrypted file stays the single source and is never duplicated
        (group_dir / "vault.yml").symlink_to(vault_file.resolve())
    return hosts_file
