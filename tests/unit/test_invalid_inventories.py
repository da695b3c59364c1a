"""Every case under tests/data/invalid/ fails with exactly the expected ``FILE:LINE: message`` lines.

A case directory holds ``case.yml`` (what to change in the valid base inventory tests/data/minimal/)
and ``expected.txt`` (the exact problems, one per line, hints left out). ``case.yml`` edits:

- ``{file, replace, with}``: replace text that occurs exactly once;
- ``{file, append}``: add text at the end;
- ``{file, content}``: write the whole file (also new files);
- ``{file, delete: true}``: remove the file;
- ``{file, encoding}``: save the file in another encoding (e.g. latin-1);
- ``{file, symlink: TARGET}``: make the file a symbolic link to TARGET (replacing it if it exists);
- ``{file, fifo: true}`` / ``{file, directory: true}``: make it a FIFO / a directory instead.

Every case runs under a deadline, so that a regression that blocks (e.g. on a FIFO) fails instead of
hanging the test run.

Run with ``KSM_UPDATE_GOLDEN=1`` to rewrite expected.txt after a deliberate change of messages;
review the diff before committing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ksm_provision.cli import main
from ksm_provision.errors import InventoryError, Problem
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import validate_inventory

DATA = Path(__file__).resolve().parents[1] / "data"
MINIMAL = DATA / "minimal"
CASES = sorted(p for p in (DATA / "invalid").iterdir() if p.is_dir())
UPDATE = os.environ.get("KSM_UPDATE_GOLDEN") == "1"


DEADLINE_SECONDS = 60


def apply_edit(root: Path, edit: dict[str, Any]) -> None:
    path = root / edit["file"]
    if any(kind in edit for kind in ("symlink", "fifo", "directory")) and os.path.lexists(path):
        path.unlink()
    if edit.get("delete"):
        path.unlink()
    elif "symlink" in edit:
        path.symlink_to(edit["symlink"])
    elif edit.get("fifo"):
        os.mkfifo(path)
    elif edit.get("directory"):
        path.mkdir()
    elif "content" in edit:
        path.write_text(edit["content"], encoding="utf-8")
    elif "append" in edit:
        path.write_text(path.read_text(encoding="utf-8") + edit["append"], encoding="utf-8")
    elif "encoding" in edit:
        path.write_bytes(path.read_text(encoding="utf-8").encode(edit["encoding"]))
    else:
        text = path.read_text(encoding="utf-8")
        count = text.count(edit["replace"])
        assert count == 1, f"{edit['file']}: {edit['replace']!r} occurs {count} times, it must occur once"
        path.write_text(text.replace(edit["replace"], edit["with"]), encoding="utf-8")


def build_case(case: Path, target: Path) -> Path:
    """A copy of the minimal inventory with the case's edits applied."""
    shutil.copytree(MINIMAL, target)
    spec = yaml.safe_load((case / "case.yml").read_text(encoding="utf-8"))
    for edit in spec["edits"]:
        apply_edit(target, edit)
    return target


def problem_line(problem: Problem) -> str:
    """A problem as in expected.txt: ``FILE:LINE: message`` without the hint."""
    return str(Problem(problem.file, problem.line, problem.message))


def problems_of(root: Path) -> list[Problem]:
    try:
        inventory = load_inventory(root)
    except InventoryError as exc:
        return exc.problems
    return validate_inventory(inventory)


class DeadlineError(Exception):
    """Not an OSError, so that no ``except OSError`` of the code under test swallows it."""


def _deadline_passed(signum: int, frame: object) -> None:
    raise DeadlineError(f"the case took more than {DEADLINE_SECONDS}s: does something block (a FIFO?)")


@pytest.fixture
def in_case(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Build the case in tmp_path/inv and work from inside it, so files show as 'aa.yml'."""
    root = build_case(request.param, tmp_path / "inv")
    monkeypatch.chdir(root)
    previous = signal.signal(signal.SIGALRM, _deadline_passed)
    signal.alarm(DEADLINE_SECONDS)
    try:
        yield Path()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def expected_lines(case: Path) -> list[str]:
    return (case / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 45


def test_minimal_inventory_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MINIMAL)
    assert problems_of(Path()) == []


@pytest.mark.parametrize("in_case", CASES, ids=[c.name for c in CASES], indirect=True)
def test_case_reports_exact_problems(in_case: Path, request: pytest.FixtureRequest) -> None:
    case: Path = request.node.callspec.params["in_case"]
    found = [problem_line(p) for p in problems_of(in_case)]
    if UPDATE:
        (case / "expected.txt").write_text("".join(line + "\n" for line in found), encoding="utf-8")
    assert found, "an invalid case must produce at least one problem"
    assert found == expected_lines(case)


@pytest.mark.parametrize("in_case", CASES, ids=[c.name for c in CASES], indirect=True)
def test_case_fails_on_the_command_line(
    in_case: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    case: Path = request.node.callspec.params["in_case"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", str(in_case), "validate"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 1
    assert "Traceback" not in out + err
    for line in expected_lines(case):
        assert line in err
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", str(in_case), "validate", "--json"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert [problem_line(Problem(**p)) for p in report["problems"]] == expected_lines(case)
    assert all(set(p) == {"file", "line", "message", "hint"} for p in report["problems"])


def test_huge_file_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over the size limit (sparse: nothing is really written) is refused with file and line."""
    root = build_case(DATA / "invalid" / "duplicate-asn", tmp_path / "inv")
    with (root / "cc.yml").open("wb") as handle:
        handle.truncate(33 * 1024 * 1024)
    monkeypatch.chdir(root)
    lines = [problem_line(p) for p in problems_of(Path())]
    assert lines == [f"cc.yml:1: file is {33 * 1024 * 1024} bytes, more than the limit of {32 * 1024 * 1024}"]


def test_huge_generated_file_hits_the_node_limit(tmp_path: Path) -> None:
    """A real (generated) file with more values than the limit allows is refused, not loaded."""
    from ksm_provision.inventory.loader import load_yaml_file

    path = tmp_path / "big.yml"
    path.write_text("items:\n" + "".join(f"  - {i}\n" for i in range(20_000)), encoding="utf-8")
    with pytest.raises(InventoryError) as error:
        load_yaml_file(path, max_nodes=10_000)
    assert "more than 10000 values" in str(error.value)
