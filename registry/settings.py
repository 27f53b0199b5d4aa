"""Settings from the environment. Nothing is read at import time."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from .errors import ConfigError


def default_data_dir() -> Path:
    """``$REGISTRY_DATA_DIR``, else ``$XDG_DATA_HOME/registry``, else
    ``~/.local/share/registry``."""
    if os.environ.get("REGISTRY_DATA_DIR"):
        return Path(os.environ["REGISTRY_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "registry"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where the data lives and which plugins load.

    ``REGISTRY_DATABASE_URL``: SQLAlchemy URL; default an SQLite file in the data folder.
    ``REGISTRY_PLUGINS_DIR``: a folder of one-off plugin files (``*.py``).
    ``REGISTRY_SUBJECT_KEY`` / ``REGISTRY_SUBJECT_KEY_FILE``: the secrets for subject hashes,
    the current key first, then retired ones.
    ``REGISTRY_SIGNING_KEY_FILE``: the Ed25519 private key that signs receipts.
    ``REGISTRY_CHECK_TIMEOUT``: seconds a check's checkers may take before it is denied.
    ``REGISTRY_SYSTEM_CHECKERS``: checkers each source system must run, as
    ``system=checker,checker;system=checker``.
    """

    database_url: str
    plugins_dir: str | None = None
    subject_key: str | None = None
    subject_key_file: str | None = None
    signing_key_file: str | None = None
    check_timeout: float = 10.0
    system_checkers: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_env(cls, database_url: str | None = None, plugins_dir: str | None = None) -> Settings:
        url = database_url or os.environ.get("REGISTRY_DATABASE_URL")
        if not url:
            url = f"sqlite:///{default_data_dir() / 'registry.db'}"
        return cls(
            database_url=url,
            plugins_dir=plugins_dir or os.environ.get("REGISTRY_PLUGINS_DIR") or None,
            subject_key=os.environ.get("REGISTRY_SUBJECT_KEY") or None,
            subject_key_file=os.environ.get("REGISTRY_SUBJECT_KEY_FILE") or None,
            signing_key_file=os.environ.get("REGISTRY_SIGNING_KEY_FILE") or None,
            check_timeout=_seconds(os.environ.get("REGISTRY_CHECK_TIMEOUT", "10")),
            system_checkers=parse_system_checkers(os.environ.get("REGISTRY_SYSTEM_CHECKERS", "")),
        )

    def subject_keys(self) -> tuple[bytes, ...]:
        """The secrets for subject hashes, the current key first, then any retired keys
        (kept to look people up in entries hashed before a rotation).

        ``REGISTRY_SUBJECT_KEY`` (hex; several separated by commas), else the key file
        (``REGISTRY_SUBJECT_KEY_FILE``, default ``subject.key`` in the data folder; one key
        a line, ``#`` starts a comment), created with 32 random bytes on first use and
        readable by its owner only."""
        if self.subject_key:
            texts = self.subject_key.split(",")
            return _keys("REGISTRY_SUBJECT_KEY", "key", enumerate(texts, 1), len(texts) > 1)
        path = (
            Path(self.subject_key_file)
            if self.subject_key_file
            else (default_data_dir() / "subject.key")
        )
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        lines = [
            (n, text)
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if (text := line.partition("#")[0]).strip()
        ]
        return _keys(f"the subject key file {path}", "line", lines, len(lines) > 1)

    def signing_key_path(self) -> Path:
        """The private key that signs receipts: ``REGISTRY_SIGNING_KEY_FILE``, default
        ``signing-key.pem`` in the data folder (created on first use, owner-only)."""
        if self.signing_key_file:
            return Path(self.signing_key_file)
        return default_data_dir() / "signing-key.pem"


def _keys(
    where: str, unit: str, texts: Iterable[tuple[int, str]], numbered: bool
) -> tuple[bytes, ...]:
    """Each numbered hex text as a key. Errors name the place of a bad key (``where``,
    and its ``unit`` and number when there are several), never its text."""
    keys: dict[bytes, int] = {}
    for n, text in texts:
        place = f"{where}, {unit} {n}," if numbered else where
        key = _key(text.strip(), place)
        if key in keys:
            raise ConfigError(f"{place} repeats {unit} {keys[key]}: give each key once")
        keys[key] = n
    if not keys:
        raise ConfigError(f"{where} holds no key")
    return tuple(keys)


def _key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise ConfigError(f"{where} must be hexadecimal (32 to 128 hex digits)") from exc
    if not 16 <= len(key) <= 64:
        raise ConfigError(f"{where} must be 32 to 128 hex digits (16 to 64 bytes)")
    return key


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(
            f"REGISTRY_CHECK_TIMEOUT must be a number of seconds, not {text!r}"
        ) from exc
    if not 0 < value <= 3600:
        raise ConfigError("REGISTRY_CHECK_TIMEOUT must be between 0 and 3600 seconds")
    return value


def parse_system_checkers(text: str) -> dict[str, tuple[str, ...]]:
    """``"irs-itin-address=irc6103,house;ssa-sves=privacy_act"`` → checkers per system."""
    out: dict[str, tuple[str, ...]] = {}
    for part in text.split(";"):
        system, _, names = part.partition("=")
        if system.strip() and names.strip():
            out[system.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
    return out
