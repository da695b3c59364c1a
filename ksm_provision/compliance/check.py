"""Mapping + inventory + status records -> :class:`~ksm_provision.compliance.model.ComplianceReport` (pure).

Tenant safety as in the report: the inventory is narrowed to the authorities in scope, the records
are those of :mod:`.state`, and every name shown belongs to the authority it is shown for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from ksm_provision.compliance.evidence import Subject, judge
from ksm_provision.compliance.mapping import Anforderung, Baustein, Mapping, Targets
from ksm_provision.compliance.model import (
    AuthorityCompliance,
    BausteinResult,
    ComplianceReport,
    ComplianceScope,
    EvidenceResult,
    KompendiumInfo,
    RequirementResult,
    Status,
)
from ksm_provision.compliance.state import ComplianceState
from ksm_provision.inventory.hosts import Device, Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.gateway_vars import is_gateway_device
from ksm_provision.report.collect import authority_timezone, shown_files

FILESERVER_ROLE = "fileserver"


def target_names(
    targets: Targets, hosts: Sequence[Host], devices: Sequence[Device]
) -> tuple[set[str], set[str]]:
    """``(hosts, devices)`` of one authority a Baustein is modelled on.

    The first set is what ``ksm verify`` can check: hosts and the routers' Linux sides (verified
    under the router's name); switches have no Linux side, drift covers them (the second set, every
    device). So a verify check that ran on every host and router is complete, not a sample.
    """
    device_names = {d.hostname for d in devices}
    routers = {d.hostname for d in devices if is_gateway_device(d)}
    if targets == "servers":
        return {h.hostname for h in hosts if h.kind is HostKind.SERVER}, set()
    if targets == "clients":
        return {h.hostname for h in hosts if h.kind is HostKind.CLIENT}, set()
    if targets == "fileservers":
        return {h.hostname for h in hosts if FILESERVER_ROLE in h.roles}, set()
    if targets == "network":
        return routers, device_names
    return {h.hostname for h in hosts} | routers, device_names


def requirement_status(requirement: Anforderung, evidence: Sequence[EvidenceResult]) -> tuple[Status, str]:
    """The status of *requirement* from its evidence, and why.

    >>> from ksm_provision.compliance.mapping import Evidence
    >>> a = Anforderung(id="SYS.1.3.A8", title="t", level="S", coverage="full",
    ...                 evidence=(Evidence(check="verify:sshd", proves="p"),), organisational="o")
    >>> def e(state): return EvidenceResult(check="verify:sshd", proves="p", state=state)
    >>> [requirement_status(a, [e(s)])[0].value for s in ("passed", "failed", "no_data")]
    ['met', 'not_met', 'not_checked']
    """
    if requirement.coverage == "none" or not evidence:
        return Status.NOT_CHECKABLE, "keine ksm-Prüfung belegt diese Anforderung (organisatorisch)"
    states = [e.state for e in evidence]
    if "failed" in states:
        failed = [e.check for e in evidence if e.state == "failed"]
        return Status.NOT_MET, f"nicht bestanden: {', '.join(failed)}"
    if all(state == "no_data" for state in states):
        return Status.NOT_CHECKED, "keine Daten: keiner der Nachweise ist aufgezeichnet"
    missing = [e.check for e in evidence if e.state == "no_data"]
    if missing:
        return Status.PARTIAL, f"Nachweis unvollständig, keine Daten: {', '.join(missing)}"
    sampled = [
        e.check for e in evidence if e.target_systems is not None and (e.checked or 0) < e.target_systems
    ]
    if requirement.coverage == "partial":
        return Status.PARTIAL, "Nachweise bestanden; ksm belegt nur den technischen Teil"
    if sampled:
        return Status.PARTIAL, f"bestanden, aber nicht auf allen Zielsystemen geprüft: {', '.join(sampled)}"
    reason = "technisch erfüllt: alle Nachweise bestanden, auf allen Zielsystemen"
    if requirement.organisational:
        reason += f"; organisatorisch nachzuweisen: {requirement.organisational}"
    return Status.MET, reason


def baustein_result(
    baustein: Baustein, subject: Subject, state: ComplianceState, systems: int
) -> BausteinResult:
    requirements = []
    for requirement in baustein.anforderungen:
        evidence = [judge(e, subject, state) for e in requirement.evidence]
        status, reason = requirement_status(requirement, evidence)
        if status is Status.NOT_CHECKED and systems == 0:
            reason = f"keine Zielsysteme ({baustein.targets}) im Inventar"
        requirements.append(
            RequirementResult(
                id=requirement.id,
                title=requirement.title,
                level=requirement.level,
                coverage=requirement.coverage,
                status=status,
                reason=reason,
                organisational=requirement.organisational,
                gaps=requirement.gaps,
                evidence=evidence,
            )
        )
    return BausteinResult(
        id=baustein.id,
        title=baustein.title,
        targets=baustein.targets,
        target_systems=systems,
        anforderungen=requirements,
    )


def authority_compliance(
    mapping: Mapping, inventory: Inventory, aid: str, state: ComplianceState, now: datetime
) -> AuthorityCompliance:
    hosts = [h for h in inventory.hosts if h.authority == aid]
    devices = [d for d in inventory.devices if d.authority == aid]
    own = frozenset(h.hostname for h in hosts) | frozenset(d.hostname for d in devices)
    bausteine = []
    for baustein in mapping.bausteine:
        target_hosts, target_devices = target_names(baustein.targets, hosts, devices)
        subject = Subject(
            authority=aid,
            hosts=frozenset(target_hosts),
            devices=frozenset(target_devices),
            own=own,
            scope=frozenset(inventory.authorities),
            files=shown_files(inventory),
            now=now,
        )
        bausteine.append(baustein_result(baustein, subject, state, len(target_hosts | target_devices)))
    counts = Counter(r.status for b in bausteine for r in b.anforderungen)
    return AuthorityCompliance(
        id=aid,
        name=inventory.authorities[aid].authority.name,
        timezone=authority_timezone(inventory, aid),
        summary={status: counts[status] for status in Status},
        bausteine=bausteine,
    )


def build_compliance(
    mapping: Mapping, inventory: Inventory, state: ComplianceState, now: datetime, *, filtered: bool = False
) -> ComplianceReport:
    """The Grundschutz-Check of every authority in *inventory* (narrow it with ``Inventory.select``)."""
    return ComplianceReport(
        generated_at=now,
        kompendium=KompendiumInfo(
            edition=mapping.edition, title=mapping.kompendium, source=mapping.source.model_dump()
        ),
        scope=ComplianceScope(authorities=list(inventory.authorities), filtered=filtered),
        authorities=[
            authority_compliance(mapping, inventory, aid, state, now) for aid in inventory.authorities
        ],
    )
