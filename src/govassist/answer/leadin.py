"""The lead-in of a quoted bullet or lettered sub-paragraph: the words that say who commits and how ("Calls upon
Member States … including by:", "… commit to:"), which the item itself leaves out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..chunk import NUM_RE, PART_RE, Chunk
from ..text import sentences

LEAD_WORDS = 45  # a longer lead-in (4 of the 31 in the corpus) is shown as its first 30 and last 12 words
HEAD_WORDS, TAIL_WORDS = 30, 12  # the first words hold whom it addresses and its verb, the last what introduces items
CONTEXT_CHARS = 300  # a chunk's context holds at most this much of its lead-in (chunk.chunk_blocks)
FIRST_ITEM_RE = re.compile(r"\((?:a|[a-z]\)\(i)\)$")  # "6(a)", "6(a)(i)": the first item after its lead-in

ChunksOf = Callable[[str], Iterable[Chunk]]


@dataclass(frozen=True)
class LeadIn:
    """A lead-in as shown (`text`: its last sentence, its middle cut past LEAD_WORDS words), whether items
    between it and the quoted sentence are left out (`gap`), the paragraph it comes from (`source`, "doc#label":
    shown once per answer) and that paragraph's text as read (`full`)."""

    text: str
    gap: bool
    source: str
    full: str


def lead_in(c: Chunk, sentence: str, doc_chunks: ChunksOf | None = None) -> LeadIn | None:
    """The lead-in of a sentence of this passage that is a bullet, a lettered sub-paragraph or a line after one that
    ends with ":" (a run of short paragraphs: "… expert groups which focus on:", "1. AI terminology …"), when the
    sentence opens its item or line (a later sentence of an item is not what the lead-in introduces), else None.
    The whole lead-in is read from the paragraph's first part, or the parent paragraph of a sub-paragraph, through
    `doc_chunks` (the store's); without it, from the passage's context (its first CONTEXT_CHARS characters)."""
    lines = c.text.split("\n")
    at = next((i for i, line in enumerate(lines) if sentence in line), None)
    if at is None:
        return None
    line = lines[at].lstrip()
    if not line.lstrip("• ").startswith(sentence):  # a later sentence of an item ("… on AI. We will launch …"):
        return None  # the lead-in introduces its first
    if line.startswith("•"):
        own = not lines[0].lstrip().startswith("•")  # the lead-in opens this part, or the paragraph's first part
        full = lines[0] if own else _first_part_lead(c, doc_chunks)
        gap = not (own and at == 1)  # the first item, right after its lead-in
        source = f"{c.doc_id}#{c.para}"
    elif c.para.endswith(")") and "(" in c.para and at == 0:
        parent = c.para[: c.para.rindex("(")]  # "6(a)" → "6", "6(a)(i)" → "6(a)"
        full = _paragraph_text(c.doc_id, parent, doc_chunks) or ("" if parent.endswith(")") else context(c))
        gap = not (FIRST_ITEM_RE.search(c.para) and not PART_RE.search(c.id))
        source = f"{c.doc_id}#{parent}"
    elif at > 0 and lines[at - 1].rstrip().endswith(":"):  # a line of a run introduced by the line before it
        full, gap, source = lines[at - 1], False, f"{c.doc_id}#{c.para}@{at - 1}"
    else:
        return None
    return LeadIn(_shown(full), gap, source, full) if full.strip() else None


def context(c: Chunk) -> str:
    """The passage's context, "…" marking where the chunker cut it."""
    return f"{c.context.rsplit(' ', 1)[0]} …" if len(c.context) >= CONTEXT_CHARS else c.context


def _first_part_lead(c: Chunk, doc_chunks: ChunksOf | None) -> str:
    """The first line of the paragraph's first part (its lead-in), or the passage's context."""
    first = PART_RE.sub("~p1", c.id)
    part = next((x for x in doc_chunks(c.doc_id) if x.id == first), None) if doc_chunks else None
    head = part.text.split("\n")[0] if part else ""
    return head if head and not head.lstrip().startswith("•") else context(c)


def _paragraph_text(doc_id: str, label: str, doc_chunks: ChunksOf | None) -> str:
    """The text of a paragraph, its parts joined ("" when not found or no store is given)."""
    if doc_chunks is None:
        return ""
    own = re.compile(rf"{re.escape(doc_id)}#{re.escape(label)}(?:~p\d+)?")
    parts = sorted((x for x in doc_chunks(doc_id) if own.fullmatch(x.id)), key=lambda x: x.order)
    return " ".join(x.text for x in parts)


def _shown(full: str) -> str:
    """The lead-in as shown: the last sentence of its paragraph (the one that introduces the items), without the
    paragraph's number, its middle cut to "…" past LEAD_WORDS words (of a context the chunker cut, its end)."""
    cut = full.endswith(" …")  # the context as cut by the chunker: its last sentence is incomplete
    last = full if cut else (sentences(full) or [full])[-1]
    words = NUM_RE.sub("", last.strip()).split()
    if len(words) > LEAD_WORDS:
        words = [*words[:HEAD_WORDS], "…"] if cut else [*words[:HEAD_WORDS], "…", *words[-TAIL_WORDS:]]
    return " ".join(words)
