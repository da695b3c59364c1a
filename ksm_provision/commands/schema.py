"""``ksm schema``: JSON Schema of both inventory file kinds, generated from the models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from pydantic import BaseModel

from ksm_provision.errors import relative_path
from ksm_provision.inventory.models import AuthorityFile, ProviderFile

#: Schema file name -> model; the sample files refer to them in their yaml-language-server modeline.
SCHEMAS: dict[str, type[BaseModel]] = {
    "provider.schema.json": ProviderFile,
    "authority.schema.json": AuthorityFile,
}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_text(model: type[BaseModel]) -> str:
    """The JSON Schema of *model* as the text committed under ``schema/`` (stable, ends with a newline)."""
    document = {"$schema": DIALECT, **model.model_json_schema()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_documents() -> dict[str, str]:
    """File name -> text of every schema."""
    return {name: schema_text(model) for name, model in SCHEMAS.items()}


@click.command("schema")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write provider.schema.json and authority.schema.json into DIR (e.g. schema/) instead of printing.",
)
@click.option(
    "--kind",
    type=click.Choice(["all", "provider", "authority"]),
    default="all",
    show_default=True,
    help="Which file kind to print (without --out).",
)
def schema_command(out_dir: Path | None, kind: str) -> None:
    """JSON Schema of the inventory format, for editors (yaml-language-server) and CI."""
    documents = schema_documents()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in documents.items():
            (out_dir / name).write_text(text, encoding="utf-8")
            click.echo(f"wrote {relative_path(out_dir / name)}")
        return
    if kind != "all":
        sys.stdout.write(documents[f"{kind}.schema.json"])
        return
    combined = {name.removesuffix(".schema.json"): json.loads(text) for name, text in documents.items()}
    sys.stdout.write(json.dumps(combined, indent=2, ensure_ascii=False) + "\n")
