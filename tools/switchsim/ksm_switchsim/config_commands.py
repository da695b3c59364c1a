"""Configuration-mode commands: what each one does to the :class:`ConfigTree`.

Plain data in, plain data out: :func:`run_config_line` takes a line and a :class:`ConfigContext`
(tree, mode, the sections a sub-mode edits) and returns what to print. No sockets, no sessions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ksm_switchsim import grammar as g
from ksm_switchsim.config_tree import ConfigNode, ConfigTree, SnmpUser, split_blocks
from ksm_switchsim.modes import Mode
from ksm_switchsim.passwords import hash_secret, secrets_digest, show_password

INVALID_INPUT = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."


@dataclass
class ConfigContext:
    """Where a configuration session stands: the tree it edits and its (sub-)mode."""

    tree: ConfigTree
    mode: Mode = Mode.CONFIG
    #: The sections a sub-mode edits (several for ``vlan 10,20`` or ``line vty 0 15``).
    targets: list[ConfigNode] = field(default_factory=list)
    #: Set by ``do <command>``: an exec command the session should run next.
    do_command: str | None = None


@dataclass(frozen=True)
class Invocation:
    keywords: tuple[str, ...]
    args: tuple[str, ...]
    negated: bool
    #: The arguments exactly as typed (spacing kept), for banners and descriptions.
    raw_args: str

    @property
    def text(self) -> str:
        """The canonical line: full keywords plus arguments."""
        return " ".join(self.keywords + self.args)


@dataclass(frozen=True)
class Reject:
    """The handler refuses: with ``arg_index`` a ``^`` marker under that argument, else ``message``."""

    arg_index: int | None = None
    message: str = ""


Handler = Callable[[ConfigContext, Invocation], "str | Reject"]
Spec = g.CommandSpec[Handler]

_RESERVED_VLANS: Final = frozenset({1, 1002, 1003, 1004, 1005})
_LOG_LEVELS: Final = (
    "emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational",
    "debugging", *(str(n) for n in range(8)),
)  # fmt: skip
_HOSTNAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


def _utc_hours(word: str) -> bool:
    """An hour offset from UTC, -23..23 (``clock timezone CET 1``)."""
    digits = word[1:] if word.startswith("-") else word
    return digits.isdigit() and int(digits) <= 23


# --- generic handlers ----------------------------------------------------------------------------


def _targets(ctx: ConfigContext) -> list[ConfigNode]:
    return ctx.targets if ctx.mode is not Mode.CONFIG else [ctx.tree.root]


def store(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """Store (or with ``no``, remove) the canonical line in every section being edited."""
    for node in _targets(ctx):
        if inv.negated:
            node.negate(inv.text)
        else:
            node.set(inv.text)
    return ""


def _exit(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return Reject(message=INVALID_INPUT)
    ctx.mode = Mode.PRIV_EXEC if ctx.mode is Mode.CONFIG else Mode.CONFIG
    ctx.targets = []
    return ""


def _end(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return Reject(message=INVALID_INPUT)
    ctx.mode = Mode.PRIV_EXEC
    ctx.targets = []
    return ""


def _do(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    ctx.do_command = inv.raw_args
    return ""


# --- global configuration ------------------------------------------------------------------------


def _hostname(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        ctx.tree.root.set("hostname Switch")
        return ""
    if not _HOSTNAME_RE.match(inv.args[0]):
        return Reject(arg_index=0)
    ctx.tree.root.set(inv.text)
    return ""


def _vlan(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    ids = g.vlan_list_to_ids(inv.args[0]) if inv.args else []
    if inv.negated:
        if not ids:
            return INCOMPLETE
        if _RESERVED_VLANS & set(ids):
            return Reject(message=f"%Default VLAN {min(_RESERVED_VLANS & set(ids))} may not be deleted.")
        for vlan_id in ids:
            section = ctx.tree.root.find(f"vlan {vlan_id}")
            if section is not None:
                ctx.tree.root.children.remove(section)
        return ""
    ctx.mode = Mode.CONFIG_VLAN
    ctx.targets = [ctx.tree.root.section(f"vlan {v}") for v in ids if v not in _RESERVED_VLANS]
    return ""


def _interface(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    name = g.normalise_interface(inv.raw_args)
    if name is None:
        return Reject(arg_index=0)
    header = f"interface {name}"
    existing = ctx.tree.root.find(header)
    is_svi = name.startswith("Vlan")
    if is_svi and not g.is_vlan_id(name[len("Vlan") :]):
        return Reject(arg_index=0)
    if inv.negated:
        if not is_svi:
            return Reject(arg_index=0)
        if existing is not None:
            ctx.tree.root.children.remove(existing)
        return ""
    if existing is None:
        if not is_svi:
            return Reject(arg_index=0)
        existing = ctx.tree.root.section(header)
        existing.set("no ip address")
    ctx.mode = Mode.CONFIG_IF
    ctx.targets = [existing]
    return ""


_RANGE_ITEM_RE: Final = re.compile(r"^\s*([A-Za-z-]+)\s*((?:\d+/)*)(\d+)\s*(?:-\s*(\d+))?\s*$")


def expand_interface_range(text: str) -> list[str] | None:
    """The interfaces of an ``interface range`` argument, or None if it is not one.

    >>> expand_interface_range("gi1/0/1 - 3 , Gi1/1/4")
    ['GigabitEthernet1/0/1', 'GigabitEthernet1/0/2', 'GigabitEthernet1/0/3', 'GigabitEthernet1/1/4']
    """
    names: list[str] = []
    for item in text.split(","):
        match = _RANGE_ITEM_RE.match(item)
        if match is None:
            return None
        kind, prefix, first, last = match.groups()
        low, high = int(first), int(last or first)
        if high < low:
            return None
        for number in range(low, high + 1):
            name = g.normalise_interface(f"{kind}{prefix}{number}")
            if name is None:
                return None
            names.append(name)
    return names


def _interface_range(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``interface range gi1/0/1 - 4 , gi1/0/7``: one sub-mode editing every listed interface;
    IOS stores (and shows) the lines per interface, never the range."""
    if inv.negated:
        return Reject(arg_index=0)
    names = expand_interface_range(inv.raw_args)
    if names is None:
        return Reject(arg_index=0)
    nodes = [ctx.tree.root.find(f"interface {name}") for name in names]
    if any(node is None for node in nodes):
        return Reject(arg_index=0)
    ctx.mode = Mode.CONFIG_IF_RANGE
    ctx.targets = [node for node in nodes if node is not None]
    return ""


def _line(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return Reject(message=INVALID_INPUT)
    if inv.keywords[-1] == "con":
        ctx.targets = [ctx.tree.root.section("line con 0")]
    else:
        first = int(inv.args[0])
        last = int(inv.args[1]) if len(inv.args) > 1 else first
        if last < first:
            return Reject(arg_index=1)
        # IOS keeps the vty blocks "0 4" and "5 15"; a range edits every block it overlaps.
        ctx.targets = [
            ctx.tree.root.section(header)
            for header, low, high in (("line vty 0 4", 0, 4), ("line vty 5 15", 5, 15))
            if first <= high and last >= low
        ]
    ctx.mode = Mode.CONFIG_LINE
    return ""


def _banner(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    kind = " ".join(inv.keywords)
    if inv.negated:
        ctx.tree.root.remove_key(kind)
        return ""
    raw = inv.raw_args.strip()
    delimiter = "^C" if raw.startswith("^C") else raw[0]
    body, found, _after = raw[len(delimiter) :].partition(delimiter)
    if not found:
        return Reject(
            message="% The simulator supports one-line banners only, e.g. banner motd ^CAuthorized only^C"
        )
    ctx.tree.root.set(f"{kind} ^C{body}^C")
    return ""


def _password_encryption(ctx: ConfigContext) -> bool:
    return ctx.tree.root.find("service password-encryption") is not None


def _username(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if not inv.args:
        return INCOMPLETE
    if inv.negated:
        ctx.tree.root.remove_key(f"username {inv.args[0]}")
        return ""
    words = hash_secret(list(inv.args), inv.args[0])
    words = show_password(words, encrypt=_password_encryption(ctx), explicit_zero=True)
    ctx.tree.root.set(" ".join(["username", *words]))
    return ""


def _enable_secret(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        ctx.tree.root.remove_key("enable secret")
        return ""
    words = list(inv.keywords[1:] + inv.args)
    words = hash_secret(words, "enable")
    ctx.tree.root.set(" ".join(["enable", *words]))
    return ""


def _service(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``service ...``; ``service password-encryption`` also encrypts the passwords already stored
    (as IOS does; ``no service password-encryption`` decrypts nothing)."""
    store(ctx, inv)
    if inv.negated or inv.args != ("password-encryption",):
        return ""
    for node in [ctx.tree.root, *ctx.tree.root.children]:
        for child in node.children:
            words = child.text.split()
            if "password" in words and words[0] in ("username", "password"):
                shown = show_password(words, encrypt=True, explicit_zero=words[0] == "username")
                child.text = " ".join(shown)
    return ""


def _aaa_new_model(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """IOS shows ``no aaa new-model`` by default and adds ``aaa session-id common`` with the model."""
    if inv.negated:
        ctx.tree.root.set("no aaa new-model")
        ctx.tree.root.remove_key("aaa session-id")
        return ""
    ctx.tree.root.set("aaa new-model")
    if ctx.tree.root.find_by_key("aaa session-id") is None:
        ctx.tree.root.set("aaa session-id common")
    return ""


def _stp_mode(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``spanning-tree mode``: IOS shows the default ``spanning-tree mode pvst`` too."""
    ctx.tree.root.set("spanning-tree mode pvst" if inv.negated else inv.text)
    return ""


_SNMP_AUTH: Final = {"md5": "MD5", "sha": "SHA"}
_SNMP_PRIV: Final = {"des": "DES", "3des": "3DES", "aes": "AES"}
_AES_BITS: Final = ("128", "192", "256")


@dataclass
class _SnmpParse:
    args: tuple[str, ...]
    at: int = 3
    auth: str | None = None
    priv: str | None = None
    secrets: tuple[str, ...] = ()

    def word(self) -> str | None:
        return self.args[self.at] if self.at < len(self.args) else None


def _snmp_auth(p: _SnmpParse) -> Reject | str | None:
    if p.word() == "encrypted":
        p.at += 1
    if p.word() != "auth":
        return None
    p.at += 1
    proto = p.word()
    if proto not in _SNMP_AUTH:
        return INCOMPLETE if proto is None else Reject(arg_index=p.at)
    if p.at + 1 >= len(p.args):
        return INCOMPLETE
    p.auth, p.secrets, p.at = _SNMP_AUTH[proto], (p.args[p.at + 1],), p.at + 2
    return _snmp_priv(p)


def _snmp_priv(p: _SnmpParse) -> Reject | str | None:
    if p.word() != "priv":
        return None
    p.at += 1
    proto = p.word()
    if proto not in _SNMP_PRIV:
        return INCOMPLETE if proto is None else Reject(arg_index=p.at)
    p.at += 1
    name = _SNMP_PRIV[proto]
    if proto == "aes":
        if p.word() not in _AES_BITS:
            return INCOMPLETE if p.word() is None else Reject(arg_index=p.at)
        name, p.at = f"AES{p.word()}", p.at + 1
    if p.word() is None:
        return INCOMPLETE
    p.priv, p.secrets, p.at = name, (*p.secrets, p.args[p.at]), p.at + 1
    return None


def _snmp_user(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``snmp-server user NAME GROUP {v1|v2c|v3 [auth {md5|sha} KEY [priv {des|3des|aes N} KEY]]}
    [access ACL]``: kept apart from the running-config, as on IOS (``show snmp user`` lists it)."""
    args = inv.args
    if inv.negated:
        if args and args[0] in ctx.tree.snmp_users:
            del ctx.tree.snmp_users[args[0]]
        return ""
    if len(args) < 3:
        return INCOMPLETE
    if args[2] not in ("v1", "v2c", "v3"):
        return Reject(arg_index=2)
    parsed = _SnmpParse(args)
    problem = _snmp_auth(parsed) if args[2] == "v3" else None
    if problem is not None:
        return problem
    acl = None
    if parsed.word() == "access" and parsed.at + 1 < len(args):
        acl, parsed.at = args[parsed.at + 1], parsed.at + 2
    if parsed.at < len(args):
        return Reject(arg_index=parsed.at)
    ctx.tree.snmp_users[args[0]] = SnmpUser(
        args[0], args[1], args[2], parsed.auth, parsed.priv, secrets_digest(*parsed.secrets), acl
    )
    return ""


# --- interface configuration ---------------------------------------------------------------------


def _access_vlan(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return store(ctx, inv)
    vlan_id = int(inv.args[0])
    output = ""
    if vlan_id not in _RESERVED_VLANS and ctx.tree.root.find(f"vlan {vlan_id}") is None:
        ctx.tree.root.section(f"vlan {vlan_id}")
        output = f"% Access VLAN does not exist. Creating vlan {vlan_id}"
    store(ctx, inv)
    return output


_ALL_VLANS: Final = frozenset(range(1, 4095))
_TRUNK_ALLOWED = "switchport trunk allowed vlan"


def _allowed_after(modifier: str | None, current: set[int], ids: set[int]) -> set[int]:
    """The allowed VLANs after ``switchport trunk allowed vlan [add|remove|except] IDS``."""
    if modifier == "add":
        return current | ids
    if modifier == "remove":
        return current - ids
    if modifier == "except":
        return set(_ALL_VLANS - ids)
    return ids


def _set_allowed(node: ConfigNode, modifier: str | None, ids: set[int]) -> None:
    line = node.find_by_key(_TRUNK_ALLOWED)
    current_text = line.text[len(_TRUNK_ALLOWED) + 1 :] if line else "1-4094"
    current = set() if current_text == "none" else set(g.vlan_list_to_ids(current_text))
    result = _allowed_after(modifier, current, ids)
    # IOS shows nothing for "all VLANs", the default.
    if result == _ALL_VLANS:
        node.remove_key(_TRUNK_ALLOWED)
    else:
        node.set(f"{_TRUNK_ALLOWED} {g.ids_to_vlan_list(sorted(result)) if result else 'none'}")


def _trunk_allowed(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        for node in ctx.targets:
            node.remove_key(_TRUNK_ALLOWED)
        return ""
    modifier = inv.args[0] if inv.args[0] in ("add", "remove", "except") else None
    values = inv.args[1:] if modifier else inv.args
    first = 1 if modifier else 0
    if not values:
        return INCOMPLETE
    if len(values) > 1:
        return Reject(arg_index=first + 1)
    if modifier is None and values[0] in ("all", "none"):
        for node in ctx.targets:
            node.remove_key(_TRUNK_ALLOWED)
            if values[0] == "none":
                node.set(f"{_TRUNK_ALLOWED} none")
        return ""
    try:
        ids = set(g.vlan_list_to_ids(values[0]))
    except ValueError:
        return Reject(arg_index=first)
    for node in ctx.targets:
        _set_allowed(node, modifier, ids)
    return ""


def _ip_address(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    for node in ctx.targets:
        is_svi = node.text.startswith("interface Vlan")
        if inv.negated:
            if is_svi:
                node.set("no ip address")
            else:
                node.remove_key("ip address")
        elif not is_svi:
            return Reject(message="% IP addresses may not be configured on L2 links.")
        else:
            node.set(inv.text)
    return ""


def _storm_control(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``storm-control broadcast level RISING [FALLING]``: IOS stores percentages with two decimals
    (``storm-control broadcast level 1.00``, as in the Catalyst show run of robphoenix/diffios)."""
    if inv.negated:
        return store(ctx, Invocation(inv.keywords, (), True, ""))
    values: list[str] = []
    for index, word in enumerate(inv.args):
        try:
            level = float(word)
        except ValueError:
            return Reject(arg_index=index)
        if not 0 <= level <= 100 or (index == 1 and level > float(values[0])):
            return Reject(arg_index=index)
        values.append(f"{level:.2f}")
    return store(ctx, Invocation(inv.keywords, tuple(values), False, inv.raw_args))


def _stp_guard(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated or inv.args[0] == "none":
        for node in ctx.targets:
            node.remove_key("spanning-tree guard")
        return ""
    return store(ctx, inv)


def _clock_timezone(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``clock timezone NAME HOURS [MINUTES]``, stored with minutes (``clock timezone CET 1 0``)."""
    if inv.negated:
        ctx.tree.root.remove_key("clock timezone")
        return ""
    name, hours = inv.args[0], inv.args[1]
    minutes = inv.args[2] if len(inv.args) > 2 else "0"
    ctx.tree.root.set(f"clock timezone {name} {int(hours)} {int(minutes)}")
    return ""


_WEEKS: Final = ("1", "2", "3", "4", "5", "first", "last")
_DAYS: Final = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIME_RE: Final = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def _summer_time(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``clock summer-time ZONE recurring [WEEK DAY MONTH HH:MM WEEK DAY MONTH HH:MM [OFFSET]]``."""
    if inv.negated:
        ctx.tree.root.remove_key("clock summer-time")
        return ""
    if len(inv.args) < 2 or inv.args[1] != "recurring":
        return Reject(arg_index=min(1, len(inv.args)))
    rule = inv.args[2:]
    checks = (_WEEKS, _DAYS, _MONTHS, None) * 2
    if rule and len(rule) not in (8, 9):
        return Reject(arg_index=2 + min(len(rule), 8))
    for index, word in enumerate(rule[:8]):
        allowed = checks[index]
        ok = _TIME_RE.match(word) if allowed is None else word.capitalize() in allowed or word in allowed
        if not ok:
            return Reject(arg_index=2 + index)
    words = [w.capitalize() if w.capitalize() in _DAYS + _MONTHS else w for w in inv.args]
    ctx.tree.root.set(" ".join(["clock", "summer-time", *words]))
    return ""


def _stp_vlan(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    """``spanning-tree vlan LIST priority N``: IOS prints runs of two or more VLANs as ranges."""
    if not inv.args:
        return INCOMPLETE
    try:
        ids = g.vlan_list_to_ids(inv.args[0])
    except ValueError:
        return Reject(arg_index=0)
    if len(inv.args) != 3 or inv.args[1] != "priority":
        return Reject(arg_index=min(len(inv.args), 3) if len(inv.args) != 3 else 1)
    if not inv.args[2].isdigit() or int(inv.args[2]) > 61440 or int(inv.args[2]) % 4096:
        return Reject(arg_index=2)
    text = f"spanning-tree vlan {g.ids_to_stp_list(ids)} priority {inv.args[2]}"
    if inv.negated:
        ctx.tree.root.negate(text)
    else:
        ctx.tree.root.set(text)
    return ""


# --- line configuration --------------------------------------------------------------------------


def _exec_timeout(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return store(ctx, inv)
    minutes, seconds = inv.args[0], inv.args[1] if len(inv.args) > 1 else "0"
    return store(ctx, Invocation(inv.keywords, (minutes, seconds), False, inv.raw_args))


def _transport(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    for index, word in enumerate(inv.args):
        if word not in ("ssh", "telnet", "none", "all"):
            return Reject(arg_index=index)
    return store(ctx, inv)


def _line_password(ctx: ConfigContext, inv: Invocation) -> str | Reject:
    if inv.negated:
        return store(ctx, inv)
    words = show_password(["password", *inv.args], encrypt=_password_encryption(ctx), explicit_zero=False)
    return store(ctx, Invocation(("password",), tuple(words[1:]), False, inv.raw_args))


# --- command tables ------------------------------------------------------------------------------


def _spec(keywords: str, args: g.ArgCheck, handler: Handler = store) -> Spec:
    return g.CommandSpec(tuple(keywords.split()), args, handler)


_COMMON: Final[tuple[Spec, ...]] = (
    _spec("exit", g.no_args, _exit),
    _spec("end", g.no_args, _end),
    _spec("do", g.free_text(1), _do),
)

GLOBAL_SPECS: Final[tuple[Spec, ...]] = (
    *_COMMON,
    _spec("hostname", g.positional(g.any_word), _hostname),
    _spec("vlan", g.positional(g.is_vlan_list), _vlan),
    _spec("interface", g.free_text(1), _interface),
    _spec("interface range", g.free_text(1), _interface_range),
    _spec("line con", g.positional(g.one_of("0")), _line),
    _spec("line vty", g.positional(g.int_between(0, 15), g.int_between(0, 15), optional=1), _line),
    _spec("ntp server", g.positional(g.any_word, rest=True)),
    _spec("ntp", g.free_text(1)),
    _spec("logging host", g.positional(g.any_word, rest=True)),
    _spec("logging trap", g.positional(g.one_of(*_LOG_LEVELS))),
    _spec("logging", g.free_text(1)),
    _spec("snmp-server user", g.free_text(1), _snmp_user),
    _spec("snmp-server", g.free_text(1)),
    _spec("aaa new-model", g.no_args, _aaa_new_model),
    _spec("aaa", g.free_text(1)),
    _spec("banner motd", g.free_text(1), _banner),
    _spec("banner login", g.free_text(1), _banner),
    _spec("banner exec", g.free_text(1), _banner),
    _spec("ip route", g.positional(g.is_ipv4, g.is_netmask, g.any_word, rest=True)),
    _spec("ip default-gateway", g.positional(g.is_ipv4)),
    _spec("ip domain-name", g.positional(g.any_word)),
    _spec("ip domain name", g.positional(g.any_word)),
    _spec("ip domain-lookup", g.no_args),
    _spec("ip domain lookup", g.no_args),
    _spec("ip name-server", g.positional(g.is_ipv4, rest=True)),
    _spec("ip ssh", g.free_text(1)),
    _spec("ip http server", g.no_args),
    _spec("ip http secure-server", g.no_args),
    _spec("username", g.positional(g.any_word, rest=True), _username),
    _spec("enable secret", g.free_text(1), _enable_secret),
    _spec(
        "enable algorithm-type",
        g.positional(g.one_of("md5", "sha256", "scrypt"), g.one_of("secret"), g.any_word, rest=True),
        _enable_secret,
    ),
    _spec("service", g.free_text(1), _service),
    _spec("spanning-tree vlan", g.free_text(1), _stp_vlan),
    _spec("spanning-tree mode", g.positional(g.one_of("pvst", "rapid-pvst", "mst")), _stp_mode),
    _spec("spanning-tree", g.free_text(1)),
    _spec(
        "clock timezone",
        g.positional(g.any_word, _utc_hours, g.int_between(0, 59), optional=1),
        _clock_timezone,
    ),
    _spec("clock summer-time", g.free_text(2), _summer_time),
    _spec("vtp mode", g.positional(g.one_of("server", "client", "transparent", "off"))),
    _spec("vtp domain", g.positional(g.any_word)),
)

INTERFACE_SPECS: Final[tuple[Spec, ...]] = (
    *_COMMON,
    _spec("description", g.free_text(1)),
    _spec("switchport mode access", g.no_args),
    _spec("switchport mode trunk", g.no_args),
    _spec("switchport access vlan", g.positional(g.is_vlan_id), _access_vlan),
    _spec("switchport trunk allowed vlan", g.free_text(1), _trunk_allowed),
    _spec("switchport trunk native vlan", g.positional(g.is_vlan_id)),
    _spec("switchport trunk encapsulation", g.positional(g.one_of("dot1q", "isl", "negotiate"))),
    _spec("switchport nonegotiate", g.no_args),
    _spec("spanning-tree portfast", g.positional(g.one_of("trunk", "edge", "disable"), optional=1)),
    _spec("spanning-tree bpduguard", g.positional(g.one_of("enable", "disable"))),
    _spec("spanning-tree guard", g.positional(g.one_of("root", "loop", "none")), _stp_guard),
    _spec("storm-control broadcast level", g.positional(g.any_word, g.any_word, optional=1), _storm_control),
    _spec("shutdown", g.no_args),
    _spec("ip address", g.positional(g.is_ipv4, g.is_netmask), _ip_address),
)

VLAN_SPECS: Final[tuple[Spec, ...]] = (
    *_COMMON,
    _spec("name", g.positional(g.any_word)),
)

LINE_SPECS: Final[tuple[Spec, ...]] = (
    *_COMMON,
    _spec("exec-timeout", g.positional(g.int_between(0, 35791), g.int_between(0, 2147483), optional=1),
          _exec_timeout),
    _spec("login", g.no_args),
    _spec("login local", g.no_args),
    _spec("login authentication", g.positional(g.any_word)),
    _spec("transport input", g.free_text(1), _transport),
    _spec("transport output", g.free_text(1), _transport),
    _spec("password", g.free_text(1), _line_password),
    _spec("privilege level", g.positional(g.int_between(0, 15))),
    _spec("logging synchronous", g.no_args),
    _spec("access-class", g.positional(g.any_word, g.one_of("in", "out"))),
)  # fmt: skip

SPECS_BY_MODE: Final[dict[Mode, tuple[Spec, ...]]] = {
    Mode.CONFIG: GLOBAL_SPECS,
    Mode.CONFIG_IF: INTERFACE_SPECS,
    Mode.CONFIG_IF_RANGE: INTERFACE_SPECS,
    Mode.CONFIG_VLAN: VLAN_SPECS,
    Mode.CONFIG_LINE: LINE_SPECS,
}


# --- running a line ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineResult:
    """What a configuration line printed; ``error_column`` places the ``^`` marker (in the line)."""

    output: str = ""
    error_column: int | None = None
    failed: bool = False
    #: The line does not parse in the mode it was tried in (IOS then tries the parent mode).
    unparsed: bool = False


def _error(message: str, column: int | None = None, *, unparsed: bool = False) -> LineResult:
    return LineResult(message, column, failed=True, unparsed=unparsed)


def _vlan_name_guard(ctx: ConfigContext, inv: Invocation) -> Reject | None:
    # "vlan 1" enters config-vlan without a section to edit: its name is fixed, as on IOS.
    if ctx.mode is Mode.CONFIG_VLAN and not ctx.targets and inv.keywords == ("name",):
        return Reject(message="%Default VLAN 1 may not have its name changed.")
    return None


def _attempt(ctx: ConfigContext, mode: Mode, line: str) -> LineResult:
    """Run ``line`` as a command of ``mode``."""
    tokens = g.tokenize(line)
    words = [t.text for t in tokens]
    negated = words[0].lower() == "no"
    offset = 1 if negated else 0
    if negated and len(words) == 1:
        return _error(INCOMPLETE)
    result = g.match_command(SPECS_BY_MODE[mode], words[offset:], partial_args=negated)
    if isinstance(result, g.Invalid):
        return _error(INVALID_INPUT, tokens[offset + result.index].column, unparsed=True)
    if isinstance(result, g.Incomplete):
        return _error(INCOMPLETE)
    if isinstance(result, g.Ambiguous):
        return _error(f'% Ambiguous command:  "{line.strip()}"')
    arg_start = offset + result.arg_offset
    raw_args = line[tokens[arg_start].column :] if arg_start < len(tokens) else ""
    inv = Invocation(result.spec.keywords, result.args, negated, raw_args.strip())
    if mode is not ctx.mode:
        ctx.mode, ctx.targets = mode, []
    outcome = _vlan_name_guard(ctx, inv) or result.spec.handler(ctx, inv)
    if isinstance(outcome, Reject):
        if outcome.arg_index is not None:
            at = arg_start + outcome.arg_index
            return _error(INVALID_INPUT, tokens[at].column if at < len(tokens) else len(line.rstrip()) + 1)
        return _error(outcome.message)
    return LineResult(outcome, failed=outcome == INCOMPLETE)


def run_config_line(ctx: ConfigContext, line: str) -> LineResult:
    """Run one configuration line in the context's mode.

    A line that does not parse in a sub-mode is tried in global configuration, as IOS does:
    ``ntp server ...`` typed in ``(config-if)#`` leaves the interface and configures NTP. When
    neither parses, the error whose marker stands further right is reported.
    """
    if not line.strip():
        return LineResult()
    result = _attempt(ctx, ctx.mode, line)
    if result.unparsed and ctx.mode is not Mode.CONFIG:
        snapshot_mode, snapshot_targets = ctx.mode, list(ctx.targets)
        fallback = _attempt(ctx, Mode.CONFIG, line)
        if fallback.failed:
            ctx.mode, ctx.targets = snapshot_mode, snapshot_targets
        if not fallback.unparsed or (fallback.error_column or 0) > (result.error_column or 0):
            result = fallback
    return result


def replay(tree: ConfigTree, text: str) -> list[str]:
    """Apply a saved configuration to ``tree``; returns the lines that failed (empty when clean)."""
    failures: list[str] = []
    for header, children in split_blocks(text):
        ctx = ConfigContext(tree)
        if run_config_line(ctx, header).failed:
            failures.append(header)
            continue
        for child in children:
            if run_config_line(ctx, child).failed:
                failures.append(f" {child}")
    return failures
