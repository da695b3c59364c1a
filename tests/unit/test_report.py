"""``ksm report``: figures from the sample inventory and hand-written status records, tenant safety,
the stable JSON structure and a self-contained HTML page."""

from __future__ import annotations

import doctest
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.compliance.report_section import add_grundschutz
from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.prove.matrix import derive_expectations
from ksm_provision.prove.model import Observation, ProofResult
from ksm_provision.prove.run import judge
from ksm_provision.report import collect, html, labels, svg
from ksm_provision.report.collect import build_report, collect_report, load_state
from ksm_provision.report.html import render_html
from ksm_provision.report.model import Report
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    ProofRecord,
    VerifyRecord,
    save_status,
)

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
NOW = datetime(2025, 3, 10, 18, 0, tzinfo=UTC)


def proof_record(inventory: Inventory, authority: str, wrong: set[str], hour: int) -> ProofRecord:
    """A proof of *authority* where every cell holds except the ids in *wrong* (observed the opposite)."""
    cells = []
    for e in derive_expectations(inventory, {authority}):
        fine = "reached" if e.expected == "reach" else "blocked"
        opposite = "blocked" if fine == "reached" else "reached"
        observed = Observation(result=opposite if e.id in wrong else fine, detail="connected")
        cells.append(judge(e, observed))
    part = ProofResult.of(cells)
    return ProofRecord(
        time=at(hour), authority=authority, target="lab", passed=part.ok, totals=part.totals, cells=part.cells
    )


#: Mismatches of the sample proofs: each crosses into the other authority (tenant safety) or stays home.
SN_CROSSING = "schwerin/rh-clients->lup-pch-fs01:445/tcp"
SN_HOME = "schwerin/sh-clients->sn-sh-fs01:445/tcp"
LUP_CROSSING = "lup/pch-clients->sn-rh-rt01:22/tcp"


def at(hour: int) -> datetime:
    return datetime(2025, 3, 10, hour, 0, tzinfo=UTC)


def audit(id_: str, authority: str, hour: int, result: ApplyResult, **extra: Any) -> AuditRecord:
    return AuditRecord(
        id=id_,
        time=at(hour),
        user="ops",
        machine="ci",
        authority=authority,
        target="lab",
        result=result,
        **extra,
    )


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state directory as the workflow leaves it: audit log (torn last line), verify, drift, plans.

    Schwerin's records deliberately name a host of the district: it must never reach the report.
    """
    base = tmp_path / "state"
    lines = [
        # out of time order on purpose: the later line is the earlier apply
        audit(
            "lup-2",
            "lup",
            9,
            ApplyResult.SUCCESS,
            changed_hosts=["lup-pch-ws001", "lup-pch-fs01"],
            changed_devices=["lup-pch-sw02"],
            changed_tasks=14,
            hosts=469,
            devices=6,
            git_commit="316740e",
        ),
        audit("lup-1", "lup", 8, ApplyResult.FAILED, failed=["lup-pch-sw02"], hosts=469, devices=6),
        audit(
            "sn-1",
            "schwerin",
            10,
            ApplyResult.ROLLED_BACK,
            failed=["sn-sh-sw01", "lup-pch-sw01"],
            hosts=421,
            devices=5,
        ),
    ]
    base.mkdir()
    (base / "audit.jsonl").write_text(
        "".join(r.model_dump_json() + "\n" for r in lines) + "\n" + '{"id": "torn", "time": "2025-',
        encoding="utf-8",
    )
    save_status(
        VerifyRecord(
            time=at(11), authority="lup", target="lab", passed=False, checks=200, failed=3, pass_rate=0.985
        ),
        base,
    )
    save_status(
        VerifyRecord(
            time=at(11), authority="schwerin", target="lab", passed=True, checks=120, failed=0, pass_rate=1.0
        ),
        base,
    )
    save_status(
        DriftRecord(
            time=at(12),
            authority="lup",
            target="lab",
            drifted=True,
            hosts=["lup-pch-ws017"],
            devices=["lup-hgw-sw01"],
        ),
        base,
    )
    save_status(
        DriftRecord(
            time=at(12),
            authority="schwerin",
            target="lab",
            drifted=True,
            hosts=["sn-rh-ws001", "lup-pch-ws002"],
        ),
        base,
    )
    save_status(
        PlanRecord(
            time=at(13),
            authority="schwerin",
            target="lab",
            plan_hash="abc",
            changes_pending=7,
            hosts=["sn-rh-ws001", "lup-pch-ws003"],
            devices=["sn-rh-sw01"],
        ),
        base,
    )
    inventory = load_inventory(INVENTORY)
    save_status(proof_record(inventory, "schwerin", {SN_CROSSING, SN_HOME}, 14), base)
    save_status(proof_record(inventory, "lup", {LUP_CROSSING}, 14), base)
    return base


@pytest.fixture
def report(inventory: Inventory, state: Path) -> Report:
    """The report as `ksm report` builds it: collected, then with the IT-Grundschutz section."""
    return add_grundschutz(collect_report(inventory, state, generated_at=NOW), inventory, state)


def by_id(report: Report, authority: str) -> Any:
    return next(a for a in report.authorities if a.id == authority)


# --------------------------------------------------------------------------- estate


def test_counts_per_authority_and_in_total(report: Report) -> None:
    lup, schwerin = by_id(report, "lup"), by_id(report, "schwerin")
    assert lup.estate.clients.total == 250 + 180 + 24 + 8 + 2
    assert lup.estate.clients.by_site == {"hgw": 24, "ils": 8, "lwl": 180, "pch": 252}
    assert lup.estate.clients.by_profile == {"buergerbuero": 26, "leitstelle": 8, "verwaltung": 430}
    assert lup.estate.clients.by_os == {"debian12": 464}
    assert schwerin.estate.clients.total == 1 + 150 + 220 + 30 + 16
    assert (lup.estate.servers.total, lup.estate.devices.total) == (5, 6)
    assert (schwerin.estate.servers.total, schwerin.estate.devices.total) == (4, 6)
    total = report.totals.estate
    assert (total.clients.total, total.servers.total, total.devices.total) == (881, 9, 12)
    assert total.clients.by_site["lup/ils"] == 8 and total.clients.by_site["schwerin/ils"] == 16


def test_servers_count_once_per_role_and_devices_by_platform(report: Report) -> None:
    lup = by_id(report, "lup")
    assert lup.estate.servers.by_role == {"dhcp": 2, "fachverfahren": 1, "fileserver": 1, "none": 1}
    assert lup.estate.servers.by_profile == {}
    assert lup.estate.devices.by_os == {"cisco_ios": 4, "frr": 2}
    assert lup.estate.devices.by_role == {"access_switch": 3, "core_switch": 1, "router": 2}
    assert lup.estate.devices.by_site == {"hgw": 1, "lwl": 2, "pch": 3}


# --------------------------------------------------------------------------- address plan


def test_block_allocation_and_subnet_usage(report: Report) -> None:
    plan = by_id(report, "lup").address_plan
    assert (plan.block, plan.block_size) == ("10.41.0.0/16", 65536)
    assert plan.allocated == 2 * 1024 + 8 * 256
    assert plan.allocation == 0.0625
    subnets = {s.network: s for s in plan.subnets}
    clients = subnets["pch-clients"]
    assert (clients.size, clients.usable, clients.hosts, clients.devices) == (1024, 1022, 252, 0)
    assert clients.usage == round(252 / 1022, 4)
    mgmt = subnets["pch-mgmt"]
    assert (mgmt.hosts, mgmt.devices, mgmt.used) == (0, 3, 3)
    assert subnets["pch-printers"].printers == 2
    assert plan.used == sum(s.used for s in plan.subnets)
    totals = report.totals.address_plan
    assert totals.block_size == 2 * 65536
    assert totals.allocated == plan.allocated + by_id(report, "schwerin").address_plan.allocated


# --------------------------------------------------------------------------- status records


def test_last_apply_is_the_latest_by_time_and_the_torn_line_is_skipped(report: Report) -> None:
    lup = by_id(report, "lup")
    assert lup.last_apply is not None
    assert (lup.last_apply.id, lup.last_apply.result, lup.applies) == ("lup-2", "success", 2)
    assert (lup.last_apply.changed_hosts, lup.last_apply.changed_devices) == (2, 1)
    assert lup.last_apply.git_commit == "316740e"
    schwerin = by_id(report, "schwerin")
    assert schwerin.last_apply is not None and schwerin.last_apply.result == "rolled_back"
    assert schwerin.last_apply.failed == ["sn-sh-sw01"]  # the district's switch is not Schwerin's to show
    applies = report.totals.applies
    assert (applies.authorities_with_data, applies.succeeded, applies.failed, applies.latest) == (
        2,
        1,
        1,
        at(10),
    )


def test_drift_verification_and_open_changes(report: Report) -> None:
    lup, schwerin = by_id(report, "lup"), by_id(report, "schwerin")
    assert lup.drift is not None and (lup.drift.hosts, lup.drift.devices) == (
        ["lup-pch-ws017"],
        ["lup-hgw-sw01"],
    )
    assert schwerin.drift is not None and schwerin.drift.hosts == ["sn-rh-ws001"]
    assert report.totals.drift.model_dump() == {
        "authorities_with_data": 2,
        "drifted_authorities": 2,
        "drifted_hosts": 2,
        "drifted_devices": 1,
    }
    assert lup.verification is not None and lup.verification.pass_rate == 0.985
    assert report.totals.verification.pass_rate == round(317 / 320, 4)
    assert lup.open_changes is None
    assert schwerin.open_changes is not None
    assert (schwerin.open_changes.changes_pending, schwerin.open_changes.hosts) == (7, ["sn-rh-ws001"])
    assert report.totals.open_changes.model_dump() == {
        "authorities_with_data": 1,
        "authorities_pending": 1,
        "changes_pending": 7,
    }


def test_a_plan_is_settled_by_a_later_successful_apply_of_the_same_plan(
    inventory: Inventory, state: Path
) -> None:
    with (state / "audit.jsonl").open("a", encoding="utf-8") as log:
        log.write(
            "\n"
            + audit("sn-2", "schwerin", 14, ApplyResult.SUCCESS, plan_hash="other").model_dump_json()
            + "\n"
        )
        assert collect_report(inventory, state).totals.open_changes.changes_pending == 7
        log.write(
            audit("sn-3", "schwerin", 15, ApplyResult.SUCCESS, plan_hash="abc").model_dump_json() + "\n"
        )
    assert by_id(collect_report(inventory, state), "schwerin").open_changes is None


def test_missing_records_are_no_data_not_zero(inventory: Inventory, tmp_path: Path) -> None:
    report = collect_report(inventory, tmp_path / "absent", generated_at=NOW)
    lup = by_id(report, "lup")
    assert (lup.last_apply, lup.drift, lup.verification, lup.open_changes, lup.applies) == (
        None,
        None,
        None,
        None,
        0,
    )
    assert report.totals.verification.pass_rate is None
    page = render_html(report)
    assert labels.NO_DATA in page


def test_records_of_authorities_out_of_scope_are_not_read(inventory: Inventory, state: Path) -> None:
    loaded = load_state(state, ["schwerin"])
    assert {r.authority for r in loaded.audit} == {"schwerin"}
    assert set(loaded.verify) == set(loaded.drift) == {"schwerin"}


def test_a_record_filed_under_the_wrong_authority_is_ignored(inventory: Inventory, state: Path) -> None:
    (state / "verify" / "schwerin.json").write_text(
        VerifyRecord(
            time=at(11), authority="lup", target="lab", passed=True, checks=1, failed=0, pass_rate=1.0
        ).model_dump_json(),
        encoding="utf-8",
    )
    assert by_id(collect_report(inventory.select(["schwerin"]), state), "schwerin").verification is None


# --------------------------------------------------------------------------- shared services


def test_shared_services_show_hosting_and_consumers(report: Report) -> None:
    services = {s.id: s for s in report.shared_services}
    assert (services["kfz"].hosted_by, services["kfz"].host) == ("lup", "lup-pch-app01")
    assert services["kfz"].consumers == ["lup", "schwerin"]


def test_scoped_shared_services_show_only_the_scope_relationship(inventory: Inventory, state: Path) -> None:
    services = {s.id: s for s in collect_report(inventory.select(["schwerin"]), state).shared_services}
    assert (services["kfz"].hosted_by, services["kfz"].host, services["kfz"].consumers) == (
        None,
        None,
        ["schwerin"],
    )
    assert (services["els"].hosted_by, services["els"].consumers) == ("schwerin", ["schwerin"])


# --------------------------------------------------------------------------- JSON structure


def words(text: str) -> list[str]:
    return text.split()


TALLY = words("total by_site{} by_os{} by_role{} by_profile{}")
#: The documented JSON structure, grouped by parent; "[]" marks a list, "{}" a data-keyed mapping.
GOLDEN_STRUCTURE: dict[str, list[str]] = {
    "": words("schema_version generated_at timezone trend_weeks provider client_profiles{}"),
    "scope": words("authorities[] filtered"),
    "totals": words("authorities"),
    **{f"totals.estate.{kind}": TALLY for kind in ("clients", "servers", "devices")},
    "totals.address_plan": words("block_size allocated allocation used usable usage"),
    "totals.applies": words("authorities_with_data succeeded failed latest"),
    "totals.drift": words("authorities_with_data drifted_authorities drifted_hosts drifted_devices"),
    "totals.verification": words("authorities_with_data checks failed pass_rate"),
    "totals.open_changes": words("authorities_with_data authorities_pending changes_pending"),
    "totals.proof": words("authorities_with_data passed_authorities cells ok mismatch errors not_in_twin"),
    "totals.pull": words("authorities_with_data enrolled current stale failing"),
    "authorities[]": words("id name ags timezone applies last_plan pull"),  # pull: see test_pull.py
    "authorities[].sites[]": words("id name shared_site"),
    **{f"authorities[].estate.{kind}": TALLY for kind in ("clients", "servers", "devices")},
    "authorities[].address_plan": words("block block_size allocated allocation used usable"),
    "authorities[].address_plan.subnets[]": words(
        "network name site vlan purpose subnet size usable hosts devices printers used usage"
    ),
    "authorities[].last_apply": words(
        "id time target result git_commit hosts devices changed_hosts changed_devices changed_tasks failed[]"
    ),
    "authorities[].drift": words("time target drifted hosts[] devices[]"),
    "authorities[].verification": words("time target passed checks failed pass_rate"),
    "authorities[].open_changes": words("time target plan_hash changes_pending hosts[] devices[]"),
    "authorities[].proof": words("time target passed cells ok mismatch errors not_in_twin"),
    "authorities[].trend[]": words(
        "week start changes failed_changes changed_systems drifted_systems checks failed_checks pass_rate"
    ),
    "authorities[].proof.failing[]": words(
        "kind source destination service expected observed status detail defined_by[]"
    ),
    "authorities[].grundschutz": words(
        "kompendium mapped met partial not_met no_data not_checkable share_met latest_evidence targets[]"
    ),
    "authorities[].grundschutz.open[]": words("id title baustein level status reason"),
    "authorities[].grundschutz.trend[]": words("week start mapped met partial not_met no_data share_met"),
    "shared_services[]": words("id name port hosted_by host consumers[]"),
}
GOLDEN_KEYS = [
    f"{parent}.{key}" if parent else key for parent, keys in GOLDEN_STRUCTURE.items() for key in keys
]

#: Mappings whose keys are data (site ids, roles, profiles), not structure.
DATA_KEYED = {"by_site", "by_os", "by_role", "by_profile", "client_profiles"}


def key_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        paths: set[str] = set()
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path + "{}"} if key in DATA_KEYED else key_paths(item, path) or {path}
        return paths
    if isinstance(value, list):
        return set().union(*(key_paths(item, prefix + "[]") for item in value)) if value else {prefix + "[]"}
    return {prefix}


def test_json_structure_is_stable(report: Report) -> None:
    data = json.loads(report.model_dump_json())
    assert data["schema_version"] == "1.4"
    paths = key_paths(data)
    paths = {p for p in paths if not any(q.startswith(p + ".") for q in paths)}  # a null object in one item
    assert sorted(paths) == sorted(GOLDEN_KEYS), "a key changed: raise schema_version and update"


def test_cli_json_is_the_model(state: Path) -> None:
    result = CliRunner().invoke(
        ksm, ["--inventory", str(INVENTORY), "report", "--json", "--state-dir", str(state)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["estate"]["clients"]["total"] == 881
    assert Report.model_validate(data).scope.filtered is False


# --------------------------------------------------------------------------- tenant safety


def markers_of(inventory: Inventory, authority: str) -> list[str]:
    """Everything that would give the authority away: names, hosts, sites, addresses."""
    data = inventory.authorities[authority]
    block = next(b.block for b in inventory.provider.address_plan.authorities if b.authority == authority)
    prefix = ".".join(str(block.network_address).split(".")[:2]) + "."
    return [
        data.authority.name,
        data.authority.domain,
        prefix,
        *(h.hostname for h in inventory.hosts if h.authority == authority),
        *(d.hostname for d in inventory.devices if d.authority == authority),
        *(s.name for s in data.sites),
    ]


@pytest.mark.parametrize(
    ("shown", "hidden", "prefix"), [("schwerin", "lup", "lup-"), ("lup", "schwerin", "sn-")]
)
def test_scoped_report_contains_nothing_of_another_authority(
    inventory: Inventory, state: Path, tmp_path: Path, shown: str, hidden: str, prefix: str
) -> None:
    out = tmp_path / "report.html"
    scoped = ["--inventory", str(INVENTORY), "report", "--authority", shown, "--state-dir", str(state)]
    result = CliRunner().invoke(ksm, [*scoped, "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = CliRunner().invoke(ksm, scoped)
    assert text.exit_code == 0, text.output
    markers = markers_of(inventory, hidden)
    assert len(markers) > 100
    for output in (result.stdout, out.read_text(encoding="utf-8"), text.stdout):
        assert not [m for m in markers if m in output]
        assert prefix not in output
        assert not re.search(rf"\b{hidden}\b", output, re.IGNORECASE)
    assert json.loads(result.stdout)["scope"] == {"authorities": [shown], "filtered": True}


def test_scoped_totals_are_the_scope_only(inventory: Inventory, state: Path) -> None:
    report = collect_report(inventory.select(["schwerin"]), state)
    assert report.totals.estate.clients.total == 417
    assert report.totals.address_plan.block_size == 65536
    assert report.totals.verification.pass_rate == 1.0
    assert set(report.totals.estate.clients.by_site) == {"schwerin/rh", "schwerin/sh", "schwerin/ils"}


def test_unknown_authority_is_a_usage_error(state: Path) -> None:
    args = ["--inventory", str(INVENTORY), "report", "--authority", "hagenow", "--state-dir", str(state)]
    result = CliRunner().invoke(ksm, args)
    assert isinstance(result.exception, UsageError)


# --------------------------------------------------------------------------- HTML and text


def test_html_is_self_contained(report: Report) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page, re.IGNORECASE)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    for heading in (
        "Steuerungsinformationen",
        "Arbeitsplätze",
        "Server",
        "Netzwerkgeräte",
        "Standort",
        "Adressraum-Auslastung",
        "Letzte Änderung",
        "Abweichungen (Drift)",
        "Prüfquote",
        "Offene Änderungen",
        "Gemeinsame Fachverfahren",
    ):
        assert heading in page
    assert page.count("<svg") >= 10


def test_html_shows_the_key_numbers(report: Report) -> None:
    page = render_html(report)
    assert 'id="kpi-clients">881<' in page
    assert 'id="kpi-pass-rate">99,1 %<' in page
    assert 'id="kpi-open-changes">7<' in page
    assert "10.41.0.0/16" in page and "24,7 %" in page


def test_html_escapes_every_value(report: Report) -> None:
    evil = "<script>alert('x')</script>"
    lup = by_id(report, "lup")
    tampered = report.model_copy(
        update={
            "authorities": [lup.model_copy(update={"name": evil}), *report.authorities[1:]],
            "provider": evil,
        }
    )
    page = render_html(tampered)
    assert "<script" not in page
    assert "&lt;script&gt;" in page


def test_text_summary(state: Path) -> None:
    result = CliRunner().invoke(ksm, ["--inventory", str(INVENTORY), "report", "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    for expected in (
        "Steuerungsinformationen",
        "881",
        "464",
        "417",
        "98,5 %",
        "zurückgerollt",
        "Kfz-Zulassung",
    ):
        assert expected in result.stdout


def test_out_writes_the_page_and_says_so(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    args = ["--inventory", str(INVENTORY), "report", "--out", str(out), "--state-dir", str(state)]
    result = CliRunner().invoke(ksm, args)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "wrote" in result.output


# --------------------------------------------------------------------------- charts


def test_bar_chart_escapes_labels_and_scales_to_the_largest() -> None:
    chart = svg.bar_chart([svg.Bar("A & <B>", 10, "10"), svg.Bar("C", 5, "5")], title="T")
    assert "A &amp; &lt;B&gt;" in chart and "<B>" not in chart
    widths = [
        float(w)
        for w in re.findall(
            r'<rect x="190" y="[\d.]+" width="([\d.]+)" height="16" rx="3" '
            r'fill="#1f4e79"',
            chart,
        )
    ]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_stacked_bar_never_exceeds_its_width() -> None:
    chart = svg.stacked_bar(
        [svg.Segment("a", 700, "#000"), svg.Segment("b", 700, "#111")],
        1000,
        title="T",
        width=500,
        legend=False,
    )
    widths = [
        float(w) for w in re.findall(r'<rect x="[\d.]+" y="0" width="([\d.]+)" height="30" fill=', chart)
    ]
    assert sum(widths) == pytest.approx(500)


def test_empty_chart_says_no_data() -> None:
    assert labels.NO_DATA in svg.bar_chart([], title="T")
    assert labels.NO_DATA in svg.stacked_bar([], 0, title="T")


def test_build_report_is_fast_on_the_samples(inventory: Inventory) -> None:
    import time

    start = time.perf_counter()
    build_report(inventory, collect.StateRecords(), NOW)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("module", [collect, svg, labels, html])
def test_doctests(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


def test_naive_and_aware_times_compare(inventory: Inventory, state: Path) -> None:
    naive = (
        '{"id": "lup-3", "time": "2025-03-10T23:00:00", "user": "ops", "machine": "ci", "authority": "lup", '
    )
    with (state / "audit.jsonl").open("a", encoding="utf-8") as log:
        log.write("\n" + naive + '"target": "lab", "result": "success"}\n')
    lup = by_id(collect_report(inventory, state), "lup")
    assert lup.last_apply is not None and lup.last_apply.id == "lup-3"


# --------------------------------------------------------------------------- Nachweis (ksm prove)


def test_proof_counts_and_failing_cells(report: Report) -> None:
    schwerin = by_id(report, "schwerin").proof
    assert schwerin is not None and not schwerin.passed
    assert (schwerin.mismatch, schwerin.errors, schwerin.ok + schwerin.mismatch) == (2, 0, schwerin.cells)
    crossing = next(c for c in schwerin.failing if c.kind == "foreign-fileserver")
    # both authorities are in scope: the destination is shown in full
    assert crossing.destination == "lup-pch-fs01 10.41.8.10:445"
    assert crossing.defined_by == ["inventories/schwerin.yml:46", "inventories/lup.yml:118"]
    assert (crossing.expected, crossing.observed, crossing.status) == ("blocked", "reached", "mismatch")
    assert report.totals.proof.authorities_with_data == 2
    assert report.totals.proof.mismatch == 3


def test_scoped_proof_hides_what_lies_outside_the_scope(inventory: Inventory, state: Path) -> None:
    proof = by_id(collect_report(inventory.select(["schwerin"]), state), "schwerin").proof
    assert proof is not None
    crossing = next(c for c in proof.failing if c.kind == "foreign-fileserver")
    assert crossing.destination == "andere Behörde:445"
    assert (crossing.detail, crossing.defined_by) == ("", ["inventories/schwerin.yml:46"])
    home = next(c for c in proof.failing if c.kind == "own-fileserver")
    assert home.destination == "sn-sh-fs01 10.42.24.10:445" and home.detail == "connected"


def test_proof_cells_of_another_source_are_dropped(inventory: Inventory, state: Path) -> None:
    lup_cells = proof_record(inventory, "lup", {LUP_CROSSING}, 15).cells
    record = proof_record(inventory, "schwerin", set(), 15)
    tampered = record.model_copy(update={"cells": [*record.cells, *lup_cells]})
    save_status(tampered, state)
    proof = by_id(collect_report(inventory, state), "schwerin").proof
    assert proof is not None and proof.passed and proof.cells == len(record.cells)


def test_proof_without_record_is_no_data(inventory: Inventory, tmp_path: Path) -> None:
    report = collect_report(inventory, tmp_path / "absent", generated_at=NOW)
    assert by_id(report, "lup").proof is None
    assert report.totals.proof.authorities_with_data == 0
    page = render_html(report)
    assert 'id="nachweis-lup"' in page and "noch kein <code>ksm prove</code>" in page


def test_proof_in_html_and_text(report: Report, state: Path) -> None:
    page = render_html(report)
    assert "Nachweis: Erreichbarkeit und Trennung" in page
    assert "2 Abweichungen" in page and "lup-pch-fs01 10.41.8.10:445" in page
    result = CliRunner().invoke(ksm, ["--inventory", str(INVENTORY), "report", "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    assert "Nachweis" in result.stdout and "2 Abweichungen" in result.stdout
    assert "sh-clients → sn-sh-fs01 10.42.24.10:445" in result.stdout
