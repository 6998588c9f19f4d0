"""`journey health-score`: check and show the health score's definition (playbooks/health.toml),
and explain an account's score as the health sweep computed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from journey.cli.common import echo_json, json_option, open_store, table

file_option = click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A health-score file (default: playbooks/health.toml).",
)


@click.group(name="health-score")
def health_score() -> None:
    """Check and show the account health score: measures, weights and color thresholds."""


@health_score.command(name="validate")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def validate_command(path: Path | None) -> None:
    """Check a health-score FILE (default: playbooks/health.toml); problems name the key and line."""
    config = _load(path)
    weights = [config.utilization, config.consumption, config.mau_trend, config.nps, config.champion, config.time_in_stage]
    measures = sum(1 for measure in weights if measure.weight > 0)
    click.echo(f"{_name(path)}: ok (version {config.version}, {measures} weighted measures)")


@health_score.command(name="show")
@file_option
@json_option
def show_command(path: Path | None, as_json: bool) -> None:
    """Show each measure's weight, where its points run from and to, and the color thresholds."""
    config = _load(path)
    if as_json:
        echo_json(config.model_dump(mode="json"))
        return
    colors = config.colors
    click.echo(
        f"Health score {config.version}: green from {colors.green_from:g}, yellow from {colors.yellow_from:g}, "
        f"red below; judged when measures worth {colors.min_weight:g} of {config.total_weight():g} have data."
    )
    table(_measure_rows(config), ["measure", "weight", "points", "warning", "stages"])


@health_score.command(name="explain")
@click.argument("account")
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The score of the last sweep on or before this date (YYYY-MM-DD); default: the latest.",
)
@json_option
def explain_command(account: str, on: Any, as_json: bool) -> None:
    """Explain ACCOUNT's health score as the sweep computed it: each measure's value, data,
    weight, points and cap, the total, the color, and what changed since the sweep before."""
    store = open_store()
    try:
        current, previous = store.scores_of(account, on.date() if on is not None else None)
    finally:
        store.close()
    document = current.document(previous)
    if as_json:
        echo_json(document)
        return
    _print_explanation(current, document)


def _print_explanation(current: Any, document: dict[str, Any]) -> None:
    from journey.domain.health import shown_value

    score = "no score (too little data)" if current.score is None else f"score {current.score}"
    click.echo(
        f"{current.account} on {current.on}: {score}, {current.color.value} "
        f"(health config {current.config_version}, stage {current.stage.value})"
    )
    if current.manual is not None:
        manual = current.manual
        click.echo(f"Manual color {manual.color.value} until {manual.until}: {manual.reason}")
    rows = [
        {
            "measure": m.measure,
            "value": shown_value(m),
            "from": _data_text(m.data),
            "weight": f"{m.weight:g}",
            "points": f"{m.points:.1f}" if m.counted else None,
            "counted": "yes" if m.counted else f"no ({m.note})" if m.note else "no",
            "cap": m.cap.value if m.cap is not None else None,
        }
        for m in current.measures
    ]
    table(rows, ["measure", "value", "from", "weight", "points", "counted", "cap"])
    counted = [m for m in current.measures if m.counted]
    points, weight = sum(m.points for m in counted), sum(m.weight for m in counted)
    click.echo(f"Total: {points:.1f} of {weight:g} points counted -> {score}; reason: {current.reason}")
    previous = document["previous"]
    if previous is None:
        click.echo("Previous sweep: none")
        return
    shown = "no score" if previous["score"] is None else f"score {previous['score']}"
    click.echo(f"Previous sweep {previous['on']}: {shown}, {previous['color']}")
    for change in document["changes"] or ["nothing changed"]:
        click.echo(f"  {change}")


def _data_text(data: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return ", ".join(f"{key} {shown(value)}" for key, value in data.items() if value is not None and value != []) or "-"


def _load(path: Path | None) -> Any:
    from journey.config import health_config_path
    from journey.domain.health import load_health_config

    return load_health_config(path or health_config_path())


def _name(path: Path | None) -> str:
    if path is not None:
        return str(path)
    from journey.config import health_config_path

    return str(health_config_path())


def _measure_rows(config: Any) -> list[dict[str, Any]]:
    def linear(name: str, measure: Any, fmt: str) -> dict[str, Any]:
        warning = "; ".join(f"below {format(cap.below, fmt)}: at best {cap.color.value}" for cap in measure.caps)
        return {
            "measure": name,
            "weight": f"{measure.weight:g}",
            "points": f"0 at {format(measure.zero, fmt)} .. all at {format(measure.full, fmt)}",
            "warning": warning or None,
            "stages": ",".join(s.value for s in measure.stages) or "all",
        }

    nps = config.nps
    stay = config.time_in_stage
    limits = ", ".join(f"{stage.value} {days}d" for stage, days in stay.limits.items())
    return [
        linear("utilization", config.utilization, ".0%"),
        linear("consumption", config.consumption, ".0%"),
        linear("mau_trend (30 days)", config.mau_trend, "+.0%"),
        linear(f"nps ({nps.basis}, {nps.window_days} days)", nps, "+g"),
        {
            "measure": "champion",
            "weight": f"{config.champion.weight:g}",
            "points": "all with a champion contact",
            "warning": f"none: at best {config.champion.missing_cap.value}" if config.champion.missing_cap else None,
            "stages": "all",
        },
        {
            "measure": "time_in_stage",
            "weight": f"{stay.weight:g}",
            "points": f"all within the limit .. 0 at {stay.grace_days} days past it",
            "warning": f"past the limit ({limits}): at best {stay.over_color.value}",
            "stages": ",".join(stage.value for stage in stay.limits) or "none",
        },
    ]
