"""``ksm report``: the consolidated, tenant-safe management report (terminal, JSON, HTML)."""

from __future__ import annotations

from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    authority_option,
    console,
    echo,
    json_option,
    pass_context,
    print_json,
    state_dir_option,
)
from ksm_provision.compliance.report_section import add_grundschutz
from ksm_provision.errors import relative_path
from ksm_provision.report.collect import collect_report
from ksm_provision.report.html import write_html
from ksm_provision.report.model import DEFAULT_TREND_WEEKS
from ksm_provision.report.text import print_summary
from ksm_provision.workflow.records import state_dir


@click.command("report")
@authority_option
@json_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the report as one self-contained HTML file, e.g. report.html.",
)
@state_dir_option("Status records (audit log, verify, drift, plans, proof).")
@click.option(
    "--weeks",
    type=click.IntRange(1, 520),
    default=DEFAULT_TREND_WEEKS,
    show_default=True,
    metavar="N",
    help="ISO weeks of trend (changes, drift, pass rate per week), the current one last, e.g. 12.",
)
@pass_context
def report(
    ctx: CliContext,
    authorities: tuple[str, ...],
    as_json: bool,
    out: Path | None,
    state: Path | None,
    weeks: int,
) -> None:
    """Steering information across authorities: estate, address plan, changes, drift, verification.

    With --authority only those authorities appear, in totals too; records of others are left out.
    Prints a summary (or with --json the documented JSON structure); --out also writes HTML.
    Times are shown in each authority's time zone (default Europe/Berlin); the JSON keeps UTC.
    """
    inventory = ctx.scoped(authorities)
    base = state if state is not None else state_dir()
    model = add_grundschutz(
        collect_report(inventory, base, filtered=bool(authorities), weeks=weeks), inventory, base
    )
    if as_json:
        print_json(model)
    else:
        print_summary(model, console())
    if out is not None:
        written = write_html(model, out)
        echo(f"wrote {relative_path(written)}", err=as_json)
