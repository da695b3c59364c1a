"""Hostile files in an inventory directory: links, devices, FIFOs, sockets and files that never end.

``ksm validate`` must refuse each of them with ``FILE: message — fix`` and exit 1: never read a file
outside the inventory (nor echo its content), never block, never fail with a traceback. Every test
runs under a deadline so that a regression that blocks fails instead of hanging the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ksm_provision.cli import main
from ksm_provision.errors import InventoryError
from ksm_provision.inventory import files
from ksm_provision.inventory.files import read_inventory_file, read_vault_file
from ksm_provision.inventory.inventory import authority_files

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "minimal"
SECRET = "root:$6$Zx9SECRETHASHzzz:19000:0:99999:7:::"
DEADLINE_SECONDS = 30


class DeadlineError(Exception):
    """Not an OSError, so that no ``except OSError`` of the code under test swallows it."""


def _deadline_passed(signum: int, frame: object) -> None:
    raise DeadlineError(f"took more than {DEADLINE_SECONDS}s: something blocks")


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _deadline_passed)
    signal.alarm(DEADLINE_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid inventory in tmp_path/inv, worked from inside (files show as 'aa.yml')."""
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the inventory with a line that would show as an 'unknown key' if it were read."""
    path = tmp_path / "shadow"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def validate(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    """Run ``ksm --inventory . validate``: exit code and everything it printed."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", ".", "validate", *extra])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, out + err


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path.name)  # relative: AF_UNIX paths are short; the test works inside the directory


def _link_outside(target: Path) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "link-to-dev-zero": (_link_outside(Path("/dev/zero")), "is a symbolic link that points outside"),
    "link-to-dev-null": (_link_outside(Path("/dev/null")), "is a symbolic link that points outside"),
    "link-to-directory": (_link_outside(Path("/")), "is a symbolic link that points outside"),
    "link-inside": (lambda path: path.symlink_to("bb.yml"), "is a symbolic link; it is not read"),
    "dangling-link": (
        lambda path: path.symlink_to("nothing.yml"),
        "is a symbolic link that points to nothing",
    ),
    "link-loop": (lambda path: path.symlink_to(path.name), "is a symbolic link in a loop of links"),
    "fifo": (os.mkfifo, "is a FIFO (named pipe), not a regular file"),
    "directory": (Path.mkdir, "is a directory, not a regular file"),
    "socket": (make_socket, "is a socket, not a regular file"),
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("name", ["x.yml", "ksm.yml", "aa.yml"])
def test_validate_refuses_hostile_files(
    inventory: Path, capsys: pytest.CaptureFixture[str], kind: str, name: str
) -> None:
    create, message = HOSTILE[kind]
    path = inventory / name
    if path.exists():
        path.unlink()
    create(path)
    code, output = validate(capsys)
    assert code == 1
    assert f"{name}: {message}" in output
    assert "Traceback" not in output
    assert "internal error" not in output


def test_a_link_to_a_secret_file_is_never_read(
    inventory: Path, secret_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inventory / "evil.yml").symlink_to(secret_file)
    (inventory / "bb.yml").unlink()
    (inventory / "bb.yml").symlink_to(secret_file)
    code, output = validate(capsys)
    assert code == 1
    assert "evil.yml: is a symbolic link that points outside the inventory directory" in output
    assert "bb.yml: is a symbolic link that points outside the inventory directory" in output
    assert "copy the file here" in output
    assert "SECRETHASH" not in output
    assert "root:" not in output
    code, output = validate(capsys, "--json")
    assert code == 1
    assert "SECRETHASH" not in output


def test_links_in_a_chain_that_leaves_the_directory_are_refused(
    inventory: Path, secret_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inventory / "hop.txt").symlink_to(secret_file)
    (inventory / "evil.yml").symlink_to("hop.txt")
    code, output = validate(capsys)
    assert code == 1
    assert "evil.yml: is a symbolic link that points outside the inventory directory" in output
    assert "SECRETHASH" not in output


def test_an_inventory_directory_reached_through_a_link_is_fine(
    inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The directory the operator names may itself be a link (e.g. /etc/ksm/current)."""
    (tmp_path / "current").symlink_to(inventory)
    os.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", "current", "validate"])
    assert exit_info.value.code == 0
    assert "no problems" in capsys.readouterr().out


def test_hidden_and_draft_files_are_not_authority_files(inventory: Path) -> None:
    (inventory / ".#aa.yml").symlink_to("user@host.1234:1700000000")  # an editor's lock file
    (inventory / "_draft.yml").write_text("not: [valid\n", encoding="utf-8")
    assert [p.name for p in authority_files(inventory)] == ["aa.yml", "bb.yml"]


# --- the reader itself ------------------------------------------------------------------------------


def test_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_bytes(b"a: 1\n")
    assert read_inventory_file(path) == b"a: 1\n"


def test_a_file_larger_than_its_size_says_is_cut_off() -> None:
    """/proc files report size 0 but have content: the read itself is bounded, not only the fstat."""
    with pytest.raises(InventoryError) as error:
        read_inventory_file(Path("/proc/self/status"), max_bytes=10)
    assert error.value.problems[0].message == "file is more than 10 bytes, more than the limit of 10"


def test_a_device_is_refused_without_being_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real_open = os.open
    monkeypatch.setattr(files.os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    with pytest.raises(InventoryError, match="is a device"):
        read_inventory_file(Path("/dev/zero"))
    assert "zero" not in opened


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_by_the_descriptor_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lstat sees a regular file; the descriptor (fstat) shows the FIFO: refused, not read."""
    regular = tmp_path / "regular.yml"
    regular.write_text("a: 1\n", encoding="utf-8")
    fifo = tmp_path / "x.yml"
    os.mkfifo(fifo)
    real_stat = os.stat

    def stat_as_regular(name: object, *args: object, **kwargs: object) -> os.stat_result:
        if name == "x.yml":
            return real_stat(regular)
        return real_stat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "stat", stat_as_regular)
    with pytest.raises(InventoryError, match="is a FIFO"):
        read_inventory_file(fifo)


def test_a_file_swapped_for_a_link_after_the_check_is_not_followed(
    tmp_path: Path, secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inv").mkdir()
    regular = tmp_path / "inv" / "regular.yml"
    regular.write_text("a: 1\n", encoding="utf-8")
    link = tmp_path / "inv" / "x.yml"
    link.symlink_to(secret_file)
    real_stat = os.stat

    def stat_as_regular(name: object, *args: object, **kwargs: object) -> os.stat_result:
        if name == "x.yml" and kwargs.get("follow_symlinks") is False:
            return real_stat(regular)
        return real_stat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "stat", stat_as_regular)
    with pytest.raises(InventoryError) as error:
        read_inventory_file(link)
    assert "is a symbolic link that points outside" in str(error.value)
    assert "SECRET" not in str(error.value)


def test_an_unreadable_file_is_a_problem_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.yml"
    path.write_text("a: 1\n", encoding="utf-8")

    real_open = os.open

    def denied(name: str, *args: int, **kwargs: int) -> int:
        if name == "a.yml":
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", denied)  # root may read anything: simulate the refusal
    with pytest.raises(InventoryError) as error:
        read_inventory_file(path)
    assert error.value.problems[0].message == "cannot be read (Permission denied)"


# --- vault files ------------------------------------------------------------------------------------


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    (tmp_path / "inv" / "vault").mkdir(parents=True)
    return tmp_path / "inv" / "vault"


def test_a_vault_file_is_read(vault_dir: Path) -> None:
    (vault_dir / "aa.yml").write_bytes(b"$ANSIBLE_VAULT;1.2;AES256;aa\n")
    assert read_vault_file(vault_dir / "aa.yml") == b"$ANSIBLE_VAULT;1.2;AES256;aa\n"


def test_a_vault_file_that_links_outside_is_refused(vault_dir: Path, secret_file: Path) -> None:
    (vault_dir / "aa.yml").symlink_to(secret_file)
    with pytest.raises(InventoryError, match="points outside"):
        read_vault_file(vault_dir / "aa.yml")


def test_a_vault_directory_that_is_a_link_is_refused(tmp_path: Path, secret_file: Path) -> None:
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "vault").symlink_to(secret_file.parent)
    (tmp_path / "aa.yml").write_text("x", encoding="utf-8")
    with pytest.raises(InventoryError) as error:
        read_vault_file(tmp_path / "inv" / "vault" / "aa.yml")
    assert "vault: is a symbolic link; it is not followed" in str(error.value)


def test_a_vault_fifo_is_refused(vault_dir: Path) -> None:
    os.mkfifo(vault_dir / "aa.yml")
    with pytest.raises(InventoryError, match="is a FIFO"):
        read_vault_file(vault_dir / "aa.yml")
