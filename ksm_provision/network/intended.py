"""Device -> intended configuration text, rendered in-process from ``templates/<platform>/<role>.j2``.

The template context is built here from the typed inventory, so templates only print and format:
the site's VLANs with names, each port's VLANs, the management SVI, the effective NTP and syslog
settings (provider defaults < authority < site), the SNMPv3 user, OSPF and BGP facts. Secrets are
passed in (:class:`NetworkSecrets`) and never read by a template from anywhere else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ksm_provision.errors import KsmError, with_article
from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import (
    AuthorityFile,
    DeviceRole,
    Interface,
    InterfaceMode,
    Network,
    NetworkDevice,
    Platform,
    Settings,
    Site,
)
from ksm_provision.inventory.settings import merge_settings
from ksm_provision.network.capabilities import RoleSupport, model_ports, modes_text, roles_of, support
from ksm_provision.network.filters import TemplateValueError
from ksm_provision.network.jinja_env import environment, template_name
from ksm_provision.network.switch_context import IosClock, ios_clock, stp_vlan_list, trunk_allowed_lines
from ksm_provision.vault import NetworkSecrets

SNMP_GROUP = "KSM-MONITORING"
#: Names of the provider-wide switch VLANs (address_plan.native_vlan / parking_vlan).
NATIVE_VLAN_NAME = "NATIVE-UNUSED"
PARKING_VLAN_NAME = "PARKING"


class RenderError(KsmError):
    """A device template could not be rendered; the message names device, file:line and template."""


# --------------------------------------------------------------------------- template context


@dataclass(frozen=True)
class VlanView:
    id: int
    name: str
    #: The authority network of the VLAN; None for the provider's native and parking VLANs.
    network: Network | None


@dataclass(frozen=True)
class PortView:
    name: str
    description: str
    mode: str
    access_vlan: int | None
    trunk_vlans: tuple[int, ...]
    shutdown: bool
    #: An edge port (workplace, printer, server, parked): portfast, BPDU guard, storm control.
    edge: bool
    #: Native (untagged) VLAN of a trunk; None on access ports.
    native_vlan: int | None = None
    #: Faces a downstream access switch: ``spanning-tree guard root``.
    root_guard: bool = False

    @property
    def trunk_lines(self) -> tuple[str, ...]:
        """The allowed-VLAN lines of a trunk, wrapped with ``add`` lines as IOS prints them."""
        return trunk_allowed_lines(self.trunk_vlans)


@dataclass(frozen=True)
class ManagementView:
    vlan: int
    interface: ipaddress.IPv4Interface
    gateway: ipaddress.IPv4Address
    network: Network


@dataclass(frozen=True)
class SnmpView:
    user: str
    group: str
    auth: str
    priv: str
    location: str


@dataclass(frozen=True)
class RouterInterfaceView:
    name: str
    description: str
    address: ipaddress.IPv4Interface
    ospf: bool
    #: OSPF on a LAN: announce the subnet, but send no hellos to clients and servers.
    passive: bool
    point_to_point: bool
    shutdown: bool


@dataclass(frozen=True)
class BgpView:
    asn: int
    router_id: ipaddress.IPv4Address
    neighbors: tuple[tuple[str, int, str], ...]
    advertise: tuple[ipaddress.IPv4Network, ...]
    to_core: str
    from_core: str
    core: ipaddress.IPv4Network


@dataclass(frozen=True)
class RouterView:
    router_id: ipaddress.IPv4Address
    ospf_area: int
    interfaces: tuple[RouterInterfaceView, ...]
    static_routes: tuple[tuple[ipaddress.IPv4Network, ipaddress.IPv4Address, str], ...]
    bgp: BgpView | None

    @property
    def ospf(self) -> bool:
        return any(i.ospf for i in self.interfaces)

    @property
    def routes(self) -> list[tuple[ipaddress.IPv4Network, str]]:
        """Static routes and the blackholes that anchor advertised aggregates, in FRR's order."""
        routes = [(prefix, str(next_hop)) for prefix, next_hop, _ in self.static_routes]
        if self.bgp:
            routes += [(prefix, "blackhole 254") for prefix in self.bgp.advertise]
        return sorted(routes, key=lambda r: (int(r[0].network_address), r[0].prefixlen, r[1]))


def natural_key(name: str) -> tuple[object, ...]:
    """Interface names in the order routers list them: letters, then numbers by value.

    >>> sorted(["wan10", "vlan120", "wan2", "vlan110"], key=natural_key)
    ['vlan110', 'vlan120', 'wan2', 'wan10']
    """
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name) if part)


def site_settings(inventory: Inventory, authority: AuthorityFile, site: Site) -> Settings:
    """Effective settings of a site's gear: provider defaults < authority < site."""
    return merge_settings([inventory.provider.defaults, authority.settings, site.settings])


class _Context:
    """Builds one device's template context; errors name the device's file and line."""

    def __init__(self, inventory: Inventory, device: Device) -> None:
        self.inventory = inventory
        self.device = device
        self.authority = inventory.authorities[device.authority]
        self.networks = {n.id: n for n in self.authority.networks}

    def fail(self, message: str, hint: str, loc: tuple[str | int, ...] = ()) -> RenderError:
        source = self.inventory.source_of(self.device.authority)
        line = source.line_of((*self.device.loc, *loc))
        return RenderError(f"{source.file}:{line}: device '{self.device.hostname}': {message}", hint)

    def network(self, network_id: str, loc: tuple[str | int, ...]) -> Network:
        try:
            return self.networks[network_id]
        except KeyError:
            raise self.fail(
                f"unknown network '{network_id}'",
                f"use one of: {', '.join(sorted(self.networks))}",
                loc,
            ) from None

    def site(self) -> Site:
        model = self.device.model
        for site in self.authority.sites:
            if site.id == model.site:
                return site
        raise self.fail(f"unknown site '{model.site}'", "use the id of a site of the authority", ("site",))

    def vlans(self, model: NetworkDevice) -> list[VlanView]:
        """The authority's VLANs at the device's site, plus any a port of the device carries, plus
        the provider's native VLAN (of every trunk) and parking VLAN (of every unused port)."""
        wanted = {n.id for n in self.authority.networks if n.site == model.site}
        for i, iface in enumerate(model.interfaces):
            if iface.network:
                wanted.add(self.network(iface.network, ("interfaces", i, "network")).id)
            for net_id in iface.networks:
                wanted.add(self.network(net_id, ("interfaces", i, "networks")).id)
        nets = sorted((self.networks[n] for n in wanted), key=lambda n: n.vlan)
        plan = self.inventory.provider.address_plan
        views = [VlanView(n.vlan, n.name, n) for n in nets]
        views += [VlanView(plan.native_vlan, NATIVE_VLAN_NAME, None)]
        views += [VlanView(plan.parking_vlan, PARKING_VLAN_NAME, None)]
        return sorted(views, key=lambda v: v.id)

    def downstream_ports(self) -> set[str]:
        """Ports of this device that face an access switch: the peer end of its uplinks."""
        me = self.device.hostname
        ports = {
            uplink.peer_interface
            for other in self.authority.network_devices
            if other.role is DeviceRole.ACCESS_SWITCH and other.hostname != me
            for uplink in other.uplinks
            if uplink.peer == me
        }
        by_name = {d.hostname: d for d in self.authority.network_devices}
        for uplink in self.device.model.uplinks:
            peer = by_name.get(uplink.peer)
            if peer is not None and peer.role is DeviceRole.ACCESS_SWITCH:
                ports.add(uplink.interface)
        return ports

    def supported(self) -> RoleSupport:
        """What the device's template can configure (:mod:`capabilities`); validate reports it first."""
        model = self.device.model
        found = support(model.platform, model.role)
        if found is None:
            raise self.fail(
                f"no template for platform '{model.platform}' and role '{model.role}'",
                f"platform '{model.platform}' supports the roles: {', '.join(roles_of(model.platform))}",
                ("role",),
            )
        return found

    def check_mode(self, index: int, iface: Interface) -> None:
        modes = self.supported().modes
        if iface.mode not in modes:
            raise self.fail(
                f"interface {iface.name} is {iface.mode}, which {with_article(str(self.device.model.role))} "
                f"on {self.device.model.platform} does not support",
                f"its interfaces are {modes_text(modes)}",
                ("interfaces", index, "mode"),
            )
        if iface.ospf and not self.supported().routing:
            raise self.fail(
                f"interface {iface.name} has `ospf: true`, which {with_article(str(self.device.model.role))} "
                "does not configure",
                "remove `ospf: true`; OSPF runs on a router's routed interfaces",
                ("interfaces", index, "ospf"),
            )

    def port(self, index: int, iface: Interface, downstream: frozenset[str] = frozenset()) -> PortView:
        self.check_mode(index, iface)
        access_vlan = None
        trunk: tuple[int, ...] = ()
        native = None
        if iface.mode is InterfaceMode.ACCESS and iface.network:
            access_vlan = self.network(iface.network, ("interfaces", index, "network")).vlan
        elif iface.mode is InterfaceMode.TRUNK:
            trunk = tuple(
                sorted({self.network(n, ("interfaces", index, "networks")).vlan for n in iface.networks})
            )
            native = self.inventory.provider.address_plan.native_vlan
        return PortView(
            iface.name,
            iface.description,
            str(iface.mode),
            access_vlan,
            trunk,
            iface.shutdown,
            edge=iface.mode is InterfaceMode.ACCESS,
            native_vlan=native,
            root_guard=iface.mode is InterfaceMode.TRUNK and iface.name in downstream,
        )

    def ports(self, model: NetworkDevice) -> list[PortView]:
        """Every front-panel port of the model in port order: the inventory's ports as described,
        the others shut and parked (access ports in the parking VLAN, hardened like edge ports).
        Without a known model only the inventory's ports are rendered (validate reports it)."""
        downstream = frozenset(self.downstream_ports())
        listed = {iface.name: self.port(i, iface, downstream) for i, iface in enumerate(model.interfaces)}
        parking = self.inventory.provider.address_plan.parking_vlan
        views = []
        for name in model_ports(model.model) or ():
            parked = PortView(name, "", "access", parking, (), True, edge=True)
            views.append(listed.pop(name) if name in listed else parked)
        return views + sorted(listed.values(), key=lambda p: natural_key(p.name))

    def management(self, model: NetworkDevice) -> ManagementView:
        net = self.network(model.management.network, ("management", "network"))
        interface = ipaddress.IPv4Interface(f"{model.management.address}/{net.subnet.prefixlen}")
        return ManagementView(net.vlan, interface, net.gateway, net)

    def clock(self, settings: Settings) -> IosClock | None:
        """The switch's clock lines for the effective time zone (validate refuses unmapped zones)."""
        if not settings.timezone:
            return None
        found = ios_clock(settings.timezone)
        if found is None:
            raise self.fail(
                f"time zone '{settings.timezone}' has no Cisco IOS clock mapping",
                "use a time zone ksm maps for IOS, e.g. Europe/Berlin",
                ("site",),
            )
        return found

    def router(self, model: NetworkDevice) -> RouterView:
        routing = model.routing
        lan_subnets = {n.subnet for n in self.authority.networks}
        interfaces = []
        for i, iface in enumerate(model.interfaces):
            self.check_mode(i, iface)
            if iface.address is None:
                raise self.fail(
                    f"interface {iface.name} has no address; a router's interfaces need `mode: routed`",
                    "e.g. {name: vlan110, mode: routed, address: 10.41.0.1/22}",
                    ("interfaces", i),
                )
            interfaces.append(
                RouterInterfaceView(
                    name=iface.name,
                    description=iface.description,
                    address=iface.address,
                    ospf=iface.ospf,
                    passive=iface.ospf and iface.address.network in lan_subnets,
                    point_to_point=iface.address.network.prefixlen >= 30,
                    shutdown=iface.shutdown,
                )
            )
        router_id = (routing.router_id if routing else None) or model.management.address
        bgp = None
        if routing and routing.bgp_neighbors:
            tag = self.device.authority.upper()
            bgp = BgpView(
                asn=self.authority.authority.bgp_asn,
                router_id=router_id,
                neighbors=tuple((str(n.address), n.remote_as, n.description) for n in routing.bgp_neighbors),
                advertise=tuple(routing.advertise),
                to_core=f"{tag}-TO-CORE",
                from_core=f"{tag}-FROM-CORE",
                core=self.inventory.provider.address_plan.core,
            )
        return RouterView(
            router_id=router_id,
            ospf_area=routing.ospf_area if routing else 0,
            interfaces=tuple(sorted(interfaces, key=lambda i: natural_key(i.name))),
            static_routes=tuple(
                (r.prefix, r.next_hop, r.description) for r in (routing.static_routes if routing else [])
            ),
            bgp=bgp,
        )

    def build(self, secrets: NetworkSecrets) -> dict[str, object]:
        model = self.device.model
        if not self.supported().routing and model.routing is not None:
            raise self.fail(
                f"{with_article(str(model.role))} on {model.platform} has no routing to configure",
                "remove `routing:`; static routes, BGP and OSPF belong to a router",
                ("routing",),
            )
        site = self.site()
        settings = site_settings(self.inventory, self.authority, site)
        context: dict[str, object] = {
            "device": model,
            "authority": self.authority.authority,
            "provider": self.inventory.provider.provider,
            "site": site,
            "settings": settings,
            "network_settings": self.authority.network_settings,
            "banner": self.authority.network_settings.banner,
        }
        if model.platform is Platform.FRR:
            context["router"] = self.router(model)
            return context
        vlans = self.vlans(model)
        context.update(
            vlans=vlans,
            stp_vlans=stp_vlan_list(v.id for v in vlans if v.network is not None),
            ports=self.ports(model),
            clock=self.clock(settings),
            management=self.management(model),
            snmp=SnmpView(
                user=self.authority.network_settings.snmp_user,
                group=SNMP_GROUP,
                auth=secrets.snmp_auth,
                priv=secrets.snmp_priv,
                location=site.name,
            ),
        )
        return context


def device_context(inventory: Inventory, device: Device, secrets: NetworkSecrets) -> dict[str, object]:
    return _Context(inventory, device).build(secrets)


# --------------------------------------------------------------------------- rendering


def render_device(
    inventory: Inventory,
    device: Device,
    secrets: NetworkSecrets,
    templates: Path | None = None,
) -> str:
    """The intended configuration of *device*, secrets included (keep it in memory)."""
    model = device.model
    if secrets.authority != device.authority:
        raise RenderError(
            f"device '{device.hostname}' of authority '{device.authority}' was given the secrets of "
            f"'{secrets.authority}'",
            "each device is rendered with its own authority's vault only",
        )
    name = template_name(str(model.platform), str(model.role))
    context_builder = _Context(inventory, device)
    context = context_builder.build(secrets)
    try:
        template = environment(templates).get_template(name)
        return template.render(context)
    except jinja2.TemplateNotFound:
        raise context_builder.fail(
            f"no template {name} for platform '{model.platform}' and role '{model.role}'",
            f"add templates/{name} or use a supported role: {', '.join(r.value for r in DeviceRole)}",
            ("role",),
        ) from None
    except jinja2.UndefinedError as exc:
        raise context_builder.fail(
            f"template {name} uses an undefined value: {exc.message}",
            "every value a template prints must be in its context (StrictUndefined)",
        ) from None
    except TemplateValueError as exc:
        raise context_builder.fail(f"template {name}: {exc}", "fix the value in the inventory") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"templates/{exc.filename or name}:{exc.lineno}: {exc.message}", "fix the template syntax"
        ) from None


SecretsFor = Callable[[str], NetworkSecrets]


def render_all(
    inventory: Inventory,
    secrets_for: SecretsFor | None = None,
    templates: Path | None = None,
) -> dict[str, str]:
    """Intended config of every device of *inventory*, by hostname, rendered in-process.

    Without *secrets_for* the configs carry ``********`` where secrets go: what
    ``ksm render network`` writes, needing no vault key.
    """
    lookup = secrets_for or NetworkSecrets.placeholder
    cache: dict[str, NetworkSecrets] = {}
    configs: dict[str, str] = {}
    for device in inventory.devices:
        if device.authority not in cache:
            cache[device.authority] = lookup(device.authority)
        configs[device.hostname] = render_device(inventory, device, cache[device.authority], templates)
    return configs
