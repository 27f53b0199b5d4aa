"""Prometheus metrics: decisions by outcome and reason, and check latency.

Each app has its own collector registry (tests build many apps). With several worker
processes each reports its own counts; scrape every worker, or sum in Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from ..schemas import Decision

# Litestar adds "; charset=utf-8" to a text/ media type: naming it here would repeat it.
CONTENT_TYPE = "text/plain; version=0.0.4"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "registry_decisions",
            "Decisions made, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.reasons = Counter(
            "registry_denial_reasons",
            "Reasons given in denied decisions, by code",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "registry_check_seconds",
            "Time to decide and durably record a check",
            ["kind"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60),
            registry=self.registry,
        )

        # Each check counts once in each: the labelled children are looked up once.
        self._latency = {kind: self.latency.labels(kind) for kind in ("request", "stream")}
        self._outcomes = {
            True: self.decisions.labels("allowed"),
            False: self.decisions.labels("denied"),
        }

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            child = self._latency.get(kind) or self.latency.labels(kind)
            child.observe(time.perf_counter() - start)

    def decided(self, decision: Decision) -> None:
        self._outcomes[decision.allowed].inc()
        if decision.reasons:
            for code in {r.code for r in decision.reasons}:
                self.reasons.labels(code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
