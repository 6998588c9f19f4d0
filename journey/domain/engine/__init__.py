"""The journey engine: one account's lifecycle as plain Python (see `engine.Engine`)."""

from journey.domain.engine.commands import (
    Command,
    ContinueAsNew,
    EndRemediation,
    ForwardTaskDone,
    ForwardTasksMoved,
    LoadPlaybook,
    StartRemediation,
)
from journey.domain.engine.engine import Engine
from journey.domain.engine.state import JourneyState, TrackedTask

__all__ = [
    "Command",
    "ContinueAsNew",
    "EndRemediation",
    "Engine",
    "ForwardTaskDone",
    "ForwardTasksMoved",
    "JourneyState",
    "LoadPlaybook",
    "StartRemediation",
    "TrackedTask",
]
