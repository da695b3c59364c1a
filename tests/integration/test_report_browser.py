"""The HTML report rendered by a real headless Chromium: screenshot and the numbers on the page.

Needs the Debian package ``chromium`` (``make deb-packages`` installs it). The browser gets its own
profile directory and every network feature that could reach out switched off; the page itself
loads nothing from anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.report.collect import collect_report
from ksm_provision.report.html import write_html
from ksm_provision.workflow.records import ApplyResult, AuditRecord, VerifyRecord, save_status

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("KSM_CHROMIUM", "/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 2000


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", *extra, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR is always the first chunk)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run `make deb-packages` (make test does)")
    base = tmp_path_factory.mktemp("report")
    state = base / "state"
    state.mkdir()
    applied = AuditRecord(
        id="a1",
        time=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        user="ci",
        machine="ci",
        authority="lup",
        target="lab",
        result=ApplyResult.SUCCESS,
        hosts=469,
        devices=6,
    )
    (state / "audit.jsonl").write_text(applied.model_dump_json() + "\n", encoding="utf-8")
    save_status(
        VerifyRecord(
            time=datetime(2025, 3, 10, 10, 0, tzinfo=UTC),
            authority="lup",
            target="lab",
            passed=False,
            checks=200,
            failed=3,
            pass_rate=0.985,
        ),
        state,
    )
    report = collect_report(load_inventory(REPO / "inventories"), state)
    return write_html(report, base / "report.html")


def test_screenshot_of_the_report(page: Path) -> None:
    shot = page.with_suffix(".png")
    result = chromium(page, page.parent / "profile-shot", f"--screenshot={shot}")
    assert shot.exists(), result.stderr[-2000:]
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert shot.stat().st_size > 50_000, "the screenshot looks blank"
    print(f"screenshot: {shot}")


def test_rendered_page_shows_the_key_numbers(page: Path) -> None:
    result = chromium(page, page.parent / "profile-dom", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "<h1>Steuerungsinformationen</h1>" in dom
    text = unescape(re.sub(r"<[^>]+>", " ", dom))
    figures = {
        "kpi-clients": "881",
        "kpi-servers": "9",
        "kpi-devices": "12",
        "kpi-pass-rate": "98,5 %",
    }
    for element, value in figures.items():
        assert re.search(rf'id="{element}">\s*{re.escape(value)}\s*<', dom), element
    for expected in (
        "Landkreis Ludwigslust-Parchim",
        "Landeshauptstadt Schwerin",
        "464",
        "417",
        "10.41.0.0/16",
        "10.42.0.0/16",
        "erfolgreich",
        "keine Daten",
        "Kfz-Zulassung",
    ):
        assert expected in text, expected
