"""``ksm verify`` reports pytest's outcome honestly: a run that did not complete is an error.

These run the real pytest subprocess on the real testinfra module; no host is contacted (the
specs fail before a connection, or have no checks at all).
"""

from __future__ import annotations

import pytest

from ksm_provision.errors import KsmError
from ksm_provision.vault import Redactor
from ksm_provision.verify.expectations import Check, HostSpec
from ksm_provision.verify.runner import OUTPUT_TAIL_LINES, check_pytest_exit, run_checks, run_spec

NO_REDACTION = Redactor([])


def spec(*checks: Check) -> HostSpec:
    return HostSpec(
        host="aa-pc01",
        authority="aa",
        address="127.0.0.1",
        port=1,
        user="nobody",
        key_file=None,
        become=False,
        known_hosts=None,
        check_host_key=True,
        checks=list(checks),
    )


def test_a_spec_pytest_cannot_collect_is_an_error_with_pytest_output() -> None:
    with pytest.raises(KsmError) as raised:
        run_spec('[{"host": "aa-pc01"}]', NO_REDACTION)  # no "checks": collection fails
    message = str(raised.value)
    assert "the checks did not run: pytest exit status 2 (interrupted" in message
    assert "KeyError" in message  # the tail of pytest's own output says why
    assert "0/0" not in message


def test_no_checks_at_all_is_an_error_not_an_empty_pass() -> None:
    with pytest.raises(KsmError, match="pytest ran no checks"):
        run_checks([], NO_REDACTION)
    with pytest.raises(KsmError, match="pytest ran no checks"):
        run_checks([spec()], NO_REDACTION)


def test_a_failing_check_is_a_normal_failed_result() -> None:
    result = run_checks([spec(Check(kind="no-such-kind", name="unknown", params={}))], NO_REDACTION)
    assert [(c.host, c.check, c.passed) for c in result.checks] == [("aa-pc01", "unknown", False)]
    assert not result.passed


@pytest.mark.parametrize("status", [0, 1])
def test_complete_runs_pass_through(status: int) -> None:
    check_pytest_exit(status, True, "3 passed")


@pytest.mark.parametrize("status", [0, 1])
def test_a_missing_junit_report_is_an_error(status: int) -> None:
    with pytest.raises(KsmError, match="wrote no JUnit report"):
        check_pytest_exit(status, False, "")


@pytest.mark.parametrize(
    ("status", "meaning"), [(3, "internal error"), (4, "usage error"), (-9, "unexpected")]
)
def test_other_statuses_are_errors_with_the_tail_of_the_output(status: int, meaning: str) -> None:
    output = "\n".join(f"line {i}" for i in range(100))
    with pytest.raises(KsmError) as raised:
        check_pytest_exit(status, True, output)
    message = str(raised.value)
    assert f"pytest exit status {status} ({meaning}" in message
    assert f"line {100 - OUTPUT_TAIL_LINES}\n" in message and "line 99" in message
    assert f"line {99 - OUTPUT_TAIL_LINES}\n" not in message
