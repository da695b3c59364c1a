"""Onboarding a new commune: everything it needs from the address plan, in a minimal authority file.

Allocated: the next free address block, VLAN range and AS number, and the next free transfer /30
of the provider core (:func:`ksm_provision.network.core.next_free_transfer`: the first core router
of ksm.yml with a free /30). The file gets a site router ``<id>-hv-rt01``: the gateway of the
scaffolded networks, managed at the management network's gateway, and BGP with the core across
the transfer /30 (the router the second address, the core the first), advertising the block. The
core router's side of the link is derived from that neighbour, so the core's intended config gains
the new neighbour without any edit of ksm.yml beyond the address plan entry.

:func:`plan_onboarding` is pure: from the loaded inventory and the text of ``ksm.yml`` it computes
the new authority file and the new ``ksm.yml`` text (the user's file edited in place: one entry
inserted after the last ``- authority:`` entry, comments and layout kept). :func:`write_onboarding`
writes both and puts the old state back if the result does not validate.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ksm_provision.errors import KsmError, Problem, UsageError, relative_path
from ksm_provision.fileio import write_atomic
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory
from ksm_provision.inventory.loader import load_yaml_text
from ksm_provision.inventory.models import AddressPlan, ProviderFile
from ksm_provision.inventory.source import SourceMap
from ksm_provision.inventory.types import MAX_TEXT, check_identifier, check_safe_text
from ksm_provision.network.core import next_free_transfer, transfer_ends
from ksm_provision.validate.spans import ip_text, net_bounds

MAX_VLAN = 4094
PLACEHOLDER_AGS = "00000000"
#: The scaffolded site is named this followed by the authority's name (both must fit a site name).
SITE_NAME_PREFIX = "Hauptverwaltung "
_PLAN_LOC = ("address_plan", "authorities")

AUTHORITY_TEMPLATE = """\
# yaml-language-server: $schema=../schema/authority.schema.json
# {name}: scaffolded by `ksm onboard` with the address plan's block {block}, VLAN ids
# {vlan_low}-{vlan_high} and the transfer network {transfer} to the provider core router {core}.
# Add sites, networks, clients (client_ranges for many identical workstations), servers and
# network devices, then run `ksm validate`.
authority:
  id: {aid}
  name: {name_yaml}
  ags: "{ags}"{ags_comment}
  domain: {aid}.{domain}
  bgp_asn: {asn}

vault:                        # create it: ansible-vault create --vault-id {aid}@prompt {vault_path}
  vault_id: {aid}
  file: vault/{aid}.yml

network_settings:             # secrets are references into the vault file, never values
  password: vault:network_password
  enable_secret: vault:network_enable_secret
  snmp_auth: vault:snmp_auth
  snmp_priv: vault:snmp_priv

sites:
  - id: hv
    name: {site_name_yaml}

networks:
  - {{id: hv-clients, site: hv, vlan: {vlan_clients}, name: HV-CLIENTS, subnet: {clients},
     gateway: {clients_gw}, purpose: clients}}
  - {{id: hv-servers, site: hv, vlan: {vlan_servers}, name: HV-SERVER, subnet: {servers},
     gateway: {servers_gw}, purpose: servers}}
  - {{id: hv-mgmt, site: hv, vlan: {vlan_mgmt}, name: HV-MGMT, subnet: {mgmt}, gateway: {mgmt_gw},
     purpose: management}}
{dhcp}
# client_ranges:              # e.g. 50 identical workstations, {aid}-hv-ws001 ... {aid}-hv-ws050
#   - name: hv-verwaltung
#     hostname_pattern: "{aid}-hv-ws{{index:03d}}"
#     count: 50
#     site: hv
#     network: hv-clients
#     first_address: {example_first}
#     profile: verwaltung

network_devices:
{router}
consumes: []
"""

ROUTER_TEMPLATE = """\
  - hostname: {hostname}      # site router: gateway of the networks, BGP with the provider core
    platform: frr
    role: router
    site: hv
    management: {{network: hv-mgmt, address: {mgmt_gw}}}
    interfaces:
      - {{name: wan0, mode: routed, address: {wan}, description: Uplink {core_host}}}
      - {{name: vlan{vlan_clients}, mode: routed, address: {clients_if}, description: HV Clients}}
      - {{name: vlan{vlan_servers}, mode: routed, address: {servers_if}, description: HV Server}}
      - {{name: vlan{vlan_mgmt}, mode: routed, address: {mgmt_if}, description: HV Management}}
    routing:
      router_id: {mgmt_gw}
      bgp_neighbors:          # the core router's side of the link ({transfer}) follows from this
        - {{address: {core_ip}, remote_as: {provider_asn}, description: {core_description}}}
      advertise: [{block}]
"""


@dataclass(frozen=True)
class Onboarding:
    """What onboarding one authority writes."""

    authority_id: str
    block: ipaddress.IPv4Network
    vlans: tuple[int, int]
    asn: int
    link: CoreLinkPlan
    authority_text: str
    provider_text: str

    @property
    def router(self) -> str:
        return site_router(self.authority_id)


@dataclass(frozen=True)
class CoreLinkPlan:
    """The transfer /30 allocated to the new authority and the core router at its other end."""

    core: str
    core_description: str
    network: ipaddress.IPv4Network
    provider_asn: int

    @property
    def core_address(self) -> ipaddress.IPv4Address:
        return transfer_ends(self.network)[0]

    @property
    def router_address(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface((transfer_ends(self.network)[1], self.network.prefixlen))


def site_router(aid: str) -> str:
    """The scaffolded site router's hostname, e.g. ``hagenow-hv-rt01``."""
    return f"{aid}-hv-rt01"


def check_request(authority_id: str, name: str, ags: str | None) -> None:
    """Refuse malformed arguments as a usage error (exit code 2)."""
    try:
        check_identifier(authority_id)
    except ValueError as exc:
        raise UsageError(
            f"invalid authority id: {exc}", "e.g. ksm onboard hagenow --name 'Stadt Hagenow'"
        ) from None
    if not name.strip():
        raise UsageError("--name must not be empty", "e.g. --name 'Stadt Hagenow'")
    try:
        check_safe_text(name, MAX_TEXT - len(SITE_NAME_PREFIX))  # also refuses template syntax
    except ValueError as exc:
        raise UsageError(f"--name {exc}", "e.g. --name 'Stadt Hagenow'") from None
    if ags is not None and not (len(ags) == 8 and ags.isascii() and ags.isdigit()):
        raise UsageError(
            f"--ags '{ags}' is not an 8-digit Amtlicher Gemeindeschlüssel", "e.g. --ags 13076054"
        )


def next_free_block(plan: AddressPlan) -> ipaddress.IPv4Network:
    """The first ``block_prefix`` block of the pool that overlaps neither the core nor any block.

    >>> plan = AddressPlan.model_validate({"pool": "10.40.0.0/13", "core": "10.40.0.0/16", "authorities": [
    ...     {"authority": "a", "block": "10.41.0.0/16", "vlans": [100, 199]}]})
    >>> next_free_block(plan)
    IPv4Network('10.42.0.0/16')
    """
    if plan.pool.prefixlen > plan.block_prefix:
        raise KsmError(
            f"the pool {plan.pool} is smaller than one /{plan.block_prefix} block",
            "enlarge address_plan.pool or raise block_prefix in ksm.yml",
        )
    size = 1 << (32 - plan.block_prefix)
    taken = sorted([net_bounds(plan.core), *(net_bounds(b.block) for b in plan.authorities)])
    start, pool_end = net_bounds(plan.pool)
    while start + size - 1 <= pool_end:
        clash = next((t for t in taken if t[0] <= start + size - 1 and start <= t[1]), None)
        if clash is None:
            return ipaddress.IPv4Network((start, plan.block_prefix))
        start = -(-(clash[1] + 1) // size) * size  # the next aligned block after the clash
    raise KsmError(
        f"the address plan pool {plan.pool} has no free /{plan.block_prefix} block left",
        "enlarge address_plan.pool in ksm.yml",
    )


def next_vlan_range(plan: AddressPlan) -> tuple[int, int]:
    """The first range ``first_vlan + k * vlans_per_authority`` that no authority uses yet.

    >>> plan = AddressPlan.model_validate({"pool": "10.40.0.0/13", "core": "10.40.0.0/16", "authorities": [
    ...     {"authority": "a", "block": "10.41.0.0/16", "vlans": [100, 199]}]})
    >>> next_vlan_range(plan)
    (200, 299)
    """
    used = [b.vlans for b in plan.authorities]
    low = plan.first_vlan
    while low + plan.vlans_per_authority - 1 <= MAX_VLAN:
        high = low + plan.vlans_per_authority - 1
        if not any(u_low <= high and low <= u_high for u_low, u_high in used):
            return low, high
        low += plan.vlans_per_authority
    raise KsmError(
        "no free VLAN range is left in the address plan", "lower vlans_per_authority or first_vlan in ksm.yml"
    )


def next_asn(inventory: Inventory) -> int:
    """One above the highest AS number in use (provider and authorities)."""
    used = [
        inventory.provider.provider.bgp_asn,
        *(a.authority.bgp_asn for a in inventory.authorities.values()),
    ]
    return max(used) + 1


def next_core_link(inventory: Inventory) -> CoreLinkPlan:
    """The next free transfer /30 of the provider core (first core router of ksm.yml with one)."""
    if not inventory.provider.core_routers:
        raise KsmError(
            "ksm.yml lists no core router, so no link to the provider core can be allocated",
            "describe the core under core_routers, e.g. - {hostname: ksm-core-rt01, router_id: 10.40.0.1, "
            "transfer: 10.40.100.0/22}",
        )
    found = next_free_transfer(inventory)
    if found is None:
        raise KsmError(
            "no free transfer /30 is left in the core routers' transfer ranges",
            "enlarge a core router's transfer range in ksm.yml or add a core router",
        )
    core, network = found
    return CoreLinkPlan(core.hostname, core.description, network, inventory.provider.provider.bgp_asn)


def vault_path(root: Path, aid: str) -> str:
    """Where the authority's vault file goes, as the user would type it."""
    return relative_path(root / "vault" / f"{aid}.yml")


def _subnets(block: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Network, ...]:
    """Clients, servers and management networks: /24s of a big block, quarters of a small one."""
    prefix = 24 if block.prefixlen <= 22 else block.prefixlen + 2
    first, _ = net_bounds(block)
    size = 1 << (32 - prefix)
    last_start = first + block.num_addresses - size
    return tuple(ipaddress.IPv4Network((start, prefix)) for start in (first, first + size, last_start))


def render_authority(
    inventory: Inventory,
    aid: str,
    name: str,
    ags: str | None,
    block: ipaddress.IPv4Network,
    vlans: tuple[int, int],
    asn: int,
    link: CoreLinkPlan,
) -> str:
    clients, servers, mgmt = _subnets(block)
    low, _ = net_bounds(clients)
    size = clients.num_addresses
    dhcp = ""
    if size >= 16:
        pool = f"{{start: {ip_text(low + size // 2)}, end: {ip_text(low + size - 2)}}}"
        dhcp = (
            "# DHCP for hv-clients: once a server with roles: [dhcp] serves it (dhcp: {serves:\n"
            f"# [hv-clients]}}), add to the network: dhcp: {pool}\n"
        )
    step = max(1, (vlans[1] - vlans[0] + 1) // 10)
    example_first = ip_text(low + min(20, max(1, size // 8)))
    vlan_ids = (vlans[0] + step, vlans[0] + 2 * step, vlans[0] + 9 * step)
    router = render_router(aid, block, vlan_ids, (clients, servers, mgmt), link)
    return AUTHORITY_TEMPLATE.format(
        aid=aid,
        name=name,
        name_yaml=json.dumps(name, ensure_ascii=False),
        site_name_yaml=json.dumps(SITE_NAME_PREFIX + name, ensure_ascii=False),
        ags=ags or PLACEHOLDER_AGS,
        ags_comment="" if ags else "           # placeholder: set the Amtlicher Gemeindeschlüssel",
        domain=inventory.provider.provider.domain,
        asn=asn,
        block=block,
        vlan_low=vlans[0],
        vlan_high=vlans[1],
        vault_path=vault_path(inventory.root, aid),
        vlan_clients=vlan_ids[0],
        vlan_servers=vlan_ids[1],
        vlan_mgmt=vlan_ids[2],
        clients=clients,
        clients_gw=ip_text(low + 1),
        servers=servers,
        servers_gw=ip_text(net_bounds(servers)[0] + 1),
        mgmt=mgmt,
        mgmt_gw=ip_text(net_bounds(mgmt)[0] + 1),
        dhcp=dhcp,
        example_first=example_first,
        router=router,
        transfer=link.network,
        core=link.core,
    )


def _gateway(net: ipaddress.IPv4Network) -> ipaddress.IPv4Interface:
    """The gateway (first usable address) of a scaffolded network, with its prefix."""
    return ipaddress.IPv4Interface((net_bounds(net)[0] + 1, net.prefixlen))


def render_router(
    aid: str,
    block: ipaddress.IPv4Network,
    vlan_ids: tuple[int, int, int],
    nets: tuple[ipaddress.IPv4Network, ipaddress.IPv4Network, ipaddress.IPv4Network],
    link: CoreLinkPlan,
) -> str:
    """The site router's entry: gateway of *nets* (clients, servers, management), BGP to the core."""
    clients, servers, mgmt = (_gateway(net) for net in nets)
    return ROUTER_TEMPLATE.format(
        hostname=site_router(aid),
        mgmt_gw=mgmt.ip,
        wan=link.router_address,
        core_host=link.core,
        vlan_clients=vlan_ids[0],
        vlan_servers=vlan_ids[1],
        vlan_mgmt=vlan_ids[2],
        clients_if=clients,
        servers_if=servers,
        mgmt_if=mgmt,
        transfer=link.network,
        core_ip=link.core_address,
        provider_asn=link.provider_asn,
        core_description=json.dumps(link.core_description or link.core, ensure_ascii=False),
        block=block,
    )


def insert_plan_entry(
    text: str, source: SourceMap, count: int, aid: str, block: ipaddress.IPv4Network, vlans: tuple[int, int]
) -> str:
    """*text* of ksm.yml with an entry for *aid* after the last of its *count* plan entries.

    The new entry copies the layout of the last one (block or flow mapping); nothing else changes.
    """
    lines = text.splitlines(keepends=True)
    if count == 0:
        raise KsmError(
            "address_plan.authorities in ksm.yml has no entry to add the new one after",
            "write the first entry by hand, e.g. - {authority: lup, block: 10.41.0.0/16, vlans: [100, 199]}",
        )
    start = source.lines.get((*_PLAN_LOC, count - 1))
    key_line = source.lines.get(_PLAN_LOC)
    if start is None or start == key_line or not lines[start - 1].lstrip().startswith("- "):
        raise KsmError(
            "address_plan.authorities in ksm.yml is not a block list ('- authority: ...' per entry)",
            "write one '- ' entry per line so that `ksm onboard` can add to it",
        )
    entry_line = lines[start - 1]
    dash = len(entry_line) - len(entry_line.lstrip(" "))
    end = start  # index of the line after the entry (0-based)
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        if not stripped:
            continue
        if indent <= dash:
            break
        end = index + 1
    pad = " " * dash
    if entry_line.lstrip()[2:].lstrip().startswith("{"):
        new = [f"{pad}- {{authority: {aid}, block: {block}, vlans: [{vlans[0]}, {vlans[1]}]}}\n"]
    else:
        inner = " " * (len(entry_line) - len(entry_line.lstrip(" ")[2:].lstrip(" ")))
        new = [
            f"{pad}- authority: {aid}\n",
            f"{inner}block: {block}\n",
            f"{inner}vlans: [{vlans[0]}, {vlans[1]}]\n",
        ]
    if end > 0 and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join(lines[:end] + new + lines[end:])


def check_provider_edit(old: ProviderFile, new_text: str, aid: str) -> None:
    """The edited ksm.yml loads and differs from the old one by exactly the new plan entry."""
    doc = load_yaml_text(new_text, PROVIDER_FILE)
    new = ProviderFile.model_validate(doc.data)
    entries = new.address_plan.authorities
    if entries[:-1] != old.address_plan.authorities or entries[-1].authority != aid:
        raise KsmError(
            "could not add the address plan entry to ksm.yml safely",
            "add it by hand under address_plan.authorities and rerun",
        )
    if new.model_copy(update={"address_plan": old.address_plan}) != old:
        raise KsmError("editing ksm.yml would change more than the address plan", "add the entry by hand")


def plan_onboarding(
    inventory: Inventory, provider_text: str, aid: str, name: str, ags: str | None
) -> Onboarding:
    """Everything onboarding *aid* writes, computed without touching a file."""
    check_request(aid, name, ags)
    plan = inventory.provider.address_plan
    if aid in inventory.authorities or any(b.authority == aid for b in plan.authorities):
        raise KsmError(f"authority '{aid}' already exists in the inventory", "choose another id")
    block = next_free_block(plan)
    vlans = next_vlan_range(plan)
    asn = next_asn(inventory)
    link = next_core_link(inventory)
    authority_text = render_authority(inventory, aid, name, ags, block, vlans, asn, link)
    provider_text_new = insert_plan_entry(
        provider_text, inventory.provider_source, len(plan.authorities), aid, block, vlans
    )
    check_provider_edit(inventory.provider, provider_text_new, aid)
    return Onboarding(aid, block, vlans, asn, link, authority_text, provider_text_new)


def write_onboarding(root: Path, onboarding: Onboarding, check: Callable[[Path], list[Problem]]) -> Path:
    """Write the authority file and ksm.yml; if *check* finds problems, restore both and raise."""
    target = root / f"{onboarding.authority_id}.yml"
    provider_path = root / PROVIDER_FILE
    old_provider = provider_path.read_text(encoding="utf-8")
    try:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(onboarding.authority_text)
    except FileExistsError:
        raise KsmError(f"{target} already exists", "choose another id or remove the file") from None
    try:
        write_atomic(provider_path, onboarding.provider_text)
        problems = check(root)
    except BaseException:
        write_atomic(provider_path, old_provider)
        target.unlink()
        raise
    if problems:
        write_atomic(provider_path, old_provider)
        target.unlink()
        raise KsmError(
            "the onboarded inventory does not validate; nothing was changed:\n"
            + "\n".join(str(p) for p in problems),
            "report this as a bug of `ksm onboard`",
        )
    return target
