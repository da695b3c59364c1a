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
from rich.text import Text

from ksm_provision.errors import InventoryError, UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.terminal import json_safe, visible


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


class SafeConsole(Console):
    """A rich console for data: strings are never markup, control characters in them print visibly.

    Styled output is built from :class:`rich.text.Text` (see :mod:`ksm_provision.terminal`), so a
    host, authority or diff containing ``[/]`` or an escape sequence prints as what it is.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        # every plain string printed, in a table cell, title or caption passes here
        return super().render_str(visible(text), **kwargs)


def console(stderr: bool = False) -> Console:
    """The console of every command: markup off, control characters shown as escapes."""
    return SafeConsole(stderr=stderr)


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(json_safe(text) + "\n")  # the same data; no raw C1/bidi character reaches a terminal


def echo(message: object, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text that may quote data: control characters shown as escapes."""
    click.echo(visible(message), err=err, nl=nl)
