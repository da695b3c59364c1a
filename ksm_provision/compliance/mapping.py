"""The Grundschutz mapping as typed data: Bausteine, their Anforderungen, and the ksm evidence for each.

The mapping is a versioned data file shipped in the package (``mapping-kompendium-2023.yml``, see its
header for the format). :func:`load_mapping` reads and checks it: identifiers in the Kompendium's
form, every Anforderung inside its Baustein, no duplicates, evidence exactly when coverage is not
``none``, and (given the set of ids that exist) every evidence id one that ksm really records.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ksm_provision.errors import KsmError

#: The mapping shipped with ksm (a file next to this module, in the wheel as package data).
MAPPING_FILE = "mapping-kompendium-2023.yml"
#: Layers of the Kompendium (process and system Bausteine).
_LAYERS = "(?:ISMS|ORP|CON|OPS|DER|APP|SYS|IND|NET|INF)"
BAUSTEIN_PATTERN = rf"^{_LAYERS}\.\d+(?:\.\d+)*$"
ANFORDERUNG_PATTERN = rf"^{_LAYERS}\.\d+(?:\.\d+)*\.A\d+$"
#: ``verify:<check id>``, ``drift:hosts``, ``apply:logged``, ``prove:<cell kind>`` (see evidence.py).
EVIDENCE_PATTERN = r"^(?:verify|drift|apply|prove):[a-z0-9_.:-]+$"

Level = Literal["B", "S", "H"]
Coverage = Literal["full", "partial", "none"]
#: The systems of an authority a Baustein is modelled on.
Targets = Literal["servers", "clients", "fileservers", "network", "all"]

LEVEL_NAMES: dict[str, str] = {"B": "Basis", "S": "Standard", "H": "erhöht"}


class MappingModel(BaseModel):
    """Frozen, and a typo in the file is an error rather than an ignored key."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(MappingModel):
    check: str = Field(pattern=EVIDENCE_PATTERN, description="e.g. verify:sshd, drift:devices")
    proves: str = Field(min_length=1, description="what the check shows for this Anforderung")


class Anforderung(MappingModel):
    id: str = Field(pattern=ANFORDERUNG_PATTERN)
    title: str = Field(min_length=1, description="exactly as the Kompendium prints it")
    level: Level
    coverage: Coverage
    evidence: tuple[Evidence, ...] = ()
    organisational: str = Field(default="", description="what stays outside ksm")
    gaps: str = Field(default="", description="technical parts ksm does not check yet")

    @model_validator(mode="after")
    def _evidence_matches_coverage(self) -> Anforderung:
        if self.coverage == "none" and self.evidence:
            raise ValueError(
                f"{self.id}: coverage none, but evidence is given — set coverage: partial or full"
            )
        if self.coverage != "none" and not self.evidence:
            raise ValueError(f"{self.id}: coverage {self.coverage} needs evidence, e.g. - check: verify:sshd")
        if self.coverage == "full" and self.gaps:
            raise ValueError(
                f"{self.id}: full coverage, but gaps are listed — close them or set coverage: partial"
            )
        if self.coverage == "full" and not self.organisational:
            raise ValueError(
                f"{self.id}: full coverage must say what stays organisational (organisational:), "
                "e.g. keys handed out and withdrawn"
            )
        if self.coverage == "partial" and not (self.organisational or self.gaps):
            raise ValueError(
                f"{self.id}: partial coverage must say what is missing (organisational: or gaps:)"
            )
        return self


class Baustein(MappingModel):
    id: str = Field(pattern=BAUSTEIN_PATTERN)
    title: str = Field(min_length=1)
    targets: Targets
    anforderungen: tuple[Anforderung, ...]

    @model_validator(mode="after")
    def _own_requirements(self) -> Baustein:
        ids = [a.id for a in self.anforderungen]
        stray = [i for i in ids if not i.startswith(f"{self.id}.A")]
        if stray:
            raise ValueError(f"{', '.join(stray)} not of Baustein {self.id} — move them to their Baustein")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"{self.id}: {', '.join(duplicates)} listed twice — keep one entry each")
        return self


class Source(MappingModel):
    publisher: str
    title: str
    url: str = Field(pattern=r"^https://")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    errata: str = ""
    research: str = Field(description="the research notes in the repository the mapping was built from")


class Mapping(MappingModel):
    schema_version: Literal[1]
    edition: str = Field(pattern=r"^\d{4}$")
    kompendium: str
    source: Source
    bausteine: tuple[Baustein, ...]

    @model_validator(mode="after")
    def _unique_bausteine(self) -> Mapping:
        ids = [b.id for b in self.bausteine]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"Baustein {', '.join(duplicates)} listed twice — merge the entries")
        return self

    def anforderungen(self) -> Iterable[tuple[Baustein, Anforderung]]:
        return ((b, a) for b in self.bausteine for a in b.anforderungen)

    def evidence_ids(self) -> frozenset[str]:
        return frozenset(e.check for _, a in self.anforderungen() for e in a.evidence)


def mapping_text(path: Path | None = None) -> tuple[str, str]:
    """``(name shown in messages, text)`` of the mapping at *path*, default the packaged one."""
    if path is not None:
        return str(path), path.read_text(encoding="utf-8")
    resource = resources.files("ksm_provision.compliance") / MAPPING_FILE
    return f"ksm_provision/compliance/{MAPPING_FILE}", resource.read_text(encoding="utf-8")


def parse_mapping(text: str, name: str, known: frozenset[str] | None = None) -> Mapping:
    """The mapping in *text*; with *known*, every evidence id must be one of them."""
    try:
        data = yaml.safe_load(text)
        mapping = Mapping.model_validate(data)
    except yaml.YAMLError as exc:
        raise KsmError(f"{name}: not YAML: {exc}", "fix the syntax at the line shown") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'top level'}: {error['msg']}"
            for error in exc.errors()
        )
        raise KsmError(f"{name}: {problems}", "see the format in the file's header comment") from None
    if known is not None:
        unknown = sorted(mapping.evidence_ids() - known)
        if unknown:
            raise KsmError(
                f"{name}: evidence names checks ksm does not have: {', '.join(unknown)}",
                f"use one of the existing ids, e.g. {', '.join(sorted(known)[:3])}",
            )
    return mapping


def load_mapping(path: Path | None = None, known: frozenset[str] | None = None) -> Mapping:
    """Read and check the mapping (default: the one shipped with ksm)."""
    name, text = mapping_text(path)
    return parse_mapping(text, name, known)
