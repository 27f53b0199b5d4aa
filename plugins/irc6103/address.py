"""Is this a taxpayer's address? 26 U.S.C. 6103(i)(2)(B)(i) requires a request to give the
name and address of each taxpayer: a street line with a number and a name (or a post
office box), a city, a state and a ZIP code. A ZIP code alone is not an address, nor is a
placeholder such as "Unknown Address" or "Failed to Provide", and a TIN never stands in.
"""

from __future__ import annotations

import re
from typing import Any

STREET = re.compile(r"^\s*\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?\s+(?=.*[A-Za-z]{2})\S.*$")
PO_BOX = re.compile(r"^\s*(?:p\.?\s*o\.?\s*box|post\s+office\s+box)\s*#?\s*\d+\s*$", re.I)
_NUMBER = re.compile(r"^\s*\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?\s+")
ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
CITY = re.compile(r"^(?=.*[A-Za-z].*[A-Za-z])[A-Za-z .'-]+$")
ONE_LINE = re.compile(
    r"^(?P<street>[^,]+),\s*(?P<city>[^,]+),\s*(?P<state>[A-Za-z]{2})\.?\s+(?P<zip>\d{5}(?:-\d{4})?)$"
)
STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM "
    "MH PW AA AE AP".split()
)
PLACEHOLDERS = frozenset(
    {
        "unknown",
        "unknown address",
        "address unknown",
        "failed to provide",
        "not provided",
        "none",
        "n a",
        "na",
        "null",
        "nil",
        "dont care",
        "do not care",
        "no address",
        "not available",
        "unavailable",
        "tbd",
        "to be determined",
        "same",
        "same as above",
        "see above",
        "refused",
        "withheld",
        "declined",
        "no fixed address",
        "homeless",
        "general delivery",
        "test",
        "sample",
        "address",
        "street",
        "redacted",
        "blank",
    }
)
STREET_KEYS = ("street", "line1", "street1", "address1", "address_line1")
ZIP_KEYS = ("zip", "zip_code", "postal_code", "zipcode")


_DROP = str.maketrans("", "", "'.,!?;:\"()[]{}#*_")


def normal(text: str) -> str:
    """Lowercase words without punctuation: "Don't care!" → "dont care"."""
    return " ".join(text.lower().replace("/", " ").translate(_DROP).split())


def is_placeholder(text: str) -> bool:
    flat = normal(text)
    return not flat or flat in PLACEHOLDERS or len(set(flat.replace(" ", ""))) == 1


def _first(value: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        found = value.get(key)
        if found is not None:
            return found
    return None


def is_complete(value: Any) -> bool:
    """True when ``value`` is a complete U.S. street or post office box address.

    A street line must start with a number and go on with a name ("12 Main St") that is
    not a placeholder ("123 Not Provided"), or be a post office box ("PO Box 7"); a city
    that is a placeholder ("Unknown", "None") is refused too.
    """
    if isinstance(value, dict):
        street = value.get("street")
        if street is None:
            street = _first(value, STREET_KEYS)
        city = value.get("city")
        state = value.get("state")
        zip_code = value.get("zip")
        if zip_code is None:
            zip_code = _first(value, ZIP_KEYS)
    elif isinstance(value, str):
        match = ONE_LINE.match(value.strip())
        if not match:
            return False
        street, city, state, zip_code = match.group("street", "city", "state", "zip")
    else:
        return False
    if not (
        type(street) is str and type(city) is str and type(state) is str and type(zip_code) is str
    ):
        return False
    return (
        (
            (STREET.match(street) is not None and not is_placeholder(_NUMBER.sub("", street)))
            or PO_BOX.match(street) is not None
        )
        and CITY.match(city) is not None
        and not is_placeholder(city)
        and state.strip().upper().rstrip(".") in STATES
        and ZIP.match(zip_code.strip()) is not None
    )
