"""``ksm validate`` warnings: printed with FILE:LINE, in JSON under ``warnings``, never failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.test_invalid_inventories import MINIMAL, apply_edit
from tests.unit.test_validate_vault import run_validate as validate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(tmp_path / "none"))
    monkeypatch.chdir(root)
    return root


def drop_log_host(root: Path) -> None:
    apply_edit(
        root,
        {
            "file": "aa.yml",
            "replace": "  log_host: 10.41.8.10     # aa-app01 collects the logs of the authority\n",
            "with": "  log_port: 514\n",
        },
    )


def test_the_sample_inventories_have_no_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys, inventory=str(REPO / "inventories"))
    assert code == 0
    assert "warning" not in err


def log_host_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:") and "log" in line]


def test_minimal_has_no_log_host_warning(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys)
    assert code == 0
    assert log_host_lines(err) == []


def test_gateway_no_router_holds(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The minimal inventory's bb has no router: its networks' gateways are held by nothing of ksm."""
    code, _, err = validate(capsys)
    assert code == 0
    assert (
        "warning: bb.yml:32: network 'rh-clients': no router of the inventory holds its gateway 10.42.0.1, "
        "so its hosts reach nothing beyond their subnet unless gear outside ksm routes it — add a routed "
        "interface with address 10.42.0.1/24 to the site's router"
    ) in err.splitlines()


def test_static_route_means_routed_elsewhere() -> None:
    """lup's hgw-mgmt gateway is a VPN gateway outside ksm, reached by a static route: no warning."""
    from ksm_provision.inventory.inventory import load_inventory
    from ksm_provision.validate.warnings import unrouted_gateway_warnings

    inventory = load_inventory(REPO / "inventories")
    assert unrouted_gateway_warnings(inventory, "lup") == []


def test_range_without_dhcp_server(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys)
    assert code == 0
    assert (
        "warning: bb.yml:54: client range 'rh-office': no DHCP server serves network 'rh-clients', and range "
        "members get their addresses from its DHCP pool — add 'rh-clients' to `dhcp.serves` of a DHCP "
        "server of the authority"
    ) in err.splitlines()


def test_no_log_host_is_a_warning_not_an_error(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, out, err = validate(capsys)
    assert code == 0
    assert out.startswith("ok: ")
    warnings = log_host_lines(err)
    assert warnings == [
        "warning: aa.yml:20: site 'hq' has no log host: its switches, routers and servers keep their logs "
        "only locally — set `settings.log_host` of the authority (or of the site) to the address of its "
        "log server"
    ]


def test_log_host_that_is_no_server(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apply_edit(inv, {"file": "bb.yml", "replace": "log_host: 10.42.0.10", "with": "log_host: 10.42.0.99"})
    code, _, err = validate(capsys)
    assert code == 0
    assert "warning: bb.yml:20: site 'rh' logs to 10.42.0.99, which is no server of any authority" in err


def test_warnings_in_json(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, out, err = validate(capsys, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert ("aa.yml", 20) in [(w["file"], w["line"]) for w in report["warnings"]]
    assert "warning" not in err


def test_scoped_validate_shows_only_its_warnings(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, _, err = validate(capsys, "--authority", "bb")
    assert code == 0
    assert log_host_lines(err) == []
    assert "aa.yml" not in err
