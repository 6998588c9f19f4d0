"""The store activities' playbook loading: compact JSON, re-read only when a file changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from activities.messages import PlaybookRequest
from activities.store import StoreActivities
from journey.config import playbooks_dir
from journey.domain.enums import EngagementModel
from journey.domain.playbook import Playbook
from journey.domain.playbook_files import load_playbooks
from playbooks import DEFAULT_DIR


def read(activities: StoreActivities, model: EngagementModel) -> Playbook:
    raw = activities.load_playbook(PlaybookRequest(model=model))
    assert raw.payload.metadata["encoding"] == b"json/plain"
    return Playbook.model_validate_json(raw.payload.data)


def test_load_playbook_returns_the_files_playbook(tmp_path: Path) -> None:
    activities = StoreActivities(None)  # type: ignore[arg-type]  # the store is not used
    for model, playbook in load_playbooks(playbooks_dir()).items():
        assert read(activities, model) == playbook


def test_load_playbook_reads_a_changed_file_again(tmp_path: Path) -> None:
    directory = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    activities = StoreActivities(None, playbook_dir=str(directory))  # type: ignore[arg-type]
    before = read(activities, EngagementModel.digital)
    path = directory / "digital.toml"
    path.write_text(path.read_text().replace('title = "', 'title = "Changed: ', 1))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new mtime even on coarse clocks
    after = read(activities, EngagementModel.digital)
    assert after.title == "Changed: " + before.title
    assert after.version != before.version
