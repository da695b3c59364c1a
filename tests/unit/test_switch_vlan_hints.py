"""The native/parking VLAN hints offer VLANs that are really free: writing them in validates."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import validate_inventory
from tests.unit.test_invalid_inventories import MINIMAL, apply_edit


def test_hint_examples_are_free_and_fix_the_plan(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    # aa owns 100-199: put both VLANs inside it
    apply_edit(root, {"file": "ksm.yml", "replace": "  first_vlan: 100\n",
                      "with": "  first_vlan: 100\n  parking_vlan: 150\n  native_vlan: 151\n"})  # fmt: skip
    problems = validate_inventory(load_inventory(root))
    hints = {p.hint for p in problems if "lies in the VLAN range" in p.message}
    (hint,) = hints
    examples = [int(v) for v in re.findall(r"\b(\d{3,4})\b", hint)]
    assert len(examples) == 2 and not set(examples) & {150, 151} and all(v > 299 for v in examples)
    apply_edit(root, {"file": "ksm.yml", "replace": "  parking_vlan: 150\n  native_vlan: 151\n",
                      "with": f"  parking_vlan: {examples[0]}\n  native_vlan: {examples[1]}\n"})  # fmt: skip
    assert [p for p in validate_inventory(load_inventory(root)) if "VLAN" in p.message] == []
