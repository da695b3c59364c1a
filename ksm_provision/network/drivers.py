"""hier_config drivers for ksm's platforms: the rules that make remediation match each CLI.

hier_config 3.7 ships a Cisco IOS driver but none for FRRouting. FRR's ``vtysh`` is an IOS-style
CLI, so the FRR driver starts from the IOS rules and adapts them where FRR differs: an interface
may carry several addresses (``ip address`` is not a replace-in-place command), sections close
with ``exit`` at column 0, and ``show running-config`` prints an ``frr version`` line.

Idempotent commands are those the device *replaces* when given a new value (``hostname B``
replaces ``hostname A``): for them hier_config sends only the new line instead of ``no`` + line.
"""

from __future__ import annotations

from hier_config import HConfig
from hier_config.models import IdempotentCommandsRule, MatchRule, OrderingRule, PerLineSubRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules

from ksm_provision.network.filters import vlan_list

MAX_VLAN = 4094
_ALLOWED = "switchport trunk allowed vlan "
_ALLOWED_ADD = "switchport trunk allowed vlan add "


def _vlan_ids(text: str) -> set[int] | None:
    """The ids of an IOS VLAN list such as ``10,20-22``; None if it is not one (``none``, ``all``)."""
    ids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        ids.update(range(int(low), int(high or low) + 1))
    return ids if ids and min(ids) >= 1 and max(ids) <= MAX_VLAN else None


def merge_allowed_vlan_lines(config: HConfig) -> None:
    """Join a trunk's ``switchport trunk allowed vlan`` line and its ``... add`` continuation lines.

    IOS prints a long allowed list over several lines (``switchport trunk allowed vlan 10,20`` then
    ``switchport trunk allowed vlan add 30,40``). hier_config 3.7's IOS driver keeps them as separate
    children, so a changed VLAN set would be remediated by sending one ``add`` line: VLANs that
    should go would stay allowed. Merged into one line, a change is the full new list, which
    replaces the old one on the device (the command is idempotent), and an unchanged set compares
    equal whatever the wrapping.
    """
    for interface in config.get_children(startswith="interface "):
        adds = [c for c in interface.children if c.text.startswith(_ALLOWED_ADD)]
        base = next((c for c in interface.children if c.text.startswith(_ALLOWED) and c not in adds), None)
        if not adds or base is None:
            continue
        ids = _vlan_ids(base.text[len(_ALLOWED) :])
        extra = [_vlan_ids(c.text[len(_ALLOWED_ADD) :]) for c in adds]
        if ids is None or any(e is None for e in extra):
            continue
        for more in extra:
            ids |= more or set()
        base.text = _ALLOWED + vlan_list(ids)
        for child in adds:
            child.delete()


def _idempotent(*prefixes: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(match_rules=tuple(MatchRule(startswith=p) for p in prefixes))


def _idempotent_re(*patterns: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(match_rules=tuple(MatchRule(re_search=p) for p in patterns))


class KsmCiscoIOSDriver(HConfigDriverCiscoIOS):
    """hier_config's IOS driver plus the replace-in-place commands of ksm's switch templates."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        idempotent = [
            *rules.idempotent_commands,
            _idempotent("hostname "),
            _idempotent("ip default-gateway "),
            _idempotent("ip domain name "),
            _idempotent("ip ssh version "),
            _idempotent("vtp mode "),
            _idempotent("spanning-tree mode "),
            _idempotent("logging trap "),
            _idempotent("snmp-server location "),
            _idempotent("snmp-server contact "),
            _idempotent("banner login "),
            _idempotent("banner motd "),
            _idempotent("aaa authentication login default "),
            _idempotent("aaa authorization exec default "),
            _idempotent("interface ", "switchport access vlan "),
            _idempotent("interface ", "switchport trunk allowed vlan "),
            _idempotent("interface ", "switchport trunk native vlan "),
            _idempotent("interface ", "spanning-tree bpduguard "),
            _idempotent("interface ", "spanning-tree guard "),
            _idempotent("interface ", "storm-control broadcast level "),
            _idempotent("clock timezone "),
            _idempotent("clock summer-time "),
            _idempotent("line ", "exec-timeout "),
            _idempotent("line ", "transport input "),
        ]
        callbacks = [*rules.post_load_callbacks, merge_allowed_vlan_lines]
        return rules.model_copy(update={"idempotent_commands": idempotent, "post_load_callbacks": callbacks})


class KsmFRRDriver(HConfigDriverCiscoIOS):
    """FRRouting (vtysh), derived from the IOS rules."""

    @staticmethod
    def _instantiate_rules() -> HConfigDriverRules:
        rules = HConfigDriverCiscoIOS._instantiate_rules()
        # FRR keeps every "ip address" of an interface: changing one is "no ip address OLD" + new.
        ios_address = (MatchRule(startswith="interface "), MatchRule(startswith="ip address "))
        idempotent = [rule for rule in rules.idempotent_commands if rule.match_rules != ios_address]
        idempotent += [
            _idempotent("hostname "),
            _idempotent("frr defaults "),
            _idempotent_re(r"^log (syslog|stdout|file)\b"),
            _idempotent("router ospf", "ospf router-id "),
            _idempotent("router bgp ", "bgp router-id "),
            _idempotent_re(r"^router bgp ", r"^neighbor (\S+) remote-as "),
            _idempotent_re(r"^router bgp ", r"^neighbor (\S+) description "),
            _idempotent_re(r"^interface ", r"^ip ospf area "),
        ]
        per_line_sub = [
            *rules.per_line_sub,
            PerLineSubRule(search=r"^frr version .*", replace=""),
            PerLineSubRule(search=r"^exit$", replace=""),
            PerLineSubRule(search=r"^\s*exit-vrf$", replace=""),
        ]
        # Prefix lists before the BGP neighbours that reference them.
        ordering = [
            *rules.ordering,
            OrderingRule(match_rules=(MatchRule(startswith="ip prefix-list "),), weight=-20),
        ]
        return rules.model_copy(
            update={"idempotent_commands": idempotent, "per_line_sub": per_line_sub, "ordering": ordering}
        )
