"""Cited answers: records (`records`), the extractive composer (`extractive`, the default) and the LLM composer
(`llm`), chosen through one table that `ask` and the chat both use."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING, Protocol

from ..catalog import DocMeta
from ..chunk import PART_RE, Chunk, plain_para
from ..errors import QueryError
from ..question import read, scope_note, search_turn, sides
from ..retrieve import PARA_REF_RE, Filters, Hit, answer_kind, doc_prior, labelled
from ..settings import Settings
from ..text import long_date
from .extractive import extract
from .llm import llm_answer
from .rank import STOP
from .records import NOTHING, Answer, Citation, Sentence, cite_label, to_citation
from .support import CLOSEST, CLOSEST_LEAD, DIRECT, NONE, notice, other_language, unindexed_named, unread

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "CLOSEST",
    "CLOSEST_LEAD",
    "COMPOSERS",
    "DIRECT",
    "NONE",
    "NOTHING",
    "STOP",
    "WHOLE_MAX_CHARS",
    "Answer",
    "Citation",
    "Composer",
    "Sentence",
    "ask",
    "ask_scoped",
    "by_paragraph",
    "catalog_dates",
    "cite_label",
    "compose",
    "extract",
    "paragraph_count",
    "to_citation",
]


class Composer(Protocol):
    def __call__(
        self,
        question: str,
        hits: list[Hit],
        s: Settings,
        *,
        unindexed: tuple[DocMeta, ...] = (),
        sides: tuple[str, ...] = (),
        doc_chunks: Callable[[str], Iterable[Chunk]] | None = None,
    ) -> Answer:
        """An answer to the question from these hits; `unindexed`: catalogued texts it names that are not indexed;
        `sides`: the forums it compares (`question.sides`), each to be quoted; `doc_chunks`: the store's, to read a
        quoted item's whole lead-in."""
        ...


def _llm(
    question: str,
    hits: list[Hit],
    s: Settings,
    *,
    unindexed: tuple[DocMeta, ...] = (),
    sides: tuple[str, ...] = (),
    doc_chunks: Callable[[str], Iterable[Chunk]] | None = None,
) -> Answer:
    """The LLM's answer, or the extractive one (with a note saying why) when the LLM fails or cites nothing given."""
    fallback = lambda: extract(question, hits, s, unindexed=unindexed, sides=sides, doc_chunks=doc_chunks)  # noqa: E731
    return llm_answer(question, hits, s, fallback, unindexed)


COMPOSERS: dict[str, Composer] = {"extractive": extract, "llm": _llm}


WHOLE_MAX_CHARS = 4000  # a paragraph in parts longer than this shows the parts cited, not the whole (by_paragraph)


def by_paragraph(answer: Answer, hits: list[Hit], doc_chunks: Callable[[str], Iterable[Chunk]] | None = None) -> Answer:
    """The answer citing each paragraph once, with the paragraph's whole text: quotes from parts of one long
    paragraph cite one passage. Diplomats cite a paragraph; one paragraph shown as two passages under the same
    citation reads as two, and a part alone is not the paragraph. `doc_chunks` (the store's) gives a cited part's
    siblings; without it, or for a paragraph over WHOLE_MAX_CHARS (a long bulleted list), the parts retrieved are
    shown in the text's order (" […] " where a part between them was not). The citation keeps the first cited
    part's label and page."""
    parts: dict[str, list[Chunk]] = {}
    for h in hits:
        parts.setdefault(_paragraph(h.chunk.id), []).append(h.chunk)
    docs: dict[str, list[Chunk]] = {}
    kept: dict[tuple[str, str], tuple[Citation, list[Chunk]]] = {}  # by citation: units sharing a label are one
    key_of: dict[int, int] = {}
    for c in answer.citations:
        para = _paragraph(c.chunk_id)
        shown = parts.get(para, [])
        if any(x.id == c.chunk_id and x.para != c.para for x in shown):  # one paragraph of a run: it alone
            shown = []
        if doc_chunks is not None and PART_RE.search(c.chunk_id):
            if c.doc_id not in docs:
                docs[c.doc_id] = list(doc_chunks(c.doc_id))
            whole = [x for x in docs[c.doc_id] if _paragraph(x.id) == para]
            if whole and sum(len(x.text) for x in whole) <= WHOLE_MAX_CHARS:
                shown = whole
        group = (c.doc_id, c.para)  # "3 Publicly report …" and its "This should include …" are both ¶3
        if group not in kept:
            kept[group] = (replace(c, key=len(kept) + 1), [])
        kept[group][1].extend(shown)
        key_of[c.key] = kept[group][0].key
    citations = tuple(replace(c, text=_joined(shown) or c.text) for c, shown in kept.values())
    sentences = tuple(replace(x, key=key_of[x.key]) for x in answer.sentences)
    return replace(answer, sentences=sentences, citations=citations)


def _paragraph(chunk_id: str) -> str:
    """One key for the parts of a paragraph ("doc#9~p1", "doc#9~p2" → "doc#9~p"), not shared with a paragraph of
    the same label in one part ("doc#9")."""
    return PART_RE.sub("~p", chunk_id)


def _joined(parts: list[Chunk]) -> str:
    ordered = sorted({c.id: c for c in parts}.values(), key=lambda c: c.order)
    if not ordered:
        return ""
    text = ordered[0].text
    for a, b in pairwise(ordered):  # a part that opens with a bullet starts its own line, as in the text
        joint = "\n" if b.text.lstrip().startswith("•") else " "
        text += (joint if b.order == a.order + 1 else " […] ") + b.text
    return text


def compose(
    question: str,
    hits: list[Hit],
    s: Settings,
    mode: str | None = None,
    indexed: Collection[str] | None = None,
    doc_chunks: Callable[[str], Iterable[Chunk]] | None = None,
    sides: tuple[str, ...] = (),
) -> Answer:
    """The answer from these hits by the composer `mode` names (default: GOVASSIST_ANSWER_MODE). `indexed`: the
    ids of the indexed documents, to say so when the question names a catalogued text that is not among them (the
    one place this is decided: the answer carries the notice in `not_indexed`, for the chat to show).
    `doc_chunks`: the store's, so that a cited part of a long paragraph is shown with the whole paragraph.
    `sides`: the forums the question compares, as its search read them (`question.sides`)."""
    mode = mode or s.answer_mode
    if mode not in COMPOSERS:
        raise QueryError(f"unknown answer mode {mode!r}: use one of {', '.join(COMPOSERS)}")
    if why := unread(question, s):  # a question in another script, an English embedder: no quote could be trusted
        return Answer(question, why, (), (), False, mode, (why,), NONE)
    unindexed = unindexed_named(question, s, indexed) if indexed is not None else ()
    composed = COMPOSERS[mode](question, hits, s, unindexed=unindexed, sides=sides, doc_chunks=doc_chunks)
    answer = by_paragraph(composed, hits, doc_chunks)
    if isinstance(indexed, Mapping) and (missing := _no_such_paragraph(question, hits, indexed)):
        answer = answer.with_notes(missing)
    if answer.citations and (foreign := other_language(question, s)):
        answer = answer.with_notes(foreign)
    if answer.citations and isinstance(indexed, Mapping):
        first = answer.citations[0].doc_id
        counted = paragraph_count(question, indexed, doc_chunks, first) if doc_chunks is not None else ""
        answer = answer.with_notes(*(x for x in (catalog_dates(question, indexed, first), counted) if x))
        if counted and answer.support == CLOSEST:  # the count answers it: the passages are not merely the closest
            answer = replace(answer, support=DIRECT, text=answer.text.replace(f"{CLOSEST_LEAD} ", "", 1))
    return replace(answer, not_indexed=notice(unindexed, s.corpus_dir)) if unindexed else answer


ISSUED_RE = re.compile(  # a question on when a text itself came out
    r"\b(?:adopt|agree|issu|publish|releas|launch|endors|approv|pass|sign|circulat|convene|dated|came out|come out"
    r"|made public)\w*|\b(?:held|hold|meet|met)\b"
    r"|\bwhat (?:year|date)\b",
    re.IGNORECASE,
)
FUTURE_RE = re.compile(r"\b(?:will|shall|would|should|must|is due|are due|next)\b", re.IGNORECASE)


def catalog_dates(question: str, docs: Mapping[str, DocMeta], first_cited: str = "") -> str:
    """For a question asking when a text it names came out ("When was the UNGA AI resolution adopted?"), the
    catalog's date of that text (a resolution's adoption line is title matter, not a quotable passage): a text named
    by its label or title, or else the one text its words name (`doc_prior`) if the answer cites it first; ""
    otherwise: a looser reading ("When did G7 digital ministers last meet?") could date the wrong text, and a
    question about a future date ("When will …?") is not about the text's own. Restricted texts are never named
    (the caller's roles are not known here)."""
    if answer_kind(question) != "date" or FUTURE_RE.search(question):  # "When was …?", not "… do when …?"
        return ""
    if not ISSUED_RE.search(question):  # "When did New Zealand join the Bletchley Declaration?" is not its date
        return ""
    dated = [d for d in named_texts(question, docs, first_cited) if d.date][:3]
    if not dated:
        return ""
    return "Dated in the catalog: " + "; ".join(f"{d.label}, {long_date(d.date)}" for d in dated) + "."


def named_texts(question: str, docs: Mapping[str, DocMeta], first_cited: str = "") -> list[DocMeta]:
    """The open texts a question names: by label or title, or else the one text its words name (`doc_prior`) if the
    answer cites it first (a looser reading could name the wrong text). Restricted texts never (the caller's roles
    are not known here)."""
    open_docs = {i: d for i, d in docs.items() if not d.restricted}
    named = labelled(question, open_docs)
    if not named:
        prior = list(doc_prior(question, open_docs))
        named = prior if prior == [first_cited] else []
    return [open_docs[i] for i in named]


PARTS_RE = re.compile(  # "how many principles", "number of operative paragraphs": not "how many countries … principles"
    r"\b(?:how many|number of)\s+(?:[\w-]+\s+){0,2}?(?:principles|actions|paragraphs|points|items|articles|sections"
    r"|commitments|measures|recommendations|pillars|elements)\b",
    re.IGNORECASE,
)


def paragraph_count(
    question: str, docs: Mapping[str, DocMeta], doc_chunks: Callable[[str], Iterable[Chunk]], first_cited: str = ""
) -> str:
    """For a question asking how many principles, actions or paragraphs a text it names has ("How many principles
    are in the Code of Conduct?"), the count of that text's numbered and preambular paragraphs in the index: the
    structure the chunker parsed, which no passage states. "" when the question asks no such count or names no text
    with numbered paragraphs."""
    if not PARTS_RE.search(question):
        return ""
    counted = [c for d in named_texts(question, docs, first_cited)[:3] if (c := _counted(d, doc_chunks(d.id)))]
    return "Counted in the index: " + "; ".join(counted) + "." if counted else ""


def _counted(doc: DocMeta, chunks: Iterable[Chunk]) -> str:
    """ "Code of Conduct: 11 numbered paragraphs (¶1–¶11), after 12 preambular paragraphs"; a text whose numbering
    starts again (under headings) counts its runs and names the first two; unnumbered paragraphs, cited ¶[1], ¶[2]…
    in the order they come, are counted too; "" for a text with neither."""
    labels = dict.fromkeys(p for c in sorted(chunks, key=lambda c: c.order) for p in c.paras)
    runs: dict[str, set[int]] = {}
    for p in labels:
        head, number = plain_para(p)
        if number.isdigit():
            runs.setdefault(head, set()).add(int(number))
    plain = sum(p.startswith("[") for p in labels)
    if not runs and not plain:
        return ""
    spans = [
        f"{head + ' ' if head else ''}¶{min(ns)}" + (f"–¶{max(ns)}" if len(ns) > 1 else "") for head, ns in runs.items()
    ]
    total = _many(sum(map(len, runs.values())), "numbered paragraph")
    more = "; …" if len(runs) > 2 else ""
    shown = f"{total} ({spans[0]})" if len(runs) == 1 else f"{total} in {len(runs)} runs ({'; '.join(spans[:2])}{more})"
    shown = shown if runs else "no numbered paragraphs"
    pre = sum(p.startswith("PP") for p in labels)
    shown += f", after {_many(pre, 'preambular paragraph')}" if pre else ""
    shown += f"; {_many(plain, 'unnumbered paragraph')} (¶[1]–¶[{plain}])" if plain else ""
    return f"{doc.label}: {shown}"


def _many(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _no_such_paragraph(question: str, hits: list[Hit], docs: Mapping[str, DocMeta]) -> str:
    """What to say when the question asks for a paragraph by number of a text it names, and that text has none of
    that number ("paragraph 12 of the Code of Conduct", which has 11): the passages shown are then only the closest."""
    ref = PARA_REF_RE.search(question)
    if ref is None or any(h.cited for h in hits):
        return ""
    named = named_texts(question, docs, hits[0].doc.id if hits else "")  # "the UN resolution": its words name it
    if not named:
        return ""
    return (
        f"{named[0].label} has no {ref.group(0).strip()} in the index; the passages below are the closest to the "
        "question."
    )


def ask(
    store: Store,
    question: str,
    s: Settings,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str | None = None,
) -> Answer:
    """Retrieve and answer, reading the question as the chat does (`question.understand`): the forums and years it
    names narrow `filters`, and a note says so. mode: 'extractive' (default) or 'llm' (needs GOVASSIST_LLM_BASE_URL).
    """
    return ask_scoped(store, question, s, k, filters, mode)[0]


def ask_scoped(
    store: Store,
    question: str,
    s: Settings,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str | None = None,
) -> tuple[Answer, Filters]:
    """`ask`, and the filters it searched within (the caller's, narrowed by the question's forums and years), read
    once from the same version of the index as the answer (a briefing note names them)."""
    base = filters or Filters()
    with store.pinned():
        turn, scope = read(store, question, base)
        hits = search_turn(store, turn, scope, s, k=k)
        compared = sides(turn, scope)
        answer = compose(question, hits, s, mode, indexed=store.docs, doc_chunks=store.doc_chunks, sides=compared)
    note = scope_note(base, scope, store.docs)
    return (answer.with_notes(note) if note else answer), scope
