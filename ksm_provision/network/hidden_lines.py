"""IOS lines the device hides, rewrites or adds by itself, and how ksm's remediation treats them.

A real Catalyst never shows some lines it accepts, shows others in another form than they were
typed, and adds lines nobody typed. Comparing the intended config with ``show running-config``
line by line would then plan a change on every run (or, worse, remove what the device added).
This module is the single table of those lines; :mod:`.remediation` applies it, and the switch
simulator (``tools/switchsim``) reproduces the same behaviour so that the lab disagrees with ksm
wherever a real switch would. Sources: the public captures in ``tests/data/real_ios/`` (see its
README) and Cisco's command references.

=================================  =============================================  ===================
typed (or default)                 shown by ``show running-config``                ksm's treatment
=================================  =============================================  ===================
``snmp-server user U G v3 auth     nothing: kept outside the config; only          HIDDEN: left out of
sha A priv aes 128 P``             ``show snmp user`` lists user, group and the    the comparison;
                                   auth/priv protocols, never the secrets          checked with
                                                                                   ``show snmp user``
``enable secret X``                ``enable secret 5 $1$...`` (IOS 15; IOS-XE 17:  DEVICE-OWNED
                                   ``9 $9$...``)                                   (AAA/bootstrap)
``username U secret X``            ``username U secret 5 $1$...`` / ``9 $9$...``   DEVICE-OWNED
``username U password X``          ``password 0 X``; with ``service password-      DEVICE-OWNED
                                   encryption`` ``password 7 0822...``
``service password-encryption``    encrypts every stored ``password`` (type 7);   ``no service
(default off)                      default shown as ``no service password-         password-
                                   encryption``                                    encryption``
                                                                                   DEVICE-OWNED
``int gi1/0/1``, ``sw mode acc``,  expanded: ``interface GigabitEthernet1/0/1``,  templates type the
``conf t``                         ``switchport mode access``                      full form
``interface range gi1/0/1 - 4``    one ``interface`` block per port, never the     not used by ksm
                                   range
``no shutdown`` (physical port)    nothing (default)                               templates never
                                                                                   write it
``switchport mode access``         shown (the default, ``dynamic auto``, is not)   templated
``spanning-tree mode pvst``        shown although default                          templated (rapid-
                                                                                   pvst, replace-in-
                                                                                   place)
``spanning-tree extend system-id`` always shown; ``no`` refused on switches with   DEVICE-OWNED
                                   one MAC per VLAN
``aaa new-model``                  adds ``aaa session-id common``; without it the  ``aaa session-id
                                   default shows ``no aaa new-model``              common``, ``no aaa
                                                                                   new-model``
                                                                                   DEVICE-OWNED
``banner login #text#``            ``banner login ^Ctext^C`` (any delimiter)        platforms.typed_
                                                                                   command
``storm-control broadcast level    ``storm-control broadcast level 1.00``          templated as shown
1``
``switchport trunk allowed vlan``  wrapped at 80 columns into ``... add`` lines    drivers.merge_
long list                                                                          allowed_vlan_lines
version, boot markers, ``ip cef``,  added by the device                             DEVICE-OWNED
``vlan internal allocation policy
ascending``, ``control-plane``,
``line aux 0``, crypto pki, ...
=================================  =============================================  ===================

Section order of ``show running-config`` (IOS 15.x Catalyst; IOS-XE 17 moves ``ip ssh`` after the
interfaces): service, hostname, boot markers, enable, username, aaa, clock, vtp, ip domain /
name-server, spanning-tree, vlan, ip ssh, interface, ip default-gateway / http / route, logging,
snmp-server, banner, line, ntp, end.

DEVICE-OWNED lines are ignored in the running config unless the intended config holds the very
same line: ksm neither removes them (``no username admin`` would lock the operators out) nor
reports them as drift.

A hidden line cannot be compared, only checked: ``show snmp user`` proves that the user exists with
the intended group and auth/priv protocols, but no device ever shows an SNMP secret again. A
changed secret (vault value rotated) is therefore invisible on the device; ksm re-sends the user
line when the keyed digest of the intended hidden lines differs from the digest recorded at the
last successful push (:attr:`HiddenState.sent_digest`), or when no digest was recorded and the
user is missing or differs. Until the push path reads ``show snmp user`` (no :class:`HiddenState`
given), :func:`.remediation.remediate` sends the hidden lines along with any other change and never
on their own: a new device gets its user with its first push, an in-sync device gets nothing, and a
rotated SNMP secret reaches a device only with its next other change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

#: The EXEC command that shows what the running config hides.
SNMP_USER_COMMAND: Final = "show snmp user"

_HIDDEN_RE: Final = re.compile(r"^snmp-server user \S+ ")
_USER_RE: Final = re.compile(
    r"^snmp-server user (?P<name>\S+) (?P<group>\S+) (?P<version>v1|v2c|v3)"
    r"(?: (?:encrypted )?auth (?P<auth>md5|sha) \S+(?: priv (?P<priv>des|3des|aes (?:128|192|256)) \S+)?)?"
)

#: Top-level lines a Catalyst shows by itself or that AAA/bootstrap own (see the module table).
DEVICE_OWNED: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(pattern)
    for pattern in (
        r"^version \S+$",
        r"^boot-(start|end)-marker$",
        r"^boot system ",
        r"^enable (secret|password) ",
        r"^username \S+ ",
        r"^(no )?service password-encryption$",
        r"^service (compress-config|call-home)$",
        r"^no aaa new-model$",
        r"^aaa session-id common$",
        r"^spanning-tree extend system-id$",
        r"^vlan internal allocation policy ascending$",
        r"^system mtu routing \d+$",
        r"^switch \d+ provision \S+$",
        r"^(no )?ip(v6)? cef$",
        r"^ip forward-protocol nd$",
        r"^control-plane$",
        r"^line aux 0$",
        r"^crypto pki ",
        r"^license boot ",
        r"^diagnostic bootup level ",
        r"^redundancy$",
        r"^transceiver type all$",
        r"^memory free low-watermark ",
        r"^vrf definition Mgmt-vrf$",
        r"^call-home$",
        r"^platform punt-keepalive ",
        r"^(class|policy)-map (match-any )?system-cpp",
        r"^logging esm config$",
    )
)


def is_hidden(line: str) -> bool:
    """A line the device accepts but never shows in its running config.

    >>> is_hidden("snmp-server user mon MON v3 auth sha a priv aes 128 b")
    True
    >>> is_hidden("snmp-server group G v3 priv")
    False
    """
    return bool(_HIDDEN_RE.match(line.strip()))


def is_device_owned(line: str) -> bool:
    """A top-level running-config line ksm leaves alone (see the module table).

    >>> is_device_owned("username admin privilege 15 secret 5 $1$ab$cd"), is_device_owned("hostname a")
    (True, False)
    """
    return any(pattern.match(line) for pattern in DEVICE_OWNED)


@dataclass(frozen=True)
class SnmpUserState:
    """What ``show snmp user`` reveals about one user (and what can be compared at all)."""

    name: str
    group: str
    auth: str | None
    priv: str | None


def intended_user(line: str) -> SnmpUserState | None:
    """The state an intended ``snmp-server user`` line should produce, or None if it is no user line.

    >>> intended_user("snmp-server user mon MON v3 auth sha A priv aes 128 P")
    SnmpUserState(name='mon', group='MON', auth='SHA', priv='AES128')
    """
    match = _USER_RE.match(line.strip())
    if match is None:
        return None
    auth = match["auth"].upper() if match["auth"] else None
    priv = match["priv"].upper().replace(" ", "") if match["priv"] else None
    return SnmpUserState(match["name"], match["group"], auth, priv)


def parse_show_snmp_user(output: str) -> dict[str, SnmpUserState]:
    """The users listed by ``show snmp user`` (format of ntc-templates' cisco_ios_show_snmp_user.raw).

    >>> parse_show_snmp_user("User name: mon\\nEngine ID: 80\\nAuthentication Protocol: SHA\\n"
    ...                      "Privacy Protocol: AES128\\nGroup-name: MON\\n")["mon"].priv
    'AES128'
    """
    users: dict[str, SnmpUserState] = {}
    fields: dict[str, str] = {}

    def flush() -> None:
        if "User name" in fields:
            auth, priv = fields.get("Authentication Protocol"), fields.get("Privacy Protocol")
            users[fields["User name"]] = SnmpUserState(
                fields["User name"],
                fields.get("Group-name", ""),
                None if auth in (None, "None") else auth,
                None if priv in (None, "None") else priv,
            )
        fields.clear()

    for raw in output.splitlines():
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        if key.strip() == "User name":
            flush()
        fields[key.strip()] = value.strip()
    flush()
    return users


@dataclass(frozen=True)
class HiddenState:
    """What the device revealed about its hidden lines in this session, and what ksm recorded."""

    #: Users by name, from ``show snmp user``.
    users: dict[str, SnmpUserState] = field(default_factory=dict)
    #: Keyed digest of the hidden lines at the last confirmed push (None: nothing recorded).
    sent_digest: str | None = None

    @classmethod
    def from_device(cls, show_snmp_user: str, sent_digest: str | None = None) -> HiddenState:
        return cls(parse_show_snmp_user(show_snmp_user), sent_digest)

    def to_send(self, hidden: Iterable[str], digest: str | None = None) -> list[str]:
        """The hidden lines that must be (re-)sent: all of them when the recorded digest differs
        from *digest* (a secret changed), else those whose user is missing or differs."""
        lines = list(hidden)
        if digest is not None and self.sent_digest is not None and digest != self.sent_digest:
            return lines
        return [line for line in lines if self.users.get(_name(line)) != intended_user(line)]

    def unconfirmed(self, hidden: Iterable[str]) -> list[str]:
        """Hidden lines the device does not (yet) reflect: what a read-back after a push checks."""
        return [line for line in hidden if self.users.get(_name(line)) != intended_user(line)]


def _name(line: str) -> str:
    user = intended_user(line)
    return user.name if user is not None else ""


def removal(line: str) -> str | None:
    """The command that removes the user of a hidden line (rollback of a newly created user).

    >>> removal("snmp-server user mon MON v3 auth sha A priv aes 128 P")
    'no snmp-server user mon MON v3'
    """
    match = _USER_RE.match(line.strip())
    return (
        None if match is None else f"no snmp-server user {match['name']} {match['group']} {match['version']}"
    )
