"""The lab image's steps after debootstrap, as the commands they would run (nothing is run here)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.lab import rootfs


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str] | None, bool]]:
    """Every ``system.run`` of :mod:`rootfs`: (argv, env, whether policy-rc.d was in place)."""
    seen: list[tuple[list[str], dict[str, str] | None, bool]] = []

    def fake_run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, **_: Any) -> None:
        tree = Path(argv[1])
        seen.append(
            (list(argv), dict(env) if env is not None else None, (tree / "usr/sbin/policy-rc.d").exists())
        )

    monkeypatch.setattr(rootfs.system, "run", fake_run)
    return seen


def _debootstrapped(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for directory in (
        "etc/ssh",
        "etc/default",
        "usr/sbin",
        "var/cache/apt/archives",
        "var/lib/apt/lists/partial",
    ):
        (tree / directory).mkdir(parents=True)
    (tree / "usr/sbin/locale-gen").touch()
    (tree / "etc/hostname").write_text("the-build-machine\n")
    (tree / "etc/ssh/ssh_host_ed25519_key").write_text("shared")
    (tree / "var/cache/apt/archives/git_1_amd64.deb").write_text("")
    lists = tree / "var/lib/apt/lists"
    for name in ("debootstrap.invalid_dists_bookworm_main_binary-amd64_Packages",
                 "deb.debian.org_debian_dists_bookworm_InRelease", "lock"):  # fmt: skip
        (lists / name).write_text("")
    return tree


def test_git_and_ansible_core_are_installed_in_the_chroot(
    tmp_path: Path, calls: list[tuple[list[str], dict[str, str] | None, bool]]
) -> None:
    tree = _debootstrapped(tmp_path)
    rootfs._post_install(tree)
    argvs = [argv for argv, _, _ in calls]
    root = str(tree)
    assert argvs[:3] == [
        ["chroot", root, "apt-get", "update"],
        ["chroot", root, "apt-get", "install", "-y", "--no-install-recommends", "git", "ansible-core"],
        ["chroot", root, "apt-get", "clean"],
    ]
    for argv, env, policy_in_place in calls[:3]:
        assert env is not None and env["DEBIAN_FRONTEND"] == "noninteractive", argv
        assert policy_in_place, f"{argv}: a package's maintainer script could start a service"
    # the rest of the recipe as before, after the packages
    assert ["chroot", root, "/usr/sbin/locale-gen"] in argvs[3:]
    assert any(argv[2:3] == ["systemctl"] and argv[3] == "disable" for argv in argvs[3:])


def test_the_image_keeps_no_build_leftovers(
    tmp_path: Path, calls: list[tuple[list[str], dict[str, str] | None, bool]]
) -> None:
    tree = _debootstrapped(tmp_path)
    rootfs._post_install(tree)
    assert not (tree / "usr/sbin/policy-rc.d").exists()  # services start normally on a lab host
    assert not (tree / "etc/hostname").exists()
    assert not list((tree / "etc/ssh").glob("ssh_host_*"))
    assert not list((tree / "var/cache/apt/archives").glob("*.deb"))
    assert sorted(p.name for p in (tree / "var/lib/apt/lists").iterdir()) == ["lock", "partial"]


def test_a_failed_install_removes_the_policy_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _debootstrapped(tmp_path)

    def fail(argv: Sequence[str], **_: Any) -> None:
        raise rootfs.LabError(f"command failed: {' '.join(argv)}")

    monkeypatch.setattr(rootfs.system, "run", fail)
    with pytest.raises(rootfs.LabError, match="apt-get update"):
        rootfs._post_install(tree)
    assert not (tree / "usr/sbin/policy-rc.d").exists()


def test_a_cached_image_from_an_older_recipe_is_rebuilt(tmp_path: Path) -> None:
    tree = tmp_path / "bookworm"
    (tree / "usr/sbin").mkdir(parents=True)
    (tree / "usr/sbin/sshd").touch()
    stamp = rootfs._stamp_path(tree)
    stamp.write_text('{"suite": "bookworm", "packages": [], "locales": [], "recipe": 4}')
    assert not rootfs.is_current(tree)
    stamp.write_text(json.dumps(rootfs._wanted_stamp(rootfs.PACKAGES)))
    assert rootfs.is_current(tree)
    assert json.loads(stamp.read_text())["chroot_packages"] == ["ansible-core", "git"]
