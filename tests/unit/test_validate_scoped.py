"""``ksm validate --authority ID`` loads and checks everything that could conflict with ID.

The base is tests/data/minimal/ with a third authority ``cc``, so that a problem between two other
authorities can be told apart from one that involves the chosen one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.cli import main
from tests.unit.test_invalid_inventories import MINIMAL, apply_edit

CC = """\
authority:
  id: cc
  name: Amt C
  ags: "13000003"
  domain: cc.tst.internal
  bgp_asn: 65103
vault:
  vault_id: cc
  file: vault/cc.yml
network_settings:
  password: vault:network_password
  enable_secret: vault:network_enable_secret
  snmp_auth: vault:snmp_auth
  snmp_priv: vault:snmp_priv
sites:
  - id: amt
    name: Amtshaus
networks:
  - {id: amt-clients, site: amt, vlan: 310, name: AMT-CLIENTS, subnet: 10.43.0.0/24, gateway: 10.43.0.1,
     purpose: clients}
servers:
  - {hostname: cc-amt-fs01, site: amt, network: amt-clients, address: 10.43.0.10}
"""


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The minimal inventory plus authority cc, worked on from inside (files show as 'aa.yml')."""
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    (root / "cc.yml").write_text(CC, encoding="utf-8")
    shutil.copyfile(root / "vault" / "aa.yml", root / "vault" / "cc.yml")  # exists; no key for cc here
    apply_edit(
        root,
        {
            "file": "ksm.yml",
            "replace": "      vlans: [200, 299]\n",
            "with": "      vlans: [200, 299]\n"
            "    - authority: cc\n      block: 10.43.0.0/16\n      vlans: [300, 399]\n",
        },
    )
    monkeypatch.chdir(root)
    return root


def edit(root: Path, file: str, replace: str, with_: str) -> None:
    apply_edit(root, {"file": file, "replace": replace, "with": with_})


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", ".", "validate", *args])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert "Traceback" not in out + err
    return (code if isinstance(code, int) else 1), out, err


def validate_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = validate(capsys, *args, "--json")
    return code, json.loads(out)


def test_clean_scoped_run_passes(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = validate(capsys, "--authority", "aa")
    assert code == 0
    assert out.startswith("ok: 1 authorities")
    code, report = validate_json(capsys, "--authority", "cc", "--authority", "bb")
    assert code == 0 and report["authorities"] == ["cc", "bb"]


def test_hostname_clash_reported_in_the_other_file_is_shown(
    inv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """aa's server name is taken again in cc.yml; the rule reports it there, aa still sees it."""
    edit(inv, "cc.yml", "hostname: cc-amt-fs01", "hostname: aa-app01")
    expected = "cc.yml:22: host name 'aa-app01' is also used by server 'aa-app01' of 'aa' (aa.yml:85)"
    for scope in ("aa", "cc"):
        code, _, err = validate(capsys, "--authority", scope)
        assert code == 1
        assert expected in err
        assert "1 problem(s) found." in err
    code, _, err = validate(capsys, "--authority", "bb")
    assert code == 1  # not bb's conflict: counted, not listed (see test_unrelated_problem_...)
    assert expected not in err


def test_asn_clash_of_a_new_authority_names_both_files(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(inv, "cc.yml", "bgp_asn: 65103", "bgp_asn: 65101")
    code, report = validate_json(capsys, "--authority", "aa")
    assert code == 1 and report["valid"] is False
    assert [(p["file"], p["line"], p["message"]) for p in report["problems"]] == [
        ("cc.yml", 6, "BGP AS number 65101 is also used by 'aa' (aa.yml:7)")
    ]
    assert all(set(p) == {"file", "line", "message", "hint"} for p in report["problems"])


def test_reach_into_the_chosen_authority_from_another_file_is_shown(
    inv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A printer of cc takes an address of aa's block: reported in cc.yml, shown for aa."""
    edit(
        inv,
        "cc.yml",
        "    name: Amtshaus\n",
        "    name: Amtshaus\n    printers:\n      - {name: P, address: 10.41.9.9}\n",
    )
    code, _, err = validate(capsys, "--authority", "aa")
    assert code == 1
    assert (
        "cc.yml:19: site 'amt' printer 'P': address 10.41.9.9 lies inside the block 10.41.0.0/16 of 'aa'"
        in err
    )


def test_broken_other_file_fails_the_scoped_run(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (inv / "bb.yml").write_text("sites: [\n", encoding="utf-8")
    code, _, err = validate(capsys, "--authority", "aa")
    assert code == 1
    assert "bb.yml: has 1 problem(s); conflicts between aa and bb cannot be checked — fix bb.yml" in err
    assert "malformed YAML" not in err  # the details belong to bb's owners: `ksm validate` shows them
    code, report = validate_json(capsys, "--authority", "aa")
    assert code == 1 and report["valid"] is False
    assert [p["file"] for p in report["problems"]] == ["bb.yml"]
    code, _, err = validate(capsys)
    assert code == 1 and "bb.yml:2: malformed YAML" in err


def test_broken_own_file_shows_its_problems_and_the_other_broken_files(
    inv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(inv, "aa.yml", "  bgp_asn: 65101\n", "  bgp_asn: many\n")
    edit(inv, "cc.yml", "  bgp_asn: 65103\n", "  bgp_asn: 65103\n  colour: blue\n")
    code, _, err = validate(capsys, "--authority", "aa")
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("aa.yml:7: ")
    assert lines[1].startswith("cc.yml: has 1 problem(s); conflicts between aa and cc cannot be checked")
    assert lines[-1] == "2 problem(s) found."


def test_unrelated_problem_between_two_other_authorities(
    inv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb and cc share a host name. For aa it is not listed, but the run fails with one line per file:
    plan and apply for aa load the whole inventory and would refuse, so a pass would be a false promise."""
    edit(inv, "cc.yml", "hostname: cc-amt-fs01", "hostname: bb-rh-fs01")
    code, _, err = validate(capsys, "--authority", "aa")
    assert code == 1
    assert "bb-rh-fs01" not in err
    assert "cc.yml: has 1 problem(s) not involving aa; commands that load the inventory refuse to run" in err
    code, _, err = validate(capsys, "--authority", "bb")
    assert code == 1 and "host name 'bb-rh-fs01' is also used by server 'bb-rh-fs01' of 'bb'" in err


def test_unknown_authority_is_a_usage_error_even_when_a_file_is_broken(
    inv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inv / "bb.yml").write_text("sites: [\n", encoding="utf-8")
    code, _, err = validate(capsys, "--authority", "nowhere")
    assert code == 64 and "unknown authority 'nowhere'" in err
