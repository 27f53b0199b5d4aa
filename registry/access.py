"""API tokens: issued once, stored as a hash, bound to a role (and a system token to its
data system), expiring and revocable.

A token reads ``rgt_<id>_<secret>``. The id is public (it names the token in lists and
logs); the secret is 32 random bytes and only its SHA-256 is stored, compared in constant
time. A hash without a salt or a slow function is right here: the secret is random, not a
password, so there is nothing to guess.

Validated tokens are remembered for a few seconds (``cache_seconds``) so that a busy
system does not read the token table on every request; a revocation made in another
process therefore takes effect within that time, and at once in this one.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable

import msgspec

from .errors import InvalidInput, NotFound
from .schemas.access import ROLES, IssuedToken, Principal, Role, TokenInfo
from .schemas.types import SLUG_PATTERN
from .store import Database
from .store import tokens as rows

PREFIX = "rgt"
_TOKEN = re.compile(rf"{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
_SLUG = re.compile(SLUG_PATTERN)
_CACHE_LIMIT = 10_000
_DUMMY_HASH = "0" * 64


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens:
    """Issue, list, revoke and check API tokens stored in the registry's database."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime.datetime] = _now,
        cache_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal, datetime.datetime | None]] = {}
        self._lock = threading.Lock()
        self._revocations = 0  # so that a validation that raced a revocation is not kept

    def create(
        self,
        role: str,
        *,
        name: str,
        by: str,
        system: str | None = None,
        expires_in: datetime.timedelta | None = None,
    ) -> IssuedToken:
        """A new token; its secret is in the result and nowhere else."""
        checked = _role(role)
        if checked == "system" and not system:
            raise InvalidInput("a system token needs --system: the data system it speaks for")
        if checked != "system" and system:
            raise InvalidInput(f"only a system token is bound to a system, not a {role} token")
        if system is not None and not _SLUG.match(system):
            raise InvalidInput(f"system {system!r} is not an id (lowercase letters, digits, -)")
        if not name.strip() or len(name) > 200:
            raise InvalidInput("a token needs a name of 1 to 200 characters: who holds it")
        if expires_in is not None and expires_in <= datetime.timedelta(0):
            raise InvalidInput("a token's lifetime must be positive")
        created = self.clock()
        info = TokenInfo(
            token_id=secrets.token_hex(6),
            name=name.strip(),
            role=checked,
            system=system,
            created_at=created,
            created_by=by,
            expires_at=created + expires_in if expires_in is not None else None,
        )
        secret = secrets.token_urlsafe(32)
        with self.db.write() as session:
            rows.insert(session, info, _hash(secret))
        return IssuedToken(token=f"{PREFIX}_{info.token_id}_{secret}", info=info)

    def list(self) -> list[TokenInfo]:
        with self.db.read() as session:
            return rows.all_tokens(session)

    def revoke(self, token_id: str, *, by: str) -> TokenInfo:
        with self.db.write() as session:
            if not rows.revoke(session, token_id, self.clock(), by):
                raise NotFound(f"no token '{token_id}'")
            found = rows.find(session, token_id)
        with self._lock:
            self._revocations += 1
            self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}
        assert found is not None
        return found[0]

    def remembered(self, token: str) -> Principal | None:
        """The caller ``token`` speaks for if it was validated within the last
        ``cache_seconds`` (and has not expired since), without touching the database; None
        otherwise (then call :meth:`authenticate`)."""
        cached = self._cache.get(_hash(token))
        if cached is None:
            return None
        seen, principal, expires_at = cached
        if time.monotonic() - seen >= self.cache_seconds:
            return None
        if expires_at is not None and self.clock() >= expires_at:
            return None
        return principal

    def authenticate(self, token: str) -> Principal | None:
        """The caller ``token`` speaks for, or None when it is unknown, malformed, expired or
        revoked. The reason is not told apart: a caller learns nothing from a refusal."""
        remembered = self.remembered(token)
        if remembered is not None:
            return remembered
        now = self.clock()
        key = _hash(token)
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        revocations = self._revocations
        with self.db.read() as session:
            found = rows.find(session, token_id)
        stored = found[1] if found is not None else _DUMMY_HASH
        if not hmac.compare_digest(stored, _hash(secret)) or found is None:
            return None
        info = found[0]
        if not info.active(now):
            return None
        principal = Principal(
            token_id=info.token_id, name=info.name, role=info.role, system=info.system
        )
        with self._lock:
            if self._revocations != revocations:
                return principal  # read before a revocation here: valid then, not kept
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (time.monotonic(), principal, info.expires_at)
        return principal


def _role(role: str) -> Role:
    try:
        return msgspec.convert(role, Role)
    except msgspec.ValidationError:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}") from None
