"""`journey repair` and `journey list --stuck` in process, without a server: bad options exit
2 before anything is asked of Temporal, an unreachable Temporal exits 1 with one line."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result

from tests.cli.conftest import UNREACHABLE_TEMPORAL


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["repair"], "Missing argument 'ACCOUNT'"),
        (["repair", "acme", "--wait", "-1"], "--wait"),
        (["repair", "acme", "--yes=maybe"], "--yes"),
    ],
)
def test_repair_bad_options_exit_2(invoke: Callable[..., Result], args: list[str], says: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert says in result.output


@pytest.mark.parametrize("args", [["repair", "acme", "--yes"], ["list", "--stuck"], ["list", "--stuck", "--json"]])
def test_unreachable_temporal_exits_1_with_one_line(invoke: Callable[..., Result], args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach Temporal at"), result.output
    assert UNREACHABLE_TEMPORAL in lines[0]
