"""JOURNEY_PLAYBOOKS_DIR: a team's own folder of playbooks and health.toml, read by every
command (and the worker's activities) instead of the bundled `playbooks/`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from activities.store import StoreActivities
from journey.config import playbooks_dir
from journey.domain.enums import EngagementModel
from playbooks import DEFAULT_DIR


@pytest.fixture
def team_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, journey_home: Path) -> Path:
    folder = tmp_path / "team-playbooks"
    shutil.copytree(DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (folder / "enterprise.toml").read_text(encoding="utf-8")
    (folder / "enterprise.toml").write_text(text.replace('title = "Post-sales kickoff call"', 'title = "Team kickoff"', 1), encoding="utf-8")
    monkeypatch.setenv("JOURNEY_PLAYBOOKS_DIR", str(folder))
    return folder


def test_commands_and_activities_read_the_team_folder(team_folder: Path, invoke) -> None:
    assert playbooks_dir() == team_folder
    shown = invoke("playbook", "show", "enterprise", "--json")
    assert shown.exit_code == 0, shown.output
    assert any(tp["title"] == "Team kickoff" for tp in json.loads(shown.output)["touchpoints"])
    validated = invoke("playbook", "validate")
    assert validated.exit_code == 0 and str(team_folder / "enterprise.toml") in validated.output
    assert invoke("health-score", "validate").exit_code == 0
    # The worker's playbooks: the enrollment's local activity reads the same folder.
    assert StoreActivities(store=None, playbook_dir=None).playbook_dir == team_folder  # type: ignore[arg-type]


def test_a_folder_that_is_not_there_exits_2_naming_the_setting(invoke, journey_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JOURNEY_PLAYBOOKS_DIR", str(tmp_path / "nowhere"))
    done = invoke("playbook", "validate")
    assert done.exit_code == 2
    assert "JOURNEY_PLAYBOOKS_DIR" in done.output and "nowhere" in done.output


def test_a_folder_missing_a_model_names_the_file(team_folder: Path, invoke) -> None:
    (team_folder / f"{EngagementModel.digital.value}.toml").unlink()
    done = invoke("playbook", "show", "enterprise")
    assert done.exit_code == 2 and "digital.toml" in done.output, done.output
