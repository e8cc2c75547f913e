"""Cited answers. The default is extractive: sentences taken verbatim from the retrieved passages, each
with the citation of its passage. An optional LLM (OpenAI-compatible endpoint) may rephrase, but may only
cite passages it was given; anything else is dropped."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from ..retrieve import Filters, Hit, phrases, query_vector, search
from ..sentvec import quotable, vectors
from ..settings import Settings
from ..store import Store
from ..text import normalise

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
NOTHING = "I found nothing in the indexed texts that answers this. Try other words, or widen the filters."


@dataclass(frozen=True)
class Citation:
    """A passage an answer cites, with everything needed to show it verbatim and find it in the source."""

    key: int
    chunk_id: str
    doc_id: str
    label: str
    citation: str
    para: str
    page: int | None
    source: str
    title: str
    date: str
    status: str
    section: str
    text: str
    also_in: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["also_in"] = list(self.also_in)
        return d


@dataclass(frozen=True)
class Sentence:
    text: str
    key: int


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    found: bool
    mode: str = "extractive"
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "mode": self.mode,
            "sentences": [asdict(x) for x in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "notes": list(self.notes),
        }


def cite_label(hit: Hit) -> str:
    """The human citation: 'Hiroshima Communiqué ¶38', with ', p. 7' where the source has pages."""
    page = f", p. {hit.chunk.page}" if hit.chunk.page else ""
    return f"{hit.doc.label} ¶{hit.chunk.para}{page}"


def to_citation(key: int, hit: Hit) -> Citation:
    c, d = hit.chunk, hit.doc
    return Citation(
        key,
        c.id,
        d.id,
        d.label,
        cite_label(hit),
        c.para,
        c.page,
        d.file,
        d.title,
        d.date,
        d.status,
        c.section,
        c.text,
        hit.also_in,
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


def ask(
    store: Store,
    question: str,
    s: Settings,
    k: int | None = None,
    filters: Filters | None = None,
    mode: str | None = None,
) -> Answer:
    """Retrieve and answer. mode: 'extractive' (default) or 'llm' (needs GOVASSIST_LLM_BASE_URL)."""
    hits = search(store, question, s, k=k, filters=filters)
    mode = mode or s.answer_mode
    if mode == "llm":
        from .llm import llm_answer

        return llm_answer(question, hits, s, fallback=lambda: extract(question, hits, s))
    return extract(question, hits, s)
