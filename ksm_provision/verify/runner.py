"""Run the generated testinfra checks with pytest and read its JUnit report into typed results."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ksm_provision.playbook.vault import Redactor
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


def run_checks(
    specs: list[HostSpec], redact: Redactor, junit: Path | None = None, workers: int = 4
) -> VerifyResult:
    with tempfile.TemporaryDirectory(prefix="ksm-verify-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text("[" + ",".join(s.model_dump_json() for s in specs) + "]", encoding="utf-8")
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
        if workers > 1 and len(specs) > 1:
            command += ["-n", str(min(workers, len(specs)))]
        env = {**os.environ, "KSM_VERIFY_SPEC": str(spec_file)}
        subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tmp)
        result = parse_junit(report, redact)
        if junit is not None:
            junit.write_text(
                redact(report.read_text(encoding="utf-8")) if report.exists() else "", encoding="utf-8"
            )
        return result


def parse_junit(report: Path, redact: Redactor) -> VerifyResult:
    if not report.exists():
        return VerifyResult()
    checks = []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        inner = name[name.find("[") + 1 : name.rfind("]")] if "[" in name else name
        host, _, check = inner.partition("::")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        message = "" if problem is None else (problem.get("message") or "").splitlines()[0][:300]
        checks.append(CheckResult(host=host, check=check, passed=problem is None, message=redact(message)))
    return VerifyResult(checks=checks)
