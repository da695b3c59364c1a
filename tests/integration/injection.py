"""A hostile inventory for the template-injection regression tests.

Validation refuses template syntax in free text, so these tests build the hostile inventory behind
validation's back (``model_copy`` does not validate): they prove the second line of defence, that
whatever text reaches Ansible stays data. Every free-text field is found from the models' own
annotations, so a field added later is covered without touching this file.

Used in-process by the tests and, as ``python -m tests.integration.injection``, as a
``sitecustomize`` stand-in for the inventory plugin running inside a real ``ansible`` process.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ksm_provision.inventory.inventory import Inventory, load_inventory

#: Prose with spaces and punctuation: a field that accepts it is free text (ids, names, addresses don't).
_PROSE = "Free text, with spaces: [x] (y) ä"


def payload(marker_dir: Path, where: str) -> str:
    """A template that would create ``marker_dir/<where>`` if Ansible ever evaluated it."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", where)
    return "{{ lookup('pipe', 'touch " + str(marker_dir / name) + "') }}"


@cache
def _accepts_prose(model: type[BaseModel], name: str, shape: str) -> bool:
    info = model.model_fields[name]
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    probe: Any = {"str": _PROSE, "list": [_PROSE], "dict": {"Key": _PROSE}}[shape]
    try:
        adapter.validate_python(probe)
    except ValidationError:
        return False
    return True


def _inject_tree(value: Any, marker_dir: Path, where: str) -> Any:
    if isinstance(value, str):
        return payload(marker_dir, where)
    if isinstance(value, dict):
        return {key: _inject_tree(item, marker_dir, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_inject_tree(item, marker_dir, f"{where}.{i}") for i, item in enumerate(value)]
    return value


def _shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "str"
    if isinstance(value, list) and value and not isinstance(value[0], BaseModel):
        return "list"
    if isinstance(value, dict) and value and not isinstance(next(iter(value.values())), BaseModel):
        return "dict"
    return None


def inject(model: BaseModel, marker_dir: Path, where: str, touched: list[str]) -> BaseModel:
    """A copy of *model* with a payload in every free-text value, recursively."""
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{where}.{name}"
        if isinstance(value, BaseModel):
            update[name] = inject(value, marker_dir, path, touched)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            update[name] = [inject(v, marker_dir, f"{path}.{i}", touched) for i, v in enumerate(value)]
        elif isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
            update[name] = {k: inject(v, marker_dir, f"{path}.{k}", touched) for k, v in value.items()}
        else:
            shape = _shape(value)
            if shape and _accepts_prose(type(model), name, shape):
                update[name] = _inject_tree(value, marker_dir, path)
                touched.append(path)
    return model.model_copy(update=update)


def hostile_inventory(root: Path, marker_dir: Path) -> tuple[Inventory, list[str]]:
    """The inventory at *root* with a payload in every free-text field; and the fields touched."""
    inventory = load_inventory(root)
    touched: list[str] = []
    provider = inject(inventory.provider, marker_dir, "ksm", touched)
    authorities = {
        aid: inject(authority, marker_dir, aid, touched) for aid, authority in inventory.authorities.items()
    }
    hostile = Inventory(
        inventory.root,
        provider,  # type: ignore[arg-type]
        inventory.provider_source,
        authorities,  # type: ignore[arg-type]
        inventory.sources,
        inventory.files,
    )
    return hostile, touched


def install_in_plugin() -> None:
    """Make the ksm inventory plugin of this process see the hostile inventory (sitecustomize)."""
    import ksm_provision.inventory.inventory as inventory_module
    import ksm_provision.validate as validate_module

    marker_dir = Path(os.environ["KSM_TEST_MARKER_DIR"])

    def load(root: Path) -> Inventory:
        return hostile_inventory_uncached(root, marker_dir)

    inventory_module.load_inventory = load  # type: ignore[assignment]
    validate_module.validate_inventory = lambda _inventory: []  # type: ignore[assignment]


def hostile_inventory_uncached(root: Path, marker_dir: Path) -> Inventory:
    return hostile_inventory(root, marker_dir)[0]
