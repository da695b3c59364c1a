"""The provider core's routers: their links to the authorities, derived, and their intended configs.

A core router (``core_routers`` in ksm.yml) lists no links. Each link is read from the authority
files: an authority's FRR router with a BGP neighbour in the provider's AS whose address is the
*first* usable address of a /30 that lies in a core router's ``transfer`` range, while the router
holds the *second* usable address of that /30 on a routed interface. For ``wan0 10.40.101.2/30``
with the neighbour ``10.40.101.1`` (AS 65000) the core router whose transfer range holds
10.40.101.0/30 gets interface ``tr64`` (the /30's index in 10.40.100.0/22) with ``10.40.101.1/30``
and a BGP neighbour 10.40.101.2 in the authority's AS that may announce only the authority's block.

So onboarding a commune edits only the commune's file and ksm.yml's address plan; the core's
intended configuration gains the new neighbour by itself. A peering that does not fit the form is
not a link here; ``validate/core_rules.py`` reports it. The core is the provider's own device: ksm
renders (and checks) its configuration, it does not push it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import (
    BgpNeighbor,
    CoreRouter,
    DeviceRole,
    Interface,
    InterfaceMode,
    NetworkDevice,
    Platform,
)
from ksm_provision.network.filters import TemplateValueError
from ksm_provision.network.intended import RenderError, natural_key
from ksm_provision.network.jinja_env import environment, template_name

#: Prefix length of a transfer network: the core takes its first usable address, the authority the second.
TRANSFER_PREFIX = 30
#: ``templates/<platform>/core.j2``
CORE_ROLE = "core"
#: The one outbound prefix list of every core router: the default route and the provider core.
TO_AUTHORITIES = "TO-AUTHORITIES"
#: ``ksm render network`` writes the core routers' configs to ``OUT/<this>/<hostname>.conf``. Authority
#: ids start with a letter, so this directory is never an authority's.
CORE_DIR = "_core"


# --------------------------------------------------------------------------- transfer networks


def transfer_ends(network: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The core's and the authority's address of a transfer /30: its first and second usable address.

    >>> transfer_ends(ipaddress.IPv4Network("10.40.101.0/30"))
    (IPv4Address('10.40.101.1'), IPv4Address('10.40.101.2'))
    """
    return network.network_address + 1, network.network_address + 2


def transfer_index(transfer: ipaddress.IPv4Network, network: ipaddress.IPv4Network) -> int:
    """The position of the /30 *network* in the *transfer* range (0 for its first /30).

    >>> transfer_index(ipaddress.IPv4Network("10.40.100.0/22"), ipaddress.IPv4Network("10.40.101.0/30"))
    64
    """
    return (int(network.network_address) - int(transfer.network_address)) >> (32 - TRANSFER_PREFIX)


def interface_name(index: int) -> str:
    """The core router's interface of the transfer /30 number *index*: stable, at most 15 characters.

    The name follows the /30, not the authority, so renaming nothing ever moves a link; a /8 transfer
    range (2^22 /30s) still gives ``tr4194303``, well inside Linux's limit of 15 characters.

    >>> interface_name(64)
    'tr64'
    """
    return f"tr{index}"


def core_router_of(inventory: Inventory, address: ipaddress.IPv4Address) -> tuple[int, CoreRouter] | None:
    """The core router (with its index in ksm.yml) whose transfer range holds *address*."""
    for index, core in enumerate(inventory.provider.core_routers):
        if address in core.transfer:
            return index, core
    return None


# --------------------------------------------------------------------------- peerings as written


@dataclass(frozen=True)
class CorePeering:
    """A BGP neighbour in the provider's AS on an authority router, as the authority file writes it."""

    authority: str
    device_index: int
    neighbour_index: int
    device: NetworkDevice
    neighbour: BgpNeighbor
    #: The routed interface (index, model) whose subnet holds the neighbour, if any.
    interface: tuple[int, Interface] | None
    #: The core router (index, model) whose transfer range holds the neighbour, if any.
    core: tuple[int, CoreRouter] | None

    @property
    def neighbour_loc(self) -> tuple[str | int, ...]:
        return ("network_devices", self.device_index, "routing", "bgp_neighbors", self.neighbour_index)

    def fault(self) -> str | None:
        """Why this peering is no proper transfer link, or None when it is one (or is not connected).

        A neighbour on no connected subnet is reported by the intent and tenant rules.
        """
        if self.interface is None or self.core is None:
            return None
        address = self.interface[1].address
        assert address is not None  # a routed interface has an address (model validation)
        network = address.network
        if network.prefixlen != TRANSFER_PREFIX:
            return f"is on {network}, a /{network.prefixlen}; a transfer network to the core is a /30"
        if not network.subnet_of(self.core[1].transfer):
            return f"is on {network}, which reaches beyond the transfer range {self.core[1].transfer}"
        core_side, authority_side = transfer_ends(network)
        ends = (self.neighbour.address, address.ip)
        if ends == (core_side, authority_side):
            return None
        how = "are the wrong way round" if ends == (authority_side, core_side) else "do not fit"
        return (
            f"and interface '{self.interface[1].name}' {address} {how}: on the transfer network {network} "
            f"the core takes {core_side} (the first address), the authority's router {authority_side}"
        )


def is_router(device: NetworkDevice) -> bool:
    return device.platform is Platform.FRR and device.role is DeviceRole.ROUTER


def connected_interface(
    device: NetworkDevice, address: ipaddress.IPv4Address
) -> tuple[int, Interface] | None:
    for index, iface in enumerate(device.interfaces):
        if (
            iface.mode is InterfaceMode.ROUTED
            and iface.address is not None
            and address in iface.address.network
        ):
            return index, iface
    return None


def core_peerings(inventory: Inventory) -> Iterator[CorePeering]:
    """Every BGP neighbour with the provider's AS on an authority's FRR router, in file order."""
    provider_asn = inventory.provider.provider.bgp_asn
    for aid, authority in inventory.authorities.items():
        for i, device in enumerate(authority.network_devices):
            if not is_router(device) or device.routing is None:
                continue
            for k, neighbour in enumerate(device.routing.bgp_neighbors):
                if neighbour.remote_as != provider_asn:
                    continue
                yield CorePeering(
                    aid,
                    i,
                    k,
                    device,
                    neighbour,
                    connected_interface(device, neighbour.address),
                    core_router_of(inventory, neighbour.address),
                )


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class CoreLink:
    """One transfer /30 between a core router and an authority router."""

    core: str
    index: int
    network: ipaddress.IPv4Network
    authority: str
    authority_name: str
    authority_asn: int
    blocks: tuple[ipaddress.IPv4Network, ...]
    router: str
    router_interface: str

    @property
    def interface(self) -> str:
        """The core router's interface of the link, e.g. ``tr64``."""
        return interface_name(self.index)

    @property
    def core_address(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface((transfer_ends(self.network)[0], TRANSFER_PREFIX))

    @property
    def authority_address(self) -> ipaddress.IPv4Address:
        return transfer_ends(self.network)[1]

    @property
    def prefix_list(self) -> str:
        """The core's inbound prefix list of the link's authority, e.g. ``FROM-LUP``."""
        return from_authority(self.authority)


def from_authority(authority: str) -> str:
    return f"FROM-{authority.upper()}"


def core_links(inventory: Inventory) -> dict[str, list[CoreLink]]:
    """Every core router's links (by hostname, each router present), ordered by interface name."""
    links: dict[str, list[CoreLink]] = {core.hostname: [] for core in inventory.provider.core_routers}
    plan = inventory.provider.address_plan.authorities
    for peering in core_peerings(inventory):
        if peering.interface is None or peering.core is None or peering.fault() is not None:
            continue
        address = peering.interface[1].address
        assert address is not None
        core = peering.core[1]
        authority = inventory.authorities[peering.authority].authority
        links[core.hostname].append(
            CoreLink(
                core=core.hostname,
                index=transfer_index(core.transfer, address.network),
                network=address.network,
                authority=peering.authority,
                authority_name=authority.name,
                authority_asn=authority.bgp_asn,
                blocks=tuple(b.block for b in plan if b.authority == peering.authority),
                router=peering.device.hostname,
                router_interface=peering.interface[1].name,
            )
        )
    for found in links.values():
        found.sort(key=lambda link: natural_key(link.interface))
    return links


# --------------------------------------------------------------------------- template context


@dataclass(frozen=True)
class CoreView:
    """What ``templates/frr/core.j2`` prints for one core router."""

    router: CoreRouter
    asn: int
    core: ipaddress.IPv4Network
    links: tuple[CoreLink, ...]
    to_authorities: str = TO_AUTHORITIES

    @property
    def neighbours(self) -> list[CoreLink]:
        """The links in FRR's order of BGP neighbours: by address."""
        return sorted(self.links, key=lambda link: int(link.authority_address))

    @property
    def prefix_lists(self) -> list[tuple[str, tuple[ipaddress.IPv4Network, ...]]]:
        """Each linked authority's inbound prefix list with its block(s), by name (FRR's order)."""
        lists = {link.prefix_list: link.blocks for link in self.links}
        return sorted(lists.items())


def core_context(inventory: Inventory, router: CoreRouter, links: list[CoreLink]) -> dict[str, object]:
    return {
        "core": CoreView(
            router=router,
            asn=inventory.provider.provider.bgp_asn,
            core=inventory.provider.address_plan.core,
            links=tuple(links),
        ),
        "provider": inventory.provider.provider,
    }


# --------------------------------------------------------------------------- rendering


def _fail(inventory: Inventory, index: int, message: str, hint: str) -> RenderError:
    source = inventory.provider_source
    router = inventory.provider.core_routers[index]
    line = source.line_of(("core_routers", index))
    return RenderError(f"{source.file}:{line}: core router '{router.hostname}': {message}", hint)


def render_core(inventory: Inventory, templates: Path | None = None) -> dict[str, str]:
    """The intended configuration of every core router of ksm.yml, by hostname.

    Needs the whole inventory: a core router peers with every authority. The configs hold no secret.
    """
    links = core_links(inventory)
    configs: dict[str, str] = {}
    for index, router in enumerate(inventory.provider.core_routers):
        name = template_name(str(router.platform), CORE_ROLE)
        try:
            template = environment(templates).get_template(name)
            configs[router.hostname] = template.render(
                core_context(inventory, router, links[router.hostname])
            )
        except jinja2.TemplateNotFound:
            raise _fail(
                inventory,
                index,
                f"no template {name} for platform '{router.platform}'",
                f"core routers are rendered from templates/{template_name(Platform.FRR.value, CORE_ROLE)}: "
                "use platform: frr",
            ) from None
        except jinja2.UndefinedError as exc:
            raise _fail(
                inventory,
                index,
                f"template {name} uses an undefined value: {exc.message}",
                "every value a template prints must be in its context (StrictUndefined)",
            ) from None
        except TemplateValueError as exc:
            raise _fail(
                inventory, index, f"template {name}: {exc}", "fix the value in the inventory"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"templates/{exc.filename or name}:{exc.lineno}: {exc.message}", "fix the template syntax"
            ) from None
    return configs


def core_config_path(out: Path, hostname: str) -> Path:
    """Where ``ksm render network`` writes a core router's config: ``OUT/_core/<hostname>.conf``."""
    return out / CORE_DIR / f"{hostname}.conf"


# --------------------------------------------------------------------------- allocation


def taken_in_core(inventory: Inventory) -> list[tuple[int, int]]:
    """Address intervals a new transfer /30 must avoid: every routed subnet and BGP neighbour of
    every authority device, and the core routers' router ids; sorted."""
    taken = [(int(core.router_id), int(core.router_id)) for core in inventory.provider.core_routers]
    for authority in inventory.authorities.values():
        for device in authority.network_devices:
            for iface in device.interfaces:
                if iface.mode is InterfaceMode.ROUTED and iface.address is not None:
                    start = int(iface.address.network.network_address)
                    taken.append((start, start + iface.address.network.num_addresses - 1))
            for neighbour in device.routing.bgp_neighbors if device.routing else []:
                taken.append((int(neighbour.address), int(neighbour.address)))
    return sorted(taken)


def free_transfer_in(
    transfer: ipaddress.IPv4Network, taken: list[tuple[int, int]]
) -> ipaddress.IPv4Network | None:
    """The first /30 of *transfer* that overlaps nothing of *taken* (sorted intervals).

    >>> free_transfer_in(ipaddress.IPv4Network("10.40.100.0/29"), [(0, 0), (0x0A286402, 0x0A286402)])
    IPv4Network('10.40.100.4/30')
    """
    if transfer.prefixlen > TRANSFER_PREFIX:
        return None
    size = 1 << (32 - TRANSFER_PREFIX)
    start = int(transfer.network_address)
    end = start + transfer.num_addresses - 1
    for low, high in taken:
        if high < start:
            continue
        if low > start + size - 1:
            break
        start = -(-(high + 1) // size) * size  # the next aligned /30 after what is taken
    if start + size - 1 > end:
        return None
    return ipaddress.IPv4Network((start, TRANSFER_PREFIX))


def next_free_transfer(inventory: Inventory) -> tuple[CoreRouter, ipaddress.IPv4Network] | None:
    """The first free transfer /30 of the first core router (in ksm.yml's order) that has one.

    The first core router is filled before the next is used: predictable, and a second core router
    takes new communes only once the first one's range is full (or when listed first).
    """
    taken = taken_in_core(inventory)
    for core in inventory.provider.core_routers:
        found = free_transfer_in(core.transfer, taken)
        if found is not None:
            return core, found
    return None
