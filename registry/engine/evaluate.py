"""Evaluate a transfer against one agreement version with every checker that applies.

The evaluator prepares each agreement version once (decoded checker tables, compiled
sets) and caches it. Each checker runs in isolation: an exception becomes a
``checker_failed`` reason and a denial, never an allowed transfer. Record checks run over
batches and their findings are merged: the first 1,000 record indexes per reason, with
the total.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from ..schemas import Agreement, Reason
from .checker import PLUGIN_FAILURES, Finding, Transfer, decode_table
from .plugins import Plugins

MAX_RECORD_INDEXES = 1000
CORE = "core"


@dataclasses.dataclass(slots=True)
class Policy:
    """One agreement version, ready to evaluate: the checkers that run and their state."""

    agreement_id: str
    version: int
    agreement: Agreement
    prepared: dict[str, Any]
    configs: dict[str, Any]
    runs: tuple[str, ...]
    missing: tuple[str, ...]
    broken: dict[str, str]
    term_end: datetime.date


class Evaluator:
    """Evaluates transfers; holds the plugins and a cache of prepared policies."""

    def __init__(
        self, plugins: Plugins, system_checkers: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.plugins = plugins
        self.system_checkers = {k: tuple(v) for k, v in (system_checkers or {}).items()}
        self._cache: dict[tuple[str, int, int], Policy] = {}

    def policy(self, agreement: Agreement, version: int) -> Policy:
        key = (agreement.id, version, id(agreement))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            found = self._cache[key] = self._prepare(agreement, version)
        return found

    def ready(self, agreements: Sequence[tuple[Agreement, int]], source_system: str) -> bool:
        """Whether checks under these agreement versions, from this system, would run no
        plugin code before the checkers themselves: every policy prepared (``prepare``,
        ``term_end`` and the table's decoding ran on its first check), and every checker
        the system requires too."""
        extra = self._installed_for(source_system)
        for agreement, version in agreements:
            policy = self._cache.get((agreement.id, version, id(agreement)))
            if policy is None:
                return False
            if any(n not in policy.prepared and n not in policy.broken for n in extra):
                return False
        return True

    def unprepared(
        self, agreement: Agreement, version: int, source_system: str, why: str
    ) -> Policy:
        """A policy whose preparation did not finish (a plugin's ``prepare`` hung): every
        checker that would run, the system's included, is broken with ``why``, so that
        the check denies; no plugin code runs. Not cached: the next check prepares again."""
        runs, missing = self._checkers(agreement)
        extra = self._installed_for(source_system)
        return Policy(
            agreement_id=agreement.id,
            version=version,
            agreement=agreement,
            prepared={},
            configs={},
            runs=tuple(runs),
            missing=tuple(missing),
            broken={name: why for name in (*runs, *extra)},
            term_end=agreement.expires,
        )

    def _installed_for(self, source_system: str) -> list[str]:
        """The installed checkers the data system requires for its own transfers."""
        return [
            n for n in self.system_checkers.get(source_system, ()) if n in self.plugins.checkers
        ]

    def _checkers(self, agreement: Agreement) -> tuple[list[str], list[str]]:
        """The checkers that run on ``agreement`` and the required ones not installed."""
        checkers = self.plugins.checkers
        wanted = [CORE, *agreement.required_checkers, *agreement.checkers]
        wanted += [name for name, c in checkers.items() if c.applies_to_all]
        runs: list[str] = []
        missing: list[str] = []
        for name in dict.fromkeys(wanted):
            (runs if name in checkers else missing).append(name)
        return runs, missing

    def _prepare(self, agreement: Agreement, version: int) -> Policy:
        runs, missing = self._checkers(agreement)
        prepared: dict[str, Any] = {}
        configs: dict[str, Any] = {}
        broken: dict[str, str] = {}
        term_end = agreement.expires
        for name in runs:
            extended = self._prepare_one(agreement, name, prepared, configs, broken)
            if extended is not None and extended > term_end:
                term_end = extended
        return Policy(
            agreement_id=agreement.id,
            version=version,
            agreement=agreement,
            prepared=prepared,
            configs=configs,
            runs=tuple(runs),
            missing=tuple(missing),
            broken=broken,
            term_end=term_end,
        )

    def _prepare_one(
        self,
        agreement: Agreement,
        name: str,
        prepared: dict[str, Any],
        configs: dict[str, Any],
        broken: dict[str, str],
    ) -> datetime.date | None:
        """Decode the checker's table and prepare it; a failure marks it broken (it then
        denies with checker_failed when it runs). Returns its extension of the term."""
        checker = self.plugins.checkers[name]
        try:
            config = configs[name] = decode_table(checker, agreement)
            prepared[name] = checker.prepare(agreement, config)
            return checker.term_end(agreement, config)
        except PLUGIN_FAILURES as exc:
            broken[name] = f"{type(exc).__name__}: {exc}"
            return None

    def checkers_for(
        self, policy: Policy, source_system: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(checkers that run, required checkers that are not installed) for a system."""
        extra = self.system_checkers.get(source_system, ())
        if not extra:
            return policy.runs, policy.missing
        runs, missing = list(policy.runs), list(policy.missing)
        for name in extra:
            if name in runs or name in missing:
                continue
            if name not in self.plugins.checkers:
                missing.append(name)
                continue
            runs.append(name)
            if name not in policy.prepared and name not in policy.broken:
                # a system's own requirement: prepared on first use, never extends the term
                self._prepare_one(
                    policy.agreement, name, policy.prepared, policy.configs, policy.broken
                )
        return tuple(runs), tuple(missing)

    def review_flags(self, policy: Policy, as_of: datetime.date) -> tuple[str, ...]:
        """Flags for the expiring list from the checkers that run on this agreement."""
        flags: list[str] = []
        for name in policy.runs:
            if name in policy.broken:
                flags.append(f"{name}.broken")
                continue
            try:
                found = self.plugins.checkers[name].review_flags(
                    policy.agreement, policy.configs.get(name), as_of
                )
                flags.extend(_code(name, flag) for flag in found)
            except PLUGIN_FAILURES:
                flags.append(f"{name}.broken")
        return tuple(flags)

    def transfer_reasons(
        self, policy: Policy, transfer: Transfer, runs: tuple[str, ...], missing: tuple[str, ...]
    ) -> list[Reason]:
        """Every objection of every checker to the transfer as a whole."""
        reasons = [
            Reason(
                code="checker_missing",
                checker=CORE,
                message=f"required checker '{name}' is not installed",
            )
            for name in missing
        ]
        checkers = self.plugins.checkers
        broken, prepared = policy.broken, policy.prepared
        for name in runs:
            if name in broken:
                reasons.append(_failed(name, f"could not read its table: {broken[name]}"))
                continue
            try:
                for finding in checkers[name].check_transfer(transfer, prepared[name]):
                    reasons.append(_reason(name, _valid(finding)))
            except PLUGIN_FAILURES as exc:
                reasons.append(_failed(name, f"{type(exc).__name__}: {exc}"))
        return reasons

    def feed_records(
        self,
        policy: Policy,
        transfer: Transfer,
        runs: tuple[str, ...],
        merged: RecordFindings,
        start: int,
        batch: Sequence[Mapping[str, Any]],
    ) -> None:
        """Check one batch of records with every checker that runs; merge the findings."""
        checkers = self.plugins.checkers
        broken, prepared = policy.broken, policy.prepared
        end = start + len(batch)
        for name in runs:
            if name in broken or merged.failed(name):
                continue
            try:
                for finding in checkers[name].check_records(transfer, prepared[name], batch, start):
                    _valid(finding, start, end)
                    merged.add(name, finding)
            except PLUGIN_FAILURES as exc:
                merged.fail(name, f"{type(exc).__name__}: {exc}")


class RecordFindings:
    """Record findings merged across batches, in the order first seen."""

    __slots__ = ("_failed", "_found")

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, str | None], list[Any]] = {}
        self._failed: dict[str, str] = {}

    def add(self, checker: str, finding: Finding) -> None:
        key = (checker, finding.code, finding.field)
        entry = self._found.get(key)
        indexes = finding.records or ()
        if entry is None:
            self._found[key] = [finding.message, list(indexes[:MAX_RECORD_INDEXES]), len(indexes)]
            return
        kept = entry[1]
        if len(kept) < MAX_RECORD_INDEXES:
            kept.extend(indexes[: MAX_RECORD_INDEXES - len(kept)])
        entry[2] += len(indexes)

    def fail(self, checker: str, message: str) -> None:
        self._failed[checker] = message

    def any(self) -> bool:
        """True when a record finding or a checker failure was merged."""
        return bool(self._found or self._failed)

    def failed(self, checker: str) -> bool:
        return checker in self._failed

    def reasons(self) -> list[Reason]:
        out = [
            Reason(
                code=_code(checker, code),
                checker=checker,
                message=message,
                field=field,
                records=tuple(indexes) if total else None,
                record_total=total if total else None,
            )
            for (checker, code, field), (message, indexes, total) in self._found.items()
        ]
        out.extend(_failed(name, message) for name, message in self._failed.items())
        return out


def _valid(finding: Any, start: int = 0, end: int | None = None) -> Finding:
    """A checker's finding, or TypeError: anything else would end up in the log."""
    if not isinstance(finding, Finding):
        raise TypeError(f"returned {type(finding).__name__}, not a Finding")
    if (
        not isinstance(finding.code, str)
        or not finding.code
        or not isinstance(finding.message, str)
    ):
        raise TypeError("returned a finding without a code or a message")
    if finding.field is not None and not isinstance(finding.field, str):
        raise TypeError("returned a finding whose field is not text")
    for index in finding.records or ():
        if type(index) is not int or index < start or (end is not None and index >= end):
            given = f" ({start} to {end - 1})" if end is not None else ""
            raise TypeError(
                f"returned record index {index!r}, outside the records it was given{given}"
            )
    return finding


def _code(checker: str, code: str) -> str:
    return code if checker == CORE else f"{checker}.{code}"


def _reason(checker: str, finding: Finding) -> Reason:
    indexes = finding.records
    return Reason(
        code=_code(checker, finding.code),
        checker=checker,
        message=finding.message,
        field=finding.field,
        records=tuple(indexes[:MAX_RECORD_INDEXES]) if indexes else None,
        record_total=len(indexes) if indexes else None,
    )


def _failed(checker: str, detail: str) -> Reason:
    return Reason(
        code="checker_failed",
        checker=checker,
        message=f"checker '{checker}' failed, so the transfer is denied: {detail}",
    )
