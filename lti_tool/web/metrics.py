"""Prometheus metrics. Under gunicorn set PROMETHEUS_MULTIPROC_DIR so every worker is counted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LAUNCHES = Counter("integrationsloeft_launches_total", "LTI launches by outcome and refusal reason",
                   ["outcome", "reason"])
REQUEST_SECONDS = Histogram("integrationsloeft_request_seconds", "Request latency by endpoint",
                            ["endpoint", "method", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SCORES = Counter("integrationsloeft_scores_total", "Score deliveries by outcome", ["outcome"])
DELIVERY_SECONDS = Histogram("integrationsloeft_score_delivery_seconds",
                             "Time from a score's submission to its acceptance by the LMS",
                             buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600))
DEPENDENCY_UNAVAILABLE = Counter(
    "integrationsloeft_dependency_unavailable_total",
    "Requests answered 503 and grade-worker rounds that failed because a dependency did not answer",
    ["dependency", "component"])
CACHE = Counter("integrationsloeft_cache_total", "Platform JWKS and access-token cache lookups",
                ["cache", "result"])


class OutboxCollector(Collector):
    """Outbox depth and the age of the oldest waiting score, read from the database at scrape time."""

    def __init__(self, read: Any) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The outbox depth and the oldest waiting score's age, read now."""
        depth, oldest_age = self._read()
        yield GaugeMetricFamily("integrationsloeft_outbox_depth", "Scores waiting for delivery", value=depth)
        yield GaugeMetricFamily("integrationsloeft_outbox_oldest_seconds", "Age of the oldest waiting score",
                                value=oldest_age)


class _ProcessMetrics(Collector):
    """This process's own counters (used when not running under multiprocess gunicorn)."""

    def collect(self) -> Iterator[Any]:
        """This process's registered metrics."""
        yield from REGISTRY.collect()


def render(read_outbox: Any) -> bytes:
    """The exposition text: every worker's counters, plus the outbox read now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    registry.register(OutboxCollector(read_outbox))
    return generate_latest(registry)
