"""Data reaches the terminal as data: never parsed as rich markup, never as terminal control.

Inventory text, plan files (which may be crafted), Ansible and device output and error messages
quoting them print literally, control characters as visible escapes such as ``\\x1b``; JSON output
keeps the exact data; the HTML report escapes it.
"""

from __future__ import annotations

import doctest
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision import terminal
from ksm_provision.cli import ksm, main
from ksm_provision.commands.common import console
from ksm_provision.commands.output import host_table, print_host_details
from ksm_provision.commands.progress import description
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.playbook.results import HostRunResult, PlaybookRun, RunMode, TaskChange
from ksm_provision.report.collect import collect_report
from ksm_provision.report.text import summary
from ksm_provision.targets import Target
from ksm_provision.workflow.planfile import PlanFile, device_plan, host_plan

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "minimal"

#: markup that must print as itself (legitimate data: models allow it in names)
MARKUP = "Kreis [/] [bold]x [link=file:///etc/passwd]y"
#: terminal control: colour, window title (OSC ... BEL), clear screen, CR, backspace, C1 CSI, RLO
CONTROLS = ["\x1b[31m", "\x1b]0;title\x07", "\x1b[2J", "\r", "\x08", "\x9b", "\u202e"]
HOSTILE = "h" + "".join(CONTROLS) + "[bold]x[/]"
SHOWN = r"h\x1b[31m\x1b]0;title\x07\x1b[2J\x0d\x08\x9b\u202e[bold]x[/]"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_no_raw_control(output: str) -> None:
    found = RAW.findall(output)
    assert not found, f"raw control characters reached the terminal: {found!r}"


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so that table cells show whole names, and no colour."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")


def inventory_with_name(tmp_path: Path, name: str) -> Path:
    """tests/data/minimal with authority aa renamed to *name*."""
    target = tmp_path / "inventories"
    shutil.copytree(MINIMAL, target)
    aa = target / "aa.yml"
    text = aa.read_text(encoding="utf-8")
    assert "  name: Landkreis A\n" in text
    aa.write_text(text.replace("  name: Landkreis A\n", f"  name: {json.dumps(name)}\n"), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- helpers


def test_doctests() -> None:
    assert doctest.testmod(terminal).failed == 0


@pytest.mark.parametrize("control", CONTROLS)
def test_visible_shows_every_control_character(control: str) -> None:
    shown = terminal.visible(f"a{control}b")
    assert_no_raw_control(shown)
    assert shown.startswith("a\\") and shown.endswith("b")


def test_visible_keeps_text_and_layout() -> None:
    assert terminal.visible("Zentrum (Plätze A)\n\tdiff [/]") == "Zentrum (Plätze A)\n\tdiff [/]"
    assert terminal.visible(HOSTILE) == SHOWN


def test_plain_escapes_markup_for_markup_strings(capsys: pytest.CaptureFixture[str], wide: None) -> None:
    from rich.console import Console

    Console(markup=True, highlight=False).print(f"[bold]{terminal.plain(MARKUP + CONTROLS[0])}[/]")
    assert capsys.readouterr().out == MARKUP + "\\x1b[31m\n"


def test_json_safe_is_the_same_data() -> None:
    document = json.dumps({"name": HOSTILE}, ensure_ascii=False)
    safe = terminal.json_safe(document)
    assert_no_raw_control(safe)
    assert json.loads(safe) == {"name": HOSTILE}


def test_console_prints_strings_and_table_cells_literally(
    capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    """The console of every command (inventory list, lock list, lab status use it for tables)."""
    from rich.table import Table

    table = Table("name [/]", title=f"title {HOSTILE}")
    table.add_row(MARKUP, HOSTILE)
    out = console()
    out.print(table)
    out.print(HOSTILE)
    printed = capsys.readouterr().out
    assert_no_raw_control(printed)
    assert MARKUP in printed and "name [/]" in printed
    assert printed.count(SHOWN) == 3


# --------------------------------------------------------------------------- ksm report


def test_report_shows_markup_in_an_authority_name(tmp_path: Path, wide: None) -> None:
    inventory = inventory_with_name(tmp_path, MARKUP)
    runner = CliRunner()
    result = runner.invoke(
        ksm,
        ["--inventory", str(inventory), "report", "--state-dir", str(tmp_path / "state")],
        color=True,
    )
    assert result.exit_code == 0, result.output
    assert MARKUP in result.output
    assert_no_raw_control(result.output)


def test_report_json_keeps_the_exact_name(tmp_path: Path) -> None:
    inventory = inventory_with_name(tmp_path, MARKUP)
    result = CliRunner().invoke(
        ksm, ["--inventory", str(inventory), "report", "--json", "--state-dir", str(tmp_path / "state")]
    )
    assert result.exit_code == 0, result.output
    names = [a["name"] for a in json.loads(result.output)["authorities"]]
    assert MARKUP in names


def test_report_html_escapes_an_authority_name(tmp_path: Path) -> None:
    name = 'Kreis <script>alert("x")</script> & [/]'
    inventory = inventory_with_name(tmp_path, name)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        ksm,
        ["--inventory", str(inventory), "report", "--out", str(out), "--state-dir", str(tmp_path / "state")],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "Kreis &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; [/]" in page


def test_report_summary_shows_control_characters_visibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wide: None
) -> None:
    """Defence in depth: even if a name with controls got past the models, the summary shows it."""
    report = collect_report(load_inventory(MINIMAL), tmp_path / "state", filtered=False)
    hostile = report.model_copy(
        update={
            "authorities": [a.model_copy(update={"name": HOSTILE, "id": HOSTILE}) for a in report.authorities]
        }
    )
    console().print(summary(hostile))
    printed = capsys.readouterr().out
    assert_no_raw_control(printed)
    assert SHOWN in printed


# --------------------------------------------------------------------------- ksm show PLAN


@pytest.fixture
def crafted_plan(tmp_path: Path) -> Path:
    """A plan file as an attacker could write it: escape sequences in names, diffs and lines."""
    plan = PlanFile.create(
        target=Target.LAB,
        authorities=["aa"],
        inputs={"inventories/aa.yml": "0" * 64},
        hosts=[host_plan(HOSTILE, "aa", [(f"task {HOSTILE}", "changed", f"-old\n+{HOSTILE}")], str)],
        devices=[device_plan(f"sw{HOSTILE}", "aa", "frr", [f"hostname {HOSTILE}"], str)],
    )
    return plan.save(tmp_path / "plan.json")


def test_show_prints_a_crafted_plan_visibly(crafted_plan: Path) -> None:
    # color=True: click would otherwise strip some (not all) escape sequences and hide the problem
    result = CliRunner().invoke(ksm, ["show", str(crafted_plan)], color=True)
    assert result.exit_code == 0, result.output
    assert_no_raw_control(result.output)
    assert f"host {SHOWN} (aa)" in result.output
    assert f"~ task {SHOWN} [changed]" in result.output
    assert f"hostname {SHOWN}" in result.output


def test_show_json_keeps_the_exact_data(crafted_plan: Path) -> None:
    result = CliRunner().invoke(ksm, ["show", str(crafted_plan), "--json"], color=True)
    assert result.exit_code == 0, result.output
    assert_no_raw_control(result.output)
    data = json.loads(result.output)
    assert data["hosts"][0]["name"] == HOSTILE
    assert data["devices"][0]["remediation"] == [f"hostname {HOSTILE}"]


# --------------------------------------------------------------------------- plan/apply output


def hostile_run() -> PlaybookRun:
    host = HostRunResult(
        host=HOSTILE,
        authority="aa",
        changed=1,
        failed=True,
        changes=[TaskChange(task=f"[bold]{HOSTILE}", action="changed", diff=f"+{HOSTILE}")],
        errors=[f"[red]{HOSTILE}"],
    )
    return PlaybookRun(mode=RunMode.PLAN, hosts=[host], return_code=2)


def test_host_details_and_table_print_literally(capsys: pytest.CaptureFixture[str], wide: None) -> None:
    run = hostile_run()
    print_host_details(run)
    console().print(host_table(run))
    printed = capsys.readouterr().out
    assert_no_raw_control(printed)
    assert f"{SHOWN} ~ [bold]{SHOWN}" in printed
    assert f"+{SHOWN}" in printed
    assert f"[red]{SHOWN}" in printed


def test_styles_still_work_on_a_colour_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal rich emits its own SGR sequences for styles; nothing else escapes."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "250")
    print_host_details(hostile_run())
    printed = capsys.readouterr().out
    assert "\x1b[1m" in printed  # the host name is bold
    without_styles = re.sub(r"\x1b\[[0-9;]*m", "", printed)
    assert_no_raw_control(without_styles)
    assert SHOWN in without_styles


def test_progress_description_is_one_visible_line() -> None:
    line = description("plan", HOSTILE + "\nfake: ok", f"[bold]{HOSTILE}", {"ok": 1, "failed": 0})
    assert_no_raw_control(line)
    assert "\n" not in line
    assert line == f"plan: {SHOWN}\\x0afake: ok — [bold]{SHOWN} [1 ok, 0 failed]"


# --------------------------------------------------------------------------- error messages


def test_error_quoting_an_invalid_host_name_is_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventory)
    aa = inventory / "aa.yml"
    text = aa.read_text(encoding="utf-8")
    aa.write_text(text.replace("- hostname: aa-hq-pc01", '- hostname: "aa\\e[2Jpc\\x9b"'), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", str(inventory), "inventory", "list"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert_no_raw_control(err)
    assert "aa\\x1b[2Jpc\\x9b" in err


def test_usage_error_quoting_an_argument_is_visible(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such\x1b[2Jcommand"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 64
    assert_no_raw_control(err)
    assert "no-such\\x1b[2Jcommand" in err


def test_validate_shows_an_invalid_host_name_visibly(tmp_path: Path) -> None:
    inventory = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventory)
    aa = inventory / "aa.yml"
    text = aa.read_text(encoding="utf-8")
    aa.write_text(text.replace("- hostname: aa-hq-pc01", '- hostname: "aa\\e[2Jpc\\x9b"'), encoding="utf-8")
    result = CliRunner().invoke(ksm, ["--inventory", str(inventory), "validate"], color=True)
    assert result.exit_code == 1
    assert_no_raw_control(result.output)
    assert "aa\\x1b[2Jpc\\x9b" in result.output
