"""The Grundschutz mapping (``ksm_provision/compliance/mapping-kompendium-2023.yml``) is schema-checked:
every referenced ksm check exists (ids derived from the code), every identifier has the Kompendium's
form and is, with its title and level, one recorded in the research notes, and the file ships."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from ksm_provision.compliance.evidence import known_evidence
from ksm_provision.compliance.mapping import MAPPING_FILE, Mapping, load_mapping, mapping_text, parse_mapping
from ksm_provision.errors import KsmError
from ksm_provision.prove.model import ExpectationKind
from ksm_provision.verify.check_ids import known_check_ids
from ksm_provision.verify.testinfra_checks import CHECKS

REPO = Path(__file__).resolve().parents[2]
RESEARCH = REPO / "compliance" / "kompendium-2023-research.md"
ANFORDERUNG = re.compile(r"^(SYS|NET|APP|OPS|CON|ISMS|ORP|DER|INF|IND)\.\d+(\.\d+)*\.A\d+$")
#: A row of the research notes' tables: id, title as published, level, ENTFALLEN.
ROW = re.compile(
    r"^\| ((?:SYS|NET|APP|OPS|CON)\.[\d.]+\.A\d+) \| (.+?) \| "
    r"(?:Basis|Standard|erhöht) \(([BSH])\) \| (ja|nein) \|",
    re.MULTILINE,
)
HEADING = re.compile(r"^## ((?:SYS|NET|APP|OPS|CON)\.[\d.]+) (.+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping(known=known_evidence())


@pytest.fixture(scope="module")
def research() -> dict[str, tuple[str, str, bool]]:
    """id -> (title, level, in force) as the research notes record it from the BSI XML."""
    rows = {m[1]: (m[2], m[3], m[4] == "nein") for m in ROW.finditer(RESEARCH.read_text(encoding="utf-8"))}
    assert len(rows) == 269  # the notes' own total over the 11 Bausteine
    return rows


def test_every_evidence_names_a_check_ksm_has(mapping: Mapping) -> None:
    assert mapping.evidence_ids() <= known_evidence()


def test_the_known_ids_come_from_the_checks_themselves() -> None:
    ids = known_check_ids()
    assert set(CHECKS) - {"service"} <= ids
    assert {"service:ssh", "service:chrony", "service:rsyslog", "service:nftables"} <= ids
    assert {f"prove:{kind.value}" for kind in ExpectationKind} <= known_evidence()
    assert "verify:service" not in known_evidence()


def test_identifiers_titles_and_levels_are_the_kompendiums(
    mapping: Mapping, research: dict[str, tuple[str, str, bool]]
) -> None:
    headings = dict(HEADING.findall(RESEARCH.read_text(encoding="utf-8")))
    for baustein in mapping.bausteine:
        assert headings[baustein.id] == baustein.title
    for _, requirement in mapping.anforderungen():
        assert ANFORDERUNG.match(requirement.id), requirement.id
        assert requirement.id in research, f"{requirement.id} is not in the research notes"
        title, level, in_force = research[requirement.id]
        assert (requirement.title, requirement.level) == (title, level), requirement.id
        assert in_force, f"{requirement.id} is ENTFALLEN"


def test_every_requirement_in_force_is_listed_once(
    mapping: Mapping, research: dict[str, tuple[str, str, bool]]
) -> None:
    listed = [r.id for _, r in mapping.anforderungen()]
    assert len(listed) == len(set(listed))
    bausteine = {b.id for b in mapping.bausteine}
    in_force = {i for i, (_, _, force) in research.items() if force and i.rsplit(".A", 1)[0] in bausteine}
    assert set(listed) == in_force


def test_the_mapping_cites_its_edition_and_source(mapping: Mapping) -> None:
    assert mapping.edition == "2023"
    assert mapping.source.url.startswith("https://www.bsi.bund.de/")
    assert (REPO / mapping.source.research).is_file()
    assert {b.id for b in mapping.bausteine} >= {"SYS.1.1", "SYS.1.3", "NET.3.1", "OPS.1.1.5", "CON.3"}


def test_the_file_ships_in_the_wheel() -> None:
    packaged = resources.files("ksm_provision.compliance") / MAPPING_FILE
    assert packaged.is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ksm_provision"]
    assert any(fnmatch.fnmatch(f"compliance/{MAPPING_FILE}", p) for p in patterns)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("check: verify:sshd", "check: verify:sshd_hardening"), "ksm does not have: verify:sshd_hardening"),
        (("id: SYS.1.3.A8", "id: SYS.1.3.8"), "String should match pattern"),
        (("id: SYS.1.3.A8", "id: SYS.1.1.A8"), "not of Baustein SYS.1.3"),
        (("  coverage: partial\n", "  coverage: none\n"), "coverage none, but evidence is given"),
        (("level: B", "stufe: B"), "Extra inputs are not permitted"),
    ],
)
def test_a_broken_mapping_is_an_error(edit: tuple[str, str], message: str) -> None:
    name, text = mapping_text()
    assert edit[0] in text
    with pytest.raises(KsmError, match=re.escape(message)):
        parse_mapping(text.replace(edit[0], edit[1], 1), name, known_evidence())
