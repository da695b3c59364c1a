"""What a change run is asked to do: the one typed request ``ksm plan``, ``apply`` and ``drift`` build.

The CLI turns its options into a :class:`ChangeRequest` and hands it to
:func:`ksm_provision.workflow.run.run_change`; everything else (scope, locks, plan files, audit and
status records) happens there. Output format and exit codes stay with the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Flag, StrEnum, auto
from pathlib import Path

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.network.pipeline import DEFAULT_WORKERS
from ksm_provision.playbook.runner import DEFAULT_STRATEGY
from ksm_provision.targets import Target
from ksm_provision.workflow.locks import DEFAULT_TTL
from ksm_provision.workflow.planfile import PlanFile


class ChangeMode(StrEnum):
    #: What apply would change (check+diff, remediation), recorded for ``ksm report``.
    PLAN = "plan"
    #: Change hosts and devices, under the authorities' locks, with an audit record per authority.
    APPLY = "apply"
    #: A plan whose pending changes are drift (live state differs from the files).
    DRIFT = "drift"


class Only(Flag):
    """The parts of the estate a run covers (``--only hosts|devices``; both by default).

    >>> Only.HOSTS in Only.BOTH, Only.DEVICES in Only.HOSTS
    (True, False)
    """

    HOSTS = auto()
    DEVICES = auto()
    BOTH = HOSTS | DEVICES


@dataclass(frozen=True)
class Authorities:
    """``--authority ID ...``: these authorities; none named is refused (a run needs a scope)."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class AllAuthorities:
    """``--all``: every authority of the inventory."""


@dataclass(frozen=True)
class ChangedSince:
    """``--changed-since REF``: what the change since git revision *ref* touches (plan only).

    *authorities*, when given, narrow it further to those authorities.
    """

    ref: str
    authorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReviewedPlan:
    """``ksm apply PLAN``: exactly the reviewed plan file (apply only).

    *authorities* / *all_authorities* are what the command line asked for besides the plan: they
    may narrow nothing and widen nothing, so anything beyond the plan's authorities is refused.
    """

    plan: PlanFile
    authorities: tuple[str, ...] = ()
    all_authorities: bool = False


#: Which authorities, hosts and devices a run covers, before it is resolved against the inventory.
Scope = Authorities | AllAuthorities | ChangedSince | ReviewedPlan


@dataclass(frozen=True)
class ChangeRequest:
    """One plan, apply or drift run over hosts and devices, as the command line asked for it."""

    mode: ChangeMode
    #: The whole loaded and validated inventory; *scope* narrows it.
    inventory: Inventory
    scope: Scope
    #: None: production (for a reviewed plan: the plan's target, and any other is refused).
    target: Target | None = None
    only: Only = Only.BOTH
    #: Comma-separated shell patterns of host and device names (``--limit``).
    limit: str | None = None
    #: Ansible forks (hosts in parallel) and network devices in parallel.
    forks: int = 8
    workers: int = DEFAULT_WORKERS
    #: Ansible strategy of the host stage (``RunSettings.strategy``): ``linear`` or ``mitogen``.
    ansible_strategy: str = DEFAULT_STRATEGY
    #: Vault password files by authority (``--vault-password-file ID=FILE``).
    explicit_vaults: dict[str, Path] = field(default_factory=dict)
    #: plan: also write a plan file for ``ksm apply PLAN`` here.
    plan_out: Path | None = None
    #: apply: seconds to wait for a held lock, and seconds until a lock counts as stale.
    lock_wait: float = 0.0
    lock_ttl: float = DEFAULT_TTL
    #: Any directory inside the git work tree: ``--changed-since`` and the commit in records.
    repo: Path = field(default_factory=Path.cwd)

    def __post_init__(self) -> None:
        if isinstance(self.scope, ChangedSince) and self.mode is not ChangeMode.PLAN:
            raise UsageError("--changed-since only works with `ksm plan`", "plan with --changed-since")
        if isinstance(self.scope, ReviewedPlan) and self.mode is not ChangeMode.APPLY:
            raise UsageError("a plan file can only be applied", "ksm apply PLAN")
        if self.plan_out is not None and self.mode is not ChangeMode.PLAN:
            raise UsageError("only `ksm plan` writes a plan file", "ksm plan ... --out FILE")

    @property
    def target_or_default(self) -> Target:
        return self.target or Target.PRODUCTION
