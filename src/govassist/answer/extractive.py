"""The extractive composer, the default: sentences taken verbatim from the retrieved passages, each with the
citation of its passage."""

from __future__ import annotations

import re
from pathlib import Path

from ..catalog import DocMeta
from ..chunk import Chunk, para_pieces, piece_of
from ..retrieve import PARA_REF_RE, Hit, cites_label, paragraph_refs, phrases
from ..settings import Settings
from ..text import STOP, fold, normalise
from . import rank as rk
from . import support as sp
from .leadin import ChunksOf, lead_in
from .records import NOTHING, Answer, Citation, Sentence, quote_text, to_citation, with_lead

ITEM_NUMBER_RE = re.compile(r"^\(?\d{1,3}[.)]?\s+")
MARGIN = 0.15  # a sentence this far below the best is not quoted (dev set: citation precision 0.417 -> 0.459)


def _phrase_found(hits: list[Hit], question: str) -> bool:
    """The question quotes a phrase that a hit holds, or the first hit is the paragraph it asked for by number in a
    text it named (`Hit.cited`): what was asked for is there, whatever its cosine to the question."""
    if hits and hits[0].cited:
        return True
    wanted = phrases(question)
    return bool(wanted) and any(all(p in normalise(h.chunk.text) for p in wanted) for h in hits)


def evidence(
    question: str,
    hits: list[Hit],
    cands: list[rk.Candidate],
    unindexed: tuple[DocMeta, ...] = (),
    foreign: str = "",
) -> sp.Evidence:
    """What the support flag of an answer from these hits and ranked sentences is decided from (`foreign`: another
    body's instrument the question asks about, `support.instrument`)."""
    top = None if _phrase_found(hits, question) else max((h.cosine for h in hits if h.cosine is not None), default=None)
    looked_up = any(h.cited for h in hits)  # the paragraph asked for by number is quoted, whatever its cosines
    ref = PARA_REF_RE.search(question)  # one asked for and not found counts as a missing term
    lost = (ref.group(0).strip(),) if ref and not looked_up else ()
    return sp.Evidence(
        top,
        1.0 if looked_up and cands else max((c.cosine for c in cands), default=None),
        sp.missing_terms(question, hits) + lost,
        sp.apart(question, hits[:5]),
        unindexed,
        sp.covered(unindexed, hits),
        sp.language(question),
        foreign,
    )


def nothing(
    question: str, unindexed: tuple[DocMeta, ...] = (), mode: str = "extractive", corpus_dir: Path | None = None
) -> Answer:
    """The answer that says nothing relevant was found (and names a catalogued text that is not indexed)."""
    if unindexed:
        note = sp.notice(unindexed, corpus_dir)
        return Answer(question, f"{note} {NOTHING}", (), (), False, mode, (note,), sp.NONE)
    return Answer(question, NOTHING, (), (), False, mode, (), sp.NONE)


def lead(
    support: str, unindexed: tuple[DocMeta, ...], corpus_dir: Path | None = None, foreign: str = ""
) -> tuple[str, tuple[str, ...]]:
    """What opens an answer's text (the notice of an unindexed text or of another body's instrument, the 'closest
    passages' line) and its notes; a direct answer opens with its quotes, the notice only among its notes."""
    notes = (sp.notice(unindexed, corpus_dir),) if unindexed else ()
    notes += (sp.instrument_note(foreign),) if foreign and not unindexed else ()
    opening = () if support == sp.DIRECT else notes  # a text about it answers (the DFI fact sheet): a note, after
    parts = [*opening, *((sp.CLOSEST_LEAD,) if support == sp.CLOSEST else ())]
    return "".join(f"{x} " for x in parts), notes


def _repeats(norm: str, seen: set[str]) -> bool:
    """Whether a sentence was quoted already, or is one quoted but for an item number only one of the two has
    ("9 Prioritize …" in one text, "Prioritize …" in another); "28 countries …" and "35 countries …" differ."""
    bare = ITEM_NUMBER_RE.sub("", norm)
    return norm in seen or (bare != norm and bare in seen) or any(ITEM_NUMBER_RE.sub("", x) == norm for x in seen)


def choose(
    cands: list[rk.Candidate],
    n: int,
    kind: str = "",
    sides: tuple[str, ...] = (),
    floor: float = 0.0,
) -> list[rk.Candidate]:
    """The best sentences, at most two per passage, none far below the best, no repeats. The best sentence of the
    best-ranked passage opens the answer: the retriever's order, which already scores every sentence against the
    question, names the answering passage more often than one sentence's own score does (`govassist eval`, first-
    citation accuracy: dev 0.333 -> 0.452, legacy 0.707 -> 0.807) — except that a question asking for a count, a list
    or a date opens with the best passage that carries one when the first carries none and one is within the margin
    ("Which countries signed …?": the list, not "New Zealand joined …"; "How big was the summit?": "more than 275
    participants", not its dates: dev 0.690 -> 0.714, legacy unchanged). For a question on how language evolved
    (`kind` "evolution"): one per passage, within twice the margin, so that several texts are quoted. `sides`: the
    forum of each passage (by hit) when the question compares forums; each then has its best sentence quoted, however
    far below the best, if its cosine to the question reaches `floor` ("Do the G7 and the TTC agree …?" quotes both:
    one side's closest words are part of the comparison)."""
    chosen: list[rk.Candidate] = []
    per_hit: dict[int, int] = {}
    seen: set[str] = set()
    evolution = kind == "evolution"
    most, margin = (1, 2 * MARGIN) if evolution else (2, MARGIN)
    best = cands[0].score if cands else 0.0
    first = min((c.hit for c in cands), default=0)
    if kind in rk.CARRIED and cands and not any(rk.carries(kind, c.text) for c in cands if c.hit == first):
        # "Which countries signed …?": the passage with the list opens the answer, if one is near the best
        first = next((c.hit for c in cands if rk.carries(kind, c.text) and c.score >= best - margin), first)
    if not evolution and cands:
        cands = sorted(cands, key=lambda c: c.hit != first)  # stable: the top passage's sentences first, by score
    for c in cands:
        norm = normalise(c.text)
        if per_hit.get(c.hit, 0) >= most or _repeats(norm, seen):
            continue
        if chosen and c.score < best - margin:
            continue
        chosen.append(c)
        per_hit[c.hit] = per_hit.get(c.hit, 0) + 1
        seen.add(norm)
        if len(chosen) >= n:
            break
    quoted = {sides[c.hit] for c in chosen} if sides else set()
    for side in dict.fromkeys(x for x in sides if x and x not in quoted):  # a forum compared, not quoted yet
        other = next((c for c in cands if sides[c.hit] == side and c.cosine >= floor), None)
        if other is not None and not _repeats(norm := normalise(other.text), seen):
            chosen.append(other)
            seen.add(norm)
    return chosen


# a sentence that opens by pointing back to the one before it
REFERS_BACK_RE = re.compile(
    r"(?:To (?:that|this) end|In (?:this|that) (?:regard|respect|context)|To do so|In doing so|Therefore|Thus|Hence"
    r"|Accordingly|Building on (?:this|these|that)|(?:This|These|That|Those|Such|It|They)\b)",
)


def arrange(chosen: list[rk.Candidate], hits: list[Hit], kind: str) -> list[rk.Candidate]:
    """The order of the quotes: by date for 'how has … evolved' questions (`kind` "evolution"); otherwise the best
    sentence first, each passage's sentences together, passages in the order of their best sentence; a passage's
    sentences in the text's order when one of them points back to another ("To that end we endorse …")."""
    if kind == "evolution":
        return rk.by_date(chosen, hits)
    first = {c.hit: i for i, c in reversed(list(enumerate(chosen)))}
    ordered = sorted(chosen, key=lambda c: first[c.hit])  # stable: by score within a passage
    refers = {c.hit for c in ordered if REFERS_BACK_RE.match(c.text)}  # "To that end we endorse …": after its cue
    return sorted(ordered, key=lambda c: (first[c.hit], c.pos if c.hit in refers else 0))


def asked_for(question: str, hits: list[Hit], s: Settings, n: int) -> tuple[list[Hit], int]:
    """The paragraphs a question asks for by number (`Hit.cited`), of the first text they come from, at most `n`:
    the first (the paragraph itself) and the sub-paragraphs closest to the question ("paragraph 6 … about privacy"
    shows 6(j)), in the text's order; and how many were left out."""
    first = next((h.doc.id for h in hits if h.cited), None)
    cited = [h for h in hits if h.cited and h.doc.id == first]
    if len(cited) <= n:
        return cited, 0
    best: dict[int, float] = {}
    for c in rk.rank(question, cited[1:], s):
        best.setdefault(c.hit + 1, c.score)
    keep = {0, *sorted(best, key=lambda i: -best[i])[: n - 1]}
    return [h for i, h in enumerate(cited) if i in keep], len(cited) - len(keep)


# the words of a question that asks for a paragraph and nothing more ("What does paragraph 7 of … say?")
LOOKUP_WORDS = frozenset(
    "what does do did say says said state states provide provides contain contains read reads mean means quote show "
    "tell give me us please full whole text exactly paragraph paragraphs subparagraph subparagraphs sub para paras op "
    "pp preambular operative item items principle principles of the in and is are its".split()
)
WORDS_RE = re.compile(r"[a-z][a-z-]+")


def _topical(question: str, top: list[Hit]) -> bool:
    """Whether a question asking for paragraphs by number also asks what they say of something ("Does OP6 mention
    privacy?", "… say on watermarking?"): a word left that is neither a lookup's nor the text's name's."""
    names = " ".join(f"{h.doc.label} {h.doc.title} {h.doc.forum} {h.doc.collection}" for h in top)
    known = LOOKUP_WORDS | set(WORDS_RE.findall(fold(names.lower())))
    rest = PARA_REF_RE.sub(" ", fold(question.lower()))
    return any(w not in known and w not in STOP for w in WORDS_RE.findall(rest))


def _asked_sentences(question: str, top: list[Hit], cands: list[rk.Candidate]) -> list[rk.Candidate]:
    """For a question asking for paragraphs by number: a sentence of each paragraph asked for, in the text's order
    (the best for the question when it asks about something, "OP6 … about privacy"; else the paragraph's first,
    "What does paragraph 7 say?"); in a run of short paragraphs ("[12]–[13]"), of each one asked for ("paragraphs 12
    and 13": both), else of the passage."""
    refs = paragraph_refs(question)
    best: dict[tuple[int, int], rk.Candidate] = {}
    if not _topical(question, top):  # "What does paragraph 7 say?": its opening words, the commitment itself
        cands = sorted(cands, key=lambda c: (c.hit, c.pos))
    for c in cands:  # the first taken for each paragraph
        pieces = para_pieces(top[c.hit].chunk)
        label = piece_of(top[c.hit].chunk, c.text)[0]
        at = next((i for i, (p, _) in enumerate(pieces) if p == label), -1)
        best.setdefault((c.hit, at if cites_label(label, refs) else -1), c)
    asked = {h for h, at in best if at >= 0}
    return [best[k] for k in sorted(best) if k[1] >= 0 or k[0] not in asked]


# "What exactly did governments commit to …?", "What did they pledge?": the items of the commitment, all of them
COMMITTED_RE = re.compile(
    r"\bwhat\b.*\b(?:commit(?:ted|ments?|s)?|pledge[sd]?|promise[sd]?|undert(?:ake|ook|akes)|agree[sd]? to)\b", re.I
)
LIST_MOST = 8  # bullet items quoted for such a question


def _bullet(c: Chunk, sentence: str) -> bool:
    return any(sentence in line and line.lstrip().startswith("•") for line in c.text.split("\n"))


def _whole_list(chosen: list[rk.Candidate], cands: list[rk.Candidate], top: list[Hit]) -> list[rk.Candidate]:
    """For a question on what was committed to: where the first quote from a bulleted list is, every item of that
    list among the passages (the parts of a long paragraph too; past LIST_MOST, only those chosen anyway), in the
    text's order; the other quotes before and after it as they were."""
    first = next((i for i, c in enumerate(chosen) if _bullet(top[c.hit].chunk, c.text)), None)
    if first is None:
        return chosen
    at = top[chosen[first].hit].chunk
    parts = {i for i, h in enumerate(top) if h.chunk.doc_id == at.doc_id and h.chunk.para == at.para}
    chosen_items = {(c.hit, c.pos) for c in chosen if c.hit in parts}
    items = sorted(
        (c for c in cands if c.hit in parts and _bullet(top[c.hit].chunk, c.text)),
        key=lambda c: (top[c.hit].chunk.order, c.pos),
    )
    items = [c for i, c in enumerate(items) if i < LIST_MOST or (c.hit, c.pos) in chosen_items]  # the best kept
    rest = [c for c in chosen if c.hit not in parts]
    before = [c for c in chosen[:first] if c.hit not in parts]
    return before + items + [c for c in rest if c not in before]


def _skipped(chosen: list[rk.Candidate], top: list[Hit]) -> list[bool]:
    """For the paragraphs quoted in a lookup, in the text's order: whether sub-paragraphs of the same paragraph are
    left out before each (6(a), then 6(e): "[…] (e) …"); not between paragraphs that are cited apart ("Statement on
    AI ¶6", then "¶[6]")."""
    out: list[bool] = []
    prev: Hit | None = None
    for c in chosen:
        h = top[c.hit]
        same = prev is not None and prev.doc.id == h.doc.id and _parent(prev.chunk.para) == _parent(h.chunk.para)
        out.append(bool(same and prev and h.chunk.order > prev.chunk.order + 1))
        prev = h
    return out


def _parent(para: str) -> str:
    return para.split("(", 1)[0]


def extract(
    question: str,
    hits: list[Hit],
    s: Settings,
    n_passages: int = 5,
    unindexed: tuple[DocMeta, ...] = (),
    sides: tuple[str, ...] = (),
    doc_chunks: ChunksOf | None = None,
) -> Answer:
    """Pick the sentences of the top passages that best answer the question, each cited, best first; of `sides`,
    the forums it compares, each one's best sentence too (`choose`). A bullet or sub-paragraph is shown after its
    lead-in (`leadin`), read whole through `doc_chunks` (the store's) when given."""
    if not hits:
        return nothing(question, unindexed, corpus_dir=s.corpus_dir)
    cited, more = asked_for(question, hits, s, n_passages)  # a paragraph asked for by number: it, not its neighbours
    top = cited or hits[:n_passages]
    cands = rk.rank(question, top, s)
    foreign = sp.instrument(question, s)
    support = sp.decide(evidence(question, hits, cands, unindexed, foreign), s)
    if support == sp.NONE or not cands:
        return nothing(question, unindexed, corpus_dir=s.corpus_dir)
    keys: dict[tuple[int, str], int] = {}  # by passage and paragraph: a run of short ones cites each it is quoted from
    citations: list[Citation] = []
    out: list[Sentence] = []
    if cited:  # every paragraph of that number ("¶[8]", "Statement on AI ¶8"): its best sentence each, in order
        chosen = _asked_sentences(question, top, cands)
    else:
        kind = rk.question_kind(question)
        forums = tuple(h.doc.collection if h.doc.collection in sides else "" for h in top) if sides else ()
        chosen = arrange(choose(cands, s.answer_sentences, kind, forums, s.answer_direct_sentence), top, kind)
        if COMMITTED_RE.search(question) and not sides:
            chosen = _whole_list(chosen, cands, top)
    quoted = [c.text for c in chosen]
    shown: set[str] = set()  # the paragraphs whose lead-in is shown: once each
    skipped = _skipped(chosen, top) if cited else [False] * len(chosen)
    for c, skips in zip(chosen, skipped, strict=True):
        piece = piece_of(top[c.hit].chunk, c.text)
        if (c.hit, piece[0]) not in keys:
            keys[c.hit, piece[0]] = len(keys) + 1
            citations.append(to_citation(keys[c.hit, piece[0]], top[c.hit], piece))
        intro = lead_in(top[c.hit].chunk, c.text, doc_chunks)
        if intro and (intro.source in shown or any(q != c.text and q in intro.full for q in quoted)):
            intro = None  # shown already, or its words are quoted in the answer
        if intro:
            shown.add(intro.source)
        gap = bool(intro.gap) if intro else skips
        out.append(Sentence(c.text, keys[c.hit, piece[0]], intro.text if intro else "", gap))
    opening, notes = lead(support, unindexed, s.corpus_dir, foreign)
    if more:
        left = f"{more} more sub-paragraph(s) of {citations[0].citation} not shown"
        notes = (*notes, f"{left}: ask for one by its letter")
    text = opening + " ".join(f"{with_lead(x, quote_text(x))} [{citations[x.key - 1].citation}]" for x in out)
    return Answer(question, text, tuple(out), tuple(citations), True, "extractive", notes, support)
