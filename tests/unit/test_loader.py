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


# --- YAML 1.1 numbers: only plain decimal integers -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reading", "fix"),
    [
        ("0155", "a leading 0 makes YAML 1.1 read it as octal 109", "write 155 (plain decimal)"),
        ("-0155", "a leading 0 makes YAML 1.1 read it as octal -109", "write -155 (plain decimal)"),
        ("00", "a leading 0 makes YAML 1.1 read it as octal 0", "write 0 (plain decimal)"),
        ("09", "a leading 0", "write 9 (plain decimal)"),
        ("0x6e", "hexadecimal 110", "write 110 (plain decimal)"),
        ("-0x6E", "hexadecimal -110", "write -110 (plain decimal)"),
        ("0o155", "octal 109", "write 109 (plain decimal)"),
        ("0b1101110", "binary 110", "write 110 (plain decimal)"),
        ("1_10", "digit separator '_'", "write 110 (plain decimal)"),
        ("+110", "'+' sign", "write 110 (plain decimal)"),
        ("110.0", "a floating-point number", "write 110 (plain decimal)"),
        ("110.", "a floating-point number", "write 110 (plain decimal)"),
        ("1.5", "a floating-point number", "write a whole number, e.g. 110,"),
        (".5", "a floating-point number", "write a whole number, e.g. 110,"),
        ("-.5", "a floating-point number", "write a whole number, e.g. 110,"),
        ("1e2", "a floating-point number", "write 100 (plain decimal)"),
        ("1.1e+2", "a floating-point number", "write 110 (plain decimal)"),
        ("1E2", "a floating-point number", "write 100 (plain decimal)"),
        (".inf", "a floating-point infinity", "write a whole number, e.g. 110,"),
        ("-.Inf", "a floating-point infinity", "write a whole number, e.g. 110,"),
        (".nan", "a floating-point not-a-number", "write a whole number, e.g. 110,"),
        (".NaN", "a floating-point not-a-number", "write a whole number, e.g. 110,"),
        ("1_000.0", "a floating-point number", "write 1000 (plain decimal)"),
    ],
)
def test_numbers_other_than_plain_decimal_are_refused(text: str, reading: str, fix: str) -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text(f"a: 1\nvlan: {text}\n", "n.yml")
    assert [str(p) for p in error.value.problems] == [
        f"n.yml:2: {text} is not a plain decimal number ({reading}) — {fix} or quote it if it is text"
    ]


def test_plain_decimal_integers_are_numbers() -> None:
    data = load_yaml_text(
        "a: 0\nb: -0\nc: 110\nd: -42\ne: 65535\nf: 123456789012345678901234\n", "d.yml"
    ).data
    assert data == {"a": 0, "b": 0, "c": 110, "d": -42, "e": 65535, "f": 123456789012345678901234}


def test_quoted_numbers_are_text() -> None:
    text = "a: '0155'\nb: \"0x6e\"\nc: '1.5'\nd: \".inf\"\ne: |\n  0155\n"
    assert load_yaml_text(text, "q.yml").data == {
        "a": "0155",
        "b": "0x6e",
        "c": "1.5",
        "d": ".inf",
        "e": "0155\n",
    }


def test_number_keys_are_checked_too() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a:\n  0x10: x\n", "k.yml")
    assert error.value.problems[0].line == 2


def test_every_odd_number_is_reported_and_an_aliased_one_once() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: &x 0155\nb: *x\nc: [1.5, 2, *x]\nd: 1_0\n", "m.yml")
    assert [(p.line, p.message.split()[0]) for p in error.value.problems] == [
        (1, "0155"),
        (3, "1.5"),
        (4, "1_0"),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("52:54:00:41:08:14", "52:54:00:41:08:14"),  # base 60 in YAML 1.1
        ("1:30", "1:30"),
        ("190:20:30.15", "190:20:30.15"),  # base-60 float
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("2026-01-01", "2026-01-01"),  # YAML 1.1 timestamp, YAML 1.2 text
        ("2026-01-01 10:00:00", "2026-01-01 10:00:00"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
        ("=", "="),  # YAML 1.1 "value" type
        ("10.41.0.10", "10.41.0.10"),
        ("0o", "0o"),
        ("1e", "1e"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
    ],
)
def test_yaml11_only_readings_stay_text(text: str, value: object) -> None:
    assert load_yaml_text(f"v: {text}\n", "t.yml").data == {"v": value}


# --- YAML tags: every explicit tag is refused ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!python/object/apply:os.system ['id']", "!!python/object/apply:os.system"),
        ("!!python/object:builtins.dict {a: 1}", "!!python/object:builtins.dict"),
        ("!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6338", "!vault"),
        ("!unsafe '{{ x }}'", "!unsafe"),
        ("!!binary aGk=", "!!binary"),
        ("!!timestamp 2026-01-01", "!!timestamp"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!!pairs [a: 1]", "!!pairs"),
        ("!!str 110", "!!str"),
        ("!!str text", "!!str"),
        ("!!int '5'", "!!int"),
        ("!!float 1", "!!float"),
        ("!!bool yes", "!!bool"),
        ("!!null ''", "!!null"),
        ("!!map {a: 1}", "!!map"),
        ("!!seq [1]", "!!seq"),
        ("!foo x", "!foo"),
        ("! x", "!"),
        ("!<tag:yaml.org,2002:str> x", "!!str"),
        ("!<!bar> x", "!bar"),
        ("[1, !foo 2]", "!foo"),
        ("{k: !foo v}", "!foo"),
        ("&a !foo x", "!foo"),
    ],
)
def test_explicit_tags_are_refused(text: str, shown: str) -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text(f"a: 1\nv: {text}\n", "t.yml")
    problems = error.value.problems
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("t.yml", 2, f"YAML tags are not allowed ({shown})")
    ]
    assert problems[0].hint


def test_tag_hints_name_the_fix() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: !vault x\nb: !unsafe y\nc: !!python/name:os.system ''\n", "h.yml")
    hints = [p.hint for p in error.value.problems]
    assert "vault:" in hints[0]
    assert "without the tag" in hints[1]
    assert "without the tag" in hints[2]


def test_a_tag_on_a_key_a_collection_and_through_a_directive() -> None:
    text = "%TAG !e! tag:evil.example,2000:\n---\n!foo k: 1\nl: !!seq\n  - !e!x 2\n"
    with pytest.raises(InventoryError) as error:
        load_yaml_text(text, "k.yml")
    assert [(p.line, p.message) for p in error.value.problems] == [
        (3, "YAML tags are not allowed (!foo)"),
        (4, "YAML tags are not allowed (!!seq)"),
        (5, "YAML tags are not allowed (tag:evil.example,2000:x)"),
    ]


def test_an_aliased_tag_is_reported_once() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: &x !foo v\nb: *x\nc: [*x, *x]\n", "a.yml")
    assert [p.line for p in error.value.problems] == [1]


def test_a_tag_with_control_characters_is_shown_escaped() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: !x%1B%5B2J v\n", "e.yml")
    message = error.value.problems[0].message
    assert "\x1b" not in message
    assert message == "YAML tags are not allowed (!x\\x1b[2J)"


def test_a_very_long_tag_is_shortened() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text(f"a: !{'x' * 500} v\n", "l.yml")
    assert len(error.value.problems[0].message) < 100


def test_exclamation_marks_in_text_are_no_tags() -> None:
    text = "a: Achtung!\nb: 'Hallo !x'\nc: \"!!python/name:os.system\"\nd: |\n  !foo\n# !comment\n"
    assert load_yaml_text(text, "x.yml").data == {
        "a": "Achtung!",
        "b": "Hallo !x",
        "c": "!!python/name:os.system",
        "d": "!foo\n",
    }


def test_tags_and_numbers_are_reported_together() -> None:
    with pytest.raises(InventoryError) as error:
        load_yaml_text("a: !foo x\nb: 0155\nb: 1\n", "t.yml")
    assert [p.line for p in error.value.problems] == [1, 2, 3]


def test_explicit_tags_lists_every_tag_with_its_position() -> None:
    from ksm_provision.inventory.loader import explicit_tags

    assert explicit_tags("a: !x 1\nb: !!seq [2]\nc: {d: !y 3}\n") == {
        (0, 3, "scalar"): "!x",
        (1, 3, "sequence"): "tag:yaml.org,2002:seq",
        (2, 7, "scalar"): "!y",
    }


def test_module_doctests() -> None:
    import doctest

    from ksm_provision.inventory import files, loader

    for module in (loader, files):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0
        assert result.attempted > 0


@pytest.mark.parametrize(
    "text", ["9" * 5000, "0" + "1" * 5000, "1_" + "1" * 5000, "0x" + "f" * 5000, "1" * 41]
)
def test_huge_numbers_are_refused_and_shown_shortened(text: str) -> None:
    """Python refuses int() of more than 4300 digits: such a value must be a problem, not a crash."""
    with pytest.raises(InventoryError) as error:
        load_yaml_text(f"a: {text}\n", "h.yml")
    assert len(str(error.value)) < 300
