"""`journey`: the command line of the customer-journey engine.

One module per group of commands; each only parses, calls the domain, the store or the
Temporal client side, and prints. `app.JourneyGroup` is the one place errors become exit
statuses.
"""

from __future__ import annotations

import os
import sys

import click

from journey.cli import (
    accounts,
    broadcast,
    codec,
    contacts,
    deliveries,
    events,
    feedback,
    health_score,
    journeys,
    kpis,
    plan,
    playbook,
    renewals,
    report,
    schedule,
    servers,
    simulate,
    tasks,
    usage,
)
from journey.cli.app import JourneyGroup


@click.group(cls=JourneyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="journey", message="journey %(version)s")
def main() -> None:
    """Customer journeys for post-sales Technical Advisor teams, durable on Temporal.

    Start the embedded stack with `journey up`, enroll accounts with `journey import
    accounts.csv`, then drive them with `journey event` and watch them with `journey
    status`, `journey list` and the Temporal Web UI (http://localhost:8233).
    """


for command in (
    servers.server,
    servers.worker,
    servers.up,
    codec.codec_server,
    accounts.enroll,
    accounts.import_accounts,
    contacts.contacts,
    broadcast.broadcast,
    events.event,
    events.health,
    events.done,
    journeys.status,
    journeys.list_command,
    tasks.tasks,
    tasks.snooze,
    journeys.timeline,
    journeys.repair,
    playbook.playbook,
    simulate.simulate,
    schedule.schedule,
    usage.usage,
    usage.nps,
    kpis.kpis,
    health_score.health_score,
    report.report,
    deliveries.deliveries,
    plan.plan,
    plan.review,
    feedback.feedback,
    renewals.renewals,
    renewals.assess,
    renewals.deployments,
):
    main.add_command(command)


def entry() -> None:
    """Console-script entry. The process leaves without interpreter teardown once its
    output is flushed (and its spans sent, when tracing is on): the Temporal SDK's runtime
    threads can abort a normal exit (sdk-python #300), and nothing else needs the
    teardown. The SDK's runtime is created by the first client
    (`journey.temporal.runtime`), so a worker can have it serve metrics."""
    from journey.telemetry import tracing

    try:
        main(standalone_mode=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    tracing.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)
