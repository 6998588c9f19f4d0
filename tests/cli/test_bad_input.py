"""Bad input exits with status 2, names the line and field, and writes nothing.

No Temporal server is involved: every check here happens before the CLI connects
(TEMPORAL_ADDRESS points at a closed port, so a command that got past validation would
exit 1 with "cannot reach Temporal" and fail these tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

HEADER = "id,name,segment,tier,seats,arr,signed,renewal,ta,ae"
GOOD = "acme,Acme Corp,strategic,1,500,250000,2026-01-05,2027-01-05,ana.ta,sam.ae"


def good_row(**changes: str) -> str:
    fields = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    fields.update(changes)
    return ",".join(fields.values())


def write_csv(tmp_path: Path, *lines: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_bad_input(result: Result, *expected: str) -> str:
    """Exit status 2, and the output names every `expected` piece (field, line, value)."""
    output = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}, expected 2:\n{output}"
    assert "cannot reach Temporal" not in output, "validation let bad input through to Temporal"
    for piece in expected:
        assert piece in output, f"{piece!r} not in output:\n{output}"
    return output


def problem_lines(output: str) -> dict[int, str]:
    """`FILE:line N: field 'F': ...` lines by line number."""
    found = {}
    for text in output.splitlines():
        match = re.search(r"line (\d+): field '([^']+)'", text)
        if match:
            found[int(match.group(1))] = text
    return found


# ----- journey import FILE -----


@pytest.mark.parametrize(
    ("row", "field", "detail"),
    [
        pytest.param(good_row(segment="galactic"), "segment", "strategic", id="unknown-segment"),
        pytest.param(good_row(tier="7"), "tier", "3", id="tier-7"),
        pytest.param(good_row(seats="-5"), "seats", "0", id="negative-seats"),
        pytest.param(good_row(seats="many"), "seats", "integer", id="seats-not-a-number"),
        pytest.param(good_row(signed="2026-13-01"), "signed", "month", id="month-13"),
        pytest.param(good_row(signed="01/02/2026"), "signed", "date", id="slash-date"),
        pytest.param(good_row(renewal="2026/12/01"), "renewal", "date", id="slash-renewal"),
        pytest.param(good_row(id="Acme_Corp"), "id", "slug", id="bad-slug"),
        pytest.param(good_row(name=""), "name", "", id="empty-name"),
    ],
)
def test_import_bad_field(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    tmp_path: Path,
    row: str,
    field: str,
    detail: str,
) -> None:
    path = write_csv(tmp_path, HEADER, GOOD.replace("acme", "first"), row)
    output = assert_bad_input(invoke("import", str(path)), f"line 3: field '{field}'", detail)
    assert "line 2" not in output, "the good row was reported"
    assert "nothing was written" in output
    nothing_written()


def test_import_renewal_before_signed(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER, good_row(signed="2026-06-01", renewal="2026-05-01"))
    output = assert_bad_input(invoke("import", str(path)), "line 2", "renewal", "signed", "2026-05-01")
    assert problem_lines(output).keys() == {2}
    nothing_written()


def test_import_renewal_equal_to_signed(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER, good_row(signed="2026-06-01", renewal="2026-06-01"))
    assert_bad_input(invoke("import", str(path)), "line 2", "renewal")
    nothing_written()


def test_import_duplicate_ids(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER, GOOD, good_row(id="other"), good_row(name="Acme Again"))
    output = assert_bad_input(invoke("import", str(path)), "line 4: field 'id'", "acme", "line 2")
    assert problem_lines(output).keys() == {4}
    nothing_written()


@pytest.mark.parametrize("column", ["ae", "renewal", "id"])
def test_import_missing_required_column(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    tmp_path: Path,
    column: str,
) -> None:
    names = HEADER.split(",")
    keep = [i for i, name in enumerate(names) if name != column]
    header = ",".join(names[i] for i in keep)
    row = ",".join(GOOD.split(",")[i] for i in keep)
    output = assert_bad_input(
        invoke("import", str(write_csv(tmp_path, header, row))), f"line 1: field '{column}'", "missing"
    )
    assert problem_lines(output).keys() == {1}
    nothing_written()


def test_import_unknown_column(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER + ",color", GOOD + ",red")
    assert_bad_input(invoke("import", str(path)), "line 1: field 'color'", "unknown column")
    nothing_written()


def test_import_reports_every_bad_row(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        HEADER,
        good_row(id="ok-one"),  # 2 fine
        good_row(id="a", segment="galactic"),  # 3
        good_row(id="b", tier="7"),  # 4
        good_row(id="c", seats="-1"),  # 5
        good_row(id="ok-two"),  # 6 fine
        good_row(id="d", signed="2026-13-01"),  # 7
        good_row(id="e", renewal="01/02/2026"),  # 8
        good_row(id="f", signed="2026-06-01", renewal="2026-01-01"),  # 9
        good_row(id="ok-one"),  # 10 duplicate of line 2
    )
    output = assert_bad_input(invoke("import", str(path)))
    found = problem_lines(output)
    assert found.keys() == {3, 4, 5, 7, 8, 9, 10}, output
    assert "'segment'" in found[3]
    assert "'tier'" in found[4]
    assert "'seats'" in found[5]
    assert "'signed'" in found[7]
    assert "'renewal'" in found[8]
    assert "renewal" in found[9]
    assert "'id'" in found[10]
    assert "7 problem(s)" in output
    nothing_written()


def test_import_row_with_too_many_values(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER, GOOD + ",extra")
    assert_bad_input(invoke("import", str(path)), "line 2")
    nothing_written()


def test_import_header_only(invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path) -> None:
    assert_bad_input(invoke("import", str(write_csv(tmp_path, HEADER))), "no data rows")
    nothing_written()


def test_import_nonexistent_file(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-file.csv"
    assert_bad_input(invoke("import", str(missing)), "no-such-file.csv")
    nothing_written()


def test_import_directory(invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path) -> None:
    assert invoke("import", str(tmp_path)).exit_code == 2
    nothing_written()


def test_import_json_flag_does_not_change_validation(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, HEADER, good_row(tier="7"))
    assert_bad_input(invoke("import", str(path), "--json"), "line 2: field 'tier'")
    nothing_written()


# ----- journey enroll -----

ENROLL = [
    "--id",
    "acme",
    "--name",
    "Acme Corp",
    "--segment",
    "strategic",
    "--tier",
    "1",
    "--seats",
    "500",
    "--arr",
    "250000",
    "--signed",
    "2026-01-05",
    "--renewal",
    "2027-01-05",
    "--ta",
    "ana.ta",
    "--ae",
    "sam.ae",
]


def enroll_args(**changes: str) -> list[str]:
    args = list(ENROLL)
    for option, value in changes.items():
        flag = "--" + option.replace("_", "-")
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"tier": "7"}, ["tier"], id="tier-7"),
        pytest.param({"tier": "0"}, ["tier"], id="tier-0"),
        pytest.param({"seats": "-3"}, ["seats"], id="negative-seats"),
        pytest.param({"arr": "-1"}, ["arr"], id="negative-arr"),
        pytest.param({"id": "Acme_Corp"}, ["id", "slug"], id="bad-slug"),
        pytest.param({"id": "-acme"}, ["id", "slug"], id="slug-leading-dash"),
        pytest.param({"renewal": "2025-01-05"}, ["renewal", "signed"], id="renewal-before-signed"),
        pytest.param({"signed": "2026-13-01"}, ["signed"], id="month-13"),
        pytest.param({"signed": "01/02/2026"}, ["signed"], id="slash-date"),
        pytest.param({"production_ready": "2025-01-01"}, ["production_ready"], id="production-before-signed"),
        pytest.param({"segment": "galactic"}, ["segment"], id="unknown-segment"),
        pytest.param({"tier": "high"}, ["tier"], id="tier-not-a-number"),
        pytest.param({"contact": "boss:Bob"}, ["contacts", "role"], id="unknown-contact-role"),
        pytest.param({"contact": "Bob"}, ["--contact"], id="contact-without-role"),
    ],
)
def test_enroll_bad_option(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    changes: dict[str, str],
    expected: list[str],
) -> None:
    assert_bad_input(invoke("enroll", *enroll_args(**changes)), *expected)
    nothing_written()


def test_enroll_missing_required_option(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    args = enroll_args()
    index = args.index("--ae")
    del args[index : index + 2]
    assert_bad_input(invoke("enroll", *args), "--ae")
    nothing_written()


# ----- journey event / health / done -----


def test_event_unknown(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    # The message lists the known events, with the CLI's dashes.
    assert_bad_input(invoke("event", "acme", "bogus-event"), "bogus-event", "kickoff-held", "renewal-closed")
    nothing_written()


def test_event_bad_color(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    output = assert_bad_input(invoke("event", "acme", "set-health", "--data", '{"color":"purple"}'), "color")
    assert "reason" in output, "every bad field is named, the missing reason too"
    nothing_written()


def test_event_bad_color_with_reason(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    output = assert_bad_input(
        invoke("event", "acme", "set-health", "--data", '{"color":"purple","reason":"x"}'), "field 'color'"
    )
    assert "field 'reason'" not in output
    nothing_written()


@pytest.mark.parametrize("data", ["not json", "{", '{"color": }'])
def test_event_data_not_json(invoke: Callable[..., Result], nothing_written: Callable[[], None], data: str) -> None:
    assert_bad_input(invoke("event", "acme", "set-health", "--data", data), "--data", "JSON")
    nothing_written()


@pytest.mark.parametrize("data", ["[1, 2]", '"red"', "3"])
def test_event_data_not_an_object(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], data: str
) -> None:
    assert_bad_input(invoke("event", "acme", "set-health", "--data", data), "--data", "object")
    nothing_written()


@pytest.mark.parametrize(
    ("event", "data", "field"),
    [
        pytest.param("kickoff-held", '{"check_in_cadence_days": 0}', "check_in_cadence_days", id="cadence-0"),
        pytest.param("kickoff-held", '{"cadence": 14}', "cadence", id="unknown-field"),
        pytest.param("renewal-closed", '{"outcome": "maybe"}', "outcome", id="bad-outcome"),
        pytest.param("renewal-closed", "{}", "outcome", id="missing-outcome"),
        pytest.param("contract-changed", '{"seats": -1}', "seats", id="negative-seats"),
        pytest.param("contract-changed", '{"tier": 7}', "tier", id="tier-7"),
        pytest.param("offboard", "{}", "reason", id="offboard-without-reason"),
        pytest.param("production-ready", '{"on": "2026-13-01"}', "on", id="bad-on-date"),
    ],
)
def test_event_bad_payload(
    invoke: Callable[..., Result],
    nothing_written: Callable[[], None],
    event: str,
    data: str,
    field: str,
) -> None:
    assert_bad_input(invoke("event", "acme", event, "--data", data), f"field '{field}'")
    nothing_written()


def test_event_bad_on_option(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("event", "acme", "kickoff-held", "--on", "01/02/2026"), "--on")
    nothing_written()


def test_health_unknown_color(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("health", "acme", "purple", "--reason", "x"), "purple")
    nothing_written()


def test_health_without_reason(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("health", "acme", "red"), "--reason")
    nothing_written()


def test_health_empty_reason(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("health", "acme", "red", "--reason", ""), "reason")
    nothing_written()


def test_done_empty_touchpoint(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("done", "acme", ""), "touchpoint")
    nothing_written()


def test_list_unknown_segment(invoke: Callable[..., Result], nothing_written: Callable[[], None]) -> None:
    assert_bad_input(invoke("list", "--segment", "galactic"), "--segment")
    nothing_written()


# ----- journey worker / up: the Worker Deployment version -----


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(("--deployment", "journey.eu"), "--deployment", id="dot-in-deployment"),
        pytest.param(("--deployment", ""), "--deployment", id="empty-deployment"),
        pytest.param(("--build-id", "__unversioned__"), "--build-id", id="reserved-build-id"),
        pytest.param(("--build-id", "1.0 beta"), "--build-id", id="space-in-build-id"),
    ],
)
def test_worker_bad_version(invoke: Callable[..., Result], nothing_written: Callable[[], None], args: tuple[str, ...], named: str) -> None:
    assert_bad_input(invoke("worker", *args), f"{named}: ")
    nothing_written()


@pytest.mark.parametrize("command", ["worker", "up"])
def test_bad_version_setting(
    invoke: Callable[..., Result], nothing_written: Callable[[], None], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("JOURNEY_DEPLOYMENT", "a:b")
    assert_bad_input(invoke(command), "JOURNEY_DEPLOYMENT: 'a:b' contains ':'")
    nothing_written()
