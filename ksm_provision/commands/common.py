"""Helpers shared by the command modules: context, inventory loading, output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console

from ksm_provision.errors import InventoryError, UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory


@dataclass
class CliContext:
    inventory_dir: str

    @cached_property
    def inventory(self) -> Inventory:
        """The loaded inventory, checked against the models and every validation rule."""
        from ksm_provision.validate import validate_inventory

        inventory = load_inventory(Path(self.inventory_dir))
        problems = validate_inventory(inventory)
        if problems:
            raise InventoryError(problems)
        return inventory

    def scoped(
        self, authorities: tuple[str, ...], all_authorities: bool = False, required: bool = False
    ) -> Inventory:
        """The inventory narrowed to --authority IDs; *required*: --authority or --all must be given."""
        inventory = self.inventory
        check_exclusive_scope(authorities, all_authorities)
        if authorities:
            return inventory.select(authorities)
        if required and not all_authorities:
            raise UsageError(
                "no scope given", f"add --authority ID (one of: {', '.join(inventory.authorities)}) or --all"
            )
        return inventory


def check_exclusive_scope(authorities: tuple[str, ...], all_authorities: bool) -> None:
    if authorities and all_authorities:
        raise UsageError(
            "--authority and --all exclude each other", "name authorities or use --all, not both"
        )


pass_context = click.make_pass_decorator(CliContext)

authority_option = click.option(
    "--authority",
    "-a",
    "authorities",
    multiple=True,
    metavar="ID",
    help="Limit to this authority (repeatable).",
)
all_option = click.option("--all", "all_authorities", is_flag=True, help="Every authority.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
target_option = click.option(
    "--target",
    type=click.Choice(["lab", "production"]),
    default="production",
    show_default=True,
    help="lab: the lab twin's 127.x addresses and keys instead of the inventory's addresses.",
)


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(text + "\n")
