"""JSON Schemas of the agreement and parties files, generated from the Structs.

The agreement schema includes the table schema of every installed checker plugin under
``checkers``, so an editor validates ``[checkers.irc6103]`` as strictly as the linter.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..schemas import Agreement, PartiesFile
from .plugins import Plugins

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def agreement_schema(plugins: Plugins) -> dict[str, Any]:
    configs = {name: c.config for name, c in sorted(plugins.checkers.items()) if c.config}
    (root, *tables), components = msgspec.json.schema_components(
        [Agreement, *configs.values()], ref_template="#/$defs/{name}"
    )
    agreement = components["Agreement"]
    agreement["properties"]["checkers"] = {
        "type": "object",
        "description": agreement["properties"]["checkers"].get("description", ""),
        "properties": dict(zip(configs, tables, strict=True)),
        "additionalProperties": False,
    }
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": "agreement.schema.json",
        "title": "Data-sharing agreement",
        **root,
        "$defs": components,
    }


def parties_schema() -> dict[str, Any]:
    (root,), components = msgspec.json.schema_components(
        [PartiesFile], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": "parties.schema.json",
        "title": "Parties to data-sharing agreements",
        **root,
        "$defs": components,
    }


def render(schema: dict[str, Any]) -> str:
    return (
        msgspec.json.format(msgspec.json.encode(schema, order="sorted").decode(), indent=2) + "\n"
    )
