"""Text from data (names, owners, reasons, notes) made safe for where it is shown.

Every output that renders a format escapes the data it puts into it, so that a value such
as `<img src=x onerror=alert(1)>` or `[x](javascript:alert(1))` shows as that text:

* `markdown` and `code` for the Temporal Web UI (summaries and details are markdown,
  which may hold raw HTML);
* `slack` for Slack's mrkdwn (`<...>` makes links and mentions);
* `one_line` for a header line (an email subject): no line breaks, no control characters.
"""

from __future__ import annotations

import re
import unicodedata

# Characters CommonMark and GitHub-flavoured markdown give a meaning to anywhere in a line
# (emphasis, code, links, images, tables, strikethrough, autolinks, HTML, entities).
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]()!|~{}])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_HTML_CHARS = re.compile(r'[&<>"]')
# What a line may start with to become a heading, list item, quote, rule or setext line.
_MARKDOWN_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]+")


def one_line(value: object) -> str:
    """`value` as one line of plain text: line breaks become spaces, and other control and
    format characters (ESC, bidi overrides, zero-width marks) are dropped."""
    text = _LINE_BREAKS.sub(" ", "" if value is None else str(value))
    return "".join(ch for ch in text if ch == " " or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))


def markdown(value: object) -> str:
    """`value` as literal text inside markdown, anywhere in a line (a table cell included):
    HTML is escaped as entities, markdown punctuation with backslashes, line breaks become
    spaces."""
    text = one_line(value)
    text = _HTML_CHARS.sub(lambda m: _HTML[m.group()], text)
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    match = _MARKDOWN_LINE_START.match(text)
    if match:
        # Only the first marker could start a block: "# x", "- x", "1. x" (before its dot).
        marker = match.group(2)
        at = match.end(2) if marker[0].isdigit() else match.start(2)
        text = f"{text[:at]}\\{text[at:]}"
    return text


def code(value: object) -> str:
    """`value` as a markdown code span: shown verbatim (the renderer escapes HTML in it),
    fenced with more backticks than any run of them in the value. Not for table cells,
    where a `|` would still end the cell: use `markdown` there."""
    text = one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def slack(value: object) -> str:
    """`value` as literal text in Slack mrkdwn: `&`, `<` and `>` as the entities Slack
    asks for, so that no link, mention or `<!channel>` comes from data."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
