"""The YAML loader: positions of every value, duplicate keys, YAML 1.1 pitfalls, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.errors import InventoryError
from ksm_provision.inventory.loader import check_expansion, load_yaml_file, load_yaml_text

DOC = """\
# comment
authority:
  id: aa
sites:
  - id: hq
    name: Kreishaus
  - {id: hub, name: Zentrum}
"""


def test_lines_of_keys_and_items() -> None:
    doc = load_yaml_text(DOC, "a.yml")
    assert doc.data == {
        "authority": {"id": "aa"},
        "sites": [{"id": "hq", "name": "Kreishaus"}, {"id": "hub", "name": "Zentrum"}],
    }
    assert doc.source.line_of(("authority", "id")) == 3
    assert doc.source.line_of(("sites", 0, "name")) == 6
    assert doc.source.line_of(("sites", 1)) == 7
    assert doc.source.line_of(("sites", 1, "name")) == 7
    assert doc.source.line_of(("sites", 5, "x")) == 4  # unknown: nearest enclosing entry


def test_duplicate_keys_are_all_reported() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: 1\nb: 2\na: 3\nb: 4\n", "d.yml")
    assert [str(p) for p in error.value.problems] == [
        "d.yml:3: duplicate key 'a' — it is already set on line 1; keep one of them",
        "d.yml:4: duplicate key 'b' — it is already set on line 2; keep one of them",
    ]


def test_yaml11_readings_stay_text() -> None:
    data = load_yaml_text(
        "mac: 52:54:00:41:08:14\ncountry: no\nflag: true\nn: 12\nnothing: null\n", "y.yml"
    ).data
    assert data == {"mac": "52:54:00:41:08:14", "country": "no", "flag": True, "n": 12, "nothing": None}


def test_empty_document_is_none() -> None:
    assert load_yaml_text("# only a comment\n", "e.yml").data is None


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(InventoryError, match="recursive alias"):
        load_yaml_text("a: &a [1, *a]\n", "r.yml")


def test_modest_aliases_are_fine() -> None:
    data = load_yaml_text("base: &b {x: 1}\none: *b\ntwo: *b\n", "m.yml").data
    assert data == {"base": {"x": 1}, "one": {"x": 1}, "two": {"x": 1}}


def test_expansion_check_names_the_line() -> None:
    import yaml

    text = "a: &a [1, 1, 1]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"
    node = yaml.compose(text)
    with pytest.raises(InventoryError) as error:
        check_expansion(node, "x.yml", max_nodes=20)
    assert error.value.problems[0].line == 3


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(InventoryError, match="nesting depth"):
        load_yaml_text("x: " + "[" * 5000 + "]" * 5000 + "\n", "n.yml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="file not found"):
        load_yaml_file(tmp_path / "nope.yml")


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("a: " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="more than the limit of 1000"):
        load_yaml_file(path, max_bytes=1000)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "l1.yml"
    path.write_bytes("a: 1\nb: Stra\xdfe\n".encode("latin-1"))
    with pytest.raises(InventoryError) as error:
        load_yaml_file(path)
    assert error.value.problems[0].line == 2
    assert "0xdf" in error.value.problems[0].message


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a:\n  - x\n b: y\n", "m.yml")
    assert error.value.problems[0].line == 3
