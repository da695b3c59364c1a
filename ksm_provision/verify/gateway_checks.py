"""Checks of a router's Linux side (Ansible group ``gateways``): packet filter and DHCP relay.

Two halves, like :mod:`.expectations` and :mod:`.testinfra_checks`: :func:`gateway_checks` turns the
``gateway`` role's variables into :class:`Check` data; :data:`TESTINFRA_CHECKS` tests them on the
host. The loaded ``table inet ksm`` is compared, chain by chain (policy and number of rules), with
the table the intended ``/etc/nftables.conf`` text defines, so a rule added, removed or a policy
changed by hand shows; the relay's defaults file must carry exactly the intended servers and
interfaces. The ``nftables`` service must be enabled (it loads the table at boot) and active, and
``isc-dhcp-relay`` running with its ``dhcrelay`` when there is a server to relay to (else stopped).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from ksm_provision.verify.expectations import Check, listening_check, service_check

TABLE = ("inet", "ksm")
RELAY_DEFAULTS = "/etc/default/isc-dhcp-relay"
#: Statements in a chain body that configure the chain rather than being a rule.
_CHAIN_SETTINGS = ("type ", "policy ", "comment ", "devices ", "priority ")


@dataclass
class _Scanner:
    """A small reader of nft's text syntax: enough to find chains, policies and rules of one table."""

    table: str
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    buffer: str = ""
    anonymous: int = 0  # depth of `{ ... }` inside a rule (anonymous sets, verdict maps)

    def _chain(self) -> str | None:
        if len(self.stack) == 2 and self.stack[0] == self.table and self.stack[1].startswith("chain "):
            return self.stack[1].split()[1]
        return None

    def statement(self) -> None:
        text, self.buffer = " ".join(self.buffer.split()), ""
        chain = self._chain()
        if not text or chain is None:
            return
        if text.startswith("policy "):
            self.chains[chain]["policy"] = text.split()[1]
        elif not text.startswith(_CHAIN_SETTINGS):
            self.chains[chain]["rules"] += 1

    def open(self) -> None:
        if self._chain() is not None:
            self.anonymous += 1
            self.buffer += "{"
            return
        header, self.buffer = " ".join(self.buffer.split()), ""
        self.stack.append(header)
        if header == self.table:  # a later definition of the table replaces an earlier one
            self.chains = {}
        chain = self._chain()
        if chain is not None:
            self.chains[chain] = {"policy": "accept", "rules": 0}

    def close(self) -> None:
        if self.anonymous:
            self.anonymous -= 1
            self.buffer += "}"
            return
        self.statement()
        if self.stack:
            self.stack.pop()

    def feed(self, text: str) -> None:
        quoted = comment = False
        for char in text:
            if comment:
                comment = char != "\n"
                if comment:
                    continue
            if quoted:
                self.buffer += char
                quoted = char != '"'
            elif char == "#":
                comment = True
            elif char == '"':
                self.buffer += char
                quoted = True
            elif char == "{":
                self.open()
            elif char == "}":
                self.close()
            elif char in ";\n" and not self.anonymous:
                self.statement()
            else:
                self.buffer += char
        self.statement()


def intended_chains(nftables: str, family: str = TABLE[0], name: str = TABLE[1]) -> dict[str, dict[str, Any]]:
    """Chain -> ``{"policy", "rules"}`` of the last definition of table *family name* in *nftables*.

    >>> intended_chains('table inet ksm\\ndelete table inet ksm\\ntable inet ksm {\\n chain input {\\n'
    ...     '  type filter hook input priority filter; policy drop;\\n  iif "lo" accept # loopback\\n'
    ...     '  ip saddr { 10.0.0.1, 10.0.0.2 } tcp dport 22 accept comment "ssh; admins"\\n }\\n}\\n')
    {'input': {'policy': 'drop', 'rules': 2}}
    """
    scanner = _Scanner(table=f"table {family} {name}")
    scanner.feed(nftables)
    return scanner.chains


def loaded_chains(nft_json: str, family: str = TABLE[0], name: str = TABLE[1]) -> dict[str, dict[str, Any]]:
    """The same summary from ``nft -j list table FAMILY NAME`` output.

    >>> loaded_chains('{"nftables": [{"metainfo": {}}, {"chain": {"family": "inet", "table": "ksm",'
    ...     ' "name": "input", "policy": "drop"}},'
    ...     ' {"rule": {"family": "inet", "table": "ksm", "chain": "input"}}]}')
    {'input': {'policy': 'drop', 'rules': 1}}
    """
    chains: dict[str, dict[str, Any]] = {}
    for item in json.loads(nft_json).get("nftables", []):
        chain, rule = item.get("chain"), item.get("rule")
        if chain and (chain.get("family"), chain.get("table")) == (family, name):
            chains[chain["name"]] = {"policy": chain.get("policy", "accept"), "rules": 0}
        elif rule and (rule.get("family"), rule.get("table")) == (family, name):
            chains.setdefault(rule["chain"], {"policy": "accept", "rules": 0})["rules"] += 1
    return chains


def relay_lines(servers: list[str], interfaces: list[str]) -> list[str]:
    """The lines of the relay's defaults file that carry the inventory's intent."""
    return [f'SERVERS="{" ".join(servers)}"', f'INTERFACES="{" ".join(interfaces)}"']


def gateway_checks(variables: dict[str, Any]) -> list[Check]:
    """The checks of a router's Linux side; none for a host without the ``gateway`` role's variables."""
    if "gateway_nftables" not in variables:
        return []
    relay = bool(variables.get("gateway_relay_enabled", bool(variables["gateway_relay_servers"])))
    return [
        service_check("nftables"),
        Check(
            kind="nft_table",
            name="nftables table inet ksm",
            params={"chains": intended_chains(variables["gateway_nftables"])},
        ),
        Check(
            kind="relay_defaults",
            name="dhcp relay settings",
            params={
                "lines": relay_lines(
                    variables["gateway_relay_servers"], variables["gateway_relay_interfaces"]
                )
            },
        ),
        service_check("isc-dhcp-relay", relay),
        *([listening_check("dhcrelay", "udp", 67)] if relay else []),
    ]


# --------------------------------------------------------------------------- on the host (testinfra)


def check_nft_table(host: Any, p: dict[str, Any]) -> None:
    result = host.run("nft -j list table " + " ".join(map(shlex.quote, TABLE)))
    assert result.rc == 0, f"table {' '.join(TABLE)} is not loaded: {result.stderr.strip()[:200]}"
    loaded = loaded_chains(result.stdout)
    assert loaded == p["chains"], f"loaded chains {loaded} differ from the intended {p['chains']}"


def check_relay_defaults(host: Any, p: dict[str, Any]) -> None:
    defaults = host.file(RELAY_DEFAULTS)
    assert defaults.exists, f"{RELAY_DEFAULTS} missing"
    lines = defaults.content_string.splitlines()
    for line in p["lines"]:
        assert line in lines, f"{RELAY_DEFAULTS} lacks {line!r}"


#: Check kind -> testinfra function, merged into ``testinfra_checks.CHECKS``.
TESTINFRA_CHECKS = {"nft_table": check_nft_table, "relay_defaults": check_relay_defaults}
