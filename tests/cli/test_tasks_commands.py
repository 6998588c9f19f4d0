"""`journey snooze`, `journey tasks reschedule|reassign|covers`: bad input exits 2 before
anything is sent or written; `journey tasks` lists as before, with the covers above."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from journey.domain.effects import Effects, TaskOpen
from journey.store import Store
from journey.store.tasks import TaskCover
from tests.helpers.portfolio import account

TODAY = date.today()


@pytest.fixture
def home_store(journey_home: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{journey_home / 'journey.db'}") as store:
        store.upsert_accounts([account("acme", ta="tara", ae="abe")])
        opened = TaskOpen(key="acme/qbr/x", account="acme", touchpoint="qbr", title="QBR", owner_role="ta",
                          owner="tara", due=TODAY + timedelta(days=2))
        store.apply_effects(Effects(account="acme", open_tasks=[opened]))
        yield store


def assert_exit_2(result: Result, *pieces: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{result.output}"
    for piece in pieces:
        assert piece in result.output, result.output


def unchanged(store: Store) -> None:
    [task] = store.tasks(account="acme")
    assert (task.owner, task.due) == ("tara", TODAY + timedelta(days=2))
    assert store.task_covers(TODAY) == []


def test_bad_moves_exit_2_naming_what_and_change_nothing(invoke: Callable[..., Result], home_store: Store) -> None:
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert_exit_2(invoke("snooze", "acme", "qbr", "--until", yesterday), "field 'until'", "before today")
    assert_exit_2(invoke("snooze", "acme", "kickoff-call", "--until", TODAY.isoformat()), "no open task 'kickoff-call'")
    assert_exit_2(invoke("snooze", "acme", "qbr", "--until", "soon"), "--until")
    assert_exit_2(invoke("snooze", "nobody", "qbr", "--until", TODAY.isoformat()), "nobody")
    assert_exit_2(invoke("tasks", "reschedule", "--account", "acme", "--by", "-3"), "qbr (acme/qbr/x)", "before today")
    assert_exit_2(invoke("tasks", "reschedule", "--account", "acme", "--by", "0"), "field 'by'")
    assert_exit_2(invoke("tasks", "reassign", "--from", "zed", "--to", "bo"), "'zed' owns no open task")
    assert_exit_2(invoke("tasks", "reassign", "--from", "tara", "--to", "tara"), "field 'to'")
    assert_exit_2(invoke("tasks", "reassign", "--from", "tara", "--to", "bo", "--until", yesterday), "field 'until'")
    unchanged(home_store)


def test_tasks_lists_as_before_with_who_covers_whom_above(invoke: Callable[..., Result], home_store: Store) -> None:
    listed = invoke("tasks", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert isinstance(rows, list) and [r["key"] for r in rows] == ["acme/qbr/x"]
    assert invoke("tasks", "--owner", "nobody", "--json").stdout.strip() == "[]"
    home_store.add_task_cover(TaskCover(owner="tara", cover="bo", from_on=TODAY, until=TODAY + timedelta(days=9)))
    table = invoke("tasks")
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0] == f"covers: bo covers tara until {TODAY + timedelta(days=9)}"
    assert json.loads(invoke("tasks", "--json").stdout) == rows
    covers = json.loads(invoke("tasks", "covers", "--json").stdout)
    assert covers == [{"owner": "tara", "cover": "bo", "account": None, "from_on": TODAY.isoformat(),
                       "until": (TODAY + timedelta(days=9)).isoformat()}]
