"""Stable ids of the verify checks: what records and the Grundschutz mapping call a check.

A check's *name* carries its parameters ("admin alice", "share akten"); its id is its ``kind``, and
for a service check the unit as well, because "chrony runs" and "nmbd is stopped" prove different
things: ``sshd``, ``syslog``, ``nft_table``, ``service:chrony``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ksm_provision.verify.expectations import PROCESSES, Check, HostSpec

#: The kind whose id names the unit it checks.
SERVICE_KIND = "service"


def check_id(check: Check) -> str:
    """The id of *check*.

    >>> from ksm_provision.verify.expectations import service_check
    >>> check_id(service_check("chrony")), check_id(Check(kind="sshd", name="sshd hardening", params={}))
    ('service:chrony', 'sshd')
    """
    if check.kind == SERVICE_KIND:
        return f"{SERVICE_KIND}:{check.params['unit']}"
    return check.kind


def check_ids(specs: Iterable[HostSpec]) -> dict[tuple[str, str], str]:
    """``(host, check name) -> check id`` for every check of *specs* (a verify result names both)."""
    return {(spec.host, check.name): check_id(check) for spec in specs for check in spec.checks}


def known_check_ids() -> frozenset[str]:
    """Every id a verify check can have: each kind the testinfra module tests, a service check per
    unit the roles configure (:data:`~ksm_provision.verify.expectations.PROCESSES`).

    Imports the testinfra module (pytest, testinfra): call it when the ids are needed, not at import.
    """
    from ksm_provision.verify.testinfra_checks import CHECKS

    kinds = set(CHECKS) - {SERVICE_KIND}
    return frozenset(kinds | {f"{SERVICE_KIND}:{unit}" for unit in PROCESSES})
