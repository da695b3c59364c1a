"""The Grundschutz-Check as typed models: the documented JSON structure of ``ksm compliance --json``.

Keys are only ever added within a major ``schema_version``; renaming or removing one raises it.

Top level (``schema_version`` ``"1.0"``)::

    schema_version  "1.0"
    generated_at    ISO 8601 time (UTC)
    kompendium      {edition, title, source: {publisher, title, url, sha256, errata, research}}
    scope           {authorities: [ids], filtered: true when --authority was given}
    authorities     per authority: {id, name, timezone, summary: {status: count}, bausteine: [...]}

Each Baustein: ``{id, title, targets, target_systems, anforderungen}``; each Anforderung: ``{id,
title, level (B/S/H), coverage (full/partial/none), status, reason, organisational, gaps,
evidence}``; each piece of evidence: ``{check, proves, state, source_time, age_days, target,
checked, target_systems, passed, failed, detail}``. Times are UTC; a missing record is
``null``/``no_data``, never a pass.

Status of an Anforderung (``status``; the label people see in brackets):

- ``met`` ("erfüllt"): coverage full (ksm's evidence covers the technical content for the systems
  ksm manages), every piece of evidence passed on every target system; ``reason`` names what stays
  organisational (``organisational``), so it is read next to the verdict
- ``partial`` ("teilweise"): evidence passed, but coverage is partial, or evidence is missing for
  some checks or target systems
- ``not_met`` ("nicht erfüllt"): a piece of evidence failed (a check failed, drift, a proof cell
  did not hold, the last apply failed)
- ``not_checked`` ("nicht geprüft – keine Daten"): mapped, but no record of any of its evidence
- ``not_checkable`` ("nicht prüfbar durch ksm"): no ksm check evidences it (organisational)
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from ksm_provision.results import ResultModel

SCHEMA_VERSION = "1.0"


class Status(StrEnum):
    MET = "met"
    PARTIAL = "partial"
    NOT_MET = "not_met"
    NOT_CHECKED = "not_checked"
    NOT_CHECKABLE = "not_checkable"


STATUS_LABELS: dict[Status, str] = {
    Status.MET: "erfüllt",
    Status.PARTIAL: "teilweise",
    Status.NOT_MET: "nicht erfüllt",
    Status.NOT_CHECKED: "nicht geprüft (keine Daten)",
    Status.NOT_CHECKABLE: "nicht prüfbar durch ksm",
}

EvidenceState = Literal["passed", "failed", "no_data"]


class Failure(ResultModel):
    """Where a piece of evidence failed: a host or device of the authority (or a proof cell)."""

    name: str
    message: str = ""


class EvidenceResult(ResultModel):
    check: str
    proves: str
    state: EvidenceState
    #: When the record was made (UTC); None without a record.
    source_time: datetime | None = None
    age_days: float | None = None
    #: Where the record comes from: ``production`` or ``lab`` (the twin); None without a record.
    target: str | None = None
    #: Target systems with a result (verify) or proof cells probed (prove); None where the record
    #: does not say (drift, apply).
    checked: int | None = None
    #: verify: how many systems the Baustein is modelled on (``checked`` below it: a sample).
    target_systems: int | None = None
    passed: list[str] = Field(default_factory=list)
    failed: list[Failure] = Field(default_factory=list)
    detail: str = ""


class RequirementResult(ResultModel):
    id: str
    title: str
    level: Literal["B", "S", "H"]
    coverage: Literal["full", "partial", "none"]
    status: Status
    reason: str
    organisational: str = ""
    gaps: str = ""
    evidence: list[EvidenceResult] = Field(default_factory=list)


class BausteinResult(ResultModel):
    id: str
    title: str
    targets: str
    #: How many systems of the authority the Baustein is modelled on (0: none in the inventory).
    target_systems: int
    anforderungen: list[RequirementResult]


class AuthorityCompliance(ResultModel):
    id: str
    name: str
    #: The zone its times are shown in (as in the report: its own, the provider's, Europe/Berlin).
    timezone: str
    summary: dict[Status, int]
    bausteine: list[BausteinResult]


class KompendiumInfo(ResultModel):
    edition: str
    title: str
    source: dict[str, str]


class ComplianceScope(ResultModel):
    authorities: list[str]
    filtered: bool


class ComplianceReport(ResultModel):
    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    kompendium: KompendiumInfo
    scope: ComplianceScope
    authorities: list[AuthorityCompliance]
