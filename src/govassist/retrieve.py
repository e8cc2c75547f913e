"""Hybrid retrieval: dense (FAISS) and BM25 fused by reciprocal rank, exact phrases, metadata filters,
and de-duplication of passages that several versions of a text share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .catalog import DocMeta
from .chunk import Chunk
from .embed import embed_query, make_embedder
from .errors import QueryError
from .index import Store
from .settings import Settings
from .text import normalise

MODES = ("default", "fused", "dense", "bm25")
PHRASE_RE = re.compile(r"[\"“”]([^\"“”]{3,})[\"“”]")


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


def phrases(query: str) -> list[str]:
    return [normalise(p) for p in PHRASE_RE.findall(query) if p.strip()]


def check_query(query: str, k: int, s: Settings) -> str:
    q = (query or "").strip()
    if not q:
        raise QueryError("the question is empty: type a question or a phrase to search for")
    if len(q) > s.max_question_chars:
        raise QueryError(
            f"the question is {len(q)} characters, over the limit of {s.max_question_chars} "
            "(GOVASSIST_MAX_QUESTION_CHARS): shorten it"
        )
    if not 1 <= k <= s.k_max:
        raise QueryError(f"k must be between 1 and {s.k_max} (GOVASSIST_K_MAX), got {k}")
    return q


def allowed_mask(store: Store, filters: Filters) -> np.ndarray:
    ok_docs = {doc_id for doc_id, d in store.docs.items() if filters.allows(d)}
    return np.fromiter((c.doc_id in ok_docs for c in store.chunks), dtype=bool, count=len(store.chunks))


@lru_cache(maxsize=2048)
def _query_vec(model_key: tuple, query: str) -> np.ndarray:
    return embed_query(make_embedder(*model_key), query)


def query_vector(s: Settings, query: str) -> np.ndarray:
    """The query's embedding with the configured model (cached per process)."""
    return _query_vec((s.embed_model, s.embed_batch_size, s.embed_query_prefix, s.embed_passage_prefix), query)


def dense_search(store: Store, qvec: np.ndarray, k: int, mask: np.ndarray) -> list[tuple[int, float]]:
    import faiss

    n = len(store.chunks)
    if not mask.any():
        return []
    k = min(k, int(mask.sum()))
    params = None
    if not mask.all():
        sel = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
        params = (
            faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, k))
            if isinstance(store.faiss_index, faiss.IndexHNSWFlat)
            else faiss.SearchParameters(sel=sel)
        )
    scores, ids = store.faiss_index.search(qvec.reshape(1, -1).astype(np.float32), k, params=params)
    return [(int(i), float(sc)) for i, sc in zip(ids[0], scores[0]) if 0 <= i < n]


def bm25_search(store: Store, query: str, k: int, mask: np.ndarray) -> list[tuple[int, float]]:
    import bm25s

    r = store.bm25
    tokens = bm25s.tokenize(query, stemmer=r.stemmer, token_pattern=r.token_pattern, show_progress=False)
    if not tokens.vocab or not mask.any():
        return []
    k = min(k, len(store.chunks))
    ids, scores = r.bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=mask.astype(np.float32))
    return [(int(i), float(sc)) for i, sc in zip(ids[0], scores[0]) if sc > 0 and mask[int(i)]]


def rrf(runs: list[tuple[list[tuple[int, float]], float]], rrf_k: int) -> dict[int, float]:
    """Weighted reciprocal rank fusion of ranked lists."""
    fused: dict[int, float] = {}
    for hits, weight in runs:
        for rank, (i, _score) in enumerate(hits, start=1):
            fused[i] = fused.get(i, 0.0) + weight / (rrf_k + rank)
    return fused


def _dedupe(order: list[int], store: Store) -> list[tuple[int, tuple[str, ...]]]:
    """Keep the best-ranked of passages whose text several documents share; name the others."""
    kept: list[tuple[int, list[str]]] = []
    seen: dict[str, int] = {}
    for i in order:
        c = store.chunks[i]
        key = store.norm[i][:400]
        if key in seen:
            j = seen[key]
            if c.doc_id != store.chunks[kept[j][0]].doc_id and c.doc_id not in kept[j][1]:
                kept[j][1].append(c.doc_id)
            continue
        seen[key] = len(kept)
        kept.append((i, []))
    return [(i, tuple(o)) for i, o in kept]


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
    mask = allowed_mask(store, filters)
    n_cand = max(s.candidates, k * 3)
    qvec = None
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if mode in ("default", "fused", "dense"):
        qvec = query_vector(s, q)
        dense = dense_search(store, qvec, n_cand, mask)
    if mode in ("default", "fused", "bm25"):
        lexical = bm25_search(store, q, n_cand, mask)
    if mode == "dense":
        scored = dict(dense)
    elif mode == "bm25":
        scored = dict(lexical)
    else:
        scored = rrf([(dense, s.dense_weight), (lexical, s.bm25_weight)], s.rrf_k)
    order = sorted(scored, key=lambda i: -scored[i])
    if mode == "default":
        wanted = phrases(q)
        if wanted:
            exact = [i for i in np.flatnonzero(mask) if all(p in store.norm[i] for p in wanted)]
            exact.sort(key=lambda i: -scored.get(int(i), 0.0))
            order = [int(i) for i in exact] + [i for i in order if i not in set(exact)]
    drafts_only = bool(filters.statuses) and set(filters.statuses) == {"draft"}
    ranked = _dedupe(order, store) if mode == "default" and not drafts_only else [(i, ()) for i in order]
    cos = {}
    if qvec is not None:
        cos = {i: float(store.vectors[i] @ qvec) for i, _ in ranked[:k]}
    return [
        Hit(
            store.chunks[i],
            store.docs[store.chunks[i].doc_id],
            float(scored.get(i, 0.0)),
            r,
            cos.get(i),
            also,
        )
        for r, (i, also) in enumerate(ranked[:k], start=1)
    ]
