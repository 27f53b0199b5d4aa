"""Names, field paths and key ids match their patterns whole: Python's ``$`` would also
match before a final newline, and "taxpayer.tin\\n" would pass as a second spelling of a
field, signed so in a receipt (registry.schemas.types)."""

from __future__ import annotations

import json

import msgspec
import pytest

from registry.checking import decode_request
from registry.errors import InvalidInput
from registry.schemas.receipt import KeyId
from registry.schemas.types import CheckerName, FieldPath, FieldPattern, Slug
from tests.checking.helpers import request


class _Names(msgspec.Struct):
    slug: Slug
    path: FieldPath
    pattern: FieldPattern
    checker: CheckerName


GOOD = {"slug": "dhs-ice", "path": "taxpayer.tin", "pattern": "return.*", "checker": "irc6103"}


def test_the_names_as_written_are_taken() -> None:
    assert msgspec.convert(GOOD, _Names) == _Names(**GOOD)


@pytest.mark.parametrize("name", sorted(GOOD))
@pytest.mark.parametrize("end", ["\n", "\n\n", "\r\n", " "])
def test_a_name_with_a_line_end_after_it_is_refused(name: str, end: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=f"at `\\$.{name}`"):
        msgspec.convert({**GOOD, name: GOOD[name] + end}, _Names)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fields", ["taxpayer.name", "taxpayer.address.zip\n"]),
        ("source_system", "irs-itin-address\n"),
        ("recipient", "dhs-ice\n"),
        ("agreement", "irs-ice-2025-mou\n"),
    ],
)
def test_a_check_naming_something_with_a_newline_after_it_is_invalid(
    field: str, value: object
) -> None:
    body = {**request(), field: value}
    for given in (body, json.dumps(body)):
        with pytest.raises(InvalidInput, match=field):
            decode_request(given)


def test_a_receipt_key_id_with_a_newline_after_it_is_refused() -> None:
    assert msgspec.convert("0123456789abcdef", KeyId) == "0123456789abcdef"
    with pytest.raises(msgspec.ValidationError, match="regex"):
        msgspec.convert("0123456789abcdef\n", KeyId)
