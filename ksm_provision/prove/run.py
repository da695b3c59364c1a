"""Probe every expectation from its source, a few at a time, and compare (no state is written here)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor

from ksm_provision.prove.model import Cell, Expectation, Observation, ProofResult
from ksm_provision.prove.probe import DEFAULT_TIMEOUT, Prober, ProbeSource

#: Probes at once: blocked cells wait out their timeout, so a few in parallel keep the run short
#: without flooding one namespace's router with SYNs.
DEFAULT_WORKERS = 8

_MATCHES = {"reach": "reached", "blocked": "blocked"}


def _observe(expectation: Expectation, source: ProbeSource, prober: Prober, timeout: float) -> Observation:
    target = expectation.destination
    try:
        if expectation.check == "smb-list":
            return prober.smb_share_listable(source, target.address, expectation.share_hint, timeout)
        return prober.tcp(source, target.address, target.port, timeout)
    except ValueError as exc:  # an address or name refused before anything ran
        return Observation(result="error", detail=f"probe refused: {exc}")


def judge(expectation: Expectation, observation: Observation) -> Cell:
    """The cell for one observation: ok when it is what was expected.

    >>> from ksm_provision.prove.model import Destination, ExpectationKind, Source
    >>> e = Expectation(id="a/n->h:22/tcp", kind=ExpectationKind.OWN_MANAGEMENT, expected="blocked",
    ...     source=Source(authority="a", network="n", site="s"), reason="r", defined_by=[],
    ...     destination=Destination(authority="a", host="h", address="10.0.0.1", port=22, service="SSH"))
    >>> judge(e, Observation(result="reached", detail="connected")).status
    'mismatch'
    """
    if observation.result == "error":
        status = "error"
    else:
        status = "ok" if _MATCHES[expectation.expected] == observation.result else "mismatch"
    return Cell(
        expectation=expectation, status=status, observed=observation.result, detail=observation.detail
    )


def not_in_twin(expectation: Expectation, why: str) -> Cell:
    return Cell(expectation=expectation, status="not-in-twin", observed=None, detail=why)


def prove(
    expectations: list[Expectation],
    sources: Mapping[str, ProbeSource],
    prober: Prober,
    *,
    present: Collection[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
    target: str = "lab",
    progress: Callable[[Cell], None] | None = None,
) -> ProofResult:
    """Observe every expectation whose source network has a stand-in in *sources* (``authority/network``).

    *present*, if given, are the destination addresses that exist in the twin: a cell aimed elsewhere
    is "not in twin" too (a blocked verdict there would prove nothing). Cells keep their order.
    """
    cells: dict[int, Cell] = {}
    todo: list[tuple[int, Expectation, ProbeSource]] = []
    for i, expectation in enumerate(expectations):
        source = sources.get(expectation.source.key)
        if source is None:
            cells[i] = not_in_twin(expectation, "no stand-in for the source network in the twin")
        elif present is not None and expectation.destination.address not in present:
            cells[i] = not_in_twin(expectation, "no stand-in for the destination in the twin")
        else:
            todo.append((i, expectation, source))

    def run(item: tuple[int, Expectation, ProbeSource]) -> tuple[int, Cell]:
        i, expectation, source = item
        cell = judge(expectation, _observe(expectation, source, prober, timeout))
        if progress is not None:
            progress(cell)
        return i, cell

    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
            cells.update(pool.map(run, todo))
    return ProofResult.of([cells[i] for i in range(len(expectations))], target)
