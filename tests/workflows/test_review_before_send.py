"""Review before send, through a real journey and a local SMTP server: a held touch
reaches no one until it is approved, then arrives exactly once, as edited; a dropped one
never goes, and the timeline says who dropped it and why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from journey.delivery.smtp import message_id
from journey.domain import names
from journey.domain.enums import EngagementModel
from journey.domain.errors import InputError
from journey.store import Store
from journey.temporal.devserver import free_port
from journey.temporal.journeys import enroll_one
from journey.temporal.review import Review, held_rows, review_held
from playbooks import DEFAULT_DIR
from tests.helpers.journeys import advance_to, own_time_skipping_env, quiet_settings, status_of
from tests.helpers.local_servers import SmtpRecorder
from tests.workflows.test_delivery import digital_account
from tests.workflows.test_lifecycle import SIGNED
from workflows.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

LICENSE_KEY = "acct-reviewed/license-key/2026-01-05"
FIRST_TIPS = "acct-reviewed/nurture-email/2026-01-06"


@pytest.fixture
def smtp() -> Iterator[SmtpRecorder]:
    with SmtpRecorder(free_port()) as recorder:
        yield recorder


def reviewed_playbooks(folder: Path) -> Path:
    """The bundled playbooks as a team that reviews every automated touch keeps them."""
    folder.mkdir()
    for model in EngagementModel:
        text = (DEFAULT_DIR / f"{model.value}.toml").read_text(encoding="utf-8")
        (folder / f"{model.value}.toml").write_text(f"review = true\n{text}", encoding="utf-8")
    return folder


async def test_held_touches_go_only_when_approved_once_and_as_edited(
    store: Store, task_queue: str, smtp: SmtpRecorder, tmp_path: Path
) -> None:
    settings = replace(quiet_settings(), smtp_host="127.0.0.1", smtp_port=smtp.port, email_domain="example.com")
    account = digital_account("acct-reviewed")
    async with own_time_skipping_env() as env, build_worker(
        env.client, store, task_queue=task_queue, settings=settings, playbook_dir=reviewed_playbooks(tmp_path / "books")
    ):
        assert await enroll_one(env.client, account, today=SIGNED, task_queue=task_queue)
        handle = env.client.get_workflow_handle(names.journey_workflow_id(account.id))
        await advance_to(env, handle, SIGNED + timedelta(days=2))
        held = {h.key for h in (await status_of(handle)).held_deliveries}
        assert held == {LICENSE_KEY, FIRST_TIPS}
        assert {r.key: r.status for r in store.deliveries(keys=sorted(held))} == {k: "held" for k in held}
        assert len(smtp) == 0  # nothing reaches the receiver while held

        assert store.edit_held(LICENSE_KEY, "rita", subject="Your license key", body="Here it is.")
        await review_held(env.client, Review("approve", held_rows(store, "approve", [LICENSE_KEY]), "rita"))
        await review_held(env.client, Review(
            "skip", held_rows(store, "skip", [FIRST_TIPS]), "rita", reason="the champion asked for no tips"))
        await env.sleep(timedelta(days=1))

        assert smtp.message_ids() == {message_id(LICENSE_KEY): 1}
        received = smtp.by_key()[message_id(LICENSE_KEY)]
        assert received.subject == "Your license key" and received.raw["body"].strip() == "Here it is."
        rows = {r.key: r for r in store.deliveries(keys=[LICENSE_KEY, FIRST_TIPS])}
        assert (rows[LICENSE_KEY].status, rows[LICENSE_KEY].reviewed_by) == ("sent", "rita")
        assert (rows[FIRST_TIPS].status, rows[FIRST_TIPS].last_error) == (
            "skipped", "skipped in review by rita: the champion asked for no tips")
        timeline = {e.key: e.detail for e in store.timeline(account.id)}
        assert timeline[f"{FIRST_TIPS}/reviewed"] == {
            "status": "skipped", "by": "rita", "delivery": FIRST_TIPS, "reason": "the champion asked for no tips"}
        assert timeline[f"{LICENSE_KEY}/reviewed"]["status"] == "approved"

        # Approving again sends nothing: the row is no longer held.
        with pytest.raises(InputError, match="status is sent; only a held delivery can be approved"):
            held_rows(store, "approve", [LICENSE_KEY])
        assert smtp.message_ids() == {message_id(LICENSE_KEY): 1}

        # The next tips email waits unreviewed: after review_days (3) the TA has a task for it.
        await advance_to(env, handle, SIGNED + timedelta(days=12))
        tasks = [t for t in store.tasks(account=account.id) if t.touchpoint == "review-delivery"]
        assert [(t.key, t.owner) for t in tasks] == [("acct-reviewed/nurture-email/2026-01-13/review", "ana")]
        await handle.terminate("test over")
