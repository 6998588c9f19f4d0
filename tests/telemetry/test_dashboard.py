"""docs/grafana-dashboard.json: a Grafana dashboard model reading the metrics on a
Prometheus data source chosen when it is imported, showing every engine metric and no
engine metric the code does not define. (That its SDK metrics exist on a real worker's
/metrics is checked in tests/cli/test_metrics_e2e.py.)"""

from __future__ import annotations

import json
from typing import Any

from journey.telemetry.metrics import METRICS
from tests.helpers.dashboard import DASHBOARD, dashboard_metric_names


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def test_the_dashboard_reads_a_prometheus_source_chosen_at_import() -> None:
    model = dashboard()
    assert model["uid"] and model["title"] and model["schemaVersion"] >= 36
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    queried = [p for p in model["panels"] if p["type"] != "row"]
    assert queried and all(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for p in queried)
    for panel in queried:
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"]), panel["title"]
        assert panel.get("description"), f"{panel['title']}: say what it shows"
    assert len({p["id"] for p in model["panels"]}) == len(model["panels"])


def test_the_dashboard_shows_every_engine_metric_and_only_those() -> None:
    used = {name for name in dashboard_metric_names() if name.startswith("journey_")}
    used = {name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for name in used}
    assert used == {spec.name for spec in METRICS}
