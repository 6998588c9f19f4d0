"""Numbers as people read them: ratios as percentages, money with thousands separators,
NPS in points, counts as integers. Never scientific notation; a missing value is a dash.

The CLI's tables and the reports both use these, so a figure reads the same everywhere;
`--json` keeps the raw numbers.
"""

from __future__ import annotations

import math

MISSING = "-"

# Which formatter a figure named so takes (columns, summary keys, KPI fields).
PERCENT_FIELDS = frozenset(
    {
        "utilization", "consumption", "adoption", "adoption_target", "mean_consumption",
        "gross_retention", "net_retention", "renewal_rate", "mau_trend_30d", "mau_growth", "dau_mau",
    }
)
MONEY_FIELDS = frozenset({"arr", "arr_active", "starting_arr", "churned_arr", "contraction", "expansion"})
POINTS_FIELDS = frozenset({"nps"})


def _finite(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def percent(value: float | None, digits: int = 1) -> str:
    """A ratio as a percentage: 0.8125 -> '81.3%'."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{value * 100:,.{digits}f}%"


def change(value: float | None) -> str:
    """A relative change: -0.24 -> '-24.0%', 0.1 -> '+10.0%'."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return ("+" if value > 0 else "") + percent(value)


def money(value: float | int | None) -> str:
    """120000.0 -> '120,000'; cents only when there are any (1234.5 -> '1,234.50')."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def points(value: float | None) -> str:
    """NPS in points, -100..100: 14.2857 -> '14.3'."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return f"{value:,.1f}"


def plain(value: float | int | None) -> str:
    """Any other number: integers with separators, other floats to 4 significant places
    without exponent (1e-05 -> '0.00001', 123456.7 -> '123,456.7')."""
    if not _finite(value):
        return MISSING
    assert value is not None
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, 3 - magnitude)
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".")


def figure(field: str, value: object) -> str:
    """`value` of the figure named `field` as text: by the field's kind (percent, money,
    points), booleans and text as they are, lists joined with commas."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(figure(field, v) for v in value) or MISSING
    if isinstance(value, (int, float)):
        if field in PERCENT_FIELDS:
            return change(value) if field in ("mau_trend_30d", "mau_growth") else percent(value)
        if field in MONEY_FIELDS:
            return money(value)
        if field in POINTS_FIELDS:
            return points(value)
        return plain(value)
    return str(value)
