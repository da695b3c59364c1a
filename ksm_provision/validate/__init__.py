"""Semantic validation of a loaded inventory: rules per authority, then rules across authorities.

The models already guarantee types and forms (addresses, host names, single-line text); the rules
here check what needs more than one value: references, address arithmetic, VLANs, uniqueness.
Every problem names the file and line of the offending entry; all problems are reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ksm_provision.errors import InventoryError, Problem, UsageError, relative_path
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory, authority_files, load_inventory
from ksm_provision.inventory.loader import gc_paused
from ksm_provision.validate.authority_rules import check_authority
from ksm_provision.validate.core_rules import check_core
from ksm_provision.validate.cross_rules import check_across
from ksm_provision.validate.device_rules import check_devices
from ksm_provision.validate.dhcp_rules import check_dhcp
from ksm_provision.validate.intent_rules import check_intent
from ksm_provision.validate.vault_checks import missing_vault_files
from ksm_provision.validate.view import authority_view

__all__ = ["ScopedValidation", "validate_inventory", "validate_scope"]


def validate_inventory(inventory: Inventory, *, vault_files: bool = True) -> list[Problem]:
    """Every problem found, sorted by file and line; empty when the inventory is consistent.

    Needs no vault password. *vault_files*: also require every authority's vault file to exist
    (off only for a check of a new authority file written before its vault, as `ksm onboard` does).
    """
    with gc_paused():
        views = [authority_view(inventory, aid) for aid in inventory.authorities]
        problems = [problem for view in views for problem in check_authority(view)]
        problems += [problem for view in views for problem in check_dhcp(view)]
        problems += check_across(inventory, views)
        problems += check_intent(inventory, views)
        problems += check_devices(inventory, views)
        problems += check_core(inventory, views)
        if vault_files:
            problems += missing_vault_files(inventory)
    return sorted(set(problems))


@dataclass(frozen=True)
class ScopedValidation:
    """What ``ksm validate [--authority ID ...]`` reports.

    *problems* is empty only when nothing stands in the way of working on the scope: every command
    that loads the inventory (render, plan, apply, report) would accept it. *inventory* is the
    loaded inventory narrowed to the scope, or None when some file did not load.
    """

    scope: tuple[str, ...]
    problems: list[Problem]
    inventory: Inventory | None


def validate_scope(root: Path, scope: Sequence[str] = ()) -> ScopedValidation:
    """Load and check the whole inventory, and report what concerns the authorities in *scope*.

    Everything is always loaded and checked, since any other file may conflict with the scope. For a
    scope, the report holds (a) every problem in ksm.yml and in the scope's files, (b) every conflict
    across authorities that involves one of them, whichever file it is reported in, and (c) one line
    per other file with problems: a file that does not load hides every conflict with it, and any
    problem elsewhere makes the commands that load the inventory refuse to run for the scope too.
    Problems of other files that involve no authority of the scope are counted there, not listed.
    An empty scope reports every problem.
    """
    wanted = tuple(dict.fromkeys(scope))
    try:
        inventory = load_inventory(root)
    except InventoryError as exc:
        check_known(wanted, [path.stem for path in authority_files(root)])
        return ScopedValidation(wanted, unloadable(root, wanted, exc.problems), None)
    check_known(wanted, list(inventory.authorities))
    problems = validate_inventory(inventory)
    if not wanted:
        return ScopedValidation(wanted, problems, None if problems else inventory)
    files = {inventory.provider_source.file, *(inventory.sources[a].file for a in wanted)}
    involved = set(wanted)
    shown: list[Problem] = []
    hidden: Counter[str] = Counter()
    for problem in problems:
        if problem.file in files or problem.involves & involved:
            shown.append(problem)
        else:
            hidden[problem.file] += 1
    names = ", ".join(wanted)
    shown += [
        Problem(
            file,
            0,
            f"has {count} problem(s) not involving {names}; commands that load the inventory refuse "
            f"to run for {names} until they are fixed",
            f"fix {file} or run `ksm validate` to see them",
        )
        for file, count in sorted(hidden.items())
    ]
    return ScopedValidation(wanted, sorted(shown), None if shown else inventory.select(wanted))


def check_known(scope: Sequence[str], known: Sequence[str]) -> None:
    unknown = [a for a in scope if a not in known]
    if unknown:
        raise UsageError(
            f"unknown authority '{unknown[0]}'", f"known authorities: {', '.join(known) or 'none'}"
        )


def unloadable(root: Path, scope: Sequence[str], problems: list[Problem]) -> list[Problem]:
    """The load problems of ksm.yml and the scope's files, and one line per other file that failed.

    Without every file loaded, no rule runs: neither the checks across authorities nor the semantic
    checks of the scope's own files (those follow once everything loads).
    """
    if not scope:
        return sorted(problems)
    provider = relative_path(root / PROVIDER_FILE)
    own = {relative_path(root / f"{a}.yml") for a in scope}
    shown = [p for p in problems if p.file == provider or p.file in own]
    others = Counter(p.file for p in problems if p.file != provider and p.file not in own)
    names = ", ".join(scope)
    for file, count in sorted(others.items()):
        other = Path(file).stem
        shown.append(
            Problem(
                file,
                0,
                f"has {count} problem(s); conflicts between {names} and {other} cannot be checked",
                f"fix {file} or run `ksm validate` to see them; until every file loads, {names} is only "
                "checked against the models",
                frozenset(scope),
            )
        )
    return sorted(shown)
