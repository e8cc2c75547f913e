"""Agreed-language search: where has this wording (or nearly this wording) been agreed before?

Candidates come from retrieval (BM25 and dense, generous depth, plus exact containment); each candidate
passage is cut into sentences (and runs of up to a few sentences), and every run is scored against the
proposed text on word sequences with rapidfuzz (`ratio` for the whole run, `partial_ratio` for the best
alignment inside it; see `_score`). Case, quotes and punctuation are not compared. Passages on the same
topic in other words score low.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise

from .answer import cite_label
from .catalog import DocMeta
from .chunk import Chunk
from .compare import Segment, encode, escape_md, word_diff, word_keys
from .errors import QueryError
from .retrieve import Filters, allowed_docs, check_query, query_vector
from .settings import Settings
from .store import Store
from .text import normalise, sentences

# one spelling for what texts write both ways, so "trustworthy AI" finds "trustworthy artificial intelligence"
SAME_TERMS = {("artificial", "intelligence"): "ai"}
MIN_SCORE = 70.0  # closeness (0-100) below which a passage is not reported as a precedent
MAX_RUN = 12  # sentences (or ;-clauses) at most joined into one candidate run
DEPTH = 200  # passages fetched from each retriever


@dataclass(frozen=True)
class Precedent:
    """A passage whose wording is identical or close to the proposed text.

    `words` is the word-level diff from the precedent's matching words to the proposed text (`-` only in the
    precedent, `+` only in the proposal); `before` and `after` are the rest of the matching sentence(s).
    """

    rank: int
    score: float
    identical: bool
    chunk_id: str
    doc_id: str
    label: str
    citation: str
    para: str
    page: int | None
    title: str
    date: str
    status: str
    passage: str
    before: str
    words: tuple[Segment, ...]
    after: str

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["words"] = [[s.op, s.text] for s in self.words]
        return d


def _keys(text: str) -> list[str]:
    """The words compared, with the terms texts write in two ways given one spelling."""
    words, out, i = word_keys(text), [], 0
    while i < len(words):
        pair = tuple(words[i : i + 2])
        if pair in SAME_TERMS:
            out.append(SAME_TERMS[pair])  # type: ignore[index]
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def _runs(text: str, max_words: int) -> list[str]:
    """Sentences and runs of consecutive sentences, long enough to hold the proposal but not much more."""
    sents = sentences(text)
    runs = []
    for i in range(len(sents)):
        run = sents[i]
        runs.append(run)
        n = len(run.split())
        for j in range(i + 1, min(i + MAX_RUN, len(sents))):
            if n >= 1.2 * max_words:
                break
            run = f"{run} {sents[j]}"
            n += len(sents[j].split())
            runs.append(run)
    return runs


def _score(q: str, w: str, whole: bool, floor: float) -> tuple[float, float]:
    """(closeness, ratio). A fragment scores its best alignment inside the run (or the whole run, if better).
    A whole sentence scores the mean of the two, so words one side has beyond the other lower the score
    without hiding the match (a clause or a list of signatories dropped). The costly alignment is skipped
    when even its upper bound (from the proposal's words the run has at all) cannot reach `floor`."""
    from rapidfuzz import fuzz

    ratio = fuzz.ratio(q, w)
    present = set(w)
    p = sum(ch in present for ch in q)
    bound = 200 * p / (len(q) + p) if p else 0.0
    if whole:
        if (ratio + bound) / 2 < floor:
            return (ratio + bound) / 2, ratio
        return (ratio + fuzz.partial_ratio(q, w)) / 2, ratio
    if len(q) >= len(w) or max(ratio, bound) < floor:
        return ratio, ratio
    return max(ratio, fuzz.partial_ratio(q, w)), ratio


def _span(run: str, proposal: str) -> tuple[str, str, str]:
    """Split a run into (before, matching part, after) around the words it shares with the proposal."""
    toks = run.split()
    keys = [" ".join(word_keys(t)) for t in toks]
    for i, pair in enumerate(pairwise(keys)):
        if pair in SAME_TERMS:
            keys[i : i + 2] = [SAME_TERMS[pair], ""]  # type: ignore[index]
    qk = _keys(proposal)
    blocks = [b for b in SequenceMatcher(None, keys, qk, autojunk=False).get_matching_blocks() if b.size]
    if not blocks:
        return "", run, ""
    start, end = blocks[0].a, blocks[-1].a + blocks[-1].size
    while end < len(keys) and not keys[end]:  # the second word of a term spelt two ways
        end += 1
    return " ".join(toks[:start]), " ".join(toks[start:end]), " ".join(toks[end:])


def _recency(d: DocMeta) -> tuple[int, int]:
    """Among equally close passages: adopted texts first, then the most recent (the latest agreed language)."""
    digits = d.date.replace("-", "")
    return (0 if d.status == "adopted" else 1, -int(digits) if digits.isdigit() else 0)


def _candidates(
    store: Store, text: str, s: Settings, allowed: set[str] | None, depth: int | None = None, dense: bool = True
) -> list[Chunk]:
    depth = min(store.chunk_count, depth or max(DEPTH, 4 * s.candidates))
    found = {c.id: c for c, _ in store.lexical(text, depth, allowed)}
    for c, _ in store.dense(query_vector(s, text), depth, allowed) if dense else ():
        found.setdefault(c.id, c)
    for c in store.phrase([normalise(text)], allowed):
        found.setdefault(c.id, c)
    return list(found.values())


def _across_documents(scored: list[tuple[float, float, str, Chunk]]) -> list[tuple[float, float, str, Chunk]]:
    """Among passages equally close, each document's first one before any document's second: agreed language
    shows where it recurs across texts, not all the places one text repeats it."""
    seen: dict[str, int] = {}
    nth = []
    for x in scored:
        seen[x[3].doc_id] = seen.get(x[3].doc_id, 0) + 1
        nth.append(seen[x[3].doc_id])
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][0], nth[i], i))
    return [scored[i] for i in order]


def find_precedents(
    store: Store,
    text: str,
    s: Settings,
    k: int = 10,
    filters: Filters | None = None,
    min_score: float = MIN_SCORE,
    depth: int | None = None,
    dense: bool = True,
) -> list[Precedent]:
    """Passages across the corpus with the proposed wording or nearly so, closest first (one per passage).
    `depth` bounds the passages taken from each retriever and `dense=False` skips the embedding retriever
    (the chat does both to bound the cost: near-identical wording is found by words)."""
    text = (text or "").strip()
    if not word_keys(text):
        raise QueryError("the phrase is empty: give the wording you want to find precedents for")
    check_query(text, k, s, what="phrase")  # length and k bounds, as for searches
    if not 0 < min_score <= 100:
        raise QueryError(f"the minimum closeness must be above 0 and at most 100, got {min_score:g}")
    allowed = allowed_docs(store, filters or Filters())
    if allowed is not None and not allowed:
        return []
    whole = text[-1] in ".!?;"  # a sentence: words the precedent has beyond it are differences, not context
    vocab: dict[str, str] = {}
    qw = _keys(text)
    q = encode(qw, vocab)
    scored: list[tuple[float, float, str, Chunk]] = []
    for c in _candidates(store, text, s, allowed, depth, dense):
        best: tuple[float, float, str] | None = None
        for run in _runs(c.text, len(qw)):
            floor = max(min_score, best[0]) if best else min_score
            score, ratio = _score(q, encode(_keys(run), vocab), whole, floor)
            if best is None or (score, ratio) > best[:2]:
                best = (score, ratio, run)
        if best and best[0] >= min_score:
            scored.append((*best, c))
    scored.sort(key=lambda x: (-x[0], *_recency(store.docs[x[3].doc_id]), -x[1], x[3].doc_id, x[3].order))
    scored = _across_documents(scored)
    out = []
    for rank, (score, _ratio, run, c) in enumerate(scored[:k], start=1):
        doc: DocMeta = store.docs[c.doc_id]
        before, span, after = ("", run, "") if whole else _span(run, text)
        words = word_diff(span, text, equal_from="old")
        out.append(
            Precedent(
                rank,
                round(score, 1),
                all(w.op == "=" for w in words),
                c.id,
                c.doc_id,
                doc.label,
                cite_label(doc, c),
                c.para,
                c.page,
                doc.title,
                doc.date,
                doc.status,
                run,
                before,
                words,
                after,
            )
        )
    return out


def precedents_markdown(results: list[Precedent], text: str = "") -> str:
    """Markdown for a chat: each precedent cited, with the words that differ from the proposal marked
    (~~only in the precedent~~, **only in the proposal**)."""
    if not results:
        return "No passage in the indexed texts has this wording or nearly so."
    head = f"Precedents for “{escape_md(text)}”" if text else "Precedents"
    lines = [f"{head}: {len(results)} found, closest first.", ""]
    for p in results:
        kind = "identical wording" if p.identical else f"closeness {p.score:.0f}"
        body = " ".join(
            x
            for x in (
                escape_md(p.before),
                " ".join(
                    f"~~{escape_md(w.text)}~~"
                    if w.op == "-"
                    else f"**{escape_md(w.text)}**"
                    if w.op == "+"
                    else escape_md(w.text)
                    for w in p.words
                ),
                escape_md(p.after),
            )
            if x
        )
        lines.append(f"{p.rank}. **{escape_md(p.citation)}** ({escape_md(p.date)}, {escape_md(p.status)}) — {kind}")
        lines.append(f"   > {body}")
    return "\n".join(lines)
