"""Rules about DHCP service within one authority: who serves which network, and with what.

The role ``dhcp`` declares each served network with its pool (``dhcp:``) and one dynamic range per
client range, and reservations for ``clients:`` entries. These rules make sure that every network
is served at most once, that a served network has something to hand out, and that a pool is served.
References to unknown networks and a ``dhcp:`` section without the role are reported by
:mod:`authority_rules`; these rules skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ksm_provision.errors import Problem
from ksm_provision.inventory.models import ServerRole
from ksm_provision.inventory.source import Loc
from ksm_provision.validate.spans import has_broadcast, ip_text
from ksm_provision.validate.view import AuthorityView, NetInfo

Rule = Callable[[AuthorityView], list[Problem]]

#: Size of the example pool a hint proposes.
EXAMPLE_POOL_SIZE = 100


@dataclass(frozen=True, slots=True)
class Serving:
    """One entry of a server's ``dhcp.serves``: which server claims which known network, and where."""

    server: str
    server_index: int
    net: NetInfo
    loc: Loc


def servings(view: AuthorityView) -> Iterator[Serving]:
    """Every ``dhcp.serves`` entry that names a known network, in file order."""
    for i, server in enumerate(view.model.servers):
        if server.dhcp is None:
            continue
        for k, network_id in enumerate(server.dhcp.serves):
            net = view.networks.get(network_id)
            if net is not None:
                yield Serving(server.hostname, i, net, ("servers", i, "dhcp", "serves", k))


def served_once(view: AuthorityView) -> list[Problem]:
    """No network is served by two DHCP servers (both would hand out the same addresses)."""
    first: dict[str, Serving] = {}
    problems: list[Problem] = []
    for serving in servings(view):
        network_id = serving.net.model.id
        earlier = first.setdefault(network_id, serving)
        if earlier is serving:
            continue
        if earlier.server_index == serving.server_index:
            message = f"server '{serving.server}' lists network '{network_id}' twice in dhcp.serves"
            hint = "list each network once"
        else:
            message = (
                f"server '{serving.server}' serves network '{network_id}', which server "
                f"'{earlier.server}' (line {view.line(earlier.loc)}) already serves"
            )
            hint = (
                "one DHCP server per network: two would hand out the same addresses (no failover is "
                f"configured); remove '{network_id}' from the dhcp.serves of one of them"
            )
        problems.append(view.problem(serving.loc, message, hint))
    return problems


def has_something_to_hand_out(view: AuthorityView, network_id: str) -> bool:
    """A pool, a client range (a dynamic range) or a client (a reservation) in the network."""
    a = view.model
    net = view.networks[network_id]
    return (
        net.model.dhcp is not None
        or any(r.network == network_id for r in a.client_ranges)
        or any(c.network == network_id for c in a.clients)
    )


def served_networks_hand_out(view: AuthorityView) -> list[Problem]:
    """A served network has a pool, a client range or a client: otherwise nothing is handed out."""
    problems: list[Problem] = []
    for serving in servings(view):
        network = serving.net.model
        if has_something_to_hand_out(view, network.id):
            continue
        problems.append(
            view.problem(
                serving.loc,
                f"server '{serving.server}' serves network '{network.id}', which has no DHCP pool, no "
                "client range and no client: the server has nothing to hand out there",
                f"give network '{network.id}' (line {view.line(('networks', serving.net.index))}) a pool, "
                f"e.g. dhcp: {example_pool(view, serving.net)}, or a client range; or remove "
                f"'{network.id}' from dhcp.serves",
            )
        )
    return problems


def example_pool(view: AuthorityView, net: NetInfo) -> str:
    """``{start: A, end: B}``: the start of the largest run of host addresses that nothing uses."""
    runs = list(free_runs(view, net))
    start, end = max(runs, key=lambda run: run[1] - run[0]) if runs else (net.bounds[0], net.bounds[0])
    return f"{{start: {ip_text(start)}, end: {ip_text(min(end, start + EXAMPLE_POOL_SIZE - 1))}}}"


def free_runs(view: AuthorityView, net: NetInfo) -> Iterator[tuple[int, int]]:
    """Maximal runs of host addresses of *net* outside everything the file uses."""
    broadcast = has_broadcast(net.model.subnet.prefixlen)
    cursor, high = net.bounds[0] + broadcast, net.bounds[1] - broadcast
    for start, end in view.taken:
        if start > high:
            break
        if start > cursor:
            yield cursor, start - 1
        cursor = max(cursor, end + 1)
    if cursor <= high:
        yield cursor, high


def pools_served(view: AuthorityView) -> list[Problem]:
    """A network with a DHCP pool is served by a DHCP server of the authority."""
    served = {serving.net.model.id for serving in servings(view)}
    dhcp_servers = [(i, s.hostname) for i, s in enumerate(view.model.servers) if ServerRole.DHCP in s.roles]
    problems: list[Problem] = []
    for net in view.networks.values():
        network = net.model
        if network.dhcp is None or network.id in served:
            continue
        if dhcp_servers:
            i, hostname = dhcp_servers[0]
            hint = (
                f"add it to a server's dhcp.serves, e.g. server '{hostname}' "
                f"(line {view.line(('servers', i))}): dhcp: {{serves: [..., {network.id}]}}"
            )
        else:
            hint = f"add a server with roles: [dhcp] and dhcp: {{serves: [{network.id}]}}, or remove the pool"
        problems.append(
            view.problem(
                ("networks", net.index, "dhcp"),
                f"network '{network.id}' has a DHCP pool {network.dhcp.start}–{network.dhcp.end}, but no "
                "DHCP server of the authority serves it",
                hint,
            )
        )
    return problems


RULES: tuple[Rule, ...] = (served_once, served_networks_hand_out, pools_served)


def check_dhcp(view: AuthorityView) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(view)]
