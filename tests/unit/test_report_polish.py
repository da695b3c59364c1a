"""``ksm report`` polish (issue 16): local time with MEZ/MESZ, "keine Daten" instead of a green
success when records are missing, names never cut, and the weekly trend per authority."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from ksm_provision.cli import ksm
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.report import collect, html, labels, svg
from ksm_provision.report.collect import collect_report, week_start
from ksm_provision.report.html import render_html
from ksm_provision.report.model import PullInfo, Report, VerifyInfo
from ksm_provision.report.text import print_summary, summary
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    PullEnrollment,
    PullRunRecord,
    VerifyRecord,
    save_pull_enrollment,
    save_pull_run,
    save_status,
)

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
MINIMAL = REPO / "tests" / "data" / "minimal"
#: A Wednesday in KW 11/2025 (winter time in Berlin).
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
WINTER = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 MEZ
SUMMER = datetime(2025, 7, 15, 12, 0, tzinfo=UTC)  # 14:00 MESZ
GREEN = re.compile(r"\x1b\[(?:[0-9;]*;)?32m")
#: A name longer than any column a narrow terminal would give it.
LONG_NAME = "Landkreis Ludwigslust-Parchim Kreisverwaltung Außenstelle Hagenow Bürgerservice Nord"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(INVENTORY)


def applied(id_: str, authority: str, time: datetime, result: ApplyResult, **extra: Any) -> AuditRecord:
    return AuditRecord(
        id=id_, time=time, user="ops", machine="ci", authority=authority, target="lab", result=result, **extra
    )


def write_audit(base: Path, *records: AuditRecord) -> None:
    base.mkdir(parents=True, exist_ok=True)
    with (base / "audit.jsonl").open("a", encoding="utf-8") as log:
        log.writelines(r.model_dump_json() + "\n" for r in records)


def verified(authority: str, time: datetime, checks: int, failed: int) -> VerifyRecord:
    rate = (checks - failed) / checks if checks else 1.0
    return VerifyRecord(
        time=time,
        authority=authority,
        target="lab",
        passed=failed == 0,
        checks=checks,
        failed=failed,
        pass_rate=rate,
    )


def cli(*args: str) -> Any:
    result = CliRunner().invoke(ksm, ["--inventory", str(INVENTORY), "report", *args])
    assert result.exit_code == 0, result.output
    return result


def by_id(report: Report, authority: str) -> Any:
    return next(a for a in report.authorities if a.id == authority)


def rendered(report: Report, *, terminal: bool, width: int = 200) -> str:
    """The summary as the given console prints it (colours as ANSI codes on a terminal)."""
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=terminal, width=width, color_system="standard" if terminal else None
    )
    print_summary(report, console)
    return out.getvalue()


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (WINTER, "15.01.2025 13:00 MEZ"),
        (SUMMER, "15.07.2025 14:00 MESZ"),
        (datetime(2025, 3, 30, 0, 59, tzinfo=UTC), "30.03.2025 01:59 MEZ"),  # last minute of winter time
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), "30.03.2025 03:00 MESZ"),  # clocks jump 02:00 -> 03:00
        (datetime(2025, 10, 26, 0, 59, tzinfo=UTC), "26.10.2025 02:59 MESZ"),
        (datetime(2025, 10, 26, 1, 0, tzinfo=UTC), "26.10.2025 02:00 MEZ"),  # 02:00-03:00 comes twice
        (datetime(2025, 7, 15, 12, 0), "15.07.2025 14:00 MESZ"),  # a naive record time is UTC
    ],
)
def test_times_are_berlin_time_with_daylight_saving(moment: datetime, shown: str) -> None:
    assert labels.timestamp(moment) == shown
    assert labels.timestamp(moment, "Europe/Berlin") == shown


def test_text_and_html_show_local_time_and_the_json_keeps_utc(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_audit(state, applied("s1", "lup", SUMMER, ApplyResult.SUCCESS))
    save_status(verified("lup", WINTER, 10, 0), state)

    text = cli("--state-dir", str(state)).stdout
    assert "15.07.2025 14:00 MESZ" in text
    assert "UTC" not in text

    out = tmp_path / "report.html"
    data = json.loads(cli("--json", "--out", str(out), "--state-dir", str(state)).stdout)
    page = out.read_text(encoding="utf-8")
    assert "15.07.2025 14:00 MESZ" in page and "15.01.2025 13:00 MEZ" in page
    assert "Alle Zeiten in UTC" not in page and "Europe/Berlin" in page

    lup = next(a for a in data["authorities"] if a["id"] == "lup")
    assert lup["last_apply"]["time"] == "2025-07-15T12:00:00Z"  # machine JSON: ISO 8601, offset Z
    assert datetime.fromisoformat(lup["verification"]["time"]) == WINTER
    assert (lup["timezone"], data["timezone"]) == ("Europe/Berlin", "Europe/Berlin")


def test_an_authority_with_its_own_time_zone(tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventories)
    bb = inventories / "bb.yml"
    text = bb.read_text(encoding="utf-8")
    assert "\nsettings:\n" in text
    bb.write_text(text.replace("\nsettings:\n", "\nsettings:\n  timezone: Europe/London\n"), encoding="utf-8")
    state = tmp_path / "state"
    write_audit(
        state,
        applied("a", "aa", SUMMER, ApplyResult.SUCCESS),
        applied("b", "bb", SUMMER, ApplyResult.SUCCESS),
    )

    report = collect_report(load_inventory(inventories), state, generated_at=NOW)
    assert (by_id(report, "aa").timezone, by_id(report, "bb").timezone) == ("Europe/Berlin", "Europe/London")
    printed = rendered(report, terminal=False)
    assert "15.07.2025 14:00 MESZ" in printed  # aa: the provider's default
    assert "15.07.2025 13:00 BST" in printed  # bb: its own zone
    page = render_html(report)
    assert "15.07.2025 13:00 BST" in page and "Europe/London" in page


def test_an_unknown_zone_falls_back_to_utc_and_says_so() -> None:
    assert labels.timestamp(SUMMER, "Mars/Olympus_Mons") == "15.07.2025 12:00 UTC"


@pytest.mark.parametrize(
    ("moment", "monday"),
    [
        (datetime(2025, 3, 9, 23, 30, tzinfo=UTC), "2025-03-10"),  # Sun 23:30 UTC = Mon 00:30 MEZ
        (datetime(2025, 3, 9, 22, 30, tzinfo=UTC), "2025-03-03"),  # Sun 23:30 MEZ
        (datetime(2025, 7, 6, 22, 30, tzinfo=UTC), "2025-07-07"),  # Sun 22:30 UTC = Mon 00:30 MESZ
        (datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "2025-06-30"),  # Sun 23:30 MESZ
    ],
)
def test_trend_weeks_are_iso_weeks_in_local_time(moment: datetime, monday: str) -> None:
    assert str(week_start(moment, "Europe/Berlin")) == monday


def test_an_apply_late_on_sunday_counts_in_the_local_week(inventory: Inventory, tmp_path: Path) -> None:
    state = tmp_path / "state"
    summer_now = datetime(2025, 7, 9, 12, 0, tzinfo=UTC)
    write_audit(state, applied("late", "lup", datetime(2025, 7, 6, 22, 30, tzinfo=UTC), ApplyResult.SUCCESS))
    trend = by_id(collect_report(inventory, state, generated_at=summer_now, weeks=2), "lup").trend
    assert [(w.week, w.changes) for w in trend] == [("2025-W27", None), ("2025-W28", 1)]


# --------------------------------------------------------------------------- no data is no success


def test_an_empty_state_reads_no_data_and_nothing_is_green(inventory: Inventory, tmp_path: Path) -> None:
    report = collect_report(inventory, tmp_path / "absent", generated_at=NOW)
    assert report.totals.open_changes.authorities_with_data == 0
    assert all(a.last_plan is None and a.open_changes is None for a in report.authorities)

    coloured = rendered(report, terminal=True)
    assert not GREEN.search(coloured), "a green cell although there is no record at all"
    plain = rendered(report, terminal=False)
    status = plain[plain.index("Offene Änderungen") : plain.index("Verlauf")]
    assert "keine " not in status.replace("keine Daten", "")  # no bare "keine" (= none pending)
    assert status.count(labels.NO_DATA) >= 3 * 4  # per authority and in total

    page = render_html(report)
    assert "nichts ausstehend" not in page
    assert not re.search(r'class="(?:badge|kpi) ok"', page)
    assert re.search(r'class="kpi none" id="kpi-open-box"', page)
    assert 'id="kpi-open-changes">–<' in page


def test_one_authority_without_records_keeps_the_totals_from_reading_green(
    inventory: Inventory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    save_status(verified("lup", NOW, 100, 0), state)
    save_status(DriftRecord(time=NOW, authority="lup", target="lab", drifted=False), state)
    save_status(PlanRecord(time=NOW, authority="lup", target="lab", changes_pending=0), state)
    report = collect_report(inventory, state, generated_at=NOW)

    lup, schwerin = by_id(report, "lup"), by_id(report, "schwerin")
    assert html.open_changes_badge(lup.open_changes, lup.last_plan) == html.Badge("keine", "ok")
    assert html.open_changes_badge(schwerin.open_changes, schwerin.last_plan) == html.Badge(
        labels.NO_DATA, "none"
    )
    for kpi in (html.verify_kpi(report), html.drift_kpi(report), html.open_changes_kpi(report)):
        assert kpi.tone == "none" and kpi.sub.endswith("für 1 von 2 Behörden keine Daten")

    scoped = collect_report(inventory.select(["lup"]), state, generated_at=NOW)
    assert [html.open_changes_kpi(scoped).tone, html.drift_kpi(scoped).tone] == ["ok", "ok"]
    assert html.open_changes_kpi(scoped).sub == "nichts ausstehend"


def test_a_run_without_checks_or_clients_is_no_success() -> None:
    empty_verify = VerifyInfo(time=NOW, target="lab", passed=True, checks=0, failed=0, pass_rate=1.0)
    assert html.verify_badge(empty_verify).tone != "ok"
    nobody = PullInfo(
        stale_after_hours=24,
        commit=None,
        enrolled=0,
        current=0,
        stale=0,
        failing=0,
        behind=0,
        latest_run=None,
        stale_hosts=[],
        failing_hosts=[],
    )
    assert html.pull_badge(nobody) == html.Badge(labels.NO_DATA, "none")


def test_a_verify_run_without_checks_shows_no_green_ring(inventory: Inventory, tmp_path: Path) -> None:
    state = tmp_path / "state"
    save_status(verified("lup", NOW, 0, 0), state)
    report = collect_report(inventory.select(["lup"]), state, generated_at=NOW)
    page = render_html(report)
    assert "nichts geprüft" in page
    assert f'stroke="{svg.OK}"' not in page
    assert not GREEN.search(rendered(report, terminal=True))


# --------------------------------------------------------------------------- names are not cut


def long_named(report: Report) -> Report:
    lup = by_id(report, "lup").model_copy(update={"name": LONG_NAME, "id": "lup-" + "x" * 60})
    return report.model_copy(update={"authorities": [lup, *report.authorities[1:]]})


def test_piped_text_keeps_whole_names_on_one_line_in_ascii(inventory: Inventory, tmp_path: Path) -> None:
    report = long_named(collect_report(inventory, tmp_path / "absent", generated_at=NOW))
    printed = rendered(report, terminal=False, width=60)
    assert "…" not in printed
    assert LONG_NAME in printed and "lup-" + "x" * 60 in printed
    borders = [line for line in printed.splitlines() if line.startswith("+")]
    assert borders and all(set(line) <= set("+-") for line in borders)
    assert not set("─━│┃┏┡") & set(printed)  # no box drawing characters off a terminal
    name_line = next(line for line in printed.splitlines() if LONG_NAME in line)
    assert name_line.startswith("| ") and name_line.rstrip().endswith("|")


def test_a_narrow_terminal_folds_names_instead_of_cutting_them(inventory: Inventory, tmp_path: Path) -> None:
    report = long_named(collect_report(inventory, tmp_path / "absent", generated_at=NOW))
    printed = rendered(report, terminal=True, width=60)
    assert "…" not in printed
    assert "Hagenow" in printed and "Schwerin" in printed


def test_cli_output_to_a_pipe_is_not_cut(tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventories)
    aa = inventories / "aa.yml"
    text = aa.read_text(encoding="utf-8").replace("  name: Landkreis A\n", f"  name: {LONG_NAME}\n")
    aa.write_text(text, encoding="utf-8")
    result = CliRunner(env={"COLUMNS": "50"}).invoke(
        ksm, ["--inventory", str(inventories), "report", "--state-dir", str(tmp_path / "state")]
    )
    assert result.exit_code == 0, result.output
    assert LONG_NAME in result.stdout and "…" not in result.stdout


def test_chart_labels_wrap_instead_of_being_cut() -> None:
    chart = svg.bar_chart([svg.Bar(LONG_NAME, 5, "5"), svg.Bar("Schwerin", 3, "3")], title="T")
    label = re.search(r"<text[^>]*>((?:<tspan[^>]*>[^<]*</tspan>)+)</text>", chart)
    assert label is not None
    lines = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", label.group(1))
    assert len(lines) > 1 and " ".join(lines).replace("- ", "-") == LONG_NAME
    assert "…" not in chart
    height = float(re.search(r'height="([\d.]+)" viewBox', chart).group(1))  # type: ignore[union-attr]
    assert height > 2 * 26  # the long label's row grew


def test_a_long_drift_list_is_complete_in_html(inventory: Inventory, tmp_path: Path) -> None:
    state = tmp_path / "state"
    hosts = [f"lup-pch-ws{n:03d}" for n in range(1, 13)]
    save_status(DriftRecord(time=NOW, authority="lup", target="lab", drifted=True, hosts=hosts), state)
    page = render_html(collect_report(inventory.select(["lup"]), state, generated_at=NOW))
    assert all(host in page for host in hosts)
    assert "und 7 weitere" in page


# --------------------------------------------------------------------------- trend


@pytest.fixture
def trend_state(tmp_path: Path) -> Path:
    """Four weeks KW 08-11/2025 of lup (and one of Schwerin's that names a lup host)."""
    state = tmp_path / "state"
    write_audit(
        state,
        applied(
            "lup-a",
            "lup",
            datetime(2025, 2, 25, 9, tzinfo=UTC),  # KW 09
            ApplyResult.SUCCESS,
            changed_hosts=["lup-pch-ws001", "sn-rh-ws001"],  # Schwerin's host is not lup's to count
            changed_devices=["lup-pch-sw02"],
        ),
        applied("lup-b", "lup", datetime(2025, 3, 5, 9, tzinfo=UTC), ApplyResult.FAILED),  # KW 10
        applied("lup-c", "lup", datetime(2025, 3, 6, 9, tzinfo=UTC), ApplyResult.SUCCESS),  # KW 10
        applied(
            "sn-a",
            "schwerin",
            datetime(2025, 3, 11, 9, tzinfo=UTC),  # KW 11
            ApplyResult.SUCCESS,
            changed_hosts=["sn-rh-ws001", "lup-pch-ws002"],
        ),
    )
    save_status(
        DriftRecord(
            time=datetime(2025, 3, 4, tzinfo=UTC),  # KW 10
            authority="lup",
            target="lab",
            drifted=True,
            hosts=["lup-pch-ws017", "sn-rh-ws002"],
            devices=["lup-hgw-sw01"],
        ),
        state,
    )
    save_status(verified("lup", datetime(2025, 3, 11, tzinfo=UTC), 200, 3), state)  # KW 11
    save_pull_enrollment(
        PullEnrollment(
            authority="lup",
            time=NOW,
            target="lab",
            server_url="http://127.0.0.1:8631",
            hosts=["lup-pch-ws001", "lup-pch-ws002"],
            interval_minutes=60,
            stale_after_hours=24,
        ),
        state,
    )
    for host, failed in (("lup-pch-ws001", 0), ("lup-pch-ws002", 2)):
        save_pull_run(
            PullRunRecord(
                authority="lup",
                host=host,
                commit="a" * 40,
                changed=0,
                failed=failed,
                rc=0,
                duration_s=3.0,
                finished=NOW - timedelta(hours=1),
                received=NOW - timedelta(hours=1),  # KW 11
            ),
            state,
        )
    return state


def test_trend_per_week_counts_changes_drift_and_checks(inventory: Inventory, trend_state: Path) -> None:
    report = collect_report(inventory, trend_state, generated_at=NOW, weeks=4)
    assert report.trend_weeks == 4
    rows = [
        (w.week, w.changes, w.failed_changes, w.changed_systems, w.drifted_systems, w.checks, w.failed_checks)
        for w in by_id(report, "lup").trend
    ]
    assert rows == [
        ("2025-W08", None, None, None, None, None, None),  # before the first logged apply: unknown
        ("2025-W09", 1, 0, 2, None, None, None),
        ("2025-W10", 2, 1, 0, 2, None, None),
        ("2025-W11", 0, 0, 0, None, 202, 4),  # 200 verify checks + 2 pull runs, one failed
    ]
    assert [w.pass_rate for w in by_id(report, "lup").trend] == [None, None, None, round(198 / 202, 4)]
    schwerin = by_id(report, "schwerin").trend
    assert [(w.changes, w.changed_systems) for w in schwerin] == [(None, None)] * 3 + [(1, 1)]


def test_weeks_without_data_are_null_and_keine_daten_never_zero_percent(
    inventory: Inventory, trend_state: Path, tmp_path: Path
) -> None:
    report = collect_report(inventory, trend_state, generated_at=NOW, weeks=4)
    data = json.loads(report.model_dump_json())
    lup = next(a for a in data["authorities"] if a["id"] == "lup")
    assert [w["pass_rate"] for w in lup["trend"]][:3] == [None, None, None]

    plain = rendered(report, terminal=False)
    trend = plain[plain.index("Verlauf der letzten 4 Wochen") : plain.index("Nachweis")]
    assert "0,0 %" not in trend
    assert "KW 08/2025" in trend and "KW 11/2025" in trend and "98,0 %" in trend
    assert "2 (1 fehlgeschlagen)" in trend

    page = render_html(report)
    section = page[page.index('id="verlauf-lup"') : page.index('id="nachweis-lup"')]
    assert "0,0 %" not in section and labels.NO_DATA in section and "98,0 %" in section
    assert "KW 08/2025" in section and "2 Systeme" in section


def test_an_empty_trend_is_all_null(inventory: Inventory, tmp_path: Path) -> None:
    trend = by_id(collect_report(inventory, tmp_path / "absent", generated_at=NOW), "lup").trend
    assert len(trend) == 8
    assert all(w.changes is w.drifted_systems is w.checks is w.pass_rate is None for w in trend), (
        "no record means no data, not zero"
    )


def test_weeks_option(trend_state: Path) -> None:
    data = json.loads(cli("--json", "--weeks", "3", "--state-dir", str(trend_state)).stdout)
    assert data["trend_weeks"] == 3 and all(len(a["trend"]) == 3 for a in data["authorities"])
    refused = CliRunner().invoke(ksm, ["--inventory", str(INVENTORY), "report", "--weeks", "0"])
    assert refused.exit_code != 0 and "--weeks" in refused.output  # a usage error, whatever its code


def test_a_scoped_trend_shows_nothing_of_another_authority(
    trend_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect, "utc_now", lambda: NOW)  # the report's clock: KW 11/2025
    out = tmp_path / "report.html"
    scoped = ["--authority", "schwerin", "--state-dir", str(trend_state), "--weeks", "4"]
    data = json.loads(cli(*scoped, "--json", "--out", str(out)).stdout)
    assert [a["id"] for a in data["authorities"]] == ["schwerin"]
    assert [(w["changes"], w["changed_systems"]) for w in data["authorities"][0]["trend"]] == [
        (None, None),
        (None, None),
        (None, None),
        (1, 1),
    ]
    assert all(w["checks"] is None and w["drifted_systems"] is None for w in data["authorities"][0]["trend"])
    text = cli(*scoped).stdout
    for output in (json.dumps(data), text, out.read_text(encoding="utf-8")):
        assert not re.search(r"\blup\b|lup-|Ludwigslust", output, re.IGNORECASE)


def test_summary_keeps_its_signature(inventory: Inventory, tmp_path: Path) -> None:
    """``summary(report)`` without a look still renders (other callers print it on their console)."""
    report = collect_report(inventory, tmp_path / "absent", generated_at=NOW)
    console = Console(file=io.StringIO(), width=200)
    console.print(summary(report))
    assert "Verlauf der letzten 8 Wochen" in console.file.getvalue()  # type: ignore[attr-defined]
