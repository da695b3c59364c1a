"""``ksm compliance``: status per Anforderung from records written the way verify, drift, apply and
prove write them, tenant safety, the JSON structure and usage errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm, main
from ksm_provision.commands.hosts import _record_verification
from ksm_provision.compliance.check import build_compliance
from ksm_provision.compliance.evidence import known_evidence
from ksm_provision.compliance.mapping import Mapping, load_mapping, parse_mapping
from ksm_provision.compliance.model import ComplianceReport, RequirementResult, Status
from ksm_provision.compliance.state import load_compliance_state
from ksm_provision.inventory.hosts import HostKind
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.verify.runner import CheckResult, VerifyResult
from ksm_provision.workflow.audit import append_audit
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    CheckOutcome,
    DriftRecord,
    VerifyChecksRecord,
    load_status,
    save_status,
)

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
NOW = datetime(2025, 3, 10, 18, 0, tzinfo=UTC)
AT = datetime(2025, 3, 8, 18, 0, tzinfo=UTC)

#: One Baustein, requirements covered fully, partly, and not at all (the file's own format).
SMALL = """
schema_version: 1
edition: "2023"
kompendium: IT-Grundschutz-Kompendium Edition 2023
source: {publisher: BSI, title: t, url: "https://www.bsi.bund.de/x", sha256: "%s", research: r.md}
bausteine:
  - id: SYS.1.3
    title: Server unter Linux und Unix
    targets: servers
    anforderungen:
      - id: SYS.1.3.A8
        title: Verschlüsselter Zugriff über Secure Shell
        level: S
        coverage: full
        evidence: [{check: verify:sshd, proves: sshd -T}, {check: drift:hosts, proves: no drift}]
        organisational: Schlüsselverwaltung
      - id: SYS.1.3.A6
        title: Verwaltung von Benutzenden und Gruppen
        level: S
        coverage: partial
        evidence: [{check: verify:admin, proves: admins}]
        organisational: Review
      - id: SYS.1.3.A2
        title: Sorgfältige Vergabe von IDs
        level: B
        coverage: none
""" % ("0" * 64)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


@pytest.fixture(scope="module")
def small() -> Mapping:
    return parse_mapping(SMALL, "small.yml", known_evidence())


def servers(inventory: Inventory, authority: str) -> list[str]:
    return [h.hostname for h in inventory.hosts if h.authority == authority and h.kind is HostKind.SERVER]


def verify_run(state: Path, authority: str, hosts: list[str], failing: dict[tuple[str, str], str]) -> None:
    """A verify record as `ksm verify` writes it: sshd hardening and one admin check per host."""
    outcomes = [
        CheckOutcome(
            host=host,
            check=check,
            name=name,
            passed=(host, check) not in failing,
            message=failing.get((host, check), ""),
        )
        for host in hosts
        for check, name in (("sshd", "sshd hardening"), ("admin", "admin ops"))
    ]
    save_status(VerifyChecksRecord(time=AT, authority=authority, target="lab", results=outcomes), state)


def drift_run(state: Path, authority: str, hosts: list[str]) -> None:
    save_status(
        DriftRecord(time=AT, authority=authority, target="lab", drifted=bool(hosts), hosts=hosts), state
    )


def check(
    mapping: Mapping, inventory: Inventory, state: Path, authority: str = "schwerin"
) -> dict[str, RequirementResult]:
    scoped = inventory.select([authority])
    report = build_compliance(mapping, scoped, load_compliance_state(state, scoped.authorities), NOW)
    return {r.id: r for b in report.authorities[0].bausteine for r in b.anforderungen}


# --------------------------------------------------------------------------- status derivation


def test_full_evidence_passed_is_met_partial_is_partial(
    small: Mapping, inventory: Inventory, tmp_path: Path
) -> None:
    verify_run(tmp_path, "schwerin", servers(inventory, "schwerin"), {})
    drift_run(tmp_path, "schwerin", [])
    found = check(small, inventory, tmp_path)
    assert found["SYS.1.3.A8"].status is Status.MET
    assert found["SYS.1.3.A6"].status is Status.PARTIAL
    assert found["SYS.1.3.A2"].status is Status.NOT_CHECKABLE
    sshd = found["SYS.1.3.A8"].evidence[0]
    assert (sshd.state, sshd.checked, sshd.target, sshd.age_days) == ("passed", 4, "lab", 2.0)
    assert sshd.passed == sorted(servers(inventory, "schwerin"))


def test_a_failed_check_is_not_met_and_names_host_and_message(
    small: Mapping, inventory: Inventory, tmp_path: Path
) -> None:
    hosts = servers(inventory, "schwerin")
    verify_run(tmp_path, "schwerin", hosts, {(hosts[0], "sshd"): "assert 'passwordauthentication no' in ..."})
    drift_run(tmp_path, "schwerin", [])
    found = check(small, inventory, tmp_path)["SYS.1.3.A8"]
    assert found.status is Status.NOT_MET
    assert [(f.name, f.message) for f in found.evidence[0].failed] == [
        (hosts[0], "assert 'passwordauthentication no' in ...")
    ]


def test_drift_on_a_target_host_is_not_met(small: Mapping, inventory: Inventory, tmp_path: Path) -> None:
    hosts = servers(inventory, "schwerin")
    verify_run(tmp_path, "schwerin", hosts, {})
    drift_run(tmp_path, "schwerin", [hosts[1]])
    assert check(small, inventory, tmp_path)["SYS.1.3.A8"].status is Status.NOT_MET


def test_no_records_is_never_green(inventory: Inventory, tmp_path: Path) -> None:
    found = check(load_mapping(), inventory, tmp_path)
    statuses = {r.status for r in found.values()}
    assert statuses == {Status.NOT_CHECKED, Status.NOT_CHECKABLE}
    assert all(e.state == "no_data" for r in found.values() for e in r.evidence)


def test_missing_or_sampled_evidence_is_at_most_partial(
    small: Mapping, inventory: Inventory, tmp_path: Path
) -> None:
    hosts = servers(inventory, "schwerin")
    verify_run(tmp_path, "schwerin", hosts, {})
    assert check(small, inventory, tmp_path)["SYS.1.3.A8"].status is Status.PARTIAL  # no drift record
    verify_run(tmp_path, "schwerin", hosts[:2], {})
    drift_run(tmp_path, "schwerin", [])
    found = check(small, inventory, tmp_path)["SYS.1.3.A8"]
    assert found.status is Status.PARTIAL
    assert "nicht auf allen Zielsystemen" in found.reason


def test_the_last_failed_apply_fails_apply_succeeded(inventory: Inventory, tmp_path: Path) -> None:
    record = AuditRecord(
        id="a1", time=AT, user="ops", machine="ci", authority="schwerin", target="lab",
        result=ApplyResult.ROLLED_BACK, failed=["sn-sh-sw01"],
    )  # fmt: skip
    append_audit(record, tmp_path)
    found = check(load_mapping(), inventory, tmp_path)
    assert found["NET.1.1.A14"].status is Status.NOT_MET
    assert found["NET.3.1.A9"].status is Status.PARTIAL  # logged, whatever the result


def test_verify_writes_each_checks_outcome_with_its_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KSM_STATE_DIR", str(tmp_path))
    result = VerifyResult(
        checks=[
            CheckResult(host="sn-sh-fs01", check="sshd hardening", passed=True),
            CheckResult(
                host="sn-sh-fs01", check="service chrony running and enabled", passed=False, message="x"
            ),
        ]
    )
    ids = {
        ("sn-sh-fs01", "sshd hardening"): "sshd",
        ("sn-sh-fs01", "service chrony running and enabled"): "service:chrony",
    }
    _record_verification(result, {"sn-sh-fs01": "schwerin"}, "lab", ids)
    record = load_status(VerifyChecksRecord, "schwerin", tmp_path)
    assert record is not None
    assert [(o.check, o.passed) for o in record.results] == [("sshd", True), ("service:chrony", False)]


# --------------------------------------------------------------------------- tenant safety and CLI


@pytest.fixture
def state(inventory: Inventory, tmp_path: Path) -> Path:
    """Records of both authorities; Schwerin's deliberately name hosts of the district."""
    base = tmp_path / "state"
    lup = servers(inventory, "lup")
    verify_run(base, "schwerin", [*servers(inventory, "schwerin"), lup[0]], {(lup[0], "sshd"): "lup secret"})
    drift_run(base, "schwerin", [lup[1]])
    verify_run(base, "lup", lup, {(lup[2], "admin"): "missing"})
    drift_run(base, "lup", [lup[3]])
    return base


def invoke(state: Path, *args: str) -> str:
    result = CliRunner().invoke(
        ksm, ["--inventory", str(INVENTORY), "compliance", "--state-dir", str(state), *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_scoped_check_shows_nothing_of_another_authority(
    inventory: Inventory, state: Path, tmp_path: Path
) -> None:
    out = tmp_path / "check.json"
    outputs = [invoke(state, "--authority", "schwerin", "--json", "--out", str(out))]
    outputs += [out.read_text(encoding="utf-8"), invoke(state, "--authority", "schwerin")]
    hidden = [h.hostname for h in inventory.hosts if h.authority == "lup"]
    hidden += [d.hostname for d in inventory.devices if d.authority == "lup"]
    for output in outputs:
        assert not [name for name in hidden if name in output]
        assert "lup-" not in output
        assert not re.search(r"\blup\b", output)
    data = json.loads(outputs[0])
    assert data["scope"] == {"authorities": ["schwerin"], "filtered": True}
    found = {r["id"]: r for b in data["authorities"][0]["bausteine"] for r in b["anforderungen"]}
    assert found["SYS.1.3.A8"]["status"] == "partial"  # Schwerin's own servers passed; drift: none of its own


def test_json_is_the_versioned_model(state: Path) -> None:
    data = json.loads(invoke(state, "--all", "--json"))
    report = ComplianceReport.model_validate(data)
    assert data["schema_version"] == "1.0"
    assert [a.id for a in report.authorities] == ["lup", "schwerin"]
    lup = {r.id: r for b in report.authorities[0].bausteine for r in b.anforderungen}
    assert lup["SYS.1.3.A6"].status is Status.NOT_MET
    assert lup["SYS.1.3.A6"].evidence[0].failed[0].message == "missing"
    assert set(data["authorities"][0]["summary"]) == {s.value for s in Status}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--authority", "hagenow"], "unknown authority 'hagenow'"),
        ([], "no scope given"),
        (["--authority", "lup", "--all"], "exclude each other"),
    ],
)
def test_a_bad_scope_is_a_usage_error_without_traceback(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", str(INVENTORY), "compliance", "--state-dir", str(tmp_path), *args])
    assert exit_info.value.code == 64
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
