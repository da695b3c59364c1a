"""The Debian base root filesystem every lab host is an overlay of.

Built once with ``debootstrap --variant=minbase`` from the mirror this machine's own apt sources
name, cached outside the repository (``/var/cache/ksm-provision/rootfs/bookworm``, or below
``$KSM_LAB_CACHE``), and rebuilt only when the package list changes. The build goes to a temporary
directory that is renamed into place, so a half-built tree is never used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import system

SUITE = "bookworm"
DEFAULT_CACHE = Path("/var/cache/ksm-provision")
#: Bump when the post-debootstrap steps change, so cached trees are rebuilt.
RECIPE_VERSION = 5
#: What the Ansible roles install with ``state=present``: baked in so applies stay offline and fast.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "openssh-server",
    "sudo",
    "iproute2",
    "locales",
    "tzdata",
    "chrony",
    "rsyslog",
    "unattended-upgrades",
    "samba",
    "isc-dhcp-server",
    "isc-dhcp-relay",
    "nftables",
    "cups-client",
    "hunspell-de-de",
    "ca-certificates",
    "procps",
    "less",
)
LOCALES: tuple[str, ...] = ("de_DE.UTF-8 UTF-8", "en_US.UTF-8 UTF-8")
#: Installed with apt-get inside the chroot after debootstrap (whose resolver cannot take
#: ``--include=ansible-core``): what a pull-mode client runs (``ansible-pull`` clones with git).
CHROOT_PACKAGES: tuple[str, ...] = ("git", "ansible-core")
#: apt-get in the chroot asks no questions; :data:`_POLICY_RC_D` keeps it from starting services.
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
_POLICY_RC_D = "#!/bin/sh\n# ksm-provision lab image build: start no service in the chroot\nexit 101\n"
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")


def cache_dir() -> Path:
    """``$KSM_LAB_CACHE`` or ``/var/cache/ksm-provision``."""
    return Path(os.environ.get("KSM_LAB_CACHE") or DEFAULT_CACHE)


def rootfs_path(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "rootfs" / SUITE


def _stamp_path(rootfs: Path) -> Path:
    return rootfs.with_name(rootfs.name + ".stamp.json")


def _wanted_stamp(packages: tuple[str, ...]) -> dict[str, object]:
    return {
        "suite": SUITE,
        "packages": sorted(packages),
        "chroot_packages": sorted(CHROOT_PACKAGES),
        "locales": list(LOCALES),
        "recipe": RECIPE_VERSION,
    }


# --------------------------------------------------------------------------- mirror


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Stanzas of a deb822 ``.sources`` file (comments dropped, continuation lines joined)."""
    stanza: dict[str, str] = {}
    key = ""
    for raw in [*text.splitlines(), ""]:
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif line[0].isspace() and key:
            stanza[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def mirror_from_deb822(text: str, suite: str = SUITE) -> str | None:
    """First ``URIs:`` of an enabled ``deb`` stanza for *suite*.

    >>> mirror_from_deb822("Types: deb\\nURIs: http://ftp.de.debian.org/debian\\nSuites: bookworm\\n")
    'http://ftp.de.debian.org/debian'
    >>> mirror_from_deb822("Types: deb\\nURIs: http://x/debian\\nSuites: bookworm-security\\n") is None
    True
    """
    for stanza in _deb822_stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" in stanza.get("types", "").split() and suite in stanza.get("suites", "").split():
            uris = stanza.get("uris", "").split()
            if uris:
                return uris[0]
    return None


_ONE_LINE = re.compile(r"^deb\s+(?:\[[^\]]*\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)")


def mirror_from_sources_list(text: str, suite: str = SUITE) -> str | None:
    """URI of the first ``deb`` line for *suite* in one-line-style sources.

    >>> mirror_from_sources_list("# x\\ndeb [arch=amd64] http://mirror.example/debian bookworm main\\n")
    'http://mirror.example/debian'
    """
    for line in text.splitlines():
        match = _ONE_LINE.match(line.strip())
        if match and match["suite"] == suite:
            return match["uri"]
    return None


def find_mirror(sources_list: Path = APT_SOURCES_LIST, sources_dir: Path = APT_SOURCES_DIR) -> str:
    """The Debian mirror this machine itself uses for ``bookworm`` (never a hard-coded host)."""
    candidates: list[tuple[Path, str | None]] = []
    if sources_list.is_file():
        candidates.append((sources_list, mirror_from_sources_list(sources_list.read_text())))
    if sources_dir.is_dir():
        for path in sorted(sources_dir.iterdir()):
            if path.suffix == ".list":
                candidates.append((path, mirror_from_sources_list(path.read_text())))
            elif path.suffix == ".sources":
                candidates.append((path, mirror_from_deb822(path.read_text())))
    for _path, uri in candidates:
        if uri and uri.split(":", 1)[0] in ("http", "https", "file"):
            return uri.rstrip("/")
    raise LabError(
        f"no apt source for '{SUITE}' found in {sources_list} or {sources_dir}/*.sources|*.list",
        hint=f"add a Debian {SUITE} source to the machine's apt configuration (e.g. a deb822 file with "
        f"'URIs: <mirror>' and 'Suites: {SUITE}')",
    )


# --------------------------------------------------------------------------- build


def is_current(rootfs: Path, packages: tuple[str, ...] = PACKAGES) -> bool:
    """True when the cached tree exists and was built from the same package list and recipe."""
    stamp = _stamp_path(rootfs)
    if not (rootfs / "usr/sbin/sshd").exists() or not stamp.is_file():
        return False
    try:
        return bool(json.loads(stamp.read_text()) == _wanted_stamp(packages))
    except (OSError, ValueError):
        return False


def in_use(rootfs: Path) -> bool:
    """True when some overlay mount on this machine uses *rootfs* as its lower layer."""
    pattern = re.compile(rf"lowerdir=(?:[^,\s]*:)?{re.escape(str(rootfs))}(?:[,:\s]|$)")
    return any(pattern.search(line) for line in Path("/proc/self/mountinfo").read_text().splitlines())


@contextlib.contextmanager
def _build_lock(parent: Path) -> Iterator[None]:
    parent.mkdir(parents=True, exist_ok=True)
    with (parent / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: Services the preinstalled packages enable but a host runs only when a role enables it (Debian
#: enables a package's service on installation; a real server gets the package only with its role).
ROLE_SERVICES: tuple[str, ...] = (
    "smbd",
    "nmbd",
    "samba-ad-dc",
    "isc-dhcp-server",
    "isc-dhcp-relay",
    "nftables",
)
#: Units that do nothing useful in a lab container: e2scrub (no LVM), apt's daily download and
#: upgrade (the lab is offline; a run at a random time would also hold the dpkg lock during an apply).
IDLE_UNITS: tuple[str, ...] = (
    "e2scrub_reap.service",
    "e2scrub_all.timer",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
)
#: Masked: a getty on nspawn's non-interactive console (lab hosts are reached by SSH only).
MASKED_UNITS: tuple[str, ...] = ("console-getty.service",)
#: A container may not set the clock (no CAP_SYS_TIME, which would be the machine's clock), so
#: chrony.service would be skipped: in the lab chronyd runs with -x (it syncs but never steps).
CHRONY_LAB_DROPIN = """\
# ksm-provision lab only: a container has no CAP_SYS_TIME; chronyd runs without setting the clock.
[Unit]
ConditionCapability=

[Service]
ExecStart=
ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x
"""


def _chroot_apt_install(tree: Path, packages: tuple[str, ...]) -> None:
    """``apt-get update`` and ``apt-get install`` of *packages* inside *tree*.

    debootstrap leaves the tree's ``/etc/apt/sources.list`` naming the mirror it built from (and the
    machine's ``/etc/resolv.conf``), but its package lists under names apt does not read: an update
    comes first. As during debootstrap, a ``policy-rc.d`` keeps maintainer scripts from starting
    services on this machine while the packages are installed.
    """
    if not packages:
        return
    env = {**os.environ, **_APT_ENV}
    root = str(tree)
    policy = tree / "usr/sbin/policy-rc.d"
    ours = not policy.exists()
    if ours:
        policy.parent.mkdir(parents=True, exist_ok=True)
        policy.write_text(_POLICY_RC_D)
        policy.chmod(0o755)
    try:
        system.run(["chroot", root, "apt-get", "update"], timeout=600, env=env)
        system.run(
            ["chroot", root, "apt-get", "install", "-y", "--no-install-recommends", *packages],
            timeout=1800,
            env=env,
        )
        system.run(["chroot", root, "apt-get", "clean"], timeout=120, env=env)
    finally:
        if ours:
            policy.unlink(missing_ok=True)


def _post_install(tree: Path) -> None:
    """Steps after debootstrap: :data:`CHROOT_PACKAGES`, locales, no shared SSH host keys, the
    services a lab host boots with (see :data:`ROLE_SERVICES`, :data:`IDLE_UNITS`,
    :data:`MASKED_UNITS`), no package cache or package lists."""
    _chroot_apt_install(tree, CHROOT_PACKAGES)
    locale_gen = tree / "etc/locale.gen"
    if (tree / "usr/sbin/locale-gen").exists():
        locale_gen.write_text("".join(f"{entry}\n" for entry in LOCALES))
        system.run(["chroot", str(tree), "/usr/sbin/locale-gen"], timeout=300)
        (tree / "etc/default/locale").write_text("LANG=de_DE.UTF-8\n")
    # Each lab host gets its own host key from the host builder; a key baked in would be shared.
    for key in (tree / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    # offline in the chroot: LSB services (isc-dhcp-*) through systemd-sysv-install (update-rc.d)
    system.run(["chroot", str(tree), "systemctl", "disable", *ROLE_SERVICES, *IDLE_UNITS], timeout=120)
    system.run(["chroot", str(tree), "systemctl", "mask", *MASKED_UNITS], timeout=120)
    dropin = tree / "etc/systemd/system/chrony.service.d/ksm-lab-container.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(CHRONY_LAB_DROPIN)
    # the machine's host name leaks in through debootstrap: systemd-nspawn -M names the host
    (tree / "etc/hostname").unlink(missing_ok=True)
    for deb in (tree / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    # the lists debootstrap left and those apt-get update fetched (not the lock, not partial/)
    for lists in (tree / "var/lib/apt/lists").glob("*_*"):
        if lists.is_file():
            lists.unlink()


def ensure_rootfs(
    *, cache: Path | None = None, packages: tuple[str, ...] = PACKAGES, mirror: str | None = None
) -> Path:
    """Return the cached base tree, building it first when it is missing or stale.

    Safe to call from several processes at once (a lock file serialises builds).
    """
    rootfs = rootfs_path(cache)
    if is_current(rootfs, packages):
        return rootfs
    with _build_lock(rootfs.parent):
        if is_current(rootfs, packages):  # another process built it while we waited
            return rootfs
        if rootfs.exists() and in_use(rootfs):
            raise LabError(
                f"the cached root filesystem {rootfs} is stale but a running lab uses it",
                hint="run 'ksm lab down' for every lab on this machine, then 'ksm lab up' again",
            )
        source = mirror or find_mirror()
        tmp = Path(tempfile.mkdtemp(prefix=f"{SUITE}.build-", dir=rootfs.parent))
        try:
            started = time.monotonic()
            system.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(packages)}",
                    SUITE,
                    str(tmp),
                    source,
                ],
                timeout=3600,
            )
            _post_install(tmp)
            tmp.chmod(0o755)
            if rootfs.exists():
                old = rootfs.with_name(f"{SUITE}.old-{os.getpid()}")
                rootfs.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            _stamp_path(rootfs).unlink(missing_ok=True)
            tmp.rename(rootfs)
            _stamp_path(rootfs).write_text(json.dumps(_wanted_stamp(packages), indent=2) + "\n")
            (rootfs.parent / f"{SUITE}.build-seconds").write_text(f"{time.monotonic() - started:.1f}\n")
        finally:
            if tmp.exists():
                system.unmount(tmp)  # a failed debootstrap can leave /proc or /sys mounted inside
                shutil.rmtree(tmp, ignore_errors=True)
    return rootfs
