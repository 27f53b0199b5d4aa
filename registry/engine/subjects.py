"""Keyed hashes of the people records are about, for disclosure accounting.

The registry never stores a raw identifier. Each record's ``records.subject_key`` value is
normalised (trimmed; an identifier of digits, dashes and spaces keeps its digits only, so
"123-45-6789" and "123456789" are one person) and hashed with keyed BLAKE2b (16 bytes)
under a secret that lives outside the database. Without the secret, a stolen database
cannot be searched for a known identifier.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_DIGITS_ONLY = re.compile(r"^[\d\s-]+$")
DIGEST_SIZE = 16


def normalise(value: Any) -> str | None:
    """The canonical text of an identifier, or None when there is none.

    Text or a whole number only (a list or a table identifies nobody). Digits of any
    script become ASCII digits, dashes of any kind "-", and invisible format characters
    go; an identifier of digits, dashes and spaces keeps its digits only, so
    "123-45-6789", "123–45–6789", "123 45 6789" and "123456789" are one person.
    """
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        return None
    text: str | None = value.strip()
    if text is not None and not text.isascii():
        text = _plain(text)
    if text is None:
        return None
    if _DIGITS_ONLY.match(text):
        text = re.sub(r"[\s-]", "", text)
    return text or None


def _plain(text: str) -> str | None:
    """Non-ASCII text as one person is written in ASCII: digits of any script as ASCII
    digits, any dash (en dash, non-breaking hyphen, minus sign, full-width hyphen) as
    "-", invisible format characters (a byte order mark, a zero-width space, a soft
    hyphen) left out. None for text with a lone surrogate, which no UTF-8 can carry (a
    byte that was not UTF-8, read with surrogateescape)."""
    out = []
    for ch in text:
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
            continue
        kind = unicodedata.category(ch)
        if kind == "Cs":
            return None
        if kind == "Cf":
            continue
        out.append("-" if kind == "Pd" or ch == "\u2212" else ch)
    return "".join(out).strip()


def is_identifier(value: Any) -> bool:
    """True when ``value`` names a person: hashing it would give an accounting entry."""
    if type(value) is str and value.isdigit() and value.isascii():
        return True  # the common case, already normal
    return normalise(value) is not None


def key_id(key: bytes) -> str:
    """A key's public name: a 4-byte BLAKE2b digest of it, which does not reveal it."""
    return hashlib.blake2b(key, digest_size=4, person=b"key-id").hexdigest()


def _keyed(key: bytes) -> Any:
    if len(key) < 16 or len(key) > 64:
        raise ValueError("the subject key must be 16 to 64 bytes")
    return hashlib.blake2b(key=key, digest_size=DIGEST_SIZE)


class SubjectHasher:
    """Hashes identifiers under the current key; ``key_id`` names the key, not the secret.

    Retired keys, those a database used before a rotation, never hash new entries: they
    only let :meth:`digests` find a person in the entries made under them."""

    def __init__(self, key: bytes, retired: Sequence[bytes] = ()) -> None:
        self._keyed = _keyed(key)
        self.key_id = key_id(key)
        self._retired = {key_id(old): _keyed(old) for old in retired}
        self._retired.pop(self.key_id, None)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The current key's id, then the retired keys' ids."""
        return (self.key_id, *self._retired)

    @property
    def keyed(self) -> Any:
        """The keyed BLAKE2b state of the current key, for hashing many at once: copy it
        for each identifier, never update it."""
        return self._keyed

    def digest(self, value: Any) -> bytes | None:
        if type(value) is str and value.isdigit() and value.isascii():
            text = value  # the common case: already normal
        else:
            normal = normalise(value)
            if normal is None:
                return None
            text = normal
        hasher = self._keyed.copy()  # cheaper than keying a new hash each time
        hasher.update(text.encode())
        return hasher.digest()

    def digests(self, value: Any) -> dict[str, bytes]:
        """The identifier's hash under every key, by key id, to look a person up in
        entries made before and after a rotation; empty when it is no identifier."""
        text = normalise(value)
        if text is None:
            return {}
        keyed = {self.key_id: self._keyed, **self._retired}
        out = {}
        for name, base in keyed.items():
            hasher = base.copy()
            hasher.update(text.encode())
            out[name] = hasher.digest()
        return out
