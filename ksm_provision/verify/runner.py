"""Run the generated testinfra checks with pytest and read its JUnit report into typed results."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ksm_provision.errors import KsmError
from ksm_provision.vault import Redactor
from ksm_provision.verify import testinfra_checks
from ksm_provision.verify.expectations import HostSpec


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    check: str
    passed: bool
    message: str = ""


class VerifyResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def pass_rate(self) -> float:
        return sum(c.passed for c in self.checks) / len(self.checks) if self.checks else 0.0

    def failed_hosts(self) -> list[str]:
        return sorted({c.host for c in self.checks if not c.passed})


#: pytest's exit statuses that come with a complete report: every check ran, and passed or not.
PYTEST_ALL_PASSED = 0
PYTEST_SOME_FAILED = 1
#: The others mean the checks did not (all) run; never read as "0/0 checks passed".
PYTEST_EXIT_MEANINGS = {
    2: "interrupted (a check module failed to import or collect, or a KeyboardInterrupt)",
    3: "internal error of pytest or of a plugin",
    4: "usage error (bad pytest options, or a plugin missing)",
    5: "no checks collected",
}
OUTPUT_TAIL_LINES = 20


def run_checks(specs: list[HostSpec], redact: Redactor, junit: Path | None = None) -> VerifyResult:
    """Run the checks of *specs*; a run that did not complete raises :class:`KsmError`."""
    return run_spec("[" + ",".join(s.model_dump_json() for s in specs) + "]", redact, junit)


def run_spec(spec_json: str, redact: Redactor, junit: Path | None = None) -> VerifyResult:
    """Run pytest on the testinfra module with the spec *spec_json* (a JSON list of host specs).

    One pytest process checks the hosts one after another: pytest and testinfra are runtime
    dependencies, pytest-xdist is not.
    """
    with tempfile.TemporaryDirectory(prefix="ksm-verify-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(spec_json, encoding="utf-8")
        report = Path(tmp) / "junit.xml"
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(Path(testinfra_checks.__file__)),
            "-c",
            str(Path(tmp) / "pytest.ini"),
            "--rootdir",
            tmp,
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-header",
            "--tb=line",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit2",
        ]
        # one SSH connection per host, shared by all its checks (sockets live in the run's temp dir)
        env = {**os.environ, "KSM_VERIFY_SPEC": str(spec_file), "KSM_VERIFY_CONTROL_DIR": tmp}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tmp)
        if junit is not None and report.exists():
            junit.write_text(redact(report.read_text(encoding="utf-8")), encoding="utf-8")
        output = redact(done.stdout + done.stderr)
        check_pytest_exit(done.returncode, report.exists(), output)
        result = parse_junit(report, redact)
        if not result.checks:  # e.g. an empty spec: pytest skips the empty parametrisation
            raise KsmError(
                f"verify: pytest ran no checks\n{_tail(output)}",
                "give a scope (--authority, --limit) with hosts",
            )
        return result


def check_pytest_exit(returncode: int, report_written: bool, output: str) -> None:
    """Raise :class:`KsmError` with the tail of pytest's *output* unless every check ran.

    0 (all passed) and 1 (some failed) with a JUnit report are a complete result; anything else
    is an error, never a result with fewer checks.

    >>> check_pytest_exit(1, True, "1 failed, 3 passed")
    >>> check_pytest_exit(5, True, "no tests ran")
    Traceback (most recent call last):
    ...
    ksm_provision.errors.KsmError: verify: the checks did not run: pytest exit status 5 (no checks collected)
    no tests ran — fix the cause in pytest's output above
    """
    if returncode in (PYTEST_ALL_PASSED, PYTEST_SOME_FAILED) and report_written:
        return
    if returncode in (PYTEST_ALL_PASSED, PYTEST_SOME_FAILED):
        reason = f"pytest exit status {returncode} but it wrote no JUnit report"
    else:
        meaning = PYTEST_EXIT_MEANINGS.get(returncode, "unexpected exit status")
        reason = f"pytest exit status {returncode} ({meaning})"
    raise KsmError(
        f"verify: the checks did not run: {reason}\n{_tail(output)}",
        "fix the cause in pytest's output above",
    )


def _tail(output: str) -> str:
    return "\n".join(output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:]) or "(pytest printed nothing)"


def parse_junit(report: Path, redact: Redactor) -> VerifyResult:
    """The checks in a JUnit report; a skipped test case is no check (the checks never skip: pytest
    skips only an empty parametrisation, which the caller reports as "no checks ran")."""
    checks = []
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        name = case.get("name", "")
        inner = name[name.find("[") + 1 : name.rfind("]")] if "[" in name else name
        host, _, check = inner.partition("::")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        message = "" if problem is None else (problem.get("message") or "").splitlines()[0][:300]
        checks.append(CheckResult(host=host, check=check, passed=problem is None, message=redact(message)))
    return VerifyResult(checks=checks)
