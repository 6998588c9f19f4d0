"""`journey health-score explain` after real sweeps on the time-skipping server.

An account in steady use loses users in May. The sweep of May 10 finds it green; the sweep
of May 25 finds MAU down more than 20% in 30 days and utilization under target: yellow.
`explain --json` shows the score as that sweep computed it: the points add up to the score,
utilization is MAU / seats as docs/metrics.md defines it, the color is the journey's, and
the changes since May 10 name the cap and the score. The Web UI's current details of the
now-yellow journey lead with that reason, and with a hand-set color's reason and expiry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner, Result
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from journey.domain import names
from journey.domain.names import remediation_workflow_id
from journey.domain.text import markdown
from journey.store import Store
from journey.temporal.journeys import enroll_one, send_event
from tests.helpers.journeys import status_of
from tests.helpers.markdown import assert_shows_as_text
from tests.helpers.stores import add_usage
from tests.workflows.test_health_sweep import SEATS, START, Calendar, make_account, mau_on, sweep, usage_rows

GREEN_DAY = date(2026, 5, 10)
YELLOW_DAY = date(2026, 5, 25)


@pytest.fixture
def explain(store: Store, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`journey health-score explain ARGS...` in process, against the test's store."""
    from cli import main

    monkeypatch.setenv("JOURNEY_DATABASE_URL", store.url.render_as_string(hide_password=False))

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["health-score", "explain", *args], catch_exceptions=False)

    return run


def document(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.asyncio(loop_scope="session")
async def test_explain_reads_the_sweeps_score(
    env: WorkflowEnvironment, store: Store, worker: object, task_queue: str, explain: Callable[..., Result]
) -> None:
    account = make_account("acct-explain")
    add_usage(store, usage_rows(account.id))
    assert await enroll_one(env.client, account, today=START, task_queue=task_queue)
    handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
    try:
        await status_of(handle)
        never = explain(account.id, "--json")
        assert never.exit_code == 2 and "journey schedule trigger health" in never.output
        unknown = explain("nobody", "--json")
        assert unknown.exit_code == 2 and "no account 'nobody'" in unknown.output

        calendar = await Calendar.of(env, handle)
        for day in (GREEN_DAY, YELLOW_DAY):
            await calendar.advance_to(day)
            assert (await sweep(env, task_queue, day)).failed == 0
        status = await status_of(handle)

        explained = document(explain(account.id, "--json"))
        assert {"account", "on", "score", "color", "manual_color", "config_version", "measures", "previous",
                "changes"} <= set(explained)
        assert explained["account"] == account.id and explained["on"] == YELLOW_DAY.isoformat()
        assert explained["config_version"] == "2026.1" and explained["manual_color"] is None
        measures = {m["measure"]: m for m in explained["measures"]}
        assert list(measures) == ["utilization", "consumption", "mau_trend", "nps", "champion", "time_in_stage"]
        for measure in measures.values():
            assert {"measure", "value", "weight", "points", "counted", "cap"} <= set(measure)
        counted = [m for m in measures.values() if m["counted"]]
        total = 100 * sum(m["points"] for m in counted) / sum(m["weight"] for m in counted)
        assert abs(total - explained["score"]) <= 0.5
        # docs/metrics.md: utilization = latest mau on or before the day / licensed seats.
        assert round(measures["utilization"]["value"], 4) == round(mau_on(YELLOW_DAY) / SEATS, 4)
        assert measures["utilization"]["data"]["mau_date"] == YELLOW_DAY.isoformat()
        assert measures["mau_trend"]["cap"] == "yellow" and measures["nps"]["counted"] is False
        assert explained["color"] == status.health.value == "yellow"

        before = explained["previous"]
        assert before["on"] == GREEN_DAY.isoformat() and before["color"] == "green"
        trend = f"{measures['mau_trend']['value']:+.0%}"
        assert f"mau_trend {trend} → cap yellow" in explained["changes"]
        assert f"score {before['score']} → {explained['score']}" in explained["changes"]
        assert "color green → yellow" in explained["changes"]

        then = document(explain(account.id, "--on", GREEN_DAY.isoformat(), "--json"))
        assert (then["on"], then["color"], then["previous"], then["changes"]) == (GREEN_DAY.isoformat(), "green", None, [])
        early = explain(account.id, "--on", "2026-05-01")
        assert early.exit_code == 2 and "on or before 2026-05-01" in early.output

        text = explain(account.id)
        assert text.exit_code == 0, text.output
        assert f"score {explained['score']}, yellow" in text.output and f"mau_trend {trend} → cap yellow" in text.output

        # The journey was told the same reason; its Web UI details lead with it.
        assert status.health_reason == explained["reason"]
        assert explained["reason"].startswith(f"health score {explained['score']}: MAU fell")
        assert "utilization" in explained["reason"]
        lines = (await _current_details(handle)).splitlines()
        assert lines[1] == f"**Yellow:** {markdown(explained['reason'])}"

        # A color set by hand leads with its reason and when it expires.
        manual = await send_event(
            env.client, account.id, "set_health", {"color": "red", "reason": "champion <b>left</b>", "expires_days": 10}
        )
        assert manual.health_until == date(2026, 6, 4)
        lines = (await _current_details(handle)).splitlines()
        assert lines[1] == f"**Red:** {markdown('champion <b>left</b>')} (set by hand, until 2026-06-04)"
        assert_shows_as_text("\n".join(lines), "champion <b>left</b>")
    finally:
        # A journey or remediation left running, or ended by terminate while red, holds the
        # shared test server's clock (see test_health_sweep): promote, offboard, await both.
        try:
            await send_event(env.client, account.id, "set_health", {"color": "green", "reason": "test over"})
            await env.client.get_workflow_handle(remediation_workflow_id(account.id, 1)).result()
            await send_event(env.client, account.id, "offboard", {"reason": "test over"})
            await handle.result()
        except Exception:  # the test failed before the journey got there: terminate below
            pass
        for workflow_id in (handle.id, remediation_workflow_id(account.id, 1)):
            running = env.client.get_workflow_handle(workflow_id)
            try:
                if (await running.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await running.terminate("test over")
            except RPCError:
                pass  # never started


async def _current_details(handle: Any) -> str:
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)
