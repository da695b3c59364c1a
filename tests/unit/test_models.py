"""The inventory models: unknown keys, safe text everywhere text reaches a device or config file."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from ksm_provision.inventory import models
from ksm_provision.inventory.models import (
    AuthorityFile,
    ClientProfile,
    Interface,
    KsmModel,
    ProviderFile,
    Site,
)
from ksm_provision.inventory.types import check_hostname, check_mac, check_safe_text, check_secret_ref


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
