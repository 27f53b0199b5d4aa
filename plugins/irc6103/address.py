"""Is this a taxpayer's address? 26 U.S.C. 6103(i)(2)(B)(i) requires a request to give the
name and address of each taxpayer: a street line with a number and a name (or a post
office box), a city, a state and a ZIP code. A ZIP code alone is not an address, nor is a
placeholder such as "Unknown Address" or "Failed to Provide", and a TIN never stands in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from registry.engine.compiled import twin

compiled = twin("registry_plugins.irc6103._address")

STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM "
    "MH PW AA AE AP".split()
)
_TWO_LETTERS = re.compile(r"[A-Za-z].*[A-Za-z]")
PO_BOX = re.compile(r"(?i)(?:p\.?\s*o\.?\s*box|post\s+office\s+box)\s*\#?\s*\d+")
ONE_LINE = re.compile(
    r"\s*(?P<street>[^,]+?)\s*,\s*(?P<city>[^,]+?)\s*,?\s+(?P<state>[A-Za-z]{2})\.?"
    r"\s+(?P<zip>\d{5}(?:-\d{4})?)\s*"
)
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
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_FIRST_WORDS = frozenset(
    "unknown address failed not none na n null nil don dont do no unavailable "
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
    word = _FIRST_WORD.search(stripped)  # the first run of letters: "(Unknown)" → "unknown"
    first = word.group().lower() if word else ""
    return first in _FIRST_WORDS and PLACEHOLDER.fullmatch(text) is not None


def _first(value: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        found = value.get(key)
        if found is not None:
            return found
    return None


def _house_number(token: str) -> bool:
    """ "12", "12A", "12-14", "1/2B": digits, an optional letter, one optional range."""
    if token[-1:].isalpha():
        token = token[:-1]
    for separator in "-/":
        if separator in token:
            first, _, second = token.partition(separator)
            return first.isdigit() and (second[:-1] if second[-1:].isalpha() else second).isdigit()
    return token.isdigit()


# Street names and cities repeat across records ("Main St", "Springfield"); their
# verdicts are remembered, up to a bound, so a bulk check pays for each spelling once.
_MEMO_LIMIT = 65_536
_names: dict[str, bool] = {}
_cities: dict[str, bool] = {}


def _remember(memo: dict[str, bool], text: str, verdict: bool) -> bool:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[text] = verdict
    return verdict


def _street_ok(street: str) -> bool:
    """A house number and a name that is not a placeholder, or a post office box."""
    parts = street.split(None, 1)
    if len(parts) == 2 and (parts[0].isdigit() or _house_number(parts[0])):
        name = parts[1]
        known = _names.get(name)
        if known is not None:
            return known
        return _remember(
            _names, name, _TWO_LETTERS.search(name) is not None and not is_placeholder(name)
        )
    return PO_BOX.fullmatch(street) is not None


def _city_ok(city: str) -> bool:
    known = _cities.get(city)
    if known is not None:
        return known
    bare = city.strip()
    letters = bare.replace(" ", "").replace(".", "").replace("'", "").replace("-", "")
    return _remember(
        _cities,
        city,
        len(letters) >= 2 and letters.isalpha() and letters.isascii() and not is_placeholder(bare),
    )


def _zip_ok(code: str) -> bool:
    if len(code) == 5:  # the usual case; with a space in it, it is no ZIP stripped either
        return code.isdigit() and code.isascii()
    code = code.strip()
    if len(code) == 5:
        return code.isdigit() and code.isascii()
    return len(code) == 10 and code[5] == "-" and (code[:5] + code[6:]).isdigit() and code.isascii()


def is_complete(value: Any) -> bool:
    """True when ``value`` is a complete U.S. street or post office box address.

    A street line must start with a house number and go on with a name ("12 Main St")
    that is not a placeholder ("123 Not Provided"), or be a post office box ("PO Box 7");
    the city must be a name, not a placeholder ("Unknown", "None"); the state a USPS code;
    the ZIP five digits, or ZIP+4. String methods, not regular expressions, do the work:
    records are checked in bulk.
    """
    if isinstance(value, dict):
        street = value.get("street")
        if street is None:
            street = _first(value, STREET_KEYS)
        zip_code = value.get("zip")
        if zip_code is None:
            zip_code = _first(value, ZIP_KEYS)
        city, state = value.get("city"), value.get("state")
    elif isinstance(value, str):
        match = ONE_LINE.fullmatch(value)
        if match is None:
            return False
        street, city, state, zip_code = match.group("street", "city", "state", "zip")
    else:
        return False
    if not (
        type(street) is str and type(city) is str and type(state) is str and type(zip_code) is str
    ):
        return False
    if state not in STATES and state.strip().upper().rstrip(".") not in STATES:
        return False
    return _zip_ok(zip_code) and _city_ok(city) and _street_ok(street.strip())


def suspects(records: Sequence[Any], parts: tuple[str, ...]) -> Sequence[int]:
    """Offsets of the records whose address (at ``parts``) ``is_complete`` must judge: all
    of them, or with the compiled twin, those not certainly complete by its fast path."""
    if compiled is None:
        return range(len(records))
    return compiled.unclear(records, parts, STATES, _cities, _names)
