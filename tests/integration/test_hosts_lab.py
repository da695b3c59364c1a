"""Hosts end to end on the lab twin: real ansible-playbook over real SSH, testinfra verification.

Order matters inside this module (apply, then idempotency, then drift repair), as it would for an
engineer; the lab is shared with the other lab tests of the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm, ksm_json, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

SCHWERIN_FV_HOST = "sn-ils-app01"


def _hosts_of(lab_twin: LabTwin, authority: str) -> list[str]:
    state = lab_twin.lab.state()  # type: ignore[attr-defined]
    return sorted(
        n.spec.represents[0]
        for n in state.nodes.values()
        if n.spec.kind in ("host", "gateway") and n.spec.authority == authority
    )


def _upper_files(lab_twin: LabTwin, authority: str) -> dict[str, float]:
    """Every file an apply could have written on the authority's lab hosts (their overlay upper layers)."""
    state = lab_twin.lab.state()  # type: ignore[attr-defined]
    files: dict[str, float] = {}
    for node in state.nodes.values():
        if node.spec.kind not in ("host", "gateway") or node.spec.authority != authority:
            continue
        upper = Path(node.node_dir) / "upper"
        for path in upper.rglob("*"):
            if (
                path.is_file()
                and not path.is_symlink()
                and "/run/" not in str(path)
                and "/var/log/" not in str(path)
            ):
                files[str(path)] = path.stat().st_mtime
    return files


@pytest.fixture(scope="module")
def schwerin_applied(lab_twin: LabTwin) -> dict[str, Any]:
    """Apply Schwerin once, recording Ludwigslust-Parchim's hosts before and after."""
    before = _upper_files(lab_twin, "lup")
    result = ksm_json(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab")
    return {"result": result, "lup_before": before, "lup_after": _upper_files(lab_twin, "lup")}


def test_apply_schwerin_configures_every_lab_host(
    lab_twin: LabTwin, schwerin_applied: dict[str, Any]
) -> None:
    run = schwerin_applied["result"]["hosts"]
    names = sorted(h["host"] for h in run["hosts"])
    assert names == _hosts_of(lab_twin, "schwerin")
    assert all(not h["failed"] and not h["unreachable"] for h in run["hosts"])
    assert all(h["changed"] > 0 for h in run["hosts"]), "a fresh lab host must have received changes"


def test_apply_scoped_to_schwerin_leaves_lup_untouched(schwerin_applied: dict[str, Any]) -> None:
    assert schwerin_applied["lup_after"] == schwerin_applied["lup_before"]


def test_verify_passes_after_apply(
    lab_twin: LabTwin, schwerin_applied: dict[str, Any], tmp_path: Path
) -> None:
    junit = tmp_path / "verify.xml"
    result = ksm_json(
        lab_twin.env, "verify", "--authority", "schwerin", "--target", "lab", "--junit", str(junit)
    )
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]
    kinds = {c["check"].split()[0] for c in result["checks"]}
    assert {
        "hostname",
        "ntp",
        "dns",
        "admin",
        "share",
        "dhcp",
        "fachverfahren",
        "package",
        "service",
    } <= kinds
    checks = {(c["host"], c["check"]) for c in result["checks"]}
    assert {  # the services the roles run, as systemd and the sockets show them
        ("sn-sh-fs01", "service smbd running and enabled"),
        ("sn-sh-fs01", "smbd listens on tcp/445"),
        ("sn-rh-dhcp01", "service isc-dhcp-server running and enabled"),
        ("sn-rh-dhcp01", "dhcpd listens on udp/67"),
        ("sn-ils-app01", "fachverfahren els listens on tcp/9443"),
        ("sn-rh-log01", "service chrony running and enabled"),
        ("sn-rh-log01", "sshd listens on tcp/22"),
    } <= checks
    assert "<testcase" in junit.read_text()


def test_second_apply_changes_nothing(lab_twin: LabTwin, schwerin_applied: dict[str, Any]) -> None:
    result = ksm_json(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab")
    hosts = result["hosts"]["hosts"]
    changed = {h["host"]: [c["task"] for c in h["changes"]] for h in hosts if h["changed"]}
    assert changed == {}


def test_hand_edit_shows_in_plan_and_apply_repairs_it(
    lab_twin: LabTwin, schwerin_applied: dict[str, Any]
) -> None:
    host = _hosts_of(lab_twin, "schwerin")[0]
    ssh(
        lab_twin.lab,
        host,
        "sed -i 's/^server /#server /' /etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf 2>/dev/null; true",
    )
    plan = ksm(
        lab_twin.env,
        "plan",
        "--authority",
        "schwerin",
        "--target",
        "lab",
        "--detailed-exitcode",
        check_codes=(2,),
    )
    assert host in plan.stdout and "chrony" in plan.stdout.lower()
    ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab", "--limit", host)
    ksm(
        lab_twin.env,
        "plan",
        "--authority",
        "schwerin",
        "--target",
        "lab",
        "--detailed-exitcode",
        "--limit",
        host,
    )
    assert "server 10.40.0.123" in ssh(
        lab_twin.lab, host, "cat /etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf 2>/dev/null; true"
    )


def test_no_secret_reaches_any_output(
    lab_twin: LabTwin, schwerin_applied: dict[str, Any], tmp_path: Path
) -> None:
    from ksm_provision.vault import secret_values, vault_access

    secrets = secret_values(vault_access(lab_twin.inventory.select(["schwerin"])))  # type: ignore[attr-defined]
    assert "Els-DB-Secret-60c3f2" in secrets
    # a fresh server.yml forces the task holding the password to run in plan (check+diff) and apply
    ssh(lab_twin.lab, SCHWERIN_FV_HOST, "rm -f /etc/ksm/fachverfahren/els/server.yml")
    junit = tmp_path / "verify.xml"
    outputs = [
        ksm(lab_twin.env, "plan", "--authority", "schwerin", "--target", "lab", check_codes=(0, 2)),
        ksm(lab_twin.env, "plan", "--authority", "schwerin", "--target", "lab", "--json", check_codes=(0, 2)),
        ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab", "--limit", SCHWERIN_FV_HOST),
        ksm(lab_twin.env, "verify", "--authority", "schwerin", "--target", "lab", "--junit", str(junit)),
    ]
    texts = [o.stdout + o.stderr for o in outputs] + [junit.read_text()]
    for directory in (lab_twin.state_dir, Path(lab_twin.env["KSM_BUILD_DIR"])):
        if directory.exists():
            texts += [p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file()]
    assert "server configuration (contains secrets)" in texts[0]  # the no_log task is planned
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_report_after_lab_apply_in_browser(
    lab_twin: LabTwin, schwerin_applied: dict[str, Any], tmp_path: Path
) -> None:
    """The management report from the records real applies and verifications left, in Chromium."""
    from tests.integration.test_report_browser import chromium

    ksm(lab_twin.env, "verify", "--authority", "schwerin", "--target", "lab")
    report = ksm_json(lab_twin.env, "report", "--authority", "schwerin")
    (schwerin,) = report["authorities"]
    assert schwerin["last_apply"]["result"] == "success" and schwerin["last_apply"]["target"] == "lab"
    assert schwerin["verification"]["pass_rate"] == 1.0
    assert schwerin["estate"]["clients"]["total"] == 417
    page = tmp_path / "report.html"
    ksm(lab_twin.env, "report", "--authority", "schwerin", "--out", str(page))
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    assert "Landeshauptstadt Schwerin" in dom and "417" in dom and "100,0" in dom
    assert "Ludwigslust" not in dom and "lup-" not in dom
    shot = tmp_path / "report.png"
    chromium(page, tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.stat().st_size > 20_000
