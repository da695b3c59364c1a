"""Running + intended config -> remediation and rollback, with hier_config v3's WorkflowRemediation.

Each config text is parsed once (parsing is most of hier_config's cost) into a :class:`ParsedConfig`
that can be reused: the running config of a device serves the plan, the push and the rollback.

Interfaces the device always has (physical switch ports, a router's kernel links) cannot be
deleted. When the inventory does not mention one that the running config shows, the intended
config gets it in the platform's default state (switch ports: ``shutdown`` and nothing else;
router links: no configuration) instead of hier_config's ``no interface ...``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hier_config import HConfig, WorkflowRemediation, get_hconfig

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


def remediate(running: ParsedConfig, intended: ParsedConfig) -> Remediation:
    """Remediation (running -> intended) and rollback (intended -> running) of one device."""
    if running.info.platform is not intended.info.platform:
        raise ValueError("running and intended configs of different platforms")
    target = _complete_intended(running.config, intended.config, running.info)
    workflow = WorkflowRemediation(running.config, target)
    return Remediation(workflow.remediation_config, workflow.rollback_config)


def predicted(running: ParsedConfig, remediation: Remediation) -> HConfig:
    """The config hier_config predicts after *remediation* is applied to *running*."""
    return running.config.future(remediation.remediation)
