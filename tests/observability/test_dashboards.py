"""The provisioned Grafana dashboards ask only for metrics that exist: the app's own /metrics
names, or the collector's span metrics of spans (and attributes) the code makes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from api.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
_METRIC = re.compile(r"\b(omnifin_[a-z_]+)")
# Label names (in `by (...)` and in `{...}` matchers) are not metrics.
_LABELS = re.compile(r"\bby \([^)]*\)|\{[^}]*\}")
_SPAN_METRIC = re.compile(r"^omnifin_spans_(calls_total|duration_milliseconds_bucket)$")


def _app_metric_names() -> set[str]:
    metrics = Metrics()
    metrics.observe_request("GET", "/x", 200, 0.01)
    metrics.job_queue_depth.labels("todo").set(0)
    names = set()
    for family in metrics.registry.collect():
        names |= {sample.name for sample in family.samples}
    return names | {"omnifin_db_pool_size", "omnifin_db_pool_checked_out"}  # with an engine


def test_every_panel_queries_a_metric_that_exists() -> None:
    known = _app_metric_names()
    dashboards = sorted((OBSERVABILITY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        panels = json.loads(path.read_text())["panels"]
        assert panels
        for panel in panels:
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                names = set(_METRIC.findall(_LABELS.sub("", target["expr"])))
                assert names, target["expr"]
                unknown = {n for n in names if n not in known and not _SPAN_METRIC.match(n)}
                assert not unknown, (panel["title"], unknown)


def test_span_metric_dimensions_are_attributes_the_code_sets() -> None:
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    dimensions = [d["name"] for d in config["connectors"]["spanmetrics"]["dimensions"]]
    sources = "\n".join(
        path.read_text()
        for folder in ("agents", "lending")
        for path in (ROOT / folder).rglob("*.py")
    )
    # server.address is the httpx instrumentation's; the rest are ours.
    ours = [name for name in dimensions if name != "server.address"]
    missing = [name for name in ours if f'"{name}"' not in sources]
    assert not missing
    assert config["service"]["pipelines"]["metrics"]["receivers"] == ["spanmetrics"]
