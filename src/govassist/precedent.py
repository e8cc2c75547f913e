"""Agreed-language search: where has this wording (or nearly this wording) been agreed before?

Candidates come from retrieval (BM25 and dense, generous depth, plus exact containment); each candidate
passage is cut into sentences (and runs of up to a few sentences), and every run is scored against the
proposed text on word sequences with rapidfuzz (`ratio` for the whole run, `partial_ratio` for the best
alignment inside it; see `_score`). Case, quotes and punctuation are not compared.

Three tiers, each labelled: `verbatim` (closeness 100: the same words as compared, so "AI" for "artificial
intelligence" too, marked), `near-verbatim` (closeness at least `min_score`, words that differ marked) and
`other words` (the same commitment worded differently: passages the embedding retriever ranks close to the
proposal, at least SEMANTIC_MIN cosine, that no wording tier found; one query embedding and a dense search of
at most SEMANTIC_K passages).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from itertools import pairwise

from .answer import cite_label
from .catalog import DocMeta
from .chunk import Chunk, piece_of
from .compare import Segment, encode, escape_md, word_diff, word_keys
from .errors import QueryError
from .retrieve import Filters, allowed_docs, check_query, maxsim, query_vector
from .settings import Settings
from .store import Store
from .text import normalise, sentences

# one spelling for what texts write both ways, so "trustworthy AI" finds "trustworthy artificial intelligence"
SAME_TERMS = {("artificial", "intelligence"): "ai"}
MIN_SCORE = 70.0  # closeness (0-100) below which a passage is not reported as a precedent
MAX_RUN = 12  # sentences (or ;-clauses) at most joined into one candidate run
DEPTH = 200  # passages fetched from each retriever
SEMANTIC_K = 20  # passages the dense search of the "other words" tier looks at, at most
SEMANTIC_MIN = 0.55  # cosine from which a passage counts as the same commitment in other words
TIERS = ("verbatim", "near-verbatim", "other words")


@dataclass(frozen=True)
class Precedent:
    """A passage whose wording is identical or close to the proposed text.

    `words` is the word-level diff from the precedent's matching words to the proposed text (`-` only in the
    precedent, `+` only in the proposal); `before` and `after` are the rest of the matching sentence(s).
    `tier` is one of TIERS; `similarity` the embedding cosine for the "other words" tier.
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
    tier: str = "near-verbatim"
    similarity: float | None = None  # embedding cosine with the proposal (the "other words" tier)

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


def _precedent(store: Store, c: Chunk, rank: int, score: float, run: str, text: str, whole: bool, **kw) -> Precedent:
    doc: DocMeta = store.docs[c.doc_id]
    before, span, after = ("", run, "") if whole else _span(run, text)
    words = word_diff(span, text, equal_from="old")
    identical = all(w.op == "=" for w in words)
    tier = kw.pop("tier", None) or ("verbatim" if score >= 100 else "near-verbatim")
    para = piece_of(c, run)[0]  # in a run of short paragraphs, the one that holds the words
    return Precedent(
        rank, round(score, 1), identical, c.id, c.doc_id, doc.label, cite_label(doc, c, para=para), para, c.page,
        doc.title, doc.date, doc.status, run, before, words, after, tier, **kw,
    )  # fmt: skip


def _closest_run(text: str, passage: str) -> str:
    """The sentence of a passage that shares most words with the proposal (what the "other words" tier shows)."""
    from rapidfuzz import fuzz

    want = " ".join(_keys(text))
    sents = sentences(passage) or [passage]
    return max(sents, key=lambda x: fuzz.token_set_ratio(want, " ".join(_keys(x))))


def _other_words(
    store: Store, text: str, s: Settings, allowed: set[str] | None, seen: set[str], k: int, min_cos: float
) -> list[tuple[float, Chunk]]:
    """Passages close to the proposal in meaning that the wording tiers did not find: one query embedding, a dense
    search of at most SEMANTIC_K passages, each scored by its closest quotable sentence (the build's cached sentence
    vectors: a commitment is a sentence, and passage vectors carry their document's header), kept from `min_cos`."""
    qvec = query_vector(s, text)
    hits = store.dense(qvec, min(k, SEMANTIC_K, store.chunk_count), allowed)
    best = maxsim(s, qvec, [c for c, _ in hits])
    scored = [(best.get(c.id, cos), c) for c, cos in hits if c.id not in seen]
    return sorted([x for x in scored if x[0] >= min_cos], key=lambda x: -x[0])


def find_precedents(
    store: Store,
    text: str,
    s: Settings,
    k: int = 10,
    filters: Filters | None = None,
    min_score: float = MIN_SCORE,
    depth: int | None = None,
    dense: bool = True,
    semantic: int = 5,
    min_similarity: float = SEMANTIC_MIN,
) -> list[Precedent]:
    """Passages across the corpus with the proposed wording or nearly so, closest first (one per passage), then
    up to `semantic` passages with the same commitment in other words (tier "other words", by embedding cosine).
    `depth` bounds the passages taken from each retriever and `dense=False` skips the embedding retriever for the
    wording tiers (the chat does both to bound the cost: near-identical wording is found by words); the "other
    words" tier costs one query embedding and a dense search of at most SEMANTIC_K passages (`semantic=0`: none).
    """
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
    out = [
        _precedent(store, c, rank, score, run, text, whole)
        for rank, (score, _ratio, run, c) in enumerate(scored[:k], start=1)
    ]
    if semantic > 0:
        seen = {x[3].id for x in scored}
        for cos, c in _other_words(store, text, s, allowed, seen, semantic * 4, min_similarity)[:semantic]:
            run = _closest_run(text, c.text)
            score, _ratio = _score(q, encode(_keys(run), vocab), whole, 100.0)
            out.append(_precedent(store, c, 0, score, run, text, True, tier="other words", similarity=round(cos, 3)))
    return [replace(p, rank=i) for i, p in enumerate(out, start=1)]


def _marked(p: Precedent) -> str:
    words = " ".join(
        f"~~{escape_md(w.text)}~~" if w.op == "-" else f"**{escape_md(w.text)}**" if w.op == "+" else escape_md(w.text)
        for w in p.words
    )
    return " ".join(x for x in (escape_md(p.before), words, escape_md(p.after)) if x)


TIER_HEADS = {
    "verbatim": "Verbatim — the same words (a term spelt another way is marked)",
    "near-verbatim": "Near-verbatim — ~~only in the precedent~~, **only in your wording**",
    "other words": "Same commitment in other words — by meaning (embedding similarity)",
}


def precedents_markdown(results: list[Precedent], text: str = "") -> str:
    """Markdown for a chat: precedents under their tier's label, each cited; near-verbatim ones with the words
    that differ marked (~~only in the precedent~~, **only in the proposal**), the others with their similarity."""
    if not results:
        return "No passage in the indexed texts has this wording, nearly this wording or the same meaning."
    head = f"Precedents for “{escape_md(text)}”" if text else "Precedents"
    counts = ", ".join(f"{n} {t}" for t in TIERS if (n := sum(p.tier == t for p in results)))
    lines = [f"{head}: {len(results)} found ({counts}), closest first."]
    for tier in TIERS:
        group = [p for p in results if p.tier == tier]
        if not group:
            continue
        lines += ["", f"**{TIER_HEADS[tier]}**", ""]
        for p in group:
            if tier == "other words":
                kind = f"similarity {p.similarity:.2f}"
                body = escape_md(p.passage if p.passage else "")
            else:
                kind = "identical wording" if p.identical else f"closeness {p.score:.0f}"
                body = _marked(p)
            cite = f"**{escape_md(p.citation)}** ({escape_md(p.date)}, {escape_md(p.status)})"
            lines += [f"{p.rank}. {cite} — {kind}", f"   > {body}"]
    return "\n".join(lines)
