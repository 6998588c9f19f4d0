"""`journey event`, `journey health`, `journey done`: what happened to an account."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import click

from journey.cli.common import COLORS, BadInput, connected, json_option, today_option
from journey.cli.journeys import print_status
from journey.domain.names import Update

# A journey answers its status in well under a second; one that does not is left to the
# update itself to explain.
PRECHECK_TIMEOUT = timedelta(seconds=5)


def _parse_data(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInput(f"--data: not valid JSON: {err.msg} at column {err.colno}") from None
    except ValueError as err:  # an integer of more digits than Python reads
        raise BadInput(f"--data: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise BadInput("--data: must be a JSON object")
    return data


def _report(account: str, event: str, payload: dict[str, Any], on: Any, as_json: bool, headline: str) -> None:
    """Check the payload as the journey will (bad input exits 2 before anything is sent),
    send the event, and print the journey's status after it."""
    from journey.domain.events import event_name_for_cli, parse_event

    if on is not None:
        payload["on"] = on.date().isoformat()
    parsed = parse_event(event, payload)
    status, repeated = _send(account, event, payload, parsed)
    if repeated is not None:
        # Nothing was sent: the journey has this event on file for that very date.
        headline = f"{account}: {event_name_for_cli(event)} was already recorded on {repeated}; nothing changed"
        if as_json:
            click.echo(headline, err=True)
    print_status(status, as_json, headline=headline)


@click.command()
@click.argument("account")
@click.argument("event")
@click.option("--data", default=None, help="The event's payload as a JSON object.")
@today_option
@json_option
def event(account: str, event: str, data: str | None, on: Any, as_json: bool) -> None:
    """Report an EVENT for ACCOUNT: kickoff-held, production-ready, onboarding-complete,
    set-health, touchpoint-done, renewal-closed, contract-changed, offboard.

    \b
    Examples:
      journey event acme kickoff-held --data '{"check_in_cadence_days": 14}'
      journey event acme production-ready --on 2026-03-02
      journey event acme renewal-closed --data '{"outcome": "renewed", "seats": 600}'
    """
    from journey.domain.events import event_name_from_cli

    _report(account, event_name_from_cli(event), _parse_data(data), on, as_json, f"{account}: {event} recorded")


@connected
async def _send(client: Any, account: str, event: str, payload: dict[str, Any], parsed: Any) -> tuple[Any, date | None]:
    """The status after the event, and the date on file when the event repeats on it (then
    it is not sent: it would change nothing)."""
    from temporalio.service import RPCError

    from journey.domain.engine.events import RECORDED_ON, repeat_of
    from journey.temporal.errors import JourneyUnavailable
    from journey.temporal.journeys import journey_status, send_event
    from journey.temporal.repair import JourneyStuck

    if event in RECORDED_ON:
        try:
            status = await journey_status(client, account, rpc_timeout=PRECHECK_TIMEOUT)
        except JourneyStuck:
            raise
        except (JourneyUnavailable, RPCError):
            status = None  # the update says why the journey does not answer
        if status is not None:
            # The journey's date (the status' `today` is that of its last wake-up).
            today = date.today() + timedelta(days=status.calendar_offset_days)
            repeated = repeat_of(status, event, parsed, today)
            if repeated is not None:
                return status, repeated
    return await send_event(client, account, event, payload), None


@click.command()
@click.argument("account")
@click.argument("color", type=click.Choice(COLORS))
@click.option("--reason", required=True, help="Why (e.g. 'champion left').")
@click.option("--expires-days", type=click.IntRange(1, 365), default=None, help="Days the hand-set color wins over the score (default 14).")
@today_option
@json_option
def health(account: str, color: str, reason: str, expires_days: int | None, on: Any, as_json: bool) -> None:
    """Set ACCOUNT's health by hand; red starts red-account remediation."""
    payload: dict[str, Any] = {"color": color, "reason": reason}
    if expires_days:
        payload["expires_days"] = expires_days
    _report(account, Update.SET_HEALTH, payload, on, as_json, f"{account}: health {color}")


@click.command()
@click.argument("account")
@click.argument("touchpoint")
@click.option("--notes", default=None, help="Notes for the timeline.")
@click.option("--data", default=None, help="The payload of the event the task stands for, as a JSON object.")
@today_option
@json_option
def done(account: str, touchpoint: str, notes: str | None, data: str | None, on: Any, as_json: bool) -> None:
    """Mark ACCOUNT's open TOUCHPOINT task done; the journey stops reminding. A task that
    stands for an event (the kickoff call for kickoff-held) reports that event too.

    \b
    Examples:
      journey done acme kickoff-call --data '{"check_in_cadence_days": 14}'
      journey done acme qbr --notes "roadmap shared"
    """
    payload: dict[str, Any] = {"touchpoint": touchpoint}
    if notes:
        payload["notes"] = notes
    if data is not None:
        payload["data"] = _parse_data(data)
    _report(account, Update.TOUCHPOINT_DONE, payload, on, as_json, f"{account}: {touchpoint} done")
