"""Playbook folders for tests whose point is not the send window: the bundled playbooks
with their window open at every hour of every day, so what they check does not depend
on the wall clock's time of day or weekday."""

from __future__ import annotations

import re
from pathlib import Path

from journey.domain.enums import EngagementModel
from playbooks import DEFAULT_DIR

ALWAYS_OPEN = 'send_window = "00:00-24:00"\nsend_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'


def always_open_playbooks(folder: Path) -> Path:
    """A copy of the bundled playbooks and health score in `folder` (created) that send
    automated touches at any moment."""
    folder.mkdir(parents=True, exist_ok=True)
    for model in EngagementModel:
        text = (DEFAULT_DIR / f"{model.value}.toml").read_text(encoding="utf-8")
        text = re.sub(r'(?m)^(send_window|send_days) = .*\n', "", text)
        (folder / f"{model.value}.toml").write_text(ALWAYS_OPEN + text, encoding="utf-8")
    (folder / "health.toml").write_text((DEFAULT_DIR / "health.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return folder
