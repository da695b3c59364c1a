"""Running + intended config -> remediation and rollback, with hier_config v3's WorkflowRemediation.

Each config text is parsed once (parsing is most of hier_config's cost) into a :class:`ParsedConfig`
that can be reused: the running config of a device serves the plan, the push and the rollback.

Interfaces the device always has (physical switch ports, a router's kernel links) cannot be
deleted. When the inventory does not mention one that the running config shows, the intended
config gets it in the platform's default state (switch ports: ``shutdown`` and nothing else;
router links: no configuration) instead of hier_config's ``no interface ...``.

IOS hides some lines and adds others by itself (:mod:`.hidden_lines`): hidden lines
(``snmp-server user``) never take part in the comparison with the running config and are sent only
when a :class:`~.hidden_lines.HiddenState` read from the device says they must be; device-owned
lines (``username``, ``enable secret``, ``aaa session-id common``, ...) in the running config are
neither removed nor reported unless the intended config holds the same line.
"""

from __future__ import annotations

from dataclasses import dataclass

from hier_config import HConfig, WorkflowRemediation, get_hconfig

from ksm_provision.inventory.models import Platform
from ksm_provision.network.hidden_lines import HiddenState, is_device_owned, is_hidden, removal
from ksm_provision.network.platforms import PlatformInfo


@dataclass(frozen=True)
class ParsedConfig:
    """One config text, parsed once with its platform's driver."""

    info: PlatformInfo
    text: str
    config: HConfig

    @property
    def lines(self) -> tuple[str, ...]:
        """Canonical lines (indented by depth), without comments, header lines or ``end``."""
        return tuple(self.config.dump_simple())


def parse(info: PlatformInfo, text: str) -> ParsedConfig:
    return ParsedConfig(info, text, get_hconfig(info.driver(), text))


def hidden_lines(config: ParsedConfig) -> list[str]:
    """The top-level lines of *config* the device will not show (``snmp-server user`` on IOS)."""
    if config.info.platform is not Platform.CISCO_IOS:
        return []
    return [child.text for child in config.config.children if is_hidden(child.text)]


def _without(config: HConfig, drop: list[str]) -> HConfig:
    """A copy of *config* without the top-level lines in *drop* (the config itself if none)."""
    if not drop:
        return config
    copy = config.deep_copy()
    for text in drop:
        child = copy.get_child(equals=text)
        if child is not None:
            child.delete()
    return copy


def comparable(running: ParsedConfig, intended: ParsedConfig) -> tuple[HConfig, HConfig]:
    """Running and intended as far as they can be compared: hidden lines out of the intended
    config, device-owned lines out of the running one (unless intended holds the same line)."""
    if running.info.platform is not Platform.CISCO_IOS:
        return running.config, intended.config
    owned = [
        child.text
        for child in running.config.children
        if is_device_owned(child.text) and intended.config.get_child(equals=child.text) is None
    ]
    hidden = hidden_lines(running) + hidden_lines(intended)
    return _without(running.config, owned + hidden), _without(intended.config, hidden_lines(intended))


@dataclass(frozen=True)
class Remediation:
    """What turns running into intended (``commands``) and back (``rollback``)."""

    remediation: HConfig
    rollback_config: HConfig

    @property
    def empty(self) -> bool:
        return not tuple(self.remediation.all_children())

    @property
    def text(self) -> str:
        return "\n".join(self.remediation.dump_simple())

    @property
    def rollback_text(self) -> str:
        return "\n".join(self.rollback_config.dump_simple())

    @property
    def commands(self) -> list[str]:
        """The remediation as CLI commands to type in configuration mode, sections closed by exit."""
        return _commands(self.remediation)

    @property
    def rollback(self) -> list[str]:
        return _commands(self.rollback_config)


def _commands(config: HConfig) -> list[str]:
    return [line.strip() for line in config.lines(sectional_exiting=True)]


def _complete_intended(running: HConfig, intended: HConfig, info: PlatformInfo) -> HConfig:
    """A copy of *intended* with the fixed interfaces of *running* it does not mention, at default."""
    pattern = info.fixed_interface_re
    if pattern is None:
        return intended
    missing = [
        child
        for child in running.children
        if pattern.match(child.text) and intended.get_child(equals=child.text) is None
    ]
    if not missing:
        return intended
    completed = intended.deep_copy()
    for child in missing:
        if not child.children and not info.default_port_config:
            continue
        stub = completed.add_child(child.text)
        for line in info.default_port_config:
            stub.add_child(line)
    return completed


def remediate(
    running: ParsedConfig,
    intended: ParsedConfig,
    hidden: HiddenState | None = None,
    hidden_digest: str | None = None,
) -> Remediation:
    """Remediation (running -> intended) and rollback (intended -> running) of one device.

    Hidden lines of *intended* never take part in the comparison. With *hidden* (what the device
    revealed with ``show snmp user``, and the digest recorded at the last push) they are added as
    it requires (missing or different users; all of them along with any other change, so a rotated
    secret reaches the device with its next change); a newly created user is removed again by the
    rollback, a re-sent one cannot be restored (the old secret is unknown). Without *hidden* (the
    push path has not read the device's
    SNMP users) they ride along with any other change: a new device gets its user with its first
    push, re-sending an unchanged user changes nothing on IOS, and an in-sync device gets nothing.
    """
    if running.info.platform is not intended.info.platform:
        raise ValueError("running and intended configs of different platforms")
    current, wanted = comparable(running, intended)
    target = _complete_intended(current, wanted, running.info)
    workflow = WorkflowRemediation(current, target)
    result = Remediation(workflow.remediation_config, workflow.rollback_config)
    if hidden is not None:
        lines = hidden.to_send(hidden_lines(intended), hidden_digest)
        if not result.empty:
            lines = hidden_lines(intended)  # ride along: re-sending an unchanged user re-keys it alike
        _add_hidden(result, hidden, lines)
    elif not result.empty:
        for line in hidden_lines(intended):
            result.remediation.add_child(line)
    return result


def _add_hidden(result: Remediation, hidden: HiddenState, lines: list[str]) -> None:
    for line in lines:
        result.remediation.add_child(line)
        undo = removal(line)
        name = line.split()[2]
        if undo is not None and name not in hidden.users:
            result.rollback_config.add_child(undo)


def predicted(running: ParsedConfig, remediation: Remediation) -> HConfig:
    """The config hier_config predicts after *remediation* is applied to *running*."""
    return running.config.future(remediation.remediation)
