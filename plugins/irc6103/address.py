"""Is this a taxpayer's address? 26 U.S.C. 6103(i)(2)(B)(i) requires a request to give the
name and address of each taxpayer: a street line with a number and a name (or a post
office box), a city, a state and a ZIP code. A ZIP code alone is not an address, nor is a
placeholder such as "Unknown Address" or "Failed to Provide", and a TIN never stands in.
"""

from __future__ import annotations

import re
from typing import Any

STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM "
    "MH PW AA AE AP".split()
)
_STREET = (
    r"\s*(?:\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?\s+(?P<name>[^\x1f]*?[A-Za-z]{2}[^\x1f]*?)"
    r"|(?i:p\.?\s*o\.?\s*box|post\s+office\s+box)\s*\#?\s*\d+)\s*"
)
_CITY = r"\s*(?P<city>[A-Za-z][A-Za-z .'-]*[A-Za-z]\.?)\s*"
_STATE = r"\s*(?P<state>[A-Za-z]{2})\.?\s*"
_ZIP = r"\s*\d{5}(?:-\d{4})?\s*"
# One match for the dict form (parts joined by \x1f) and one for the one-line form.
ADDRESS = re.compile(_STREET + "\x1f" + _CITY + "\x1f" + _STATE + "\x1f" + _ZIP)
ONE_LINE = re.compile(_STREET.replace("\\x1f", ",") + "," + _CITY + ",?" + _STATE + _ZIP)
PLACEHOLDER = re.compile(
    r"(?i)\W*(?:unknown(?:\W+address)?|address\W+unknown|failed\W+to\W+provide"
    r"|not\W+provided|none|n\W*a|null|nil|don\W?t\W+care|do\W+not\W+care|no\W+address"
    r"|not\W+available|unavailable|tbd|to\W+be\W+determined|same(?:\W+as\W+above)?"
    r"|see\W+above|refused|withheld|declined|no\W+fixed\W+address|homeless"
    r"|general\W+delivery|test|sample|address|street|redacted|blank|(\w)\1*)\W*"
)
STREET_KEYS = ("street", "line1", "street1", "address1", "address_line1")
ZIP_KEYS = ("zip", "zip_code", "postal_code", "zipcode")


# First words of the placeholders PLACEHOLDER matches: most text is ruled out by its first
# word alone, and the full pattern runs only for the rest.
_FIRST_WORDS = frozenset(
    "unknown address failed not none n/a na n.a n null nil don't dont do no unavailable "
    "tbd to same see refused withheld declined homeless general test sample street "
    "redacted blank".split()
)


def is_placeholder(text: str) -> bool:
    """ "Unknown Address", "N/A", "Don't care", "xxxx" and the like (any case)."""
    stripped = text.strip()
    if not stripped:
        return True
    if stripped.count(stripped[0]) == len(stripped):
        return True
    first = stripped.split(None, 1)[0].lower().strip(".,;:!?-\"'")
    return first in _FIRST_WORDS and PLACEHOLDER.fullmatch(text) is not None


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
    that is a placeholder ("Unknown", "None") is refused too. One regular expression
    checks the four parts; records are checked in bulk, so this stays cheap.
    """
    if isinstance(value, dict):
        street = value.get("street")
        if street is None:
            street = _first(value, STREET_KEYS)
        zip_code = value.get("zip")
        if zip_code is None:
            zip_code = _first(value, ZIP_KEYS)
        city, state = value.get("city"), value.get("state")
        if not (
            type(street) is str
            and type(city) is str
            and type(state) is str
            and type(zip_code) is str
        ):
            return False
        if "\x1f" in street or "\x1f" in city or "\x1f" in state:
            return False
        match = ADDRESS.fullmatch(f"{street}\x1f{city}\x1f{state}\x1f{zip_code}")
    elif isinstance(value, str):
        match = ONE_LINE.fullmatch(value)
    else:
        return False
    if match is None or match.group("state").upper() not in STATES:
        return False
    name = match.group("name")
    return (name is None or not is_placeholder(name)) and not is_placeholder(match.group("city"))
