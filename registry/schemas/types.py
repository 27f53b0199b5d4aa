"""Named constrained types reused by every Struct (and so by the JSON Schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

# Python's ``$`` (msgspec searches with ``re``) also matches before a final newline, which
# would let "taxpayer.tin\n" through as a second spelling of a field, signed as such in a
# receipt; ``(?!\n)`` refuses it and means nothing to a JSON Schema's ECMAScript ``$``.
_END = r"(?!\n)$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*" + _END
FIELD_PATH_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*" + _END
FIELD_PATTERN_PATTERN = r"^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*" + _END
CHECKER_NAME_PATTERN = r"^[a-z][a-z0-9_]*" + _END
# An agreement version as a caller names it (If-Match, --expect): ASCII digits only, since
# str.isdigit() also takes "²", and short enough for int().
VERSION_NUMBER = r"[1-9][0-9]{0,8}"

Slug = Annotated[
    str,
    Meta(
        pattern=SLUG_PATTERN,
        max_length=120,
        description=(
            "Lowercase identifier: letters, digits and hyphens, starting with a letter or digit."
        ),
        examples=["irs-ice-2025-mou"],
    ),
]
FieldPath = Annotated[
    str,
    Meta(
        pattern=FIELD_PATH_PATTERN,
        max_length=300,
        description=(
            "Dotted, hierarchical field name. 'taxpayer.address' covers 'taxpayer.address.zip' "
            "but not 'taxpayer.address_history'."
        ),
        examples=["taxpayer.address"],
    ),
]
FieldPattern = Annotated[
    str,
    Meta(
        pattern=FIELD_PATTERN_PATTERN,
        max_length=300,
        description="A field path whose segments may use '*' as a wildcard ('return.*').",
        examples=["return.*"],
    ),
]
CheckerName = Annotated[
    str,
    Meta(
        pattern=CHECKER_NAME_PATTERN,
        max_length=60,
        description="Stable name of a checker plugin, such as 'irc6103'.",
    ),
]
Text = Annotated[str, Meta(min_length=1, max_length=10_000, description="Non-empty text.")]
ShortText = Annotated[str, Meta(min_length=1, max_length=500)]
Count = Annotated[int, Meta(ge=0, le=2**53, description="A whole number, zero or more.")]
Days = Annotated[int, Meta(ge=1, le=36_500, description="A number of days, one or more.")]
NoticeDays = Annotated[int, Meta(ge=0, le=36_500, description="A number of days, zero or more.")]
PositiveCount = Annotated[int, Meta(ge=1, le=10_000)]

AgreementKind = Literal["mou", "isa", "cma", "dua", "other"]
AgreementStatus = Literal["draft", "active", "suspended", "terminated"]
Redisclosure = Literal["prohibited", "permitted", "as-required-by-law"]
SafeguardStatus = Literal["compliant", "cap_accepted", "open_findings"]
Severity = Literal["error", "warning"]
