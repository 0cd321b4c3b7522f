"""Prometheus metrics of one app instance: requests by route template, database pool, job queue."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


class _PoolCollector(Collector):
    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.sync_engine.pool if self.engine is not None else None
        if not isinstance(pool, QueuePool):
            return
        for name, value, text in (
            ("omnifin_db_pool_size", pool.size(), "Connections the pool keeps open."),
            ("omnifin_db_pool_checked_out", pool.checkedout(), "Connections in use."),
            ("omnifin_db_pool_overflow", pool.overflow(), "Connections beyond the pool size."),
        ):
            family = GaugeMetricFamily(name, text)
            family.add_metric([], value)
            yield family


class Metrics:
    """One registry per app, so several apps (tests) never collide on global names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "omnifin_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "omnifin_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.job_queue_depth = Gauge(
            "omnifin_job_queue_depth",
            "Background jobs waiting (todo) or running (doing).",
            ["status"],
            registry=self.registry,
        )
        self._pool = _PoolCollector()
        self.registry.register(self._pool)

    def watch_engine(self, engine: AsyncEngine | None) -> None:
        self._pool.engine = engine

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
