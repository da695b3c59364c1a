"""``ksm inventory show``: every effective setting with its level and FILE:LINE; tables whole when piped.

Expected lines are found by searching the sample YAML, never written down as numbers, so editing a
sample moves the expectation with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.commands.inventory import print_node
from ksm_provision.inventory.provenance import SettingOrigin
from ksm_provision.inventory.settings import Level
from tests.unit.test_cli_inventory import KSM, REPO, SAMPLES
from tests.unit.test_invalid_inventories import MINIMAL, apply_edit

INVENTORIES = REPO / "inventories"


def line_of(file: str, start: str) -> str:
    """``inventories/FILE:LINE`` of the one line of the sample *file* that starts with *start*."""
    lines = (INVENTORIES / file).read_text(encoding="utf-8").splitlines()
    found = [number for number, line in enumerate(lines, 1) if line.startswith(start)]
    assert len(found) == 1, f"{file}: {start!r} starts {len(found)} lines, the test needs exactly one"
    return f"{file}:{found[0]}"


#: (host or device, setting, level, where it is set: file and the start of its line)
CASES = [
    # lup-lwl-ws001: a member of lup's lwl range: settings from provider, authority and site
    ("lup-lwl-ws001", "timezone", "provider", ("ksm.yml", "  timezone: Europe/Berlin")),
    ("lup-lwl-ws001", "dns_search", "authority", ("lup.yml", "  dns_search: [lup.ksm-mv.internal")),
    ("lup-lwl-ws001", "ntp_servers", "site", ("lup.yml", "      ntp_servers: [10.41.24.1,")),
    ("lup-lwl-ws001", "admins[ksm-ops].sudo", "provider", ("ksm.yml", "      sudo: true")),
    ("lup-lwl-ws001", "admins[lup-admin].comment", "authority", ("lup.yml", "      comment: IT-Koord")),
    # a control-room desk: its profile turns unattended upgrades off
    ("lup-ils-elp01", "unattended_upgrades", "profile", ("ksm.yml", "      unattended_upgrades: false")),
    # a single client whose own entry turns them off
    ("sn-rh-ob01", "unattended_upgrades", "host", ("schwerin.yml", "      unattended_upgrades: false")),
    ("sn-rh-ob01", "log_host", "authority", ("schwerin.yml", "  log_host: 10.42.8.30")),
    # a device: its own fields, the authority's network settings (secrets as references)
    ("sn-rh-rt01", "routing.router_id", "device", ("schwerin.yml", "      router_id: 10.42.15.1")),
    ("sn-rh-rt01", "network_settings.password", "authority", ("schwerin.yml", "  password: vault:")),
]


def invoke(*args: str, inventory: str | Path = SAMPLES) -> str:
    result = CliRunner().invoke(ksm, ["--inventory", str(inventory), "inventory", *args])
    assert result.exit_code == 0, result.output
    return result.output


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of the piped settings table: setting -> [value, level, FILE:LINE]."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 4:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize(("name", "setting", "level", "written"), CASES)
def test_json_names_level_and_line(name: str, setting: str, level: str, written: tuple[str, str]) -> None:
    origin = json.loads(invoke("show", name, "--json"))["provenance"][setting]
    assert origin["level"] == level
    assert origin["defined_at"].endswith(line_of(*written))
    assert origin["defined_at"] == f"{origin['file']}:{origin['line']}"


@pytest.mark.parametrize(("name", "setting", "level", "written"), CASES)
def test_table_names_level_and_line(name: str, setting: str, level: str, written: tuple[str, str]) -> None:
    row = table_rows(invoke("show", name))[setting]
    assert row[1] == level
    assert row[2].endswith(line_of(*written))


def test_json_keeps_the_keys_users_read() -> None:
    data = json.loads(invoke("show", "lup-lwl-ws001", "--json"))
    assert list(data) == [
        *("hostname", "authority", "site", "kind", "address", "mac", "network", "profile", "roles"),
        *("defined_at", "settings", "provenance"),
    ]
    assert data["settings"]["ntp_servers"] == data["provenance"]["ntp_servers"]["value"]
    assert data["defined_at"].endswith(line_of("lup.yml", "  - name: lwl-verwaltung"))
    device = json.loads(invoke("show", "sn-rh-rt01", "--json"))
    assert device["defined_at"].endswith(line_of("schwerin.yml", "  - hostname: sn-rh-rt01"))
    assert device["hostname"] == "sn-rh-rt01" and device["management"]["address"] == "10.42.15.1"


def test_a_built_in_default_names_no_file() -> None:
    origin = json.loads(invoke("show", "sn-rh-rt01", "--json"))["provenance"]["connection.port"]
    assert origin == {"value": 22, "level": "default", "file": None, "line": None, "defined_at": None}
    assert table_rows(invoke("show", "sn-rh-rt01"))["connection.port"] == ["22", "default (ksm)", "-"]


def test_secrets_show_as_their_references() -> None:
    rows = table_rows(invoke("show", "sn-rh-sw01"))
    secrets = {key: row[0] for key, row in rows.items() if key.startswith("network_settings.")}
    assert secrets["network_settings.enable_secret"] == "vault:network_enable_secret"
    assert secrets["network_settings.snmp_priv"] == "vault:snmp_priv"


def test_header_names_the_host() -> None:
    lines = invoke("show", "lup-pch-fs01").splitlines()
    assert "roles:      fileserver" in lines
    defined_at = next(line for line in lines if line.startswith("defined_at: "))
    assert defined_at.endswith(line_of("lup.yml", "  - hostname: lup-pch-fs01"))


def test_inventory_values_print_literally(tmp_path: Path) -> None:
    """An admin's comment with rich markup prints as written, in the table and in JSON."""
    inventory = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventory)
    markup = "Kreis [/] [bold]x [link=file:///etc/passwd]y"
    admin = f"  admins:\n    - name: aa-markup\n      comment: {json.dumps(markup)}\n"
    apply_edit(inventory, {"file": "aa.yml", "append": admin})
    assert (
        table_rows(invoke("show", "aa-hq-pc01", inventory=inventory))["admins[aa-markup].comment"][0]
        == markup
    )
    data = json.loads(invoke("show", "aa-hq-pc01", "--json", inventory=inventory))
    assert data["provenance"]["admins[aa-markup].comment"]["value"] == markup


def test_control_characters_in_a_value_print_visibly(capsys: pytest.CaptureFixture[str]) -> None:
    """Defence in depth: were a control character past the models, the table shows it escaped."""
    hostile = SettingOrigin("admins[x].comment", "a\x1b[2Jb\nc\u202e", Level.AUTHORITY, "aa.yml", 3)
    print_node({"hostname": "h\x1b]0;t\x07"}, [hostile])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "h\\x1b]0;t\\x07" in out
    assert table_rows(out)["admins[x].comment"] == ["a\\x1b[2Jb\\x0ac\\u202e", "authority", "aa.yml:3"]


# --------------------------------------------------------------------------- piped tables


def piped(*args: str, columns: int = 40) -> str:
    """``ksm ARGS | cat``, in a 40-column "terminal" (ignored: a pipe has no width)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    env.update(KSM_INVENTORY=SAMPLES, COLUMNS=str(columns), TERM="xterm-256color")
    done = subprocess.run([str(KSM), *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_piped_list_is_ascii_with_whole_names() -> None:
    out = piped("inventory", "list")
    assert out.isascii(), "box lines are plain ASCII when piped"
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    listed = [row["name"] for row in json.loads(piped("inventory", "list", "--json"))]
    assert names == listed  # one line per entry, no name cut or folded
    longest = max(listed, key=len)
    assert any(row.startswith(f"| {longest} ") for row in rows)


def test_piped_show_is_ascii_one_row_per_setting() -> None:
    out = piped("inventory", "show", "lup-lwl-ws001")
    assert out.isascii()
    rows = table_rows(out)
    key = rows["admins[lup-admin].ssh_keys"][0]
    assert key.startswith("ssh-ed25519 ") and key.endswith(" lup-admin@ksm")  # whole, on one line
    value, level, where = rows["ntp_servers"]
    assert (value, level) == ("10.41.24.1, 10.40.0.123", "site")
    assert where.endswith(line_of("lup.yml", "      ntp_servers:"))
