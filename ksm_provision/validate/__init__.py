"""Semantic validation of a loaded inventory: rules per authority, then rules across authorities.

The models already guarantee types and forms (addresses, host names, single-line text); the rules
here check what needs more than one value: references, address arithmetic, VLANs, uniqueness.
Every problem names the file and line of the offending entry; all problems are reported at once.
"""

from __future__ import annotations

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.loader import gc_paused
from ksm_provision.validate.authority_rules import check_authority
from ksm_provision.validate.cross_rules import check_across
from ksm_provision.validate.view import authority_view

__all__ = ["validate_inventory"]


def validate_inventory(inventory: Inventory) -> list[Problem]:
    """Every problem found, sorted by file and line; empty when the inventory is consistent."""
    with gc_paused():
        views = [authority_view(inventory, aid) for aid in inventory.authorities]
        problems = [problem for view in views for problem in check_authority(view)]
        problems += check_across(inventory, views)
    return sorted(set(problems))
