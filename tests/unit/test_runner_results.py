"""Pure parts of the Ansible and testinfra runners: diffs from events, JUnit to results, checks."""

from __future__ import annotations

from pathlib import Path

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.playbook.runner import RunSettings, _diff_text, _EventCollector, ansible_cfg
from ksm_provision.render.ansible_vars import host_vars
from ksm_provision.vault import Redactor
from ksm_provision.verify.expectations import checks_for
from ksm_provision.verify.runner import parse_junit

REPO = Path(__file__).resolve().parents[2]


def test_diff_text_is_a_unified_diff() -> None:
    diff = {
        "before": "server a\n",
        "after": "server b\n",
        "before_header": "/etc/x",
        "after_header": "/etc/x",
    }
    assert _diff_text([diff]) == "--- /etc/x\n+++ /etc/x\n@@ -1 +1 @@\n-server a\n+server b\n"


def test_events_become_typed_results_with_secrets_redacted() -> None:
    collect = _EventCollector({"h1": "lup"}, Redactor(["s3cr3t-value"]), None)
    collect(
        {"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Ensure x", "res": {"changed": False}}}
    )
    collect(
        {
            "event": "runner_on_ok",
            "event_data": {
                "host": "h1",
                "task": "Ensure y",
                "task_action": "ansible.builtin.template",
                "res": {"changed": True, "diff": [{"before": "", "after": "pw=s3cr3t-value\n"}]},
            },
        }
    )
    collect({"event": "runner_on_failed", "event_data": {"host": "h1", "task": "Z", "res": {"msg": "boom"}}})
    collect({"event": "runner_on_ok", "event_data": {"host": "other-authority-host", "task": "t", "res": {}}})
    result = collect.results["h1"]
    assert (result.ok, result.changed, result.failed) == (2, 1, True)
    assert "s3cr3t-value" not in result.changes[0].diff and "********" in result.changes[0].diff
    assert result.errors == ["Z: boom"]
    assert list(collect.results) == ["h1"]


def test_ansible_cfg_enables_pipelining_and_controlpersist(tmp_path: Path) -> None:
    cfg = ansible_cfg(RunSettings(forks=3), tmp_path)
    assert "pipelining = True" in cfg and "ControlPersist=120s" in cfg and "forks = 3" in cfg
    plain = ansible_cfg(RunSettings(pipelining=False, control_persist=False), tmp_path)
    assert "pipelining = False" in plain and "ControlPersist" not in plain


def test_junit_report_becomes_check_results(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="c" name="test_host[sn-sh-fs01::ntp servers]"/>'
        '<testcase classname="c" name="test_host[sn-sh-fs01::share Bauamt]">'
        '<failure message="AssertionError: share Bauamt not in smb.conf">trace</failure></testcase>'
        "</testsuite></testsuites>"
    )
    result = parse_junit(report, Redactor([]))
    assert [(c.host, c.check, c.passed) for c in result.checks] == [
        ("sn-sh-fs01", "ntp servers", True),
        ("sn-sh-fs01", "share Bauamt", False),
    ]
    assert result.pass_rate == 0.5 and result.failed_hosts() == ["sn-sh-fs01"]


def test_checks_follow_the_hosts_roles() -> None:
    inventory = load_inventory(REPO / "inventories")
    fileserver = checks_for(host_vars(inventory, inventory.hosts_by_name["lup-pch-fs01"]))
    assert {c.name for c in fileserver} >= {
        "share Bauamt",
        "ntp servers",
        "admin lup-admin",
        "sshd hardening",
    }
    dhcp = checks_for(host_vars(inventory, inventory.hosts_by_name["lup-lwl-dhcp01"]))
    (config,) = [c for c in dhcp if c.kind == "dhcp"]
    assert config.params["reservations"] == []
    assert ["10.41.16.20", "10.41.16.199"] in config.params["subnets"][0]["ranges"]


def test_censored_no_log_changes_are_counted_from_the_stats() -> None:
    """no_log hides a task's whole result, changed flag included; Ansible's stats still count it."""
    collect = _EventCollector({"h1": "lup"}, Redactor([]), None)
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}
    collect({"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Write secret", "res": censored}})
    collect({"event": "runner_on_ok", "event_data": {"host": "h1", "task": "Other secret", "res": censored}})
    collect({"event": "playbook_on_stats", "event_data": {"changed": {"h1": 1}, "ok": {"h1": 2}}})
    result = collect.results["h1"]
    assert result.changed == 1
    assert [(c.task, c.diff) for c in result.changes] == [
        ("Write secret", "(not shown: the task handles secrets)")
    ]


def test_the_progress_callback_hears_each_task_result_by_status() -> None:
    heard: list[tuple[str, str, str]] = []
    collect = _EventCollector({"h1": "lup"}, Redactor([]), lambda *call: heard.append(call))
    for kind, extra in [
        ("runner_on_start", {}),
        ("runner_on_ok", {"res": {"changed": False}}),
        ("runner_on_ok", {"res": {"changed": True}}),
        ("runner_on_skipped", {}),
        ("runner_on_failed", {"ignore_errors": True, "res": {"msg": "probe"}}),
        ("runner_on_failed", {"res": {"msg": "boom"}}),
    ]:
        collect({"event": kind, "event_data": {"host": "h1", "task": "T", **extra}})
    collect({"event": "playbook_on_stats", "event_data": {}})  # a plain callback hears no run events
    assert [status for _, _, status in heard] == ["start", "ok", "changed", "skipped", "ignored", "failed"]
    assert collect.results["h1"].failed and collect.results["h1"].errors == ["T: boom"]
