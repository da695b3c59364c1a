"""Which enrolled clients are current, stale or failing (for ``ksm report``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ksm_provision.workflow.records import PullRunRecord


class ClientState(StrEnum):
    #: A run arrived within the staleness window and it failed nothing.
    CURRENT = "current"
    #: No run within the window (or never): the timer, the network or the machine is off.
    STALE = "stale"
    #: The last run (within the window) failed tasks, or ansible-pull itself failed.
    FAILING = "failing"


def run_failed(record: PullRunRecord) -> bool:
    return record.failed > 0 or record.unreachable > 0 or record.rc != 0


def classify(record: PullRunRecord | None, now: datetime, stale_after: timedelta) -> ClientState:
    """A client's state; staleness counts from when the collector *received* the last record.

    A failure reported long ago is stale, not failing: the client has stopped reporting since.
    """
    if record is None or now - record.received > stale_after:
        return ClientState.STALE
    return ClientState.FAILING if run_failed(record) else ClientState.CURRENT


@dataclass(frozen=True)
class ClientStatus:
    host: str
    state: ClientState
    record: PullRunRecord | None


def classify_all(
    hosts: Iterable[str], runs: Mapping[str, PullRunRecord], now: datetime, stale_after: timedelta
) -> list[ClientStatus]:
    """One status per enrolled host (records of hosts not enrolled are not counted)."""
    return [ClientStatus(h, classify(runs.get(h), now, stale_after), runs.get(h)) for h in sorted(set(hosts))]
