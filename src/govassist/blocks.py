"""Text blocks, the loaders' common output, and the line-level patterns the text and PDF loaders share."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING, PARA, BULLET = "heading", "para", "bullet"
NUMBER_RE = re.compile(
    r"^\s*(?:\d{1,3}(?:\.\d{1,2})*(?:\.\s*|,\s+)(?=[A-Z(\"“‘])|\(?[a-z]\)\s+\S|\(?[ivx]{1,5}\)\s+\S)"
)
PAGE_NUM_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
INLINE_BULLET_RE = re.compile(r"(?<=[.;:])\s+[-•]\s+(?=\w)")
ENDS_SENTENCE_RE = re.compile(r"[.:;!?)\]\"”’]\s*$")
ENDS_LIST_ITEM_RE = re.compile(r"[;,]\s*(?:and|or)\s*$")  # "...; and" closes an item: a bullet follows
SUPERSCRIPTS = str.maketrans("", "", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Block:
    """A run of text the source sets apart: a heading, a paragraph or a bullet item."""

    kind: str
    text: str
    page: int | None = None


MARKUP_RE = re.compile(r"[<\[*_\\⁰¹²³⁴⁵⁶⁷⁸⁹]")
TAG_RE = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
# bounded, and a URL may hold one level of parentheses ("...defenders%20(HRDs)%20online"): linear on hostile input
LINK_RE = re.compile(r"!?\[([^\]\[\n]{0,1000})\]\((?:[^()\n]|\([^()\n]{0,200}\)){0,2000}\)")
ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$])")


def clean_inline(text: str) -> str:
    """Drop markdown/HTML residue inside a line: bold marks, link targets, tags, escapes."""
    if not MARKUP_RE.search(text):
        return text
    text = _drop_comments(text)
    text = TAG_RE.sub("", text)
    text = LINK_RE.sub(r"\1", text)
    text = text.replace("**", "").replace("__", "")
    text = ESCAPE_RE.sub(r"\1", text)
    return text.translate(SUPERSCRIPTS)


def _drop_comments(text: str) -> str:
    """Replace each <!-- ... --> with a space (an unclosed comment runs to the end), in linear time."""
    out, pos = [], 0
    while (start := text.find("<!--", pos)) >= 0:
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        pos = len(text) if end < 0 else end + 3
        out.append(" ")
    out.append(text[pos:])
    return "".join(out) if len(out) > 1 else text
