"""The ``ksm`` command line: a thin layer that parses options, calls the pipeline and maps errors.

Exit codes (also shown by ``ksm --help``; constants in :mod:`ksm_provision.errors`):
  0    success
  1    invalid input or a failed run (the message names file:line and a fix)
  2    ``plan --detailed-exitcode`` and ``drift`` ran and found changes pending (drift); only they
       end in 2, so CI can allow exactly this code (terraform's ``-detailed-exitcode`` convention)
  64   usage error (``EX_USAGE`` of sysexits.h): a bad option or argument, a missing command (``ksm``
       alone shows the help on stderr), an unknown authority or host
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from typing import NamedTuple

import click
from click.shell_completion import CompletionItem

from ksm_provision import __version__
from ksm_provision.commands import common
from ksm_provision.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, KsmError

EPILOG = """\b
Exit codes:
  0    success
  1    invalid input or a failed run (messages name FILE:LINE and a fix)
  2    changes pending: plan --detailed-exitcode and drift found differences
  64   usage error: bad option or argument, missing command, unknown authority
  130  interrupted

\b
Environment:
  KSM_INVENTORY   inventory directory (default: ./inventories)
  KSM_LAB_ONLY=1  refuse every connection outside 127.0.0.0/8
  KSM_DEBUG=1     show tracebacks of internal errors
"""


class LazyCommand(NamedTuple):
    """Where a subcommand lives: ``ksm_provision.commands.<module>.<attribute>``, and its short help."""

    module: str
    attribute: str
    short_help: str


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when one of them runs (or is completed).

    ``--help`` and completing a command name read the static table; a command module, and with it
    pydantic, rich, Ansible or pytest, is imported when the command itself is needed.
    """

    def __init__(self, *args: object, lazy_commands: dict[str, LazyCommand], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = lazy_commands

    def list_commands(self, _ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, _ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            entry = self.lazy_commands[cmd_name]
            module = importlib.import_module(f"ksm_provision.commands.{entry.module}")
            command = getattr(module, entry.attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"ksm_provision.commands.{entry.module}.{entry.attribute} is no command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def command_help(self, name: str, limit: int) -> str:
        """A subcommand's short help, from the table while it is not imported."""
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        return click.Command(name, help=self.lazy_commands[name].short_help).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [n for n in self.list_commands(ctx) if not (n in self.commands and self.commands[n].hidden)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.command_help(name, limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        results = [
            CompletionItem(name, help=self.command_help(name, 45))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not (name in self.commands and self.commands[name].hidden)
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))  # the group's own options
        return results


#: Every subcommand of ``ksm``: name -> (module under ksm_provision.commands, attribute, short help).
#: tests/unit/test_cli_startup.py checks that each entry loads and that its help is the command's.
COMMANDS = {
    "apply": LazyCommand(
        "change",
        "apply",
        "Apply hosts and devices: --authority ID / --all, or exactly the reviewed PLAN file.",
    ),
    "compliance": LazyCommand(
        "compliance",
        "compliance",
        "IT-Grundschutz-Check: each mapped BSI Anforderung per authority, with ksm's evidence.",
    ),
    "drift": LazyCommand(
        "change",
        "drift",
        "Compare live hosts and devices with the files; exit 2 when they differ (drift).",
    ),
    "hostkeys": LazyCommand(
        "hostkeys",
        "hostkeys_group",
        "SSH host keys of hosts and devices: known_hosts.d/<authority> beside the inventory.",
    ),
    "inventory": LazyCommand(
        "inventory", "inventory_group", "Look at the inventory: hosts, devices, effective settings."
    ),
    "lab": LazyCommand(
        "lab",
        "lab_group",
        "The lab twin: stand-ins for hosts, routers and switches on 127.0.0.0/8 (needs root).",
    ),
    "lock": LazyCommand(
        "workflow", "lock_group", "Apply locks per authority: who holds them, and breaking stale ones."
    ),
    "network": LazyCommand(
        "network", "network_group", "Switches and routers: backup, plan and apply (device-only)."
    ),
    "onboard": LazyCommand(
        "onboard",
        "onboard",
        "Write ID.yml for a new commune: next free address block, VLAN range, AS and core link.",
    ),
    "plan": LazyCommand(
        "change",
        "plan",
        "Show what apply would change: hosts (check+diff) and devices (remediation, rollback).",
    ),
    "prove": LazyCommand(
        "prove",
        "prove_command",
        "Prove reachability and isolation in the lab twin: who reaches what, from inside its networks.",
    ),
    "pull": LazyCommand(
        "pull",
        "pull_group",
        "Pull mode: clients apply their own configuration with ansible-pull on a timer and report.",
    ),
    "report": LazyCommand(
        "report",
        "report",
        "Steering information across authorities: estate, address plan, changes, drift, verification.",
    ),
    "schema": LazyCommand(
        "schema",
        "schema_command",
        "JSON Schema of the inventory format, for editors (yaml-language-server) and CI.",
    ),
    "show": LazyCommand(
        "workflow",
        "show_command",
        "Show the plan file PLAN (made by `ksm plan --out`): what would change, secrets redacted.",
    ),
    "validate": LazyCommand(
        "inventory",
        "validate",
        "Check the inventory: types, references, addresses, VLANs, names, across authorities.",
    ),
    "verify": LazyCommand(
        "hosts", "verify", "Prove hosts match the inventory (pytest-testinfra checks generated from it)."
    ),
}

#: ``ksm render ansible|network``: one group, its subcommands from two modules.
RENDER_COMMANDS = {
    "ansible": LazyCommand(
        "hosts", "render_ansible", "Write a static hosts.yml with host_vars (production addresses) to OUT."
    ),
    "network": LazyCommand(
        "network",
        "render_network",
        "Write each device's intended config to OUT/<authority>/<device>.conf (secrets as ********).",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ksm")
@click.option(
    "--inventory",
    "inventory_dir",
    envvar="KSM_INVENTORY",
    default=common.DEFAULT_INVENTORY_DIR,
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Directory with ksm.yml and one <authority>.yml per authority.",
)
@click.pass_context
def ksm(ctx: click.Context, inventory_dir: str) -> None:
    """ksm: the IT of every authority as code (validate, plan, apply, verify)."""
    ctx.obj = common.CliContext(inventory_dir=inventory_dir)


@ksm.group("render", cls=LazyGroup, lazy_commands=RENDER_COMMANDS)
def render() -> None:
    """Write generated artefacts for inspection."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every user-facing error into a message and an exit code."""
    try:
        # Without standalone mode click *returns* the code of a `click.exceptions.Exit` raised in a command.
        result = ksm.main(args=argv, prog_name="ksm", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # Click's usage errors (its own code is 2) end in EXIT_USAGE, so that 2 means only "changes
        # pending"; `ksm` or `ksm render` alone is one too: Click shows the help on stderr.
        shown = io.StringIO()  # the message quotes what the user typed: shown, never interpreted
        exc.show(file=shown)
        _error(shown.getvalue().rstrip("\n"))
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except KsmError as exc:
        _error(f"error: {exc}" if "\n" not in str(exc) else str(exc))
        sys.exit(exc.exit_code)
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"error: {exc.strerror or exc}{where} — check the path and its permissions")
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # an internal bug: short message unless debugging
        if os.environ.get("KSM_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} — rerun with KSM_DEBUG=1 and report it")
        sys.exit(EXIT_FAILURE)
    sys.exit(result if isinstance(result, int) else EXIT_OK)


def _error(message: str) -> None:
    """An error message on stderr; the values it quotes (names, paths) may hold control characters."""
    from ksm_provision.terminal import visible

    click.echo(visible(message), err=True)
