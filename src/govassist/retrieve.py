"""Hybrid retrieval: dense (FAISS) and BM25 fused by reciprocal rank, exact phrases, metadata filters,
and de-duplication of passages that several versions of a text share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .catalog import DocMeta
from .chunk import Chunk
from .embed import ModelKey, embed_query, make_embedder, model_key
from .errors import QueryError
from .settings import Settings
from .store import Store
from .text import normalise

MODES = ("default", "fused", "dense", "bm25")
PHRASE_RE = re.compile(r"[\"“”]([^\"“”]{3,})[\"“”]")
YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")
NAME_RE = re.compile(r"\w[\w.-]*\w|\w")
GENERIC = frozenset(
    "the of and on for in to a an with by at joint statement statements leaders leader communique communiqué "
    "declaration fact sheet readout summary proceedings meeting event united states u.s u.s.-eu s eu council "
    "government governments participants host version text g7 group seven".split()
)


@dataclass(frozen=True)
class Filters:
    """Which documents a search may return. Empty tuples mean no restriction on that facet.

    roles=None means no access control (CLI, trusted use); a tuple means the caller holds these roles and
    restricted documents are returned only when one of their roles is allowed.
    """

    collections: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    roles: tuple[str, ...] | None = None

    def allows(self, d: DocMeta) -> bool:
        if self.collections and d.collection.lower() not in {c.lower() for c in self.collections}:
            return False
        if self.doc_ids and d.id not in self.doc_ids:
            return False
        if self.statuses and d.status not in self.statuses:
            return False
        if self.families and d.family not in self.families:
            return False
        if self.date_from and (d.date or "") < self.date_from:
            return False
        if self.date_to and (d.date or "9999") > self.date_to:
            return False
        return not (d.restricted and self.roles is not None and not set(d.restricted) & set(self.roles))


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its document, fused score and (where computed) dense cosine."""

    chunk: Chunk
    doc: DocMeta
    score: float
    rank: int
    cosine: float | None = None
    also_in: tuple[str, ...] = field(default=())
    also_chunks: tuple[Chunk, ...] = field(default=())  # the folded copies of this passage in other documents


def phrases(query: str) -> list[str]:
    return [normalise(p) for p in PHRASE_RE.findall(query) if p.strip()]


def check_query(query: str, k: int, s: Settings, what: str = "question") -> str:
    """The stripped query, or a QueryError when it is empty, too long, or k is out of bounds."""
    q = (query or "").strip()
    if not q:
        raise QueryError(f"the {what} is empty: type a question or a phrase to search for")
    if len(q) > s.max_question_chars:
        raise QueryError(
            f"the {what} is {len(q)} characters, over the limit of {s.max_question_chars} "
            "(GOVASSIST_MAX_QUESTION_CHARS): shorten it"
        )
    if not 1 <= k <= s.k_max:
        raise QueryError(f"k must be between 1 and {s.k_max} (GOVASSIST_K_MAX), got {k}")
    return q


def allowed_docs(store: Store, filters: Filters) -> set[str] | None:
    """Document ids the filters let through; None when nothing is filtered out."""
    ok = {doc_id for doc_id, d in store.docs.items() if filters.allows(d)}
    return None if len(ok) == len(store.docs) else ok


def _names(text: str) -> set[str]:
    return {w for w in NAME_RE.findall(text.lower()) if w not in GENERIC and not YEAR_RE.fullmatch(w)}


def doc_prior(query: str, docs: dict[str, DocMeta]) -> dict[str, float]:
    """Documents the query names ("the 2022 TTC statement", "the Hiroshima communiqué", "in 2024").

    A document scores a point for a distinctive word of its label, title or forum that the query uses (a word
    found in at most two documents, or in one collection's documents when a year narrows it) and a point for its
    year; only the best-scoring documents get the prior.
    """
    years = set(YEAR_RE.findall(query))
    words = _names(query)
    sigs = {i: _names(f"{d.label} {d.title} {d.forum} {d.collection}") for i, d in docs.items()}
    df: dict[str, int] = {}
    for sig in sigs.values():
        for w in sig:
            df[w] = df.get(w, 0) + 1
    limit = max(2, len(docs) // 4) if years else 2
    scores = {}
    for i, d in docs.items():
        named = any(df[w] <= limit for w in sigs[i] & words)
        score = int(named) + int(bool(years) and d.date[:4] in years)
        if named:
            scores[i] = score
    if not scores:
        return {}
    best = max(scores.values())
    return {i: 1.0 for i, sc in scores.items() if sc == best}


@lru_cache(maxsize=2048)
def _query_vec(key: ModelKey, query: str) -> np.ndarray:
    return embed_query(make_embedder(*key), query)


def query_vector(s: Settings, query: str) -> np.ndarray:
    """The query's embedding with the configured model (cached per process)."""
    return _query_vec(model_key(s), query)


def clear_query_cache() -> None:
    """Forget the cached query embeddings (timings then embed each query as a new one)."""
    _query_vec.cache_clear()


def rrf(runs: list[tuple[list[tuple[Chunk, float]], float]], rrf_k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion of ranked lists, keyed by chunk id."""
    fused: dict[str, float] = {}
    for hits, weight in runs:
        for rank, (c, _score) in enumerate(hits, start=1):
            fused[c.id] = fused.get(c.id, 0.0) + weight / (rrf_k + rank)
    return fused


def _dedupe(order: list[Chunk]) -> list[tuple[Chunk, tuple[Chunk, ...]]]:
    """Keep the best-ranked of passages whose text several documents share, with the folded copies."""
    kept: list[tuple[Chunk, list[Chunk]]] = []
    seen: dict[str, int] = {}
    for c in order:
        key = normalise(c.text)[:400]
        if key in seen:
            first, others = kept[seen[key]]
            if c.doc_id != first.doc_id and c.doc_id not in {o.doc_id for o in others}:
                others.append(c)
            continue
        seen[key] = len(kept)
        kept.append((c, []))
    return [(c, tuple(o)) for c, o in kept]


def search(
    store: Store,
    query: str,
    s: Settings,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str = "default",
) -> list[Hit]:
    """Rank passages for a query. Modes: default (fused + exact phrases + de-dup), fused, dense, bm25."""
    k = s.k if k is None else k
    q = check_query(query, k, s)
    if mode not in MODES:
        raise QueryError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
    filters = filters or Filters()
    allowed = allowed_docs(store, filters)
    if allowed is not None and not allowed:
        return []
    n_cand = max(s.candidates, k * 3)
    dense: list[tuple[Chunk, float]] = []
    lexical: list[tuple[Chunk, float]] = []
    if mode in ("default", "fused", "dense"):
        dense = store.dense(query_vector(s, q), n_cand, allowed)
    if mode in ("default", "fused", "bm25"):
        lexical = store.lexical(q, n_cand, allowed)
    by_id = {c.id: c for c, _ in (*dense, *lexical)}
    if mode == "dense":
        scored = {c.id: sc for c, sc in dense}
    elif mode == "bm25":
        scored = {c.id: sc for c, sc in lexical}
    else:
        scored = rrf([(dense, s.dense_weight), (lexical, s.bm25_weight)], s.rrf_k)
    if mode == "default" and s.doc_prior_weight:
        prior = doc_prior(q, store.docs if allowed is None else {i: store.docs[i] for i in allowed})
        if 0 < len(prior) < len(store.docs):
            scored = {i: sc * (1 + s.doc_prior_weight * prior.get(by_id[i].doc_id, 0.0)) for i, sc in scored.items()}
    order = [by_id[i] for i in sorted(scored, key=lambda i: -scored[i])]
    if mode == "default":
        wanted = phrases(q)
        if wanted:
            exact = sorted(store.phrase(wanted, allowed), key=lambda c: (-scored.get(c.id, 0.0), c.doc_id, c.order))
            ids = {c.id for c in exact}
            order = exact + [c for c in order if c.id not in ids]
    drafts_only = bool(filters.statuses) and set(filters.statuses) == {"draft"}
    ranked = _dedupe(order) if mode == "default" and not drafts_only else [(c, ()) for c in order]
    cos = {c.id: sc for c, sc in dense}
    return [
        Hit(
            c, store.docs[c.doc_id], float(scored.get(c.id, 0.0)), r, cos.get(c.id), tuple(o.doc_id for o in also), also
        )
        for r, (c, also) in enumerate(ranked[:k], start=1)
    ]
