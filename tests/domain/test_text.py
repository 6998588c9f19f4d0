"""Text from data, escaped for markdown (the Web UI), Slack and header lines."""

from __future__ import annotations

import pytest

from journey.domain.models import JourneyStatus
from journey.domain.text import code, markdown, one_line, slack
from tests.helpers.markdown import IMG, LINK, assert_shows_as_text, render
from workflows.details import journey_details


@pytest.mark.parametrize(
    "value",
    [IMG, LINK, "![x](http://evil/x.png)", "a | b", "# heading", "- item", "1. first", "*bold* _it_", "`tick`", "&lt;b&gt;", "<!channel>"],
)
def test_markdown_shows_any_value_as_text(value: str) -> None:
    assert_shows_as_text(f"**Name** {markdown(value)} · x", value)
    assert_shows_as_text(markdown(value), value)
    assert_shows_as_text(f"| a |\n|---|\n| {markdown(value)} |", value)
    assert_shows_as_text(f"id {code(value)}", value)


def test_line_breaks_and_control_characters_do_not_start_blocks() -> None:
    text = markdown("Acme\n# big\n\x1b[31mred\u202eevil")
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
    assert "<h1>" not in render(f"x {text}")
    assert one_line("Re: x\r\nBcc: all@example.com") == "Re: x Bcc: all@example.com"


def test_slack_text_has_no_links_or_mentions() -> None:
    assert slack("<!channel> & <javascript:alert(1)|click>") == "&lt;!channel&gt; &amp; &lt;javascript:alert(1)|click&gt;"


def test_details_of_a_plain_account_read_as_before() -> None:
    status = JourneyStatus.model_validate(
        {
            "account": "acme", "name": "Acme Corp.", "stage": "kickoff", "health": "green", "segment": "strategic",
            "tier": 1, "engagement_model": "enterprise", "ta": "ana.ta", "ae": "sam.ae", "seats": 500,
            "arr": 250000.0, "signed": "2026-01-05", "renewal_date": "2027-01-05", "term": 1, "today": "2026-01-05",
        }
    )
    assert journey_details(status).splitlines()[:3] == [
        "## Acme Corp. (`acme`)",
        "**Stage** kickoff · **Health** green",
        "**Segment** strategic · tier 1 · enterprise · TA ana.ta · AE sam.ae",
    ]
