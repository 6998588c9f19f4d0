"""Markdown rendered as the Temporal Web UI renders it: CommonMark with raw HTML allowed
and tables (markdown-it-py)."""

from __future__ import annotations

from markdown_it import MarkdownIt

IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"


def render(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def assert_shows_as_text(markdown_text: str, *values: str) -> None:
    """Rendered, the markdown makes no element or link from data, and shows each value."""
    rendered = render(markdown_text)
    assert "<img" not in rendered and "<a " not in rendered and "javascript:alert(1)\"" not in rendered, rendered
    text_of = MarkdownIt("commonmark").enable("table")
    plain = "".join(
        child.content
        for token in text_of.parse(markdown_text)
        if token.children
        for child in token.children
        if child.type in ("text", "code_inline")
    )
    for value in values:
        assert value in plain, f"{value!r} not shown as text in {plain!r}"
