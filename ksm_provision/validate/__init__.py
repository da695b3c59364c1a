"""Semantic validation of a loaded inventory (stub: the rules live in authority_rules / cross_rules)."""

from __future__ import annotations

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory


def validate_inventory(inventory: Inventory) -> list[Problem]:
    """Every problem found, sorted by file and line; empty when the inventory is consistent."""
    return []
