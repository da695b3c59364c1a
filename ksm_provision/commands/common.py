"""Helpers shared by the command modules: context, inventory loading, options, output.

Imported by ``ksm --help`` and by shell completion: only click and the standard library at module
level; pydantic, rich and the inventory loader are imported by the functions that use them.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from ksm_provision.errors import InventoryError, UsageError
from ksm_provision.targets import Target

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ksm_provision.inventory.inventory import Inventory

#: ``--inventory`` when neither the option nor ``KSM_INVENTORY`` says otherwise.
DEFAULT_INVENTORY_DIR = "inventories"


@dataclass
class CliContext:
    inventory_dir: str

    @cached_property
    def inventory(self) -> Inventory:
        """The loaded inventory, checked against the models and every validation rule."""
        from ksm_provision.inventory.inventory import load_inventory
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


# --------------------------------------------------------------------------- shell completion
# Completion runs on every TAB: no callback may raise, and none loads more than it needs.


def _inventory_root(ctx: click.Context) -> Path:
    """The inventory directory of the command line being completed (``--inventory``, env, default)."""
    value = ctx.find_root().params.get("inventory_dir")
    return Path(value or os.environ.get("KSM_INVENTORY") or DEFAULT_INVENTORY_DIR)


def authority_ids(root: Path) -> list[str]:
    """The authority ids in *root*: the stems of its authority files, nothing loaded or checked.

    The same names as :func:`ksm_provision.inventory.inventory.authority_files` (``ksm.yml``,
    ``_drafts`` and hidden files are not authorities).
    """
    try:
        names = [p.stem for p in root.glob("*.yml") if p.name != "ksm.yml"]
    except OSError:
        return []
    return sorted(name for name in names if not name.startswith(("_", ".")))


def complete_authority(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``--authority <TAB>``: the ids from the inventory's file names."""
    return [CompletionItem(i) for i in authority_ids(_inventory_root(ctx)) if i.startswith(incomplete)]


def node_names(root: Path) -> list[str]:
    """Every host and device name of the inventory in *root*, or none when it does not load."""
    try:
        from ksm_provision.inventory.inventory import load_inventory

        inventory = load_inventory(root)
        return sorted({h.hostname for h in inventory.hosts} | {d.hostname for d in inventory.devices})
    except Exception:  # completion never fails: a broken inventory just completes nothing
        return []


def complete_node(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``inventory show <TAB>``: host and device names (loads the inventory, does not validate it)."""
    return [CompletionItem(n) for n in node_names(_inventory_root(ctx)) if n.startswith(incomplete)]


def complete_limit(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``--limit a,b<TAB>``: host and device names for the last of the comma-separated patterns."""
    done, comma, last = incomplete.rpartition(",")
    return [
        CompletionItem(f"{done}{comma}{name}")
        for name in node_names(_inventory_root(ctx))
        if name.startswith(last)
    ]


# --------------------------------------------------------------------------- shared options
# Each option is defined here once; commands use these, never their own copy.

authority_option = click.option(
    "--authority",
    "-a",
    "authorities",
    multiple=True,
    metavar="ID",
    shell_complete=complete_authority,
    help="Limit to this authority (repeatable).",
)
all_option = click.option("--all", "all_authorities", is_flag=True, help="Every authority.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
target_option = click.option(
    "--target",
    type=click.Choice([t.value for t in Target]),
    default=Target.PRODUCTION.value,
    show_default=True,
    help="lab: the lab twin's stand-ins (127.x addresses, the lab's keys) instead of the inventory's.",
)
limit_option = click.option(
    "--limit",
    metavar="PATTERN",
    shell_complete=complete_limit,
    help="Only hosts and devices whose names match these shell patterns (comma-separated).",
)

_Command = TypeVar("_Command", bound=Callable[..., Any])


def state_dir_option(holds: str) -> Callable[[_Command], _Command]:
    """``--state-dir DIR`` (default ``$KSM_STATE_DIR`` or ``.ksm-state``); *holds* says what the
    command reads or writes there."""
    return click.option(
        "--state-dir",
        "state",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        metavar="DIR",
        help=f"{holds} [default: $KSM_STATE_DIR or .ksm-state]",
    )


vault_option = click.option(
    "--vault-password-file",
    "vault_files",
    multiple=True,
    metavar="ID=FILE",
    help="Vault password file of an authority (repeatable); default $KSM_VAULT_PASSWORDS_DIR/ID.pass.",
)


def parse_vault_files(values: tuple[str, ...]) -> dict[str, Path]:
    parsed: dict[str, Path] = {}
    for value in values:
        authority, sep, path = value.partition("=")
        if not sep or not authority or not path:
            raise UsageError(
                f"--vault-password-file {value!r} is not ID=FILE", "e.g. --vault-password-file lup=~/lup.pass"
            )
        parsed[authority] = Path(path).expanduser()
    return parsed


# --------------------------------------------------------------------------- output


#: The width of a console whose stream is not a terminal: rows are never cut or wrapped there.
PIPED_WIDTH = 100_000


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


@functools.cache
def _safe_console_class() -> type[Console]:
    from rich.console import Console, ConsoleOptions
    from rich.text import Text

    from ksm_provision.terminal import visible

    class SafeConsole(Console):
        """A rich console for data: strings are never markup, control characters print visibly.

        Styled output is built from :class:`rich.text.Text` (see :mod:`ksm_provision.terminal`), so
        a host, authority or diff containing ``[/]`` or an escape sequence prints as what it is.

        Written to a pipe or a file (the stream is no tty, whatever FORCE_COLOR says), every table
        stays whole for grep and awk: no width limit, so no cell is cut or wrapped, and box lines in
        plain ASCII.
        """

        def __init__(self, *, stderr: bool = False) -> None:
            super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True)
            self.piped = not _is_tty(self.file)
            if self.piped:
                self.size = (PIPED_WIDTH, 25)

        @property
        def options(self) -> ConsoleOptions:
            options = super().options
            if self.piped:
                options.encoding = "ascii"  # rich then draws tables, rules and trees in ASCII
            return options

        def render_str(self, text: str, **kwargs: Any) -> Text:
            # every plain string printed, in a table cell, title or caption passes here
            return super().render_str(visible(text), **kwargs)

    return SafeConsole


def console(stderr: bool = False) -> Console:
    """The console of every command: markup off, control characters shown as escapes.

    Not on a terminal, tables print whole (no width limit) with ASCII box lines.
    """
    return _safe_console_class()(stderr=stderr)


def table(*headers: str, title: str | None = None, whole: tuple[str, ...] = ()) -> Table:
    """A table for inventory data: cells fold instead of being cut, so no name loses characters.

    Shown on :func:`console`: fitted to a terminal's width, whole and in ASCII when piped. The
    columns named in *whole* keep each cell on one line while other columns can fold (short values
    such as addresses and FILE:LINE). Cells hold data: pass :func:`ksm_provision.terminal.text`
    objects or plain strings (both shown literally).
    """
    from rich.table import Table

    grid = Table(title=title)
    for header in headers:
        grid.add_column(header, overflow="fold", no_wrap=header in whole)
    return grid


def print_json(data: Any) -> None:
    from pydantic import BaseModel

    from ksm_provision.terminal import json_safe

    if isinstance(data, BaseModel):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(json_safe(text) + "\n")  # the same data; no raw C1/bidi character reaches a terminal


def echo(message: object, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text that may quote data: control characters shown as escapes."""
    from ksm_provision.terminal import visible

    click.echo(visible(message), err=err, nl=nl)
