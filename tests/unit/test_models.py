"""The inventory models: unknown keys, safe text everywhere text reaches a device or config file."""

from __future__ import annotations

import doctest
import ipaddress
import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from ksm_provision.inventory import models, types
from ksm_provision.inventory.models import (
    AdminAccount,
    AuthorityFile,
    BgpNeighbor,
    ClientProfile,
    FileShare,
    Interface,
    KsmModel,
    NetworkSettings,
    ProviderFile,
    Routing,
    Settings,
    Site,
    StaticRoute,
    VaultRef,
)
from ksm_provision.inventory.types import (
    IPv4,
    IPv4If,
    IPv4Net,
    SafeText,
    check_hostname,
    check_locale,
    check_mac,
    check_safe_text,
    check_secret_ref,
    check_share_path,
    check_timezone,
    check_vault_file,
)


def all_models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, KsmModel) and m is not KsmModel
    ]


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_every_model_is_frozen_and_forbids_unknown_keys(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True


def _plain_str(annotation: Any) -> bool:
    """A bare ``str`` without validator or pattern somewhere in *annotation*."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return False  # SafeText, Hostname, pattern-constrained...
    return any(_plain_str(arg) for arg in typing.get_args(annotation))


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_no_unchecked_text_field(model: type[BaseModel]) -> None:
    """Every text field is SafeText or a validated/pattern type: nothing can carry a newline to a device."""
    for name, field in model.model_fields.items():
        assert not _plain_str(field.annotation) or field.metadata, f"{model.__name__}.{name} is unchecked str"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x1b[2Jb", "a\x00b", "a\x7fb", "tab\there", "a\u2028b"])
def test_safe_text_refuses_control_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        check_safe_text(bad)


def test_safe_text_keeps_umlauts_and_punctuation() -> None:
    assert (
        check_safe_text("Bürgerbüro, Am Markt 14 (2. OG) – Zimmer 3")
        == "Bürgerbüro, Am Markt 14 (2. OG) – Zimmer 3"
    )


@pytest.mark.parametrize("name", ["sn-rh-fs01", "a", "a.b-c", "x" * 63])
def test_valid_hostnames(name: str) -> None:
    assert check_hostname(name) == name


@pytest.mark.parametrize("name", ["-a", "a-", "A", "a_b", "x" * 64, "", "a..b"])
def test_invalid_hostnames(name: str) -> None:
    with pytest.raises(ValueError, match="RFC 1123"):
        check_hostname(name)


def test_mac_is_normalised() -> None:
    assert check_mac("52-54-00-AB-CD-EF") == "52:54:00:ab:cd:ef"


@pytest.mark.parametrize("value", ["hunter2", "vault:", "vault:Bad-Name", "$ANSIBLE_VAULT;1.1;AES256"])
def test_secret_must_be_a_vault_reference(value: str) -> None:
    with pytest.raises(ValueError, match="vault"):
        check_secret_ref(value)


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(ValidationError) as error:
        Site.model_validate({"id": "hq", "name": "x", "adress": "y"})
    assert error.value.errors()[0]["type"] == "extra_forbidden"


def test_interface_fields_fit_mode() -> None:
    with pytest.raises(ValidationError, match="trunk needs"):
        Interface.model_validate({"name": "Gi1/0/1", "mode": "trunk"})
    assert Interface.model_validate({"name": "eth0", "mode": "routed", "address": "10.0.0.1/30"}).address


def test_browser_policies_are_checked_deeply() -> None:
    ok = ClientProfile.model_validate(
        {"description": "x", "browser_policies": {"Homepage": {"URL": "https://a/", "Locked": True}}}
    )
    assert ok.browser_policies["Homepage"] == {"URL": "https://a/", "Locked": True}
    with pytest.raises(ValidationError, match="control character"):
        ClientProfile.model_validate({"description": "x", "browser_policies": {"A": ["ok", "bad\n"]}})
    with pytest.raises(ValidationError):
        ClientProfile.model_validate({"description": "x", "office_policies": {"bad key\n": 1}})


def test_models_make_json_schemas() -> None:
    for model in (ProviderFile, AuthorityFile):
        schema = model.model_json_schema()
        assert schema["additionalProperties"] is False


def test_type_doctests() -> None:
    assert doctest.testmod(types).failed == 0


def _leaves(annotation: Any, metadata: tuple[Any, ...] = ()) -> typing.Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every leaf type of *annotation* with the metadata (validators, constraints) around it."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        yield from _leaves(inner, (*metadata, *extra))
        return
    args = typing.get_args(annotation)
    if not args:
        yield annotation, metadata
        return
    for arg in args:
        yield from _leaves(arg, metadata if typing.get_origin(annotation) in (typing.Union, None) else ())


def field_leaves(model: type[BaseModel]) -> typing.Iterator[tuple[str, Any, tuple[Any, ...]]]:
    for name, field in model.model_fields.items():
        for leaf, metadata in _leaves(field.annotation, tuple(field.metadata)):
            yield name, leaf, metadata


def _patterns(metadata: tuple[Any, ...]) -> list[str]:
    found: list[str] = []
    for item in metadata:
        found += [m.pattern for m in [item, *getattr(item, "metadata", [])] if getattr(m, "pattern", None)]
    return found


TEMPLATES = ["{{ x }}", "a{{x}}b", "{% if x %}", "{#x#}", "{{", "{%", "{#"]


@pytest.mark.parametrize("marker", ["{{", "{%", "{#"])
def test_safe_text_refuses_template_syntax(marker: str) -> None:
    with pytest.raises(ValueError, match=f"template syntax '{re.escape(marker)}'.*never a template"):
        check_safe_text(f"Zimmer {marker} 3")


def test_safe_text_allows_single_braces() -> None:
    assert check_safe_text("Raum {3} und }} oder %}") == "Raum {3} und }} oder %}"


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_pattern_fields_cannot_carry_template_syntax(model: type[BaseModel]) -> None:
    """Text fields that are not SafeText are pattern-checked; no pattern lets '{{', '{%' or '{#' through."""
    for name, _, metadata in field_leaves(model):
        for pattern in _patterns(metadata):
            for sample in TEMPLATES:
                assert not re.search(pattern, sample), f"{model.__name__}.{name} accepts {sample!r}"


@pytest.mark.parametrize(
    "check",
    [
        check_hostname,
        types.check_identifier,
        check_secret_ref,
        check_mac,
        types.check_interface_name,
        check_vault_file,
        check_share_path,
        check_timezone,
        check_locale,
    ],
    ids=lambda c: c.__name__,
)
def test_checked_forms_cannot_carry_template_syntax(check: typing.Callable[[str], str]) -> None:
    for sample in TEMPLATES:
        with pytest.raises(ValueError):
            check(sample)


def _validated_by(metadata: tuple[Any, ...], factory: str) -> bool:
    """Whether a validator made by the function *factory* of types.py is among *metadata*."""
    return any(
        getattr(getattr(m, "func", None), "__qualname__", "").startswith(f"{factory}.") for m in metadata
    )


def _free_text_fields() -> list[tuple[type[BaseModel], str]]:
    """(model, field) of every field that takes free text directly (SafeText and its longer variants)."""
    return [
        (model, name)
        for model in all_models()
        for name, leaf, metadata in field_leaves(model)
        if leaf is str and _validated_by(metadata, "_text")
    ]


@pytest.mark.parametrize(
    ("model", "name"), _free_text_fields(), ids=lambda v: v.__name__ if isinstance(v, type) else v
)
def test_every_free_text_field_refuses_template_syntax(model: type[BaseModel], name: str) -> None:
    is_list = typing.get_origin(model.model_fields[name].annotation) is list
    for sample in ["{{ 7 * 7 }}", "{% raw %}", "{# c #}"]:
        with pytest.raises(ValidationError) as error:
            model.model_validate({name: [sample] if is_list else sample})
        messages = [e["msg"] for e in error.value.errors() if e["loc"][0] == name]
        assert messages and all("template syntax" in m for m in messages), messages


def test_free_text_fields_are_found() -> None:
    found = {f"{m.__name__}.{n}" for m, n in _free_text_fields()}
    assert {
        "AuthorityIdentity.name",
        "AdminAccount.comment",
        "AdminAccount.ssh_keys",
        "ClientProfile.browser_homepage",
        "Printer.location",
        "FileShare.comment",
        "FileShare.department",
        "SharedService.name",
        "SharedService.description",
        "Site.name",
        "Site.address",
        "Interface.description",
        "StaticRoute.description",
        "BgpNeighbor.description",
        "NetworkSettings.banner",
        "NetworkDevice.model",
        "Server.description",
    } <= found


def test_policies_refuse_template_syntax_in_keys_and_values() -> None:
    for policies in (
        {"Homepage": {"URL": "https://x/{{ a }}"}},
        {"Bookmarks": [{"{% if %}": "https://x/"}]},
        {"A": "{# x #}"},
    ):
        with pytest.raises(ValidationError, match="template syntax"):
            ClientProfile.model_validate({"description": "x", "browser_policies": policies})
    with pytest.raises(ValidationError, match="template syntax"):
        ClientProfile.model_validate({"description": "x", "office_policies": {"a": "{{ b }}"}})


@pytest.mark.parametrize(
    ("model", "data", "limit"),
    [
        (Site, {"id": "hq", "name": "x" * 256}, 255),
        (Interface, {"name": "eth0", "mode": "trunk", "networks": ["n"], "description": "x" * 241}, 240),
        (StaticRoute, {"prefix": "10.0.0.0/8", "next_hop": "10.1.1.1", "description": "x" * 81}, 80),
        (BgpNeighbor, {"address": "10.1.1.1", "remote_as": 65000, "description": "x" * 81}, 80),
        (AdminAccount, {"name": "ops", "ssh_keys": ["x" * 4097]}, 4096),
        (ClientProfile, {"description": "x", "browser_homepage": "x" * 2049}, 2048),
        (ClientProfile, {"description": "x", "browser_policies": {"A": ["x" * 2049]}}, 2048),
    ],
)
def test_text_length_is_bounded(model: type[BaseModel], data: dict[str, Any], limit: int) -> None:
    with pytest.raises(ValidationError, match=f"more than the {limit} allowed here"):
        model.model_validate(data)


def test_limits_fit_the_platforms() -> None:
    assert Interface.model_validate(
        {"name": "eth0", "mode": "trunk", "networks": ["n"], "description": "x" * 240}
    )
    assert BgpNeighbor.model_validate({"address": "10.1.1.1", "remote_as": 1, "description": "x" * 80})
    settings = {
        "password": "vault:a",
        "enable_secret": "vault:b",
        "snmp_auth": "vault:c",
        "snmp_priv": "vault:d",
    }
    assert NetworkSettings.model_validate({**settings, "banner": "x" * 1000})
    with pytest.raises(ValidationError, match="more than the 1000 allowed"):
        NetworkSettings.model_validate({**settings, "banner": "x" * 1001})


def test_text_that_pydantic_converts_is_checked_too() -> None:
    """Bytes become text in pydantic's lax mode: the checks still see the result."""
    with pytest.raises(ValidationError, match="template syntax"):
        TypeAdapter(SafeText).validate_python(b"{{ x }}")
    with pytest.raises(ValidationError, match="control character"):
        TypeAdapter(SafeText).validate_python(b"a\nb")


def test_a_huge_string_is_refused_before_it_is_scanned() -> None:
    with pytest.raises(ValueError, match="2097152 characters long"):
        TypeAdapter(SafeText).validate_python("\n" * 2 * 1024 * 1024)


@pytest.mark.parametrize(
    ("kind", "good"), [(IPv4, "10.42.24.10"), (IPv4Net, "10.42.24.0/24"), (IPv4If, "10.42.255.1/30")]
)
@pytest.mark.parametrize("bad", [170530826, 170530826.0, True, [10, 42, 24, 10], b"\n*\x18\n"])
def test_addresses_must_be_written_dotted(kind: Any, good: str, bad: object) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    assert str(adapter.validate_python(good)) == good
    with pytest.raises(ValidationError, match="write it as a dotted address"):
        adapter.validate_python(bad)


def test_an_integer_address_names_the_dotted_form() -> None:
    with pytest.raises(
        ValidationError, match=r"170530826 is a number, not an address.*e\.g\. 10\.42\.24\.10"
    ):
        TypeAdapter(IPv4).validate_python(170530826)


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_every_address_field_uses_the_dotted_types(model: type[BaseModel]) -> None:
    plain = (ipaddress.IPv4Address, ipaddress.IPv4Network, ipaddress.IPv4Interface)
    for name, leaf, metadata in field_leaves(model):
        if leaf in plain:
            assert _validated_by(metadata, "_dotted"), (
                f"{model.__name__}.{name} accepts integers as addresses"
            )


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_every_whole_number_is_bounded(model: type[BaseModel]) -> None:
    for name, leaf, metadata in field_leaves(model):
        if leaf is not int or (model is ClientProfile and name == "office_policies"):
            continue  # office policy numbers are bounded by their validator (tested below)
        constraints = [c for m in metadata for c in [m, *getattr(m, "metadata", [])]]
        assert any(hasattr(c, "le") or hasattr(c, "lt") for c in constraints), f"{model.__name__}.{name}"


def test_number_bounds() -> None:
    assert Routing.model_validate({"ospf_area": 4294967295}).ospf_area == 4294967295
    with pytest.raises(ValidationError):
        Routing.model_validate({"ospf_area": 2**32})
    office = ClientProfile.model_validate(
        {"description": "x", "office_policies": {"a": 3, "b": True, "c": "odf"}}
    )
    assert office.office_policies == {"a": 3, "b": True, "c": "odf"}
    with pytest.raises(ValidationError, match="out of range"):
        ClientProfile.model_validate({"description": "x", "office_policies": {"a": 2**31}})
    with pytest.raises(ValidationError, match="too large"):
        ClientProfile.model_validate({"description": "x", "browser_policies": {"a": 2**53}})
    with pytest.raises(ValidationError, match="finite"):
        ClientProfile.model_validate({"description": "x", "browser_policies": {"a": [float("nan")]}})


@pytest.mark.parametrize(
    ("mac", "why"),
    [
        ("ff:ff:ff:ff:ff:ff", "broadcast"),
        ("00:00:00:00:00:00", "all-zero"),
        ("01:00:5e:00:00:01", "multicast"),
        ("33:33:00:00:00:01", "multicast"),
        ("03:00:00:00:00:01", "multicast"),
    ],
)
def test_mac_must_be_unicast_and_non_zero(mac: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_mac(mac)


def test_locally_administered_unicast_macs_are_fine() -> None:
    assert check_mac("02:00:0a:29:00:14") == "02:00:0a:29:00:14"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"])
def test_known_time_zones(zone: str) -> None:
    assert check_timezone(zone) == zone


@pytest.mark.parametrize(
    "zone", ["../../etc/shadow", "/etc/shadow", "Europe/../../etc/shadow", "Europe/Schwerin", "localtime", ""]
)
def test_time_zone_must_be_in_the_tz_database(zone: str) -> None:
    with pytest.raises(ValueError, match="not a time zone"):
        check_timezone(zone)


def test_time_zone_form_is_checked_without_a_tz_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "time_zones", frozenset)
    assert check_timezone("Europe/Berlin") == "Europe/Berlin"
    for bad in ("../../etc/shadow", "/etc/shadow", "Europe/./Berlin", "localtime"):
        with pytest.raises(ValueError, match="not a time zone"):
            check_timezone(bad)


@pytest.mark.parametrize(
    "locale", ["de_DE.UTF-8", "de_DE", "en_US.utf8", "sr_RS@latin", "nds_DE.UTF-8", "C", "C.UTF-8", "POSIX"]
)
def test_well_formed_locales(locale: str) -> None:
    assert check_locale(locale) == locale


@pytest.mark.parametrize(
    "locale", ["../de_DE", "de-DE", "de_de.UTF-8", "de_DE.UTF-8 x", "/usr/lib/locale", ""]
)
def test_malformed_locales(locale: str) -> None:
    with pytest.raises(ValueError, match="not a locale name"):
        check_locale(locale)


def test_settings_use_the_checked_forms() -> None:
    assert (
        Settings.model_validate({"timezone": "Europe/Berlin", "locale": "de_DE.UTF-8"}).timezone
        == "Europe/Berlin"
    )
    with pytest.raises(ValidationError, match="not a time zone"):
        Settings.model_validate({"timezone": "../../etc/shadow"})


@pytest.mark.parametrize("path", ["vault/lup.yml", "vault/lup.yaml", "vault/lup/network.yml"])
def test_vault_file_below_vault(path: str) -> None:
    assert check_vault_file(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/shadow",
        "/etc/shadow",
        "vault/../lup.yml",
        "vault/./lup.yml",
        "vault//lup.yml",
        "vault/.lup.yml",
        "vault/lup",
        "vault/",
        "secrets/lup.yml",
        "lup.yml",
    ],
)
def test_vault_file_is_confined(path: str) -> None:
    with pytest.raises(ValueError, match="not a vault file of the inventory"):
        check_vault_file(path)
    with pytest.raises(ValidationError):
        VaultRef.model_validate({"vault_id": "lup", "file": path})


@pytest.mark.parametrize("path", ["/srv/shares/bauamt", "/srv/shares/amt-3/ablage_2024", "/srv/shares/a.b"])
def test_share_path_below_the_root(path: str) -> None:
    assert check_share_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "/etc",
        "/srv/shares",
        "/srv/shares/",
        "/srv/shares/../../etc",
        "/srv/shares/a/../../../etc",
        "/srv/shares/./a",
        "/srv/shares//a",
        "/srv/shares/a/",
        "/srv/sharesx/a",
        "srv/shares/a",
        "/srv/shares/.hidden",
    ],
)
def test_share_path_is_confined_and_normalised(path: str) -> None:
    with pytest.raises(ValidationError, match="not a share directory below /srv/shares"):
        FileShare.model_validate({"name": "a", "path": path, "group": "g"})
