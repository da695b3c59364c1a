"""``--ansible-strategy linear`` for real: ksm plans and applies a lab client with Ansible's own strategy.

Mitogen is the default, so the whole lab tier runs with it; the unit tests check the option's
plumbing, and this runs real ansible-playbook with Ansible's ``linear`` strategy over real SSH
against the lab twin, so that the fallback for hosts where Mitogen cannot run does not rot.
"""

from __future__ import annotations

import pytest

from ksm_provision.inventory.hosts import HostKind
from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm_json, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

AUTHORITY = "schwerin"


def test_linear_repairs_a_hand_edit_and_then_plans_nothing(lab_twin: LabTwin) -> None:
    inventory = lab_twin.inventory.select([AUTHORITY])  # type: ignore[attr-defined]
    client = sorted(h.hostname for h in inventory.hosts if h.kind is HostKind.CLIENT)[0]
    scope = ["--authority", AUTHORITY, "--target", "lab", "--only", "hosts", "--limit", client]
    linear = ["--ansible-strategy", "linear"]
    ksm_json(lab_twin.env, "apply", *scope, *linear)  # converge first: the twin may be fresh
    ssh(lab_twin.lab, client, "echo Pacific/Fiji > /etc/timezone")

    plan = ksm_json(lab_twin.env, "plan", *scope, *linear)
    [host] = plan["hosts"]["hosts"]
    assert host["host"] == client and not host["failed"] and not host["unreachable"]
    assert any("Pacific/Fiji" in change["diff"] for change in host["changes"]), host["changes"]

    applied = ksm_json(lab_twin.env, "apply", *scope, *linear)
    [host] = applied["hosts"]["hosts"]
    assert host["changed"] and not host["failed"], host
    assert "Pacific/Fiji" not in ssh(lab_twin.lab, client, "cat /etc/timezone")

    again = ksm_json(lab_twin.env, "apply", *scope, *linear)
    assert [h["changed"] for h in again["hosts"]["hosts"]] == [0]
