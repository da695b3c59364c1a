"""``ksm compliance``: the Grundschutz-Check per authority, from the records in the state directory."""

from __future__ import annotations

from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    console,
    echo,
    json_option,
    pass_context,
    print_json,
    state_dir_option,
)
from ksm_provision.errors import relative_path


@click.command("compliance")
@authority_option
@all_option
@json_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the check as JSON (the --json structure) to FILE, e.g. grundschutz-schwerin.json.",
)
@state_dir_option("Status records (audit log, verify, drift, proof).")
@pass_context
def compliance(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    as_json: bool,
    out: Path | None,
    state: Path | None,
) -> None:
    """IT-Grundschutz-Check: each mapped BSI Anforderung per authority, with ksm's evidence.

    Reads only what verify, drift, apply and prove left in the state directory; contacts nothing.
    Each run appends the counts per authority to its history (the trend in `ksm report`).
    Status per Anforderung: erfüllt, teilweise, nicht erfüllt, nicht geprüft (keine Daten) or nicht
    prüfbar durch ksm. With --authority nothing of another authority appears.
    """
    from ksm_provision.compliance.check import build_compliance
    from ksm_provision.compliance.evidence import known_evidence
    from ksm_provision.compliance.mapping import load_mapping
    from ksm_provision.compliance.state import load_compliance_state, record_summaries
    from ksm_provision.compliance.text import print_compliance
    from ksm_provision.fileio import write_atomic
    from ksm_provision.workflow.records import state_dir, utc_now

    inventory = ctx.scoped(authorities, all_authorities, required=True)
    mapping = load_mapping(known=known_evidence())
    base = state if state is not None else state_dir()
    records = load_compliance_state(base, inventory.authorities)
    model = build_compliance(mapping, inventory, records, utc_now(), filtered=bool(authorities))
    try:
        record_summaries(model, base)  # the trend of `ksm report` (each authority's own history)
    except OSError as exc:  # e.g. an auditor's read-only copy of the state directory: the check stands
        echo(f"warning: the check was not added to the trend history: {exc}", err=True)
    if as_json:
        print_json(model)
    else:
        print_compliance(model, console())
    if out is not None:
        write_atomic(out, model.model_dump_json(indent=2) + "\n", mode=0o644)
        echo(f"wrote {relative_path(out)}", err=as_json)
