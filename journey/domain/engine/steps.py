"""Tasks the engine opens by itself, beyond its playbook's: no playbook names them, and
every journey with people on it needs them.

* `report-usage`: the adoption window closed with no usage on file; no verdict without it.
* The next step of a stage that waits for a person's event (`kickoff`, `onboarding`) when
  the stage has no open task and no task ahead: the journey never sits silent. Marking
  the task done reports the event (`completes`).
* `find-champion`: the account's last champion left the account map (`journey contacts
  remove`); done once a champion is on file again.
"""

from __future__ import annotations

from journey.domain.enums import Stage
from journey.domain.playbook import Anchor, OwnerRole, Touchpoint

USAGE_REPORT = Touchpoint(
    id="report-usage", title="Get usage reported", owner=OwnerRole.ta, anchor=Anchor.adoption_deadline,
)
USAGE_REPORT_DUE_DAYS = 7

NEXT_STEP_FOR: dict[Stage, Touchpoint] = {
    Stage.kickoff: Touchpoint(
        id="report-kickoff", title="Hold the kickoff call and mark it done here (kickoff-held)",
        owner=OwnerRole.ta, anchor=Anchor.stage_kickoff, completes="kickoff_held",
    ),
    Stage.onboarding: Touchpoint(
        id="confirm-production", title="Confirm the production infrastructure is ready (production-ready)",
        owner=OwnerRole.ta, anchor=Anchor.stage_onboarding, completes="production_ready",
    ),
}
NEXT_STEP_DUE_DAYS = 7
# A task of the stage due within this many days means the journey is not silent.
NEXT_STEP_HORIZON_DAYS = 30

FIND_CHAMPION = Touchpoint(id="find-champion", title="Find a new champion", owner=OwnerRole.ta, anchor=Anchor.signed)
FIND_CHAMPION_DUE_DAYS = 7

# Every touchpoint the engine opens by itself, by id.
ENGINE_TOUCHPOINTS: dict[str, Touchpoint] = {
    tp.id: tp for tp in (USAGE_REPORT, *NEXT_STEP_FOR.values(), FIND_CHAMPION)
}
