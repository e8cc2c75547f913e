"""The extractive composer, the default: sentences taken verbatim from the retrieved passages, each with the
citation of its passage."""

from __future__ import annotations

import re

from ..retrieve import Hit, phrases, query_vector
from ..sentvec import quotable, vectors
from ..settings import Settings
from ..text import normalise
from .records import NOTHING, Answer, Citation, Sentence, to_citation

MARGIN = 0.15  # a sentence this far below the best is not quoted (dev set: citation precision 0.417 -> 0.459)
WORD_RE = re.compile(r"[a-z0-9]+")
STOP = set(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "about",
        "there",
        "these",
        "those",
        "any",
        "all",
        "can",
        "could",
        "should",
        "would",
        "may",
        "might",
        "say",
        "said",
    ]
)


def _terms(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOP and len(w) > 2}


def relevant(hits: list[Hit], question: str, s: Settings) -> bool:
    """Whether the best hit is close enough to be worth quoting (calibrated on the development set)."""
    if not hits:
        return False
    if phrases(question) and any(all(p in normalise(h.chunk.text) for p in phrases(question)) for h in hits):
        return True
    best = max((h.cosine for h in hits if h.cosine is not None), default=None)
    return best is None or best >= s.min_relevance


def extract(question: str, hits: list[Hit], s: Settings, n_passages: int = 5) -> Answer:
    """Pick the sentences of the top passages that best answer the question, each cited."""
    if not relevant(hits, question, s):
        return Answer(question, NOTHING, (), (), found=False)
    top = hits[:n_passages]
    q_terms = _terms(question)
    cands: list[tuple[int, int, str]] = []  # (hit index, position, sentence)
    for hi, h in enumerate(top):
        for pos, sent in enumerate(quotable(h.chunk.text)):
            cands.append((hi, pos, sent))
    if not cands:
        return Answer(question, NOTHING, (), (), found=False)
    qv = query_vector(s, question)
    vecs = vectors(s, [c[2] for c in cands])
    cos = vecs @ qv
    scores = []
    for (hi, pos, sent), c in zip(cands, cos):
        overlap = len(q_terms & _terms(sent)) / max(1, len(q_terms))
        scores.append(float(c) + 0.25 * overlap + 0.08 / (1 + hi) - 0.01 * pos)
    chosen: list[int] = []
    per_hit: dict[int, int] = {}
    seen_norm: list[str] = []
    for i in sorted(range(len(cands)), key=lambda i: -scores[i]):
        hi, _pos, sent = cands[i]
        norm = normalise(sent)
        if per_hit.get(hi, 0) >= 2 or any(norm == x for x in seen_norm):
            continue
        if chosen and scores[i] < scores[chosen[0]] - MARGIN:
            break
        chosen.append(i)
        per_hit[hi] = per_hit.get(hi, 0) + 1
        seen_norm.append(norm)
        if len(chosen) >= s.answer_sentences:
            break
    chosen.sort(key=lambda i: (cands[i][0], cands[i][1]))  # by passage rank, then reading order
    keys: dict[int, int] = {}
    citations: list[Citation] = []
    out: list[Sentence] = []
    for i in chosen:
        hi, _pos, sent = cands[i]
        if hi not in keys:
            keys[hi] = len(keys) + 1
            citations.append(to_citation(keys[hi], top[hi]))
        out.append(Sentence(sent, keys[hi]))
    text = " ".join(f"{x.text} [{citations[x.key - 1].citation}]" for x in out)
    return Answer(question, text, tuple(out), tuple(citations), found=True)
