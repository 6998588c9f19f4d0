"""The default playbooks and the playbook loader (journey.playbook.load_playbook[s])."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from journey.config import playbooks_dir
from journey.domain.enums import Deployment, EngagementModel, Health, Stage
from journey.domain.playbook import Anchor, Channel, Every, OwnerRole, Playbook, compact_json, playbook_json_schema
from journey.domain.playbook_files import PlaybookError, load_playbook, load_playbooks
from playbooks import DEFAULT_DIR

# PRODUCT.md, "Default playbook touchpoint ids".
DEFAULT_IDS = {
    "license-key", "kickoff-call", "onboarding-plan", "training-101", "training-102", "training-admin",
    "check-in", "deployment-follow-up", "adoption-review", "account-plan", "qbr", "value-report",
    "value-review", "renewal-assessment", "success-planning", "business-review", "roadmap-review",
    "nurture-email", "enablement", "announcement", "red-alert", "red-action-plan", "red-follow-up",
}  # fmt: skip

RED = {"red-alert", "red-action-plan", "red-follow-up"}
REQUIRED_IDS = {
    EngagementModel.enterprise: {
        "license-key", "kickoff-call", "onboarding-plan", "training-101", "training-102",
        "training-admin", "check-in", "deployment-follow-up", "adoption-review", "account-plan",
        "qbr", "value-report", "value-review", "renewal-assessment",
    } | RED,
    EngagementModel.scaled: {
        "license-key", "kickoff-call", "nurture-email", "enablement", "success-planning",
        "business-review", "roadmap-review", "announcement", "value-review", "renewal-assessment",
    } | RED,
    EngagementModel.digital: {"license-key", "nurture-email", "enablement", "announcement", "red-alert"},
}  # fmt: skip
REQUIRED_IDS[EngagementModel.pooled] = REQUIRED_IDS[EngagementModel.scaled]


@pytest.fixture(scope="module")
def defaults() -> dict[EngagementModel, Playbook]:
    return load_playbooks(playbooks_dir())


# --- the default playbooks -------------------------------------------------------------------


def test_all_four_default_playbooks_load(defaults):
    assert set(defaults) == set(EngagementModel)
    for model, playbook in defaults.items():
        assert playbook.model is model
        assert playbook.title
        assert playbook.fiscal_year_start_month == 2  # Sourcegraph's fiscal year starts in February
        assert playbook == load_playbook(DEFAULT_DIR / f"{model.value}.toml")
    assert sorted(p.name for p in DEFAULT_DIR.glob("*.toml")) == [
        "digital.toml",
        "enterprise.toml",
        "health.toml",  # the health score (journey.health), not a playbook
        "pooled.toml",
        "scaled.toml",
    ]


@pytest.mark.parametrize("model", list(EngagementModel))
def test_required_ids_present(defaults, model):
    ids = [tp.id for tp in defaults[model].touchpoints]
    assert set(ids) == REQUIRED_IDS[model]
    assert set(ids) <= DEFAULT_IDS  # the defaults use only the documented ids


def test_digital_has_no_human_owner(defaults):
    for tp in defaults[EngagementModel.digital].touchpoints:
        assert tp.owner is OwnerRole.automated, tp.id
        assert tp.channel in (Channel.email, Channel.slack), tp.id


def test_scaled_and_pooled_have_the_same_shape(defaults):
    def shape(playbook: Playbook):
        return [tp.model_dump(exclude={"title", "description"}) for tp in playbook.touchpoints]

    scaled, pooled = defaults[EngagementModel.scaled], defaults[EngagementModel.pooled]
    assert shape(scaled) == shape(pooled)
    assert scaled.title != pooled.title


def test_enterprise_rules_from_the_handbook(defaults):
    pb = defaults[EngagementModel.enterprise]
    plan = pb.touchpoint("account-plan")
    assert plan.anchor is Anchor.onboarding_complete and "onboarding_complete" in plan.requires
    assert plan.recurrence.every is Every.quarter
    assert plan.offset_for(1) == -14 and plan.offset_for(2) == 7 and plan.offset_for(3) == 7
    qbr = pb.touchpoint("qbr")
    assert qbr.tiers == (1,) and qbr.recurrence.every is Every.quarter and qbr.customer_facing
    assert pb.touchpoint("value-review").offset_days == -90
    assert pb.touchpoint("value-report").offset_days < -90
    assert pb.touchpoint("value-review").owner is OwnerRole.value_engineering
    check_in = pb.touchpoint("check-in")
    assert check_in.recurrence.cadence_from_kickoff
    follow_up = pb.touchpoint("deployment-follow-up")
    assert follow_up.deployments == (Deployment.self_hosted,)
    assert Stage.adoption not in follow_up.stages
    assert pb.touchpoint("red-follow-up").health == (Health.red,)
    assert pb.touchpoint("red-alert").channel is Channel.slack
    assessment = pb.touchpoint("renewal-assessment")
    assert assessment.anchor is Anchor.stage_renewal and assessment.stages == (Stage.renewal,)
    assert assessment.owner is OwnerRole.ae


def test_scaled_rules_from_the_handbook(defaults):
    pb = defaults[EngagementModel.scaled]
    assert pb.touchpoint("success-planning").recurrence.every is Every.half_year
    assert pb.touchpoint("roadmap-review").recurrence.every is Every.half_year
    assert pb.touchpoint("business-review").recurrence.every is Every.year
    assert pb.touchpoint("enablement").milestones == (0.25, 0.5, 0.8)
    assert pb.touchpoint("nurture-email").automated
    assert pb.touchpoint("announcement").recurrence.every is Every.quarter


def test_playbook_version_is_stable(defaults):
    again = load_playbooks(playbooks_dir())
    assert {m: p.version for m, p in defaults.items()} == {m: p.version for m, p in again.items()}
    assert len({p.version for p in defaults.values()}) == 4


def test_json_schema():
    schema = playbook_json_schema()
    assert schema["title"] == "Playbook"
    assert {"model", "touchpoints"} <= set(schema["required"])
    assert "Touchpoint" in schema["$defs"] and "Recurrence" in schema["$defs"]
    assert schema["$defs"]["Touchpoint"]["additionalProperties"] is False


# --- invalid playbooks ------------------------------------------------------------------------

VALID = """\
model = "enterprise"
title = "Test"

[[touchpoints]]
id = "license-key"
title = "License key"
owner = "ta"
anchor = "signed"

[[touchpoints]]
id = "qbr"
title = "QBR"
owner = "ta"
anchor = "production_ready"
offset_days = 21
tiers = [1]

[touchpoints.recurrence]
every = "quarter"
interval = 1
"""


def write(tmp_path: Path, text: str, name: str = "enterprise.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    return info.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


def test_the_base_of_the_invalid_cases_is_valid(tmp_path):
    playbook = load_playbook(write(tmp_path, VALID))
    assert [tp.id for tp in playbook.touchpoints] == ["license-key", "qbr"]


def test_unknown_anchor(tmp_path):
    text = VALID.replace('anchor = "production_ready"', 'anchor = "go_live"')
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.file == str(path)
    assert err.location == "touchpoints[1] (id 'qbr').anchor"
    assert err.line == line_of(text, "go_live")
    assert "go_live" in err.message and "production_ready" in err.message  # the allowed values
    assert str(err).startswith(f"{path}:{err.line}: touchpoints[1] (id 'qbr').anchor: ")


def test_negative_recurrence_interval(tmp_path):
    text = VALID.replace("interval = 1", "interval = -2")
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.location == "touchpoints[1] (id 'qbr').recurrence.interval"
    assert err.line == line_of(text, "interval = -2")
    assert "greater than or equal to 1" in err.message and "-2" in err.message
    assert f"{path}:{err.line}: touchpoints[1] (id 'qbr').recurrence.interval: " in str(err)


def test_duplicate_id(tmp_path):
    text = VALID.replace('id = "qbr"', 'id = "license-key"')
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.location == "touchpoints"
    assert "duplicate touchpoint id 'license-key'" in err.message
    assert err.line == line_of(text, 'id = "license-key"', occurrence=2)  # the second one
    assert str(err).startswith(f"{path}:{err.line}: touchpoints: duplicate touchpoint id")


def test_unknown_owner_role(tmp_path):
    text = VALID.replace('owner = "ta"', 'owner = "csm"', 1)
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.location == "touchpoints[0] (id 'license-key').owner"
    assert err.line == line_of(text, 'owner = "csm"')
    assert "'csm'" in err.message and "value-engineering" in err.message
    assert str(path) in str(err)


def test_toml_syntax_error_has_its_line(tmp_path):
    text = VALID.replace("offset_days = 21", "offset_days = = 21")
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.line == line_of(text, "offset_days = = 21")
    assert "TOML syntax error" in err.message
    assert str(err).startswith(f"{path}:{err.line}: TOML syntax error")


def test_unterminated_toml_reports_a_line(tmp_path):
    path = write(tmp_path, VALID + 'extra = "never closed\n')
    err = error_of(path)
    assert err.line is not None and "TOML syntax error" in str(err)


@pytest.mark.parametrize(
    ("edit", "location", "key"),
    [
        (lambda t: t.replace('title = "Test"', 'title = "Test"\ncolour = "red"'), "colour", "colour"),
        (
            lambda t: t.replace("tiers = [1]", "tiers = [1]\nteirs = [2]"),
            "touchpoints[1] (id 'qbr').teirs",
            "teirs",
        ),
        (
            lambda t: t.replace('every = "quarter"', 'every = "quarter"\nevry = 3'),
            "touchpoints[1] (id 'qbr').recurrence.evry",
            "evry",
        ),
        (lambda t: t + "\n[tasks]\nremind_after = 2\n", "tasks.remind_after", "remind_after"),
    ],
)
def test_unknown_key(tmp_path, edit, location, key):
    text = edit(VALID)
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.location == location
    assert f"unknown key {key!r}" in err.message
    assert err.line == line_of(text, f"{key} =")
    assert f"{path}:{err.line}: {location}: unknown key" in str(err)


def test_unknown_key_suggests_the_right_one(tmp_path):
    err = error_of(write(tmp_path, VALID.replace("tiers = [1]", "tier = [1]")))
    assert "did you mean 'tiers'" in err.message


def test_every_problem_is_listed(tmp_path):
    text = VALID.replace('owner = "ta"', 'owner = "csm"', 1).replace("interval = 1", "interval = 0")
    text = text.replace('title = "Test"', 'title = "Test"\nfiscal_year_start_month = 13')
    path = write(tmp_path, text)
    err = error_of(path)
    locations = [p.location for p in err.problems]
    assert locations == [
        "fiscal_year_start_month",
        "touchpoints[0] (id 'license-key').owner",
        "touchpoints[1] (id 'qbr').recurrence.interval",
    ]
    rendered = str(err).splitlines()
    assert len(rendered) == 3 and all(line.startswith(f"{path}:") for line in rendered)
    assert [p.line for p in err.problems] == sorted(p.line for p in err.problems)


def test_schema_rules_are_reported_with_their_touchpoint(tmp_path):
    # An automated touchpoint needs a delivery channel: a model-level rule of Touchpoint.
    text = VALID.replace('owner = "ta"', 'owner = "automated"', 1)
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.location == "touchpoints[0] (id 'license-key')"
    assert "channel" in err.message
    assert err.line == line_of(text, 'id = "license-key"')


def test_missing_required_key(tmp_path):
    err = error_of(write(tmp_path, VALID.replace('title = "QBR"\n', "")))
    assert err.location == "touchpoints[1] (id 'qbr').title"
    assert "required" in err.message


def test_inline_touchpoints_get_the_line_of_their_id(tmp_path):
    text = (
        'model = "digital"\n'
        "touchpoints = [\n"
        '  { id = "a", title = "A", owner = "automated", channel = "email", anchor = "signed" },\n'
        '  { id = "b", title = "B", owner = "automated", channel = "email", anchor = "nope" },\n'
        "]\n"
    )
    err = error_of(write(tmp_path, text, "digital.toml"))
    assert err.location == "touchpoints[1] (id 'b').anchor"
    assert err.line == 4


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in str(err) and "no such" in err.message


def test_compact_json_reads_back_as_the_same_playbook(defaults):
    for playbook in defaults.values():
        data = compact_json(playbook)
        again = Playbook.model_validate_json(data)
        assert again == playbook and again.version == playbook.version
        assert len(data) < 0.75 * len(playbook.model_dump_json())


# --- load_playbooks -------------------------------------------------------------------------


def copy_defaults(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    for model in EngagementModel:
        shutil.copy(DEFAULT_DIR / f"{model.value}.toml", directory)
    return directory


def test_load_playbooks_from_a_directory(tmp_path, defaults):
    directory = copy_defaults(tmp_path)
    assert load_playbooks(directory) == defaults
    assert load_playbooks(str(directory)) == defaults


def test_load_playbooks_missing_file(tmp_path):
    directory = copy_defaults(tmp_path)
    (directory / "pooled.toml").unlink()
    with pytest.raises(PlaybookError) as info:
        load_playbooks(directory)
    assert info.value.file == str(directory / "pooled.toml")
    assert "missing" in info.value.message


def test_load_playbooks_model_must_match_the_file_name(tmp_path):
    directory = copy_defaults(tmp_path)
    text = (directory / "scaled.toml").read_text().replace('model = "scaled"', 'model = "pooled"')
    (directory / "scaled.toml").write_text(text)
    with pytest.raises(PlaybookError) as info:
        load_playbooks(directory)
    err = info.value
    assert err.file == str(directory / "scaled.toml")
    assert err.location == "model"
    assert err.line == line_of(text, 'model = "pooled"')
    assert "'pooled'" in err.message and "scaled.toml" in err.message


def test_load_playbooks_reports_the_bad_file(tmp_path):
    directory = copy_defaults(tmp_path)
    path = directory / "enterprise.toml"
    text = path.read_text().replace("count = 3", "count = 0")
    path.write_text(text)
    with pytest.raises(PlaybookError) as info:
        load_playbooks(directory)
    err = info.value
    assert err.file == str(path)
    assert err.location == "touchpoints[8] (id 'adoption-review').recurrence.count"
    assert err.line == line_of(text, "count = 0")


def test_playbook_error_is_a_value_error():
    err = PlaybookError("x.toml", "touchpoints[0] (id 'a').anchor", "bad", 7)
    assert isinstance(err, ValueError)
    assert str(err) == "x.toml:7: touchpoints[0] (id 'a').anchor: bad"
    assert str(PlaybookError("x.toml", "model", "bad")) == "x.toml: model: bad"
