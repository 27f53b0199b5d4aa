"""Request bodies decoded strictly, and documented in OpenAPI all the same.

Litestar converts bodies leniently (``"3"`` becomes ``3``); a check or an agreement must
be taken exactly as sent, so handlers read the raw bytes and decode them with the same
msgspec decoders as files and the CLI. ``documented`` puts the body's JSON Schema (from
the same Structs) into the route's OpenAPI operation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import msgspec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from ..checking import invalid_request

T = TypeVar("T")

# Components for request bodies, named "<Struct>Body" so that they never collide with the
# schemas litestar generates for the same Structs in answers.
COMPONENTS: dict[str, Any] = {}
_TEMPLATE = "#/components/schemas/{name}Body"


def decode(raw: bytes, struct: type[T]) -> T:
    """``raw`` JSON as ``struct``, strictly; InvalidInput names the bad field."""
    try:
        return msgspec.json.decode(raw, type=struct)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _invalid(str(exc)) from exc
    except RecursionError as exc:
        raise _invalid("the body is nested too deeply") from exc
    except UnicodeDecodeError as exc:  # msgspec, for a JSON string that is not UTF-8
        raise _invalid("the body is not UTF-8 text") from exc


def _invalid(message: str) -> Exception:
    exc = invalid_request(message)
    exc.args = (str(exc).replace("invalid check request", "invalid body"),)
    return exc


def schema_of(struct: type, example: Any = None) -> dict[str, Any]:
    """The JSON Schema of ``struct`` as a reference into the shared components."""
    (ref,), components = msgspec.json.schema_components([struct], ref_template=_TEMPLATE)
    for name, schema in components.items():
        COMPONENTS[f"{name}Body"] = schema
    if example is not None:
        return {"allOf": [ref], "examples": [example]}
    return ref


def documented(content: dict[str, dict[str, Any]], description: str) -> type[Operation]:
    """An Operation class whose request body is ``content`` (media type → JSON Schema)."""

    @dataclasses.dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={
                    media: OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]
                    for media, schema in content.items()
                },
                description=description,
                required=True,
            )

    return WithBody
