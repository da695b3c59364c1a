"""``ksm prove``: the reachability/isolation matrix, observed in the lab twin's data plane.

The expectations come from the inventory (:mod:`ksm_provision.prove.matrix`), the probe sources from
the lab (``Lab.probe_sources()``: one namespace per authority network), the verdict from comparing.
Each authority's cells are kept as its status record (``proof/<authority>.json``) for ``ksm report``.
Exit codes: 0 when every probed cell matched, 1 on a mismatch or a probe that could not run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    console,
    echo,
    json_option,
    pass_context,
    print_json,
    target_option,
)
from ksm_provision.errors import EXIT_FAILURE, LabError, UsageError
from ksm_provision.prove.dhcp import LeaseLike, lease_cells, lease_expectations
from ksm_provision.prove.matrix import derive_expectations
from ksm_provision.prove.model import HINTS, Cell, ProofResult
from ksm_provision.prove.probe import DEFAULT_TIMEOUT, NetnsProber, Prober, ProbeSource
from ksm_provision.prove.run import DEFAULT_WORKERS, prove
from ksm_provision.targets import Target
from ksm_provision.terminal import text
from ksm_provision.workflow.records import ProofRecord, save_status, utc_now

_VERDICT = {"ok": ("OK", "green"), "mismatch": ("MISMATCH", "bold red"), "error": ("ERROR", "bold red")}


@dataclass(frozen=True)
class TwinSources:
    """What the lab hands out for a proof: probe sources, the stand-in clients' leases, its addresses."""

    sources: dict[str, ProbeSource]
    leases: Mapping[str, LeaseLike | str]
    present: frozenset[str]


def lab_sources() -> TwinSources:
    """The lab's probe sources, keyed ``authority/network`` (stand-in clients lease by DHCP now)."""
    from ksm_provision.lab.manager import Lab

    lab = Lab()
    sources = lab.probe_sources()
    return TwinSources(sources=sources, leases=lab.leases, present=frozenset(lab.present))


def make_prober() -> Prober:
    if os.geteuid() != 0:
        raise LabError("probing from the lab's network namespaces needs root", hint="run ksm prove as root")
    return NetnsProber()


@click.command("prove")
@authority_option
@all_option
@target_option
@json_option
@click.option(
    "--timeout",
    type=click.FloatRange(0.2, 30),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds each probe waits for an answer (a blocked cell waits this long).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Probes run at once.",
)
@pass_context
def prove_command(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    target: str,
    as_json: bool,
    timeout: float,
    workers: int,
) -> None:
    """Prove reachability and isolation in the lab twin: who reaches what, from inside its networks."""
    if Target(target) is not Target.LAB:
        raise UsageError(
            "ksm prove runs in the lab twin only: add --target lab",
            "a production proof (probes from real client networks) is out of scope",
        )
    scope = list(ctx.scoped(authorities, all_authorities, required=True).authorities)
    # the whole inventory: isolation cells name the authorities outside the scope as destinations
    expectations = derive_expectations(ctx.inventory, scope)
    prober = make_prober()
    twin = lab_sources()
    status: AbstractContextManager[object] = (
        console(stderr=True).status(f"probing {len(expectations)} cells") if not as_json else nullcontext()
    )
    with status:
        probed = prove(
            expectations,
            twin.sources,
            prober,
            present=twin.present,
            timeout=timeout,
            workers=workers,
            target=target,
        )
    dhcp = lease_cells(lease_expectations(ctx.inventory, scope), twin.leases, twin.present)
    result = ProofResult.of([*dhcp, *probed.cells], target)
    now = utc_now()
    for aid in scope:
        part = result.for_authority(aid)
        save_status(
            ProofRecord(
                time=now, authority=aid, target=target, passed=part.ok, totals=part.totals, cells=part.cells
            )
        )
    if as_json:
        print_json(result)
    else:
        for aid in scope:
            print_authority(result.for_authority(aid), aid)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _verdict(cell: Cell) -> Text:
    if cell.status == "not-in-twin":
        return Text("not in twin", style="dim")
    label, style = _VERDICT[cell.status]
    return Text(label, style=style)


def proof_table(result: ProofResult, authority: str, ascii_only: bool) -> Table:
    table = Table(
        title=f"{authority}: proof in the lab twin", box=box.ASCII if ascii_only else box.SIMPLE_HEAD
    )
    table.add_column("source", no_wrap=True)
    table.add_column("destination", overflow="fold")
    table.add_column("address:port", no_wrap=True)
    table.add_column("service", overflow="fold")
    for column in ("expected", "observed", "result"):
        table.add_column(column, no_wrap=True)
    for cell in result.cells:
        e = cell.expectation
        target = e.destination
        table.add_row(
            text(e.source.network),
            text(target.host),
            text(f"{target.address}:{target.port}"),
            text(target.service),
            text(e.expected),
            text(cell.observed or "-"),
            _verdict(cell),
        )
    return table


def print_authority(result: ProofResult, authority: str) -> None:
    """The table, then every cell that did not hold with its inventory lines and a hint."""
    out = console()
    if not out.is_terminal:
        out.width = 160  # CI logs and pipes: one row per line, host names not folded
    out.print(proof_table(result, authority, ascii_only=not out.is_terminal))
    for cell in result.cells:
        if cell.status not in ("mismatch", "error"):
            continue
        e = cell.expectation
        out.print(
            Text.assemble(
                _verdict(cell),
                text(f" {e.id}: expected {e.expected}, observed {cell.observed}"),
                text(f" ({cell.detail})" if cell.detail else ""),
            )
        )
        out.print(text(f"  promise: {e.reason}"))
        out.print(text(f"  defined by: {', '.join(e.defined_by)}"))
        hint = HINTS[e.kind] if cell.status == "mismatch" else "the probe could not run: see the detail"
        out.print(text(f"  hint: {hint}"))
    t = result.totals
    summary = (
        f"{authority}: {t.total} cells, {t.ok} ok, {t.mismatch} mismatch, {t.errors} errors, "
        f"{t.not_in_twin} not in twin"
    )
    if t.probed == 0:
        summary += " (nothing probed: the twin has no source network of this authority)"
    echo(summary)
