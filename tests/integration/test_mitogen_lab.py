"""``--ansible-strategy mitogen`` for real: ksm plans and applies a lab client with Mitogen's strategy.

The unit tests check the option's plumbing; this runs real ansible-playbook with ``mitogen_linear``
over real SSH against the lab twin. The whole lab tier also passes with ``KSM_ANSIBLE_STRATEGY=mitogen``
(run by hand); until CI runs it that way, this keeps the strategy from rotting.
"""

from __future__ import annotations

import pytest

from ksm_provision.inventory.hosts import HostKind
from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm_json, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

AUTHORITY = "schwerin"


def test_mitogen_repairs_a_hand_edit_and_then_plans_nothing(lab_twin: LabTwin) -> None:
    inventory = lab_twin.inventory.select([AUTHORITY])  # type: ignore[attr-defined]
    client = sorted(h.hostname for h in inventory.hosts if h.kind is HostKind.CLIENT)[0]
    scope = ["--authority", AUTHORITY, "--target", "lab", "--only", "hosts", "--limit", client]
    mitogen = ["--ansible-strategy", "mitogen"]
    ksm_json(lab_twin.env, "apply", *scope, *mitogen)  # converge first: the twin may be fresh
    ssh(lab_twin.lab, client, "echo Pacific/Fiji > /etc/timezone")

    plan = ksm_json(lab_twin.env, "plan", *scope, *mitogen)
    [host] = plan["hosts"]["hosts"]
    assert host["host"] == client and not host["failed"] and not host["unreachable"]
    assert any("timezone" in change["task"] for change in host["changes"]), host["changes"]

    applied = ksm_json(lab_twin.env, "apply", *scope, *mitogen)
    [host] = applied["hosts"]["hosts"]
    assert host["changed"] and not host["failed"], host
    assert "Pacific/Fiji" not in ssh(lab_twin.lab, client, "cat /etc/timezone")

    again = ksm_json(lab_twin.env, "apply", *scope, *mitogen)
    assert [h["changed"] for h in again["hosts"]["hosts"]] == [0]
