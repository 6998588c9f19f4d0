"""`journey tasks`: tasks for people from the store, and moving them: `journey snooze`,
`journey tasks reschedule`, `journey tasks reassign`, `journey tasks covers`.

`journey tasks [OPTIONS]` lists tasks as it always has: the group runs its hidden `list`
command whenever its first argument is not a subcommand (as `journey plan ACCOUNT` does).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from journey.cli.common import DefaultCommandGroup, connected, echo_json, json_option, open_store, table
from journey.domain.effects import TASK_STATUSES

_DAY = click.DateTime(formats=["%Y-%m-%d"])
REASON_HELP = "Why (recorded on the timeline)."


class TasksGroup(DefaultCommandGroup):
    """`tasks [OPTIONS]` is `tasks list [OPTIONS]`; `tasks reschedule|reassign|covers` are subcommands."""

    DEFAULT = "list"
    BARE_RUNS_DEFAULT = True
    USAGE = (
        "{path} [--owner TEXT] [--account TEXT] [--overdue] [--status STATUS] [--json]",
        "{path} reschedule --account ACCOUNT --by DAYS [--reason TEXT]",
        "{path} reassign --from OWNER --to OWNER [--until DATE] [--account ACCOUNT] [--reason TEXT]",
        "{path} covers [--json]",
    )


@click.group(cls=TasksGroup, invoke_without_command=False)
def tasks() -> None:
    """List tasks for people, soonest due first; `reschedule` and `reassign` move them.

    Who covers whom (`journey tasks reassign`) shows on a line above the table.
    """


@tasks.command(name="list", hidden=True)
@click.option("--owner", default=None, help="Only tasks owned by this person.")
@click.option("--account", default=None, help="Only this account's tasks.")
@click.option("--overdue", is_flag=True, help="Only tasks past their due date.")
@click.option("--status", "status_", type=click.Choice([*TASK_STATUSES, "all"]), default="open", show_default=True,
              help="Only tasks of this status.")
@json_option
def list_tasks(owner: str | None, account: str | None, overdue: bool, status_: str, as_json: bool) -> None:
    """List tasks for people, soonest due first (this is `journey tasks`)."""
    today = date.today()
    store = open_store()
    try:
        rows = store.tasks(owner=owner, account=account, status=None if status_ == "all" else status_,
                           overdue_on=today if overdue else None)
        covers = [] if as_json else store.task_covers(today)
    finally:
        store.close()
    plain = [_plain(r) for r in rows]
    if as_json:
        echo_json(plain)
        return
    shown = [c for c in covers if (owner is None or owner in (c.owner, c.cover))
             and (account is None or c.account in (None, account))]
    if shown:
        click.echo("covers: " + "; ".join(_cover_words(c) for c in shown))
    table(plain, ["account", "touchpoint", "owner", "due", "status", "title"])


def _plain(record: Any) -> dict[str, Any]:
    """A stored row as `--json` prints it: ISO dates, and `account` beside `account_id`."""
    out: dict[str, Any] = record.plain()
    out.setdefault("account", out.get("account_id"))
    return out


def _cover_words(cover: Any) -> str:
    scope = f" on {cover.account}" if cover.account else ""
    until = f" until {cover.until}" if cover.until else ""
    return f"{cover.cover} covers {cover.owner}{scope}{until}"


@tasks.command(name="covers")
@json_option
def covers(as_json: bool) -> None:
    """Who covers whom today: the covers `journey tasks reassign` recorded that still hold."""
    store = open_store()
    try:
        found = store.task_covers(date.today())
    finally:
        store.close()
    if as_json:
        echo_json([c.document() for c in found])
    else:
        table([c.document() for c in found], ["owner", "cover", "account", "from_on", "until"])


@tasks.command(name="reschedule")
@click.option("--account", required=True, help="The account whose open tasks move.")
@click.option("--by", "days", type=int, required=True,
              help="Days to move every open task by (negative: earlier; never before today).")
@click.option("--reason", default=None, help=REASON_HELP)
def reschedule(account: str, days: int, reason: str | None) -> None:
    """Move every open task of ACCOUNT by DAYS (a renewal date that moved, a customer freeze).

    Reminders and escalations follow the new due dates. A task that would fall before
    today refuses the whole move (exit 2, naming it); red-account tasks are the
    remediation's and stay.
    """
    from journey.temporal.tasks import check_reschedule

    payload = _checked(check_reschedule, account, days, date.today(), reason)
    _print_moved(_send_moves([account], payload)[account])


@tasks.command(name="reassign")
@click.option("--from", "owner", required=True, help="Whose open tasks to hand over.")
@click.option("--to", "to", required=True, help="The colleague who takes them.")
@click.option("--until", type=_DAY, default=None,
              help="Last day (YYYY-MM-DD) new tasks go to the colleague; without it, until another reassignment.")
@click.option("--account", default=None, help="Only this account (default: every account of --from).")
@click.option("--reason", default=None, help=REASON_HELP)
def reassign(owner: str, to: str, until: datetime | None, account: str | None, reason: str | None) -> None:
    """Hand OWNER's open tasks to a colleague, and the new ones while the cover holds (vacation cover).

    Every journey where OWNER owns an open task or is the TA or AE is told; the tasks it
    opens for OWNER on or before --until go to the colleague. An unknown OWNER exits 2.
    """
    from journey.temporal.tasks import check_reassign, record_cover

    today, last = date.today(), until.date() if until else None
    concerned, payload = _checked(check_reassign, owner, to, last, account, today, reason)
    told = _send_moves(concerned, payload)
    _checked(record_cover, owner, to, today, last, account)
    moved = sum(1 for s in told.values() for t in s.open_tasks if t.owner == to)
    click.echo(f"{to} covers {owner}" + (f" until {until.date()}" if until else "")
               + f": {len(told)} journey{'' if len(told) == 1 else 's'} told; {moved} open task"
               f"{'' if moved == 1 else 's'} of {to} there now")


@click.command()
@click.argument("account")
@click.argument("touchpoint")
@click.option("--until", type=_DAY, required=True, help="The task's new due date (YYYY-MM-DD, today or later).")
@click.option("--reason", default=None, help=REASON_HELP)
def snooze(account: str, touchpoint: str, until: datetime, reason: str | None) -> None:
    """Move ACCOUNT's open TOUCHPOINT task to a later due date.

    The journey records it on the timeline and wakes on the new date; reminders and the
    escalation count from it. A date before today, or no open task of TOUCHPOINT, exits 2.
    """
    from journey.temporal.tasks import check_snooze

    payload = _checked(check_snooze, account, touchpoint, until.date(), date.today(), reason)
    _print_moved(_send_moves([account], payload)[account])


def _print_moved(status: Any) -> None:
    for t in sorted(status.open_tasks, key=lambda t: (t.due, t.touchpoint)):
        click.echo(f"{status.account}  {t.touchpoint}  {t.owner}  due {t.due}")


def _checked(check: Any, *args: Any) -> Any:
    """Check a move against the store before anything is sent (exit 2 on bad input)."""
    store = open_store()
    try:
        return check(store, *args)
    finally:
        store.close()


@connected
async def _send_moves(client: Any, accounts: list[str], payload: dict[str, object]) -> Any:
    from journey.temporal.tasks import send_moves

    return await send_moves(client, accounts, payload)
