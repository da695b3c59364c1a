"""hier_config drivers for ksm's platforms: the rules that make remediation match each CLI.

hier_config 3.7 ships a Cisco IOS driver but none for FRRouting. FRR's ``vtysh`` is an IOS-style
CLI, so the FRR driver starts from the IOS rules and adapts them where FRR differs: an interface
may carry several addresses (``ip address`` is not a replace-in-place command), sections close
with ``exit`` at column 0, and ``show running-config`` prints an ``frr version`` line.

Idempotent commands are those the device *replaces* when given a new value (``hostname B``
replaces ``hostname A``): for them hier_config sends only the new line instead of ``no`` + line.
"""

from __future__ import annotations

from hier_config.models import IdempotentCommandsRule, MatchRule, OrderingRule, PerLineSubRule
from hier_config.platforms.cisco_ios.driver import HConfigDriverCiscoIOS
from hier_config.platforms.driver_base import HConfigDriverRules


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
            _idempotent("line ", "exec-timeout "),
            _idempotent("line ", "transport input "),
        ]
        return rules.model_copy(update={"idempotent_commands": idempotent})


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
