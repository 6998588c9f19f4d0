"""docs/grafana-dashboard.json as tests read it: the metric names its queries use."""

from __future__ import annotations

import json
import re
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
_METRIC_NAME = re.compile(r"\b(?:journey|temporal)_[a-z0-9_]+")


def dashboard_metric_names() -> set[str]:
    """Every `journey_*` and `temporal_*` name the dashboard's queries use, as written."""
    model = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            names.update(_METRIC_NAME.findall(target["expr"]))
    return names
