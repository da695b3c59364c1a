"""execution-environment.yml: ``ansible-builder create`` makes a build context with ksm inside.

No container runtime is involved: ``create`` only writes the Containerfile and its context. The
build files (wheel and collection tarball) are stand-ins with the right names here; the real ones
come from ``python -m ksm_provision.ansible_plugins.collection ee-files build/ee``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ksm_provision import __version__
from ksm_provision.ansible_plugins.collection import EE_TARBALL

REPO = Path(__file__).resolve().parents[2]
EE_FILE = REPO / "execution-environment.yml"
WHEEL = f"ksm_provision-{__version__}-py3-none-any.whl"


@pytest.fixture(scope="module")
def definition() -> dict[str, object]:
    data = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    builder = Path(sys.executable).parent / "ansible-builder"
    if not builder.is_file():
        pytest.fail(f"{builder} is missing: install the dev extras (pip install -e '.[dev]')")
    project = tmp_path_factory.mktemp("ee-project")
    shutil.copy2(EE_FILE, project / EE_FILE.name)
    files = project / "build" / "ee"
    files.mkdir(parents=True)
    (files / WHEEL).write_bytes(b"stand-in wheel")
    (files / EE_TARBALL).write_bytes(b"stand-in collection")
    out = project / "context"
    done = subprocess.run(
        [str(builder), "create", "-f", EE_FILE.name, "-c", str(out), "--output-filename", "Containerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_schema_v3_pins_ansible_like_the_package(definition: dict[str, object]) -> None:
    assert definition["version"] == 3
    dependencies = definition["dependencies"]
    assert isinstance(dependencies, dict)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    core = dependencies["ansible_core"]["package_pip"]
    assert f'"{core}"' in pyproject  # the same range as the package


def test_context_carries_the_package_and_the_collection(context: Path) -> None:
    assert (context / "_build" / "ksm" / WHEEL).read_bytes() == b"stand-in wheel"
    assert (context / "_build" / "ksm" / EE_TARBALL).read_bytes() == b"stand-in collection"
    requirements = (context / "_build" / "requirements.txt").read_text(encoding="utf-8").split()
    assert requirements == ["ksm-provision"]
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy == {"collections": [{"name": f"ksm/{EE_TARBALL}", "type": "file"}]}


def test_containerfile_installs_package_from_the_context_and_collection_with_galaxy(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<3"' in containerfile
    # the galaxy stage installs from requirements.yml in /build, where _build/ksm lands as /build/ksm
    assert "COPY _build /build" in containerfile and "ansible-galaxy collection install" in containerfile
    # pip resolves ksm-provision from the wheel in the context, in the builder and in the final stage
    stages = containerfile.split("\nFROM ")
    builder = next(s for s in stages if s.startswith("base AS builder"))
    final = next(s for s in stages if s.startswith("base AS final"))
    for stage in (builder, final):
        assert "COPY _build/ksm /tmp/ksm" in stage and "ENV PIP_FIND_LINKS=/tmp/ksm" in stage
    assert final.index("PIP_FIND_LINKS=/tmp/ksm") < final.index("install-from-bindep")
    assert "RUN rm -rf /tmp/ksm" in final


def test_system_packages_for_ssh_and_git(context: Path) -> None:
    bindep = (context / "_build" / "bindep.txt").read_text(encoding="utf-8")
    assert "openssh-clients [platform:rpm]" in bindep and "openssh-client [platform:dpkg]" in bindep
    assert "git [" in bindep
