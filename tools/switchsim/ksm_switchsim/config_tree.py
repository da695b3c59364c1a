"""The hierarchical running-config: a tree of lines, edited by key and rendered canonically.

Pure data, no I/O and no CLI: the command layer decides *what* to store, this module decides how
lines replace each other (via :mod:`ios_rules`) and how the tree prints as ``show running-config``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from ksm_switchsim import ios_rules
from ksm_switchsim.grammar import ids_to_vlan_list, vlan_list_to_ids

_insertion_counter = itertools.count()


def _ports(downlinks: int) -> tuple[str, ...]:
    return tuple(
        [f"GigabitEthernet1/0/{n}" for n in range(1, downlinks + 1)]
        + [f"GigabitEthernet1/1/{n}" for n in range(1, 5)]
    )


#: Front-panel ports per model (stack member 1; module 1 = the 4x1G uplinks of the -4G SKUs /
#: C9300-NM-4G). A real switch lists every one in show running-config, configured or not.
MODEL_PORTS: dict[str, tuple[str, ...]] = {
    "C9300-48P": _ports(48),
    "C9200L-48P": _ports(48),
    "C9200L-48P-4G": _ports(48),
    "C9200L-24P": _ports(24),
    "C9200L-24P-4G": _ports(24),
}
DEFAULT_MODEL = "C9300-48P"
PHYSICAL_PORTS: tuple[str, ...] = MODEL_PORTS[DEFAULT_MODEL]

_ALLOWED = "switchport trunk allowed vlan "
#: Longest printed line of an allowed-VLAN list before IOS continues with "... add" lines
#: (Catalyst 9000 IOS-XE output in github.com/YangModels/yang issue #1461: a 72-character line
#: whose next element would have made it 80).
IOS_LINE_WIDTH = 79


def wrap_allowed_vlans(text: str) -> list[str]:
    """A stored ``switchport trunk allowed vlan LIST`` line as IOS prints it (with ``add`` lines).

    >>> wrap_allowed_vlans("switchport trunk allowed vlan 10,20")
    ['switchport trunk allowed vlan 10,20']
    """
    if not text.startswith(_ALLOWED) or text == _ALLOWED + "none":
        return [text]
    lines: list[str] = []
    prefix, parts = _ALLOWED.rstrip(), []  # type: tuple[str, list[str]]
    for part in text[len(_ALLOWED) :].split(","):
        if parts and len(f" {prefix} {','.join([*parts, part])}") > IOS_LINE_WIDTH:
            lines.append(f"{prefix} {','.join(parts)}")
            prefix, parts = _ALLOWED + "add", []
        parts.append(part)
    lines.append(f"{prefix} {','.join(parts)}")
    return lines


DEFAULT_LINES: tuple[str, ...] = ("line con 0", "line vty 0 4", "line vty 5 15")
#: Lines a factory-default IOS 15.x Catalyst shows although nobody typed them (see the captures in
#: tests/data/real_ios/: "no aaa new-model", "spanning-tree mode pvst", "spanning-tree extend
#: system-id" appear in every unconfigured switch's show running-config).
DEFAULT_GLOBAL_LINES: tuple[str, ...] = (
    "no service password-encryption",
    "no aaa new-model",
    "spanning-tree mode pvst",
    "spanning-tree extend system-id",
)
IOS_VERSION_LINE = "version 15.2"


@dataclass(frozen=True)
class SnmpUser:
    """An SNMP user as IOS keeps it: outside the running-config (``show snmp user`` lists it).

    The secrets are kept only as digests (IOS keeps localized keys): enough for a test to see that
    a re-send changed them, never shown.
    """

    name: str
    group: str
    version: str
    auth: str | None = None
    priv: str | None = None
    secrets_digest: str = ""
    access_list: str | None = None


@dataclass
class ConfigNode:
    """One configuration line; section headers (interface, vlan, line) have children."""

    text: str
    children: list[ConfigNode] = field(default_factory=list)
    # Remembers when a line was first configured: lists like ntp servers render in that order.
    insertion: int = field(default_factory=lambda: next(_insertion_counter))

    def find(self, text: str) -> ConfigNode | None:
        return next((c for c in self.children if c.text == text), None)

    def find_by_key(self, key: str) -> ConfigNode | None:
        return next((c for c in self.children if ios_rules.line_key(c.text, self.text) == key), None)

    def set(self, text: str) -> ConfigNode:
        """Store ``text``, replacing the child with the same key; keeps position if unchanged."""
        key = ios_rules.line_key(text, self.text)
        if key in ios_rules.DEFAULT_ON and not text.startswith("no "):
            self.remove_key(key)
            return ConfigNode(text)
        existing = self.find_by_key(key)
        if existing is not None:
            existing.text = text
            return existing
        node = ConfigNode(text)
        self.children.append(node)
        return node

    def section(self, header: str) -> ConfigNode:
        """The child section with this header, created if missing."""
        existing = self.find(header)
        if existing is not None:
            return existing
        node = ConfigNode(header)
        self.children.append(node)
        return node

    def remove_key(self, key: str) -> bool:
        before = len(self.children)
        self.children = [c for c in self.children if ios_rules.line_key(c.text, self.text) != key]
        return len(self.children) != before

    def negate(self, text: str) -> None:
        """Apply ``no <text>``: store the ``no`` form of default-on features, else remove.

        An exact key match is removed first; otherwise every line starting with ``text`` goes, so
        ``no ntp server 10.0.0.1`` removes ``ntp server 10.0.0.1 prefer`` and ``no ip route 0.0.0.0
        0.0.0.0`` removes every default route.
        """
        key = ios_rules.line_key(text, self.text)
        if key in ios_rules.DEFAULT_ON or key in ios_rules.SHOWN_WHEN_OFF:
            self.set(f"no {key}")
            return
        if self.remove_key(key):
            return
        words = text.split()
        self.children = [c for c in self.children if c.text.split()[: len(words)] != words]

    def sorted_children(self) -> list[ConfigNode]:
        if not self.text:
            return sorted(self.children, key=lambda c: ios_rules.root_sort_key(c.text, c.insertion))
        return sorted(self.children, key=lambda c: ios_rules.child_sort_key(c.text, self.text, c.insertion))

    def copy(self) -> ConfigNode:
        return ConfigNode(self.text, [c.copy() for c in self.children], self.insertion)


@dataclass
class ConfigTree:
    """The whole device configuration (the root node has empty text)."""

    root: ConfigNode = field(default_factory=lambda: ConfigNode(""))
    #: ``snmp-server user`` entries by name: IOS never shows them in the running-config.
    snmp_users: dict[str, SnmpUser] = field(default_factory=dict)

    @classmethod
    def factory_default(cls, hostname: str, ports: tuple[str, ...] = PHYSICAL_PORTS) -> ConfigTree:
        """What a switch boots with when it has no startup-config: the model's *ports*."""
        tree = cls()
        tree.root.set(f"hostname {hostname}")
        for line in DEFAULT_GLOBAL_LINES:
            tree.root.set(line)
        for port in ports:
            tree.root.section(f"interface {port}")
        for line in DEFAULT_LINES:
            tree.root.section(line)
        return tree

    @property
    def hostname(self) -> str:
        node = self.root.find_by_key("hostname")
        return node.text.split(" ", 1)[1] if node else "Switch"

    def copy(self) -> ConfigTree:
        return ConfigTree(self.root.copy(), dict(self.snmp_users))

    def interface_names(self) -> list[str]:
        return [c.text.split(" ", 1)[1] for c in self.root.children if c.text.startswith("interface ")]

    def render(self) -> str:
        """The configuration as IOS stores it in startup-config (``!`` ... ``end``), ``\\n`` endings."""
        return "\n".join(self._render_lines()) + "\n"

    def _render_lines(self) -> Iterator[str]:
        yield "!"
        yield IOS_VERSION_LINE
        previous_rank = 0
        pending_separator = True
        for node in _collapse_unnamed_vlans(self.root.sorted_children()):
            rank = ios_rules.root_rank(node.text)
            if rank != previous_rank and pending_separator:
                yield "!"
            previous_rank = rank
            yield node.text
            for child in node.sorted_children():
                for text in wrap_allowed_vlans(child.text):
                    yield f" {text}"
            pending_separator = rank not in ios_rules.BLOCK_GROUPS
            if not pending_separator:
                yield "!"
        if pending_separator:
            yield "!"
        yield "end"

    def render_running(self) -> str:
        """``show running-config`` output (``\\n`` endings; the session converts them)."""
        body = self.render()
        return f"Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n{body}"


def _collapse_unnamed_vlans(nodes: list[ConfigNode]) -> Iterator[ConfigNode]:
    """IOS prints VLANs without settings that follow each other as one header: ``vlan 20,30-32``."""
    run: list[int] = []
    for node in [*nodes, ConfigNode("")]:
        if node.text.startswith("vlan ") and not node.children:
            run.extend(vlan_list_to_ids(node.text.split(" ", 1)[1]))
            continue
        if run:
            yield ConfigNode(f"vlan {ids_to_vlan_list(run)}")
            run = []
        if node.text:
            yield node


def split_blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """Top-level lines of a saved configuration with their (one-space indented) children.

    Comment lines (``!``), the header that ``show running-config`` prints, ``version`` and ``end``
    are skipped: what remains can be replayed through the configuration commands.

    >>> list(split_blocks("!\\nhostname A\\nvlan 10\\n name X\\n!\\nend\\n"))
    [('hostname A', []), ('vlan 10', ['name X'])]
    """
    current: tuple[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        if line.startswith(" "):
            if current is not None:
                current[1].append(stripped)
            continue
        if current is not None:
            yield current
            current = None
        if stripped == "end" or stripped.startswith(
            ("Building configuration", "Current configuration", "version ", "Using ")
        ):
            continue
        current = (stripped, [])
    if current is not None:
        yield current
