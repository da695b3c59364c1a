"""FRR's own parser accepts every FRR config ksm renders from the samples: site routers and core.

``vtysh -C -f FILE`` runs FRR's real command parser over FILE without touching any daemon ("dry
run"). Its exit status alone proves little, measured with FRR 8.4.4: a file with an unknown command
exits 2 and names the line, but a directory or an empty file exits 0 and a missing file 11 (other
builds are reported to exit 0 there too). So :func:`frr_check` refuses anything that is not a
non-empty regular file before asking vtysh, and reads vtysh's output as well as its status; the
controls below prove that a broken line fails the check.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.inventory.models import Platform
from ksm_provision.network.core import render_core
from ksm_provision.network.intended import render_all

REPO = Path(__file__).resolve().parents[2]
VTYSH = shutil.which("vtysh")


@pytest.fixture(autouse=True)
def _frr_installed() -> None:
    if VTYSH is None:
        pytest.fail("FRR (vtysh) is not installed: make test installs frr (and runs as root, like CI)")


def frr_check(path: Path) -> str | None:
    """None when FRR's parser accepts the config file *path*, else why not."""
    if not path.is_file() or path.is_symlink():
        return f"{path} is no regular file (vtysh -C would accept a directory)"
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return f"{path} is empty (vtysh -C accepts an empty file)"
    assert VTYSH is not None
    proc = subprocess.run(
        [VTYSH, "-C", "-f", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "%" in output:
        return f"vtysh -C -f {path} exited {proc.returncode}: {output}"
    return None


def sample_frr_configs() -> dict[str, str]:
    """Every FRR config rendered from the sample inventories (placeholders for secrets), by hostname."""
    inventory = load_inventory(REPO / "inventories")
    configs = render_all(inventory)
    routers = {d.hostname for d in inventory.devices if d.model.platform is Platform.FRR}
    return {name: text for name, text in configs.items() if name in routers} | render_core(inventory)


def test_the_samples_have_routers_and_a_core() -> None:
    names = set(sample_frr_configs())
    assert {"lup-pch-rt01", "lup-lwl-rt01", "sn-rh-rt01", "sn-sh-rt01", "ksm-core-rt01"} <= names


@pytest.mark.parametrize("hostname", sorted(sample_frr_configs()))
def test_frr_parses_the_rendered_config(hostname: str, tmp_path: Path) -> None:
    path = tmp_path / f"{hostname}.conf"
    path.write_text(sample_frr_configs()[hostname], encoding="utf-8")
    assert frr_check(path) is None


def test_control_a_broken_line_is_refused(tmp_path: Path) -> None:
    """The check can fail: the core config with one misspelt keyword is rejected, naming the line."""
    text = render_core(load_inventory(REPO / "inventories"))["ksm-core-rt01"]
    assert " neighbor 10.40.101.2 remote-as 65101\n" in text
    path = tmp_path / "broken.conf"
    path.write_text(text.replace(" neighbor 10.40.101.2 remote-as", " neighbour 10.40.101.2 remote-as"))
    why = frr_check(path)
    assert why is not None and "neighbour 10.40.101.2" in why


def test_control_an_injected_command_would_be_refused(tmp_path: Path) -> None:
    """What the templates' control-character guard prevents: a second command smuggled into a line."""
    path = tmp_path / "injected.conf"
    path.write_text("hostname x\ninterface tr0\n description a\nrm -rf /\nexit\n")
    why = frr_check(path)
    assert why is not None and "rm -rf" in why


def test_control_no_file_is_no_pass(tmp_path: Path) -> None:
    """Neither a missing file, a directory nor an empty file counts as accepted."""
    (tmp_path / "empty.conf").write_text("")
    for path in (tmp_path / "missing.conf", tmp_path, tmp_path / "empty.conf"):
        assert frr_check(path) is not None
