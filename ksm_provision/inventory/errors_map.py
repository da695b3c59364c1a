"""Turn pydantic validation errors into ``FILE:LINE: message — hint`` problems."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from ksm_provision.errors import Problem
from ksm_provision.inventory.source import Loc, SourceMap


def data_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Keep only the parts of a pydantic *loc* that index the document (drops union member tags)."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_sequence = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_sequence:
            kept.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and part == loc[-1]:
            kept.append(part)  # a missing or unknown key: still name it
    return tuple(kept)


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that describes the mapping at *loc*, where it can be followed."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if (
            not (isinstance(current, type) and issubclass(current, BaseModel))
            or part not in current.model_fields
        ):
            return None
        current = _inner_model(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe(error: Any, model: type[BaseModel], loc: Loc) -> tuple[str, str]:
    kind = error["type"]
    where = ".".join(str(p) for p in loc) or "the file"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'", "add it; `ksm schema` shows every key and its type"
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = sorted(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
        return f"unknown key '{loc[-1]}'", hint
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}", _hint_for(kind)


def _hint_for(kind: str) -> str:
    hints = {
        "string_type": "write text, quoted if it could be read as a number or yes/no",
        "int_type": "write a whole number, e.g. 110",
        "int_parsing": "write a whole number, e.g. 110",
        "bool_type": "write true or false",
        "list_type": "write a list, e.g. [a, b] or one '- item' per line",
        "dict_type": "write a mapping of 'key: value' lines",
        "model_type": "write a mapping of 'key: value' lines",
        "ip_v4_address": "e.g. 10.20.10.15",
        "ip_v4_network": "e.g. 10.20.10.0/24 (no host bits set)",
        "ip_v4_interface": "e.g. 10.20.255.1/30",
        "string_pattern_mismatch": "see `ksm schema` for the expected form",
        "enum": "use one of the listed values",
        "literal_error": "use one of the listed values",
        "greater_than_equal": "the value is too small",
        "less_than_equal": "the value is too large",
        "too_short": "add the missing items",
    }
    return hints.get(kind, "")


def problems_from_validation(
    exc: ValidationError, data: Any, source: SourceMap, model: type[BaseModel]
) -> list[Problem]:
    merged: dict[Loc, tuple[str, str]] = {}
    for error in exc.errors():
        loc = data_loc(data, tuple(error["loc"]))
        message, hint = _describe(error, model, loc)
        if loc in merged:  # a union: every member failed; keep one message per place
            continue
        merged[loc] = (message, hint)
    return [Problem(source.file, source.line_of(loc), msg, hint) for loc, (msg, hint) in merged.items()]
