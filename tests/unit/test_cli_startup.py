"""``ksm --help`` and shell completion start without the heavy libraries; the command table is true.

The startup checks run in a fresh interpreter (the test process has imported everything already)
and look at ``sys.modules``: what is imported, not how long it takes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ksm_provision.cli import COMMANDS, RENDER_COMMANDS, ksm
from ksm_provision.inventory.inventory import authority_files, load_inventory

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories"
HEAVY = ["pytest", "testinfra", "hier_config", "ansible", "ansible_runner", "pydantic", "rich", "netmiko"]

PROBE = """
import json, sys
from ksm_provision.cli import ksm
try:
    ksm.main(args=sys.argv[1:], prog_name="ksm", standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
print("\\nHEAVY=" + json.dumps(heavy))
"""


def run_probe(*args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    output, _, heavy = done.stdout.rpartition("\nHEAVY=")
    return output, json.loads(heavy)


def complete(words: str, *, inventory: Path = INVENTORY) -> list[str]:
    """What ``ksm`` offers for TAB after *words* (bash), as a user's shell would ask for it."""
    done = subprocess.run(
        [sys.executable, "-m", "ksm_provision"],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "_KSM_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
            "KSM_INVENTORY": str(inventory),
        },
    )
    return [line.partition(",")[2] for line in done.stdout.splitlines() if line]


# --------------------------------------------------------------------------- fast start


def test_help_imports_no_heavy_library() -> None:
    output, heavy = run_probe("--help")
    assert heavy == []
    for name in [*COMMANDS, "render"]:
        assert f"\n  {name} " in output


def test_completing_a_command_name_imports_no_heavy_library() -> None:
    output, heavy = run_probe(env={"_KSM_COMPLETE": "bash_complete", "COMP_WORDS": "ksm ", "COMP_CWORD": "1"})
    assert heavy == []
    assert "plain,plan" in output.splitlines()


def test_importing_cli_imports_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import ksm_provision.cli"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    imported = {line.rpartition("|")[2].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert imported.isdisjoint(HEAVY)


# --------------------------------------------------------------------------- the command table


@pytest.mark.parametrize("table", [COMMANDS, RENDER_COMMANDS], ids=["ksm", "render"])
def test_every_table_entry_is_its_command_with_its_help(table: dict[str, object]) -> None:
    group = ksm if table is COMMANDS else ksm.commands["render"]
    assert isinstance(group, click.Group)
    ctx = click.Context(group)
    for name, entry in table.items():
        command = group.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert command.get_short_help_str(limit=1000) == entry.short_help, name  # type: ignore[attr-defined]


def all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def walk(path: str, command: click.Command) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name}"
                walk(f"{path} {name}", sub)

    walk("ksm", ksm)
    return found


#: Commands with their own --target still: commands/change.py lets `apply PLAN` take the plan's
#: target when --target is not given (default None). Remove an entry once it uses common.target_option.
OWN_TARGET: set[str] = set()  # every command shares commands/common.py's --target


@pytest.mark.parametrize("option", ["--target", "--authority", "--all", "--json", "--limit"])
def test_a_shared_option_has_one_definition(option: str) -> None:
    """Every command's --target (etc.) is the one from commands/common.py: same default, same help."""
    definitions = {
        (repr(p.type), p.default, p.help, p.multiple)
        for path, command in all_commands()
        if not (option == "--target" and path in OWN_TARGET)
        for p in command.params
        if isinstance(p, click.Option) and option in p.opts
    }
    assert len(definitions) == 1, definitions
    if option == "--target":
        assert next(iter(definitions))[1] == "production"


# --------------------------------------------------------------------------- completion


def test_authority_ids_complete_from_file_names() -> None:
    expected = [p.stem for p in authority_files(INVENTORY)]
    assert expected
    assert complete("ksm plan --authority ") == expected
    assert complete(f"ksm verify -a {expected[0][:2]}") == [
        i for i in expected if i.startswith(expected[0][:2])
    ]


def test_authority_completion_skips_provider_and_drafts(tmp_path: Path) -> None:
    for name in ["ksm.yml", "aa.yml", "_draft.yml", ".#bb.yml", "notes.txt"]:
        (tmp_path / name).write_text("not even YAML: [", encoding="utf-8")
    assert complete("ksm validate --authority ", inventory=tmp_path) == ["aa"]


def test_host_names_complete_for_show_and_limit() -> None:
    inventory = load_inventory(INVENTORY)
    names = sorted({h.hostname for h in inventory.hosts} | {d.hostname for d in inventory.devices})
    prefix = names[0][:5]
    assert complete(f"ksm inventory show {prefix}") == [n for n in names if n.startswith(prefix)]
    assert complete(f"ksm plan --limit x,{prefix}") == [f"x,{n}" for n in names if n.startswith(prefix)]


def test_completion_never_fails(tmp_path: Path) -> None:
    assert complete("ksm inventory show ", inventory=tmp_path / "missing") == []
    (tmp_path / "ksm.yml").write_text("{broken", encoding="utf-8")
    assert complete("ksm inventory show ", inventory=tmp_path) == []
    assert complete("ksm validate --authority ", inventory=tmp_path / "missing") == []
