"""Plan files and input hashes: round trip, clear errors for bad files, stale plans refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.targets import Target
from ksm_provision.workflow.inputs import TOOLKIT_KEY, Selection, input_hashes, plan_hash
from ksm_provision.workflow.planfile import (
    PlanFile,
    PlanFileError,
    StalePlanError,
    check_inputs,
    device_plan,
    host_plan,
)

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Passw0rd"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the inventories, roles and playbooks, with device templates, as the toolkit's project."""
    for name in ("inventories", "roles", "playbooks"):
        shutil.copytree(REPO / name, tmp_path / name)
    for name in ("templates/cisco_ios/access_switch.j2", "templates/frr/router.j2", "templates/macros.j2"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("hostname {{ hostname }}\n")
    monkeypatch.setenv("KSM_PROJECT_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def inventory(project: Path) -> Inventory:
    return load_inventory(project / "inventories")


def redact(text: str) -> str:
    return text.replace(SECRET, "********")


def make_plan(inventory: Inventory) -> PlanFile:
    hosts = [
        host_plan(
            "lup-pch-kfz02",
            "lup",
            [
                (
                    "Ensure chrony points at the NTP servers",
                    "changed",
                    f"-server 10.40.0.123\n+server 10.40.1.123 key {SECRET}\n",
                    "d" * 64,
                )
            ],
            redact,
        ),
        host_plan("lup-pch-ws001", "lup", [], redact),
    ]
    devices = [
        device_plan(
            "lup-pch-sw02",
            "lup",
            "cisco_ios",
            ["interface GigabitEthernet1/0/2", f" description {SECRET}"],
            redact,
            "e" * 64,
        )
    ]
    selection = Selection.of(["lup"], [h.name for h in hosts], [d.name for d in devices])
    return PlanFile.create(
        target=Target.LAB,
        authorities=["lup"],
        inputs=input_hashes(inventory, selection),
        hosts=hosts,
        devices=devices,
        git_commit="0" * 40,
        changed_since="origin/main",
    )


def test_round_trip_and_redaction(inventory: Inventory, tmp_path: Path) -> None:
    plan = make_plan(inventory)
    path = plan.save(tmp_path / "out" / "plan.json")
    loaded = PlanFile.load(path)
    assert loaded == plan
    assert SECRET not in path.read_text()
    assert loaded.changed_hosts == ["lup-pch-kfz02"] and loaded.changed_devices == ["lup-pch-sw02"]
    assert loaded.changes_pending
    text = loaded.summary()
    assert "1 of 2 host(s) and 1 of 1 device(s) would change" in text
    assert "~ Ensure chrony points at the NTP servers [changed]" in text
    assert "description ********" in text and SECRET not in text
    assert loaded.hosts[0].changes[0].digest == "d" * 64 and loaded.devices[0].digest == "e" * 64
    assert json.loads(path.read_text())["version"] == 2


def test_inputs_cover_scope_files(inventory: Inventory) -> None:
    hashes = make_plan(inventory).inputs
    assert {"inventories/ksm.yml", "inventories/lup.yml", "inventories/vault/lup.yml", TOOLKIT_KEY} <= set(
        hashes
    )
    assert "inventories/schwerin.yml" not in hashes
    assert "roles/base/tasks/main.yml" in hashes and "playbooks/site.yml" in hashes
    assert {"templates/cisco_ios/access_switch.j2", "templates/macros.j2"} <= set(hashes)
    assert "templates/frr/router.j2" not in hashes  # no FRR device in this plan


def test_devices_only_plan_does_not_hash_roles(inventory: Inventory) -> None:
    hashes = input_hashes(inventory, Selection.of(["schwerin"], devices=["sn-rh-rt01"]))
    assert "templates/frr/router.j2" in hashes
    assert not any(k.startswith(("roles/", "playbooks/")) for k in hashes)


def test_plan_is_current_until_an_input_changes(inventory: Inventory, project: Path) -> None:
    plan = make_plan(inventory)
    check_inputs(plan, input_hashes(inventory, plan))  # fresh: no error
    path = project / "inventories" / "lup.yml"
    path.write_text(path.read_text().replace("address: 10.41.1.101", "address: 10.41.1.102"))
    with pytest.raises(StalePlanError) as caught:
        check_inputs(plan, input_hashes(inventory, plan))
    assert str(caught.value) == (
        "inventories/lup.yml changed since the plan was made — plan again (ksm plan ... --out FILE)"
    )


def test_stale_plan_names_every_changed_input(inventory: Inventory, project: Path) -> None:
    plan = make_plan(inventory)
    (project / "roles" / "base" / "tasks" / "extra.yml").write_text("---\n")
    with (project / "templates" / "cisco_ios" / "access_switch.j2").open("a") as handle:
        handle.write("!\n")
    with pytest.raises(
        StalePlanError,
        match=r"2 inputs changed since the plan was made: "
        r"roles/base/tasks/extra.yml is new; templates/cisco_ios/access_switch.j2 changed",
    ):
        check_inputs(plan, input_hashes(inventory, plan))


def test_change_outside_the_plan_does_not_make_it_stale(inventory: Inventory, project: Path) -> None:
    plan = make_plan(inventory)
    path = project / "inventories" / "schwerin.yml"
    path.write_text(path.read_text() + "\n# comment\n")
    check_inputs(plan, input_hashes(inventory, plan))


def test_plan_hash_is_order_independent_and_input_sensitive() -> None:
    assert plan_hash({"a": "1", "b": "2"}) == plan_hash({"b": "2", "a": "1"})
    assert plan_hash({"a": "1"}) != plan_hash({"a": "2"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not readable JSON"),
        ('{"version": 99}', "has format version 99, this ksm reads 2 — plan again"),
        ('{"version": 1, "target": "lab"}', "format version 1, this ksm reads 2 .older plans cannot"),
        ('["a list"]', "has format version None"),
        ('{"version": 2, "target": "lab"}', "is corrupt: authorities: Field required"),
    ],
)
def test_bad_plan_files_are_refused_clearly(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PlanFileError, match=message) as caught:
        PlanFile.load(path)
    assert "ksm plan" in caught.value.hint


def test_edited_plan_is_refused(inventory: Inventory, tmp_path: Path) -> None:
    path = make_plan(inventory).save(tmp_path / "plan.json")
    data = json.loads(path.read_text())
    data["inputs"]["inventories/lup.yml"] = "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="plan_hash does not match its inputs"):
        PlanFile.load(path)


def test_long_diffs_are_cut(tmp_path: Path) -> None:
    diff = "\n".join(f"+line {i}" for i in range(1000))
    plan = host_plan("h", "a", [("Ensure a big file", "changed", diff)], redact)
    assert plan.changes[0].diff.endswith("... 600 more diff lines not shown")
