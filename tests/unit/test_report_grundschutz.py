"""The report's IT-Grundschutz section: share of mapped Anforderungen met per authority, the open ones
first, the trend from the runs of ``ksm compliance``; "keine Daten" without records, never green;
nothing of another authority in a scoped report."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.compliance.check import target_names
from ksm_provision.compliance.evidence import known_evidence
from ksm_provision.compliance.mapping import load_mapping
from ksm_provision.compliance.report_section import add_grundschutz
from ksm_provision.inventory.hosts import HostKind
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.gateway_vars import ansible_host_vars
from ksm_provision.report.collect import collect_report
from ksm_provision.report.html import render_html
from ksm_provision.report.model import Report
from ksm_provision.report.text import grundschutz_table
from ksm_provision.verify.expectations import checks_for
from ksm_provision.workflow.history import ComplianceEntry, append_history, history_path
from ksm_provision.workflow.records import CheckOutcome, VerifyChecksRecord, save_status

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
NOW = datetime(2025, 3, 12, 18, 0, tzinfo=UTC)
#: The ids of the checks the full Anforderung SYS.1.3.A8 rests on (see the mapping).
SSH_CHECKS = ("sshd", "sshd_login", "no_cleartext_remote", "service:ssh")


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


def servers(inventory: Inventory, authority: str) -> list[str]:
    return [h.hostname for h in inventory.hosts if h.authority == authority and h.kind is HostKind.SERVER]


def verify_checks(
    base: Path, authority: str, hosts: list[str], failing: frozenset[str] = frozenset()
) -> None:
    """A verify-checks record as `ksm verify` writes it: the SSH checks on *hosts*."""
    outcomes = [
        CheckOutcome(host=host, check=check, name=check, passed=host not in failing, message="x")
        for host in hosts
        for check in SSH_CHECKS
    ]
    save_status(
        VerifyChecksRecord(
            time=NOW - timedelta(hours=2), authority=authority, target="lab", results=outcomes
        ),
        base,
    )


def report_of(inventory: Inventory, base: Path, **options: Any) -> Report:
    """The report as `ksm report` builds it (collected, then the IT-Grundschutz section added)."""
    return add_grundschutz(collect_report(inventory, base, **options), inventory, base)


def section(page: str, authority: str) -> str:
    found = re.search(rf'<div class="grundschutz" id="grundschutz-{authority}">(.*?)\n  </div>\n', page, re.S)
    assert found, "no IT-Grundschutz section"
    return found[1]


def test_empty_state_shows_no_data_never_green(inventory: Inventory, tmp_path: Path) -> None:
    report = report_of(inventory, tmp_path, generated_at=NOW)
    for authority in report.authorities:
        info = authority.grundschutz
        assert info is not None
        assert (info.share_met, info.met, info.no_data) == (None, 0, info.mapped)
        assert info.mapped > 0 and info.latest_evidence is None
        assert all(w.share_met is None and w.met is None for w in info.trend)
        html = section(render_html(report), authority.id)
        assert "keine Daten" in html
        assert "badge ok" not in html and 'class="ok"' not in html
    assert "keine Daten" in "".join(str(c) for c in grundschutz_table(report).columns[1].cells)


def test_met_requirement_counts_and_open_ones_come_failed_first(inventory: Inventory, tmp_path: Path) -> None:
    hosts = servers(inventory, "schwerin")
    verify_checks(tmp_path, "schwerin", hosts)
    info = report_of(inventory.select(["schwerin"]), tmp_path, generated_at=NOW).authorities[0].grundschutz
    assert info is not None and info.met >= 1 and info.share_met is not None
    assert "SYS.1.3.A8" not in [o.id for o in info.open]
    assert info.targets == ["lab"]

    verify_checks(tmp_path, "schwerin", hosts, failing=frozenset({hosts[0]}))
    info = report_of(inventory.select(["schwerin"]), tmp_path, generated_at=NOW).authorities[0].grundschutz
    assert info is not None and info.not_met >= 1
    assert info.open[0].status == "not_met" and info.open[0].id == "SYS.1.1.A2"
    order = [o.status for o in info.open]
    assert order == sorted(order, key=["not_met", "partial", "not_checked"].index)
    assert hosts[0] not in json.dumps([o.model_dump() for o in info.open])  # ids and reasons, no names


def test_the_trend_is_the_last_compliance_run_of_each_week(inventory: Inventory, tmp_path: Path) -> None:
    verify_checks(tmp_path, "schwerin", servers(inventory, "schwerin"))
    runner = CliRunner()
    args = [
        "--inventory",
        str(INVENTORY),
        "compliance",
        "--authority",
        "schwerin",
        "--state-dir",
        str(tmp_path),
    ]
    for _ in range(2):
        assert runner.invoke(ksm, [*args, "--json"]).exit_code == 0
    lines = history_path(ComplianceEntry, "schwerin", tmp_path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert not history_path(ComplianceEntry, "lup", tmp_path).exists()
    report = report_of(inventory.select(["schwerin"]), tmp_path, weeks=3)
    trend = report.authorities[0].grundschutz.trend  # type: ignore[union-attr]
    assert [w.met is None for w in trend] == [True, True, False]
    assert trend[-1].share_met is not None and trend[-1].met == report.authorities[0].grundschutz.met  # type: ignore[union-attr]


def test_a_scoped_report_shows_nothing_of_another_authority(inventory: Inventory, tmp_path: Path) -> None:
    lup = servers(inventory, "lup")
    verify_checks(
        tmp_path, "schwerin", [*servers(inventory, "schwerin"), lup[0]], failing=frozenset({lup[0]})
    )
    verify_checks(tmp_path, "lup", lup, failing=frozenset({lup[1]}))
    append_history(
        ComplianceEntry(
            time=NOW, authority="lup", edition="2023", mapped=9, met=9, partial=0, not_met=0, no_data=0
        ),
        tmp_path,
    )
    # a line of lup's smuggled into Schwerin's history is skipped
    smuggled = history_path(ComplianceEntry, "schwerin", tmp_path)
    smuggled.parent.mkdir(parents=True)
    with smuggled.open("a", encoding="utf-8") as out:
        out.write(ComplianceEntry(time=NOW, authority="lup", edition="2023", mapped=9, met=9, partial=0,
                                  not_met=0, no_data=0).model_dump_json() + "\n")  # fmt: skip
    report = report_of(inventory.select(["schwerin"]), tmp_path, generated_at=NOW)
    info = report.authorities[0].grundschutz
    assert info is not None and info.trend[-1].met is None  # lup's 9 of 9 did not leak in
    assert info.not_met == 0  # lup's failing server is not Schwerin's
    hidden = [h.hostname for h in inventory.hosts if h.authority == "lup"]
    hidden += [d.hostname for d in inventory.devices if d.authority == "lup"]
    for output in (report.model_dump_json(), section(render_html(report), "schwerin")):
        assert not [name for name in hidden if name in output]
        assert not re.search(r"\blup\b", output)


def test_report_json_carries_the_section(inventory: Inventory, tmp_path: Path) -> None:
    data = json.loads(report_of(inventory, tmp_path, generated_at=NOW).model_dump_json())
    assert data["schema_version"] == "1.4"
    assert Report.model_validate(data).authorities[0].grundschutz is not None


# --------------------------------------------------------------------------- what "full" means


def test_full_requirements_state_the_organisational_rest_and_no_gaps() -> None:
    mapping = load_mapping(known=known_evidence())
    full = [r for _, r in mapping.anforderungen() if r.coverage == "full"]
    assert "SYS.1.3.A8" in {r.id for r in full}
    for requirement in full:
        assert requirement.organisational and not requirement.gaps, requirement.id
    ssh = next(r for r in full if r.id == "SYS.1.3.A8")
    assert {e.check for e in ssh.evidence} == {f"verify:{c}" for c in SSH_CHECKS}


def test_verify_targets_are_hosts_and_routers_never_switches(inventory: Inventory) -> None:
    hosts = [h for h in inventory.hosts if h.authority == "schwerin"]
    devices = [d for d in inventory.devices if d.authority == "schwerin"]
    verified, all_devices = target_names("network", hosts, devices)
    assert verified == {"sn-rh-rt01", "sn-sh-rt01", "sn-ils-rt01"}
    assert "sn-rh-sw01" in all_devices
    verified, _ = target_names("all", hosts, devices)
    assert "sn-rh-sw01" not in verified and "sn-rh-rt01" in verified and "sn-sh-fs01" in verified


def test_verify_expects_what_the_role_writes(inventory: Inventory) -> None:
    """The new checks take the base role's defaults where the inventory sets nothing."""
    by_name = {h.hostname: h for h in inventory.hosts}
    checks = {c.kind: c for c in checks_for(ansible_host_vars(inventory, by_name["sn-rh-ob01"]))}
    assert checks["unattended_upgrades"].params["enabled"] is False  # the inventory switches it off there
    assert checks["sshd_crypto"].params["ciphers"][0] == "aes256-gcm@openssh.com"
    assert checks["sshd_login"].params["permit_root_login"] == "prohibit-password"
    assert checks["syslog_auth"].params == {"host": "10.42.8.30"}
    assert "no_cleartext_remote" in checks
    server = {c.kind: c for c in checks_for(ansible_host_vars(inventory, by_name["sn-sh-fs01"]))}
    assert server["unattended_upgrades"].params["enabled"] is True
