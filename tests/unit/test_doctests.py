"""Every ``>>>`` example in the toolkit's docstrings runs, and passes.

Modules are found by their text, so a new example is tested without touching this file. Package
roots that do not exist (the switch simulator moved out of ksm_provision) are skipped.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: (directory, importable package name) of the code whose docstring examples must run
ROOTS = [
    (REPO / "ksm_provision", "ksm_provision"),
    (REPO / "tools" / "switchsim" / "ksm_switchsim", "ksm_switchsim"),
]


def modules_with_examples() -> list[str]:
    found = []
    for root, package in ROOTS:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                parts = path.relative_to(root).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found.append(".".join((package, *parts)))
    return found


MODULES = modules_with_examples()


def test_examples_are_found() -> None:
    assert "ksm_provision.inventory.types" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see above)"
    assert result.attempted > 0, f"{name} contains '>>>' but doctest found no example: fix the docstring"
