"""The host stage's Ansible strategy: Mitogen by default, Ansible's linear on request, nothing else."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm, main
from ksm_provision.commands import change
from ksm_provision.errors import KsmError
from ksm_provision.playbook.runner import RunSettings, ansible_cfg, mitogen_strategy_dir

REPO = Path(__file__).resolve().parents[2]


def _defaults(cfg: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(cfg)
    return parser["defaults"]


def test_linear_is_ansibles_own_strategy(tmp_path: Path) -> None:
    defaults = _defaults(ansible_cfg(RunSettings(strategy="linear"), tmp_path))
    assert "strategy" not in defaults and "strategy_plugins" not in defaults


def test_mitogen_names_its_strategy_and_where_the_plugin_is(tmp_path: Path) -> None:
    defaults = _defaults(ansible_cfg(RunSettings(), tmp_path))  # the default
    assert defaults["strategy"] == "mitogen_linear"
    plugins = Path(defaults["strategy_plugins"])
    assert plugins == mitogen_strategy_dir()
    assert (plugins / "mitogen_linear.py").is_file()  # mitogen is a dependency: installed with ksm


def test_an_unknown_strategy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KsmError, match="unknown Ansible strategy 'free'"):
        ansible_cfg(RunSettings(strategy="free"), tmp_path)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, "mitogen"),
        (["--ansible-strategy", "linear"], {}, "linear"),
        ([], {"KSM_ANSIBLE_STRATEGY": "linear"}, "linear"),
        (["--ansible-strategy", "mitogen"], {"KSM_ANSIBLE_STRATEGY": "linear"}, "mitogen"),
    ],
)
def test_the_option_reaches_the_request(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], expected: str
) -> None:
    seen: list[str] = []

    def fake_run(request: Any, *_: Any) -> Any:
        seen.append(request.ansible_strategy)
        raise KsmError("stop here")

    monkeypatch.setattr(change, "_run", fake_run)
    result = CliRunner().invoke(
        ksm,
        ["--inventory", str(REPO / "inventories"), "plan", "--authority", "lup", *args],
        env=env,
    )
    assert seen == [expected], result.output


def test_the_cli_refuses_an_unknown_strategy_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--inventory", str(REPO / "inventories"), "plan", "-a", "lup", "--ansible-strategy", "free"])
    assert exited.value.code == 64
    assert "'free' is not one of 'linear', 'mitogen'" in capsys.readouterr().err
