"""The IT-Grundschutz-Check on the lab twin: a requirement ksm covers fully is "erfüllt" after apply
and verify, with evidence naming hosts and a time; breaking its control on one host turns it "nicht
erfüllt" naming that host; the repair leaves the shared lab converged.

The control broken is the SSH hardening of SYS.1.3.A8 (coverage full in the mapping, target: the
servers, all of which the twin has): a drop-in read before ksm's hardening file allows passwords
again, as a hand edit on a server would.

It converges all of Schwerin, so it must run after test_hosts_lab.py, whose first test expects
Schwerin's hosts fresh: the lab is shared by the session and modules run in name order.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest

from ksm_provision.inventory.hosts import HostKind
from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm, ksm_json, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

REQUIREMENT = "SYS.1.3.A8"
#: A Schwerin server (SYS.1.3 is modelled on the servers).
BROKEN_HOST = "sn-rh-log01"
#: Read before /etc/ssh/sshd_config.d/10-ksm-hardening.conf: in sshd the first value wins.
BREAK_FILE = "/etc/ssh/sshd_config.d/00-lab-break.conf"
SCOPE = ("--authority", "schwerin", "--target", "lab")


def requirement(check: dict[str, Any], rid: str) -> dict[str, Any]:
    (authority,) = check["authorities"]
    assert authority["id"] == "schwerin"
    found = [r for b in authority["bausteine"] for r in b["anforderungen"] if r["id"] == rid]
    assert len(found) == 1, f"{rid} is not in the check"
    return found[0]


def assert_nothing_of_lup(lab_twin: LabTwin, *outputs: str) -> None:
    inventory = lab_twin.inventory
    hidden = [h.hostname for h in inventory.hosts if h.authority == "lup"]  # type: ignore[attr-defined]
    hidden += [d.hostname for d in inventory.devices if d.authority == "lup"]  # type: ignore[attr-defined]
    for output in outputs:
        assert not [name for name in hidden if name in output]
        assert not re.search(r"\blup\b", output)
        assert "Ludwigslust" not in output


def schwerin_servers(lab_twin: LabTwin) -> list[str]:
    inventory = lab_twin.inventory
    return sorted(
        h.hostname
        for h in inventory.hosts  # type: ignore[attr-defined]
        if h.authority == "schwerin" and h.kind is HostKind.SERVER
    )


def test_breaking_ssh_hardening_turns_the_requirement_from_met_to_not_met(lab_twin: LabTwin) -> None:
    if shutil.which("ssh") is None:
        pytest.fail("the lab test needs the OpenSSH client (ssh): install openssh-client (make deb-packages)")
    env = lab_twin.env
    try:
        ksm(env, "apply", *SCOPE)
        ksm(env, "verify", *SCOPE)
        converged = ksm_json(env, "compliance", "--authority", "schwerin")
        met = requirement(converged, REQUIREMENT)
        assert met["coverage"] == "full"
        assert met["status"] == "met", json.dumps(met, indent=2, ensure_ascii=False)
        assert "organisatorisch" in met["reason"]  # what stays outside ksm, next to the verdict
        login = {e["check"]: e for e in met["evidence"]}["verify:sshd_login"]
        assert login["state"] == "passed" and login["target"] == "lab"
        assert login["source_time"] and login["age_days"] is not None
        assert login["passed"] == schwerin_servers(lab_twin)

        ssh(
            lab_twin.lab,
            BROKEN_HOST,
            f"printf 'PasswordAuthentication yes\\n' > {BREAK_FILE} && systemctl reload ssh",
        )
        ksm(env, "verify", *SCOPE, check_codes=(1,))
        broken_json = ksm(env, "compliance", "--authority", "schwerin", "--json").stdout
        broken = requirement(json.loads(broken_json), REQUIREMENT)
        assert broken["status"] == "not_met", json.dumps(broken, indent=2, ensure_ascii=False)
        failing = {e["check"]: e for e in broken["evidence"] if e["state"] == "failed"}
        assert set(failing) >= {"verify:sshd", "verify:sshd_login"}
        assert [f["name"] for f in failing["verify:sshd_login"]["failed"]] == [BROKEN_HOST]
        assert "passwordauthentication yes" in failing["verify:sshd_login"]["failed"][0]["message"]
        text = ksm(env, "compliance", "--authority", "schwerin").stdout
        assert BROKEN_HOST in text and "nicht erfüllt" in text
        assert_nothing_of_lup(lab_twin, broken_json, text, json.dumps(converged))
    finally:  # leave the shared lab as the other lab tests expect it: converged and verified
        ssh(lab_twin.lab, BROKEN_HOST, f"rm -f {BREAK_FILE} && systemctl reload ssh")
        ksm(env, "apply", *SCOPE)
        ksm(env, "verify", *SCOPE)
    repaired = requirement(ksm_json(env, "compliance", "--authority", "schwerin"), REQUIREMENT)
    assert repaired["status"] == "met"
