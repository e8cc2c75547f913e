"""Text blocks, the loaders' common output, and the line-level patterns the text and PDF loaders share."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

HEADING, PARA, BULLET = "heading", "para", "bullet"
NUMBER_RE = re.compile(
    r"^\s*(?:\d{1,3}(?:\.\d{1,2})*(?:\.\s*|,\s+)(?=[A-Z(\"“‘])|\(?[a-z]\)\s+\S|\(?[ivx]{1,5}\)\s+\S)"
)
PAGE_NUM_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
INLINE_BULLET_RE = re.compile(r"(?<=[.;:])\s+[-•]\s+(?=\w)")
ENDS_SENTENCE_RE = re.compile(r"[.:;!?)\]\"”’]\s*$")
ENDS_LIST_ITEM_RE = re.compile(r"[;,]\s*(?:and|or)\s*$")  # "...; and" closes an item: a bullet follows
BARE_NUMBER_RE = re.compile(r"^\s*(\d{1,2})\s+(?=[A-Z])")  # "1 Take appropriate measures" (no full stop)
SUB_ITEM_RE = re.compile(r"^\s*\(?([a-z]{1,2}|[ivx]{1,5})\)\s+")  # "(a) ", "ii) ": group 1 is the label
SPACES_RE = re.compile(r"[ \t\u00a0]+")
LOWER_RUN_RE = re.compile(r"[a-z]+")
SUPERSCRIPTS = str.maketrans("", "", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Block:
    """A run of text the source sets apart: a heading, a paragraph or a bullet item."""

    kind: str
    text: str
    page: int | None = None


MARKUP_RE = re.compile(r"[<\[*_\\⁰¹²³⁴⁵⁶⁷⁸⁹]")
EMPHASISED_MARK_RE = re.compile(r"\*([.,;:!?])\*(?!\w)")  # not "*AI*,*data*"
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
    text = EMPHASISED_MARK_RE.sub(r"\1", text)  # "computing technologies*.*": an italic full stop
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


def join_unfinished(pieces: Iterable[str], unfinished: re.Pattern[str]) -> list[str]:
    """The pieces, each joined (with a space) to the one before while that one matches `unfinished`: a paragraph
    number alone ("8."), a line ending inside an HTML tag ("…</span><span")."""
    out: list[str] = []
    for piece in pieces:
        if out and unfinished.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def join_lines(lines: Iterable[str], whole: Callable[[str], bool] | None = None, spaced_hyphens: bool = False) -> str:
    """A paragraph's lines as one text, each run of spaces and tabs one space. A word hyphenated at a line end (the
    text so far ends in "-" but not " -", the next line starts in lower case) is rejoined: without its hyphen when
    `whole(word)` says the document spells the word whole ("develop-" "ment"), with it otherwise ("evidence-"
    "based"). With `spaced_hyphens` (a print that sets a space before a line-end hyphen), "copyright -"
    "protected" is one word too. Linear: the text is kept in pieces and only its end is ever read or trimmed."""
    parts: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if parts and line[:1].islower():
            if spaced_hyphens and _end(parts, 2) == " -":
                _trim(parts, 2)
                parts.append("-")
            end = _end(parts, 2)
            if end.endswith("-") and end != " -":
                if whole is not None:
                    head, tail = _letters_before_hyphen(parts), LOWER_RUN_RE.match(line)
                    if head and tail and whole(head + tail.group(0)):
                        _trim(parts, 1)
                parts.append(line)
                continue
        parts.append(f" {line}" if parts else line)
    return SPACES_RE.sub(" ", "".join(parts)).strip()


def _end(parts: list[str], n: int) -> str:
    """The last n characters of the pieces' text (fewer if it is shorter)."""
    out = ""
    for piece in reversed(parts):
        out = piece[-(n - len(out)) :] + out
        if len(out) >= n:
            break
    return out


def _trim(parts: list[str], n: int) -> None:
    """Take n characters off the end of the pieces' text."""
    while n and parts:
        last = parts.pop()
        if len(last) > n:
            parts.append(last[:-n])
        n = max(0, n - len(last))


def _letters_before_hyphen(parts: list[str]) -> str:
    """The run of ASCII letters just before the final "-" of the pieces' text (its cost is the run's length)."""
    out: list[str] = []
    skip = 1
    for piece in reversed(parts):
        i = len(piece) - skip
        skip = 0
        j = i
        while j > 0 and piece[j - 1] in string.ascii_letters:
            j -= 1
        out.append(piece[j:i])
        if j > 0:
            break
    return "".join(reversed(out))
