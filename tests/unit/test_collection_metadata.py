"""collection/galaxy.yml names the project's addresses as pyproject.toml does (where it does)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
#: galaxy.yml key -> the pyproject.toml [project.urls] label that must agree with it
URL_KEYS = {
    "repository": "Repository",
    "documentation": "Documentation",
    "homepage": "Homepage",
    "issues": "Issues",
}
PLACEHOLDER_HOST = "example.invalid"


def _galaxy() -> dict[str, object]:
    data = yaml.safe_load((REPO / "collection" / "galaxy.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_galaxy_names_every_project_url() -> None:
    galaxy = _galaxy()
    for key in URL_KEYS:
        value = galaxy.get(key)
        assert isinstance(value, str) and value.startswith("https://"), f"galaxy.yml {key}: {value!r}"


def test_galaxy_urls_agree_with_pyproject() -> None:
    galaxy = _galaxy()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    urls = {label.lower(): url for label, url in project.get("urls", {}).items()}
    for key, label in URL_KEYS.items():
        if label.lower() in urls:
            assert galaxy[key] == urls[label.lower()], f"galaxy.yml {key} differs from pyproject {label}"
        else:  # pyproject names none: galaxy.yml may only hold the marked placeholder
            assert PLACEHOLDER_HOST in str(galaxy[key]), (
                f"galaxy.yml {key} names {galaxy[key]!r} but pyproject.toml [project.urls] has no {label}"
            )
