"""The ``ksm`` command line: a thin layer that parses options, calls the pipeline and maps errors.

Exit codes (also shown by ``ksm --help``):
  0  success
  1  invalid input or a failed run (the message names file:line and a fix)
  2  usage error; for ``plan --detailed-exitcode`` and ``drift``: changes pending
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from types import ModuleType

import click

from ksm_provision import __version__
from ksm_provision.commands import common
from ksm_provision.errors import EXIT_FAILURE, EXIT_USAGE, KsmError
from ksm_provision.terminal import visible

EPILOG = """\b
Exit codes:
  0  success
  1  invalid input or a failed run (messages name FILE:LINE and a fix)
  2  usage error; with plan --detailed-exitcode and drift: changes pending
\b
Environment:
  KSM_INVENTORY   inventory directory (default: ./inventories)
  KSM_LAB_ONLY=1  refuse every connection outside 127.0.0.0/8
  KSM_DEBUG=1     show tracebacks of internal errors
"""


@click.group(
    epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="ksm")
@click.option(
    "--inventory",
    "inventory_dir",
    envvar="KSM_INVENTORY",
    default="inventories",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Directory with ksm.yml and one <authority>.yml per authority.",
)
@click.pass_context
def ksm(ctx: click.Context, inventory_dir: str) -> None:
    """ksm: the IT of every authority as code (validate, plan, apply, verify)."""
    ctx.obj = common.CliContext(inventory_dir=inventory_dir)


def _register() -> None:
    # One module per command family; each exposes `register(group)`.
    from ksm_provision.commands import inventory as inventory_commands

    inventory_commands.register(ksm)
    # --- commands registered by other modules (keep one line each) ---
    for name in ("onboard", "lab", "hosts", "change", "network", "workflow", "report", "hostkeys"):
        module = _optional_module(name)
        if module is not None:
            module.register(ksm)


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"ksm_provision.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"ksm_provision.commands.{name}":
            return None
        raise


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every user-facing error into a message and an exit code."""
    try:
        # Without standalone mode click *returns* the code of a `click.exceptions.Exit` raised in a command.
        result = ksm.main(args=argv, prog_name="ksm", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
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
        sys.exit(130)
    except Exception as exc:  # an internal bug: short message unless debugging
        if os.environ.get("KSM_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} — rerun with KSM_DEBUG=1 and report it")
        sys.exit(EXIT_FAILURE)
    sys.exit(result if isinstance(result, int) else 0)


def _error(message: str) -> None:
    """An error message on stderr; the values it quotes (names, paths) may hold control characters."""
    click.echo(visible(message), err=True)
