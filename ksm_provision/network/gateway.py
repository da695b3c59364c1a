"""FRR routers' Linux side: the nftables ruleset and the DHCP relay (dhcrelay) settings.

FRR routes but neither filters nor relays DHCP; on the authorities' FRR routers (platform ``frr``,
role ``router``) that is Linux's job: nftables enforces :mod:`ksm_provision.network.policy` and
isc-dhcp-relay relays the client networks' DHCP to their servers.

The ruleset is ``templates/frr/nftables.j2`` rendered through the device Jinja environment. It owns
one table, ``inet ksm``, which it creates, deletes and recreates in one atomic ``nft -f`` transaction,
so other tables (fail2ban, a container runtime...) survive a reload. Nothing from the inventory is
printed as text except through a typed value: addresses and networks (``ipaddress``), ports (int),
interface names (checked against Linux's rules here) and comments (:func:`nft_comment`: a fixed
ASCII alphabet that cannot close the comment's string or start a new statement).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import DeviceRole, NetworkPurpose, Platform
from ksm_provision.network.filters import TemplateValueError, ascii_text
from ksm_provision.network.intended import RenderError
from ksm_provision.network.jinja_env import environment
from ksm_provision.network.policy import (
    ANY,
    Protocol,
    RouterPolicy,
    Rule,
    own_networks,
    relay_interfaces,
    router_policy,
)

TEMPLATE = "frr/nftables.j2"

#: A Linux interface name (IFNAMSIZ 16 with the NUL), in characters nft takes inside a quoted string.
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
#: What a comment may contain: no quote, backslash, semicolon, hash or control character.
_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:()/+=<>@_'-]")
#: nft limits comments to 128 bytes.
COMMENT_MAX = 120


@dataclass(frozen=True)
class GatewayConfig:
    hostname: str
    #: Complete /etc/nftables.conf text; it replaces only ``table inet ksm``, other tables survive.
    nftables: str
    #: DHCP servers dhcrelay forwards to (dotted quads), sorted.
    relay_servers: tuple[str, ...]
    #: Interfaces dhcrelay listens on (client side and towards the servers), sorted.
    relay_interfaces: tuple[str, ...]


def nft_comment(text: str) -> str:
    """Text for ``comment "..."``: one line of safe ASCII, at most :data:`COMMENT_MAX` characters.

    >>> nft_comment('clients → fileserver "fs01"; flush ruleset\\nx')
    'clients -> fileserver ?fs01?? flush ruleset x'
    """
    flat = " ".join(ascii_text(text.replace("→", "->")).split())
    return _COMMENT_UNSAFE.sub("?", flat)[:COMMENT_MAX].rstrip()


# --------------------------------------------------------------------------- rule -> nft syntax


@dataclass(frozen=True)
class NamedSet:
    name: str
    elements: tuple[str, ...]


@dataclass(frozen=True)
class NftRule:
    #: The match expression, built only from typed values.
    match: str
    comment: str


def _address(network: ipaddress.IPv4Network) -> str:
    return str(network.network_address) if network.prefixlen == 32 else str(network)


def _group(items: Iterable[str]) -> str:
    values = list(items)
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


class _Syntax:
    """Turns policy rules into nft statements, naming the networks that recur."""

    def __init__(self, sets: tuple[NamedSet, ...]) -> None:
        self.sets = sets
        self.by_elements = {s.elements: s.name for s in sets}

    def addresses(self, networks: tuple[ipaddress.IPv4Network, ...]) -> str:
        elements = tuple(_address(n) for n in networks)
        name = self.by_elements.get(elements)
        return f"@{name}" if name else _group(elements)

    @staticmethod
    def protocol(rule: Rule) -> list[str]:
        ports = [str(p) for p in rule.ports]
        if rule.protocol in (Protocol.TCP, Protocol.UDP):
            return [f"{rule.protocol} dport {_group(ports)}"] if ports else [f"meta l4proto {rule.protocol}"]
        if rule.protocol is Protocol.ICMP_ECHO:
            return ["icmp type echo-request"]
        if rule.protocol is Protocol.OSPF:
            return ["ip protocol 89"]
        return []

    def rule(self, rule: Rule) -> NftRule:
        parts: list[str] = []
        if rule.interfaces:
            parts.append("iifname " + _group(f'"{name}"' for name in rule.interfaces))
        if rule.sources != (ANY,):
            parts.append(f"ip saddr {self.addresses(rule.sources)}")
        if rule.destinations != (ANY,):
            parts.append(f"ip daddr {self.addresses(rule.destinations)}")
        parts.extend(self.protocol(rule))
        if not parts:
            parts.append("meta nfproto ipv4")
        return NftRule(" ".join(parts), nft_comment(rule.reason))


def _named_sets(inventory: Inventory, authority: str) -> tuple[NamedSet, ...]:
    networks = inventory.authorities[authority].networks
    plan = inventory.provider.address_plan

    def collapsed(nets: Iterable[ipaddress.IPv4Network]) -> tuple[str, ...]:
        return tuple(_address(n) for n in sorted(ipaddress.collapse_addresses(nets)))

    candidates = [
        NamedSet("admin_nets", collapsed(plan.management)),
        NamedSet("own_nets", collapsed(own_networks(inventory, authority))),
        NamedSet("client_nets", collapsed(n.subnet for n in networks if n.purpose is NetworkPurpose.CLIENTS)),
        NamedSet(
            "mgmt_nets", collapsed(n.subnet for n in networks if n.purpose is NetworkPurpose.MANAGEMENT)
        ),
    ]
    return tuple(s for s in candidates if s.elements)


# --------------------------------------------------------------------------- per router


def _check_interface_names(inventory: Inventory, device: Device) -> None:
    for i, iface in enumerate(device.model.interfaces):
        if not _IFNAME.match(iface.name):
            source = inventory.source_of(device.authority)
            line = source.line_of((*device.loc, "interfaces", i, "name"))
            raise RenderError(
                f"{source.file}:{line}: device '{device.hostname}': interface '{iface.name}' is no Linux "
                "interface name, which an FRR router's packet filter and DHCP relay need",
                "use at most 15 letters, digits, '.', '_' or '-', e.g. vlan110 or wan0",
            )


def _render(inventory: Inventory, device: Device, policy: RouterPolicy, templates: Path | None) -> str:
    sets = _named_sets(inventory, device.authority)
    syntax = _Syntax(sets)
    context = {
        "hostname": device.hostname,
        "authority": device.authority,
        "sets": sets,
        "input": [syntax.rule(r) for r in policy.input.rules],
        "forward": [syntax.rule(r) for r in policy.forward.rules],
    }
    source = inventory.source_of(device.authority)
    where = f"{source.file}:{source.line_of(device.loc)}: device '{device.hostname}'"
    try:
        return environment(templates).get_template(TEMPLATE).render(context)
    except jinja2.TemplateNotFound:
        raise RenderError(f"{where}: no template {TEMPLATE}", f"add templates/{TEMPLATE}") from None
    except (jinja2.UndefinedError, TemplateValueError) as exc:
        raise RenderError(f"{where}: template {TEMPLATE}: {exc}", "fix the value in the inventory") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"templates/{TEMPLATE}:{exc.lineno}: {exc.message}", "fix the template syntax"
        ) from None


def is_gateway(device: Device) -> bool:
    """FRR routers: their Linux side filters and relays."""
    return device.model.platform is Platform.FRR and device.model.role is DeviceRole.ROUTER


def gateway_config(inventory: Inventory, device: Device, templates: Path | None = None) -> GatewayConfig:
    """The gateway configuration of one FRR router."""
    if not is_gateway(device):
        raise RenderError(
            f"device '{device.hostname}' is {device.model.platform} {device.model.role}, not an FRR router",
            "only FRR routers get a gateway configuration (nftables, DHCP relay)",
        )
    _check_interface_names(inventory, device)
    policy = router_policy(inventory, device)
    relays = policy.relays
    return GatewayConfig(
        hostname=device.hostname,
        nftables=_render(inventory, device, policy, templates),
        relay_servers=tuple(str(a) for a in sorted({r.server_address for r in relays})),
        relay_interfaces=relay_interfaces(relays),
    )


def gateway_configs(inventory: Inventory, templates: Path | None = None) -> dict[str, GatewayConfig]:
    """Every FRR router's gateway configuration, by hostname."""
    return {d.hostname: gateway_config(inventory, d, templates) for d in inventory.devices if is_gateway(d)}
