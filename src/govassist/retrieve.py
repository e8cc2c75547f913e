"""Hybrid retrieval: dense (FAISS) and BM25 fused by reciprocal rank, exact phrases, metadata filters,
and de-duplication of passages that several versions of a text share."""

from __future__ import annotations

import calendar
import difflib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache

import numpy as np

from . import glossary, sentvec
from .catalog import DocMeta
from .chunk import Chunk
from .embed import ModelKey, embed_queries, make_embedder, model_key
from .errors import QueryError
from .settings import Settings
from .store import Store
from .text import fold, normalise, safe_line, sentences

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
        when = d.date + "-01-01"[len(d.date) - 4 :] if 4 <= len(d.date) < 10 else d.date  # "2024" is 2024-01-01
        if self.date_from and (when or "") < self.date_from:
            return False
        if self.date_to and (when or "9999") > self.date_to:
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
    cited: bool = False  # a paragraph the question asked for by number in a text it named (`paragraph_refs`)


def phrases(query: str) -> list[str]:
    return [normalise(p) for p in PHRASE_RE.findall(query) if p.strip()]


PARA_REF_RE = re.compile(
    r"(?:(?P<pre>\bpreambular\s+paragraphs?\s*|(?-i:\bPP)\s*)"
    r"|\b(?:sub-?paragraphs?|paragraphs?|paras?\.?|OP|items?|principles?)\s*|¶\s*)"
    r"(?P<n>\d{1,3})(?:\s*\((?P<sub>(?-i:[a-z]{1,4}))\))?(?![\w/]|\.\d)"
    r"(?P<more>(?:\s*(?:,|and|&)\s*(?:\d{1,3}(?:\s*\((?-i:[a-z]{1,4})\))?|\((?-i:[a-z]{1,4})\))(?![\w/]|\.\d))*)",
    re.IGNORECASE,
)
MORE_RE = re.compile(r"(?P<n>\d{1,3})(?:\s*\((?P<sub>[a-z]{1,4})\))?|\((?P<alone>[a-z]{1,4})\)")


def paragraph_refs(query: str) -> tuple[tuple[str, bool], ...]:
    """The paragraphs a question cites by number, as labels and whether a label's sub-paragraphs count too:
    "paragraph 38" is ¶38 of a numbered text or ¶[38] of an unnumbered one, "paragraph 6" takes 6(a), 6(b)… too,
    "6(g)", "subparagraph 6(h)" and "¶29(d)" are that sub-paragraph, "PP3" and "preambular paragraph 3" the third
    preambular one; "paragraphs 3 and 4", "6(g) and 6(h)" and "6(g) and (h)" both; "item 7" and "principle 7" are ¶7
    of a text that numbers its items. Not pages ("pp 12"), a "(AI)" after a number, nor "paragraph 1.2"."""
    out: list[tuple[str, bool]] = []
    for m in PARA_REF_RE.finditer(query):
        items = [(m["n"], m["sub"] or "")]
        for x in MORE_RE.finditer(m["more"] or ""):  # "(b)" alone is of the number before it
            items.append((x["n"], x["sub"] or "") if x["n"] else (items[-1][0], x["alone"]))
        for n, sub in items:
            if m["pre"]:
                out.append((f"PP{n}", False))
            elif sub:
                out.append((f"{n}({sub})", False))
            else:
                out += [(n, True), (f"[{n}]", False)]
    return tuple(dict.fromkeys(out))


def cites(c: Chunk, refs: tuple[tuple[str, bool], ...]) -> bool:
    """Whether a chunk holds one of the paragraphs cited (`paragraph_refs`); a label that names its annex or list
    ("Statement on AI ¶8", "list 2 ¶1") is cited by its number too: "paragraph 8" shows every ¶8 of the text."""
    return any(cites_label(p, refs) for p in c.paras)


def cites_label(para: str, refs: tuple[tuple[str, bool], ...]) -> bool:
    """Whether a paragraph label is one of those cited (`cites`)."""
    tail = para.rsplit("¶", 1)[-1]
    return any(tail == label or (children and tail.startswith(f"{label}(")) for label, children in refs)


def labelled(query: str, docs: dict[str, DocMeta]) -> list[str]:
    """The documents whose citation label or title the query spells out ("the Hiroshima Communiqué"), the longest
    such name only: "Code of Conduct" rather than the texts that merely share "Hiroshima"."""
    q = fold(normalise(query))  # "Communique" names the "Communiqué"
    found: dict[str, int] = {}
    for i, d in docs.items():
        names = {n for n in (fold(normalise(d.label)), fold(normalise(d.title))) if len(n) > 3}
        hit = [n for n in names if n in q and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", q)]  # cheap test first
        if hit:
            found[i] = max(map(len, hit))
    best = max(found.values(), default=0)
    return sorted(i for i, n in found.items() if n == best)


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


DATE_ARG_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _bound(value: str, end: bool, what: str) -> str:
    """A date bound as a full date: "2024" is 2024-01-01 as a start and 2024-12-31 as an end, "2024-02" likewise."""
    v = value.strip()
    m = DATE_ARG_RE.fullmatch(v)
    try:
        if m is None:
            raise ValueError
        y, mo, d = int(m[1]), int(m[2] or (12 if end else 1)), m[3]
        day = int(d) if d else (calendar.monthrange(y, mo)[1] if end else 1)
        return date(y, mo, day).isoformat()
    except ValueError:
        raise QueryError(
            f"{what} {safe_line(v)!r} is not a date: use YYYY-MM-DD (e.g. 2024-03-15), YYYY-MM or YYYY"
        ) from None


def checked_filters(f: Filters, docs: dict[str, DocMeta]) -> Filters:
    """The filters a user typed, checked against the indexed documents: a QueryError for a date that is not one, a
    range that ends before it starts, or a collection, document id or status no document has (a mistyped filter
    would otherwise read as "the texts say nothing"); dates become full dates, statuses the index's spelling."""
    start = _bound(f.date_from, False, "--from") if f.date_from else ""
    stop = _bound(f.date_to, True, "--to") if f.date_to else ""
    if start and stop and stop < start:
        raise QueryError(f"the dates are the wrong way round: --from {start} is after --to {stop}")
    collections = sorted({d.collection for d in docs.values()})
    for c in f.collections:
        if c.lower() not in {x.lower() for x in collections}:
            raise QueryError(
                f"no indexed document is in collection {safe_line(c)!r}: use one of {', '.join(collections)}"
            )
    for i in f.doc_ids:
        if i not in docs:
            near = difflib.get_close_matches(i, list(docs), n=3)
            hint = f": did you mean {', '.join(near)}?" if near else " (`govassist corpus list` lists them)"
            raise QueryError(f"no indexed document has the id {safe_line(i)!r}{hint}")
    spelled = {d.status.lower(): d.status for d in docs.values()}
    for st in f.statuses:
        if st.lower() not in spelled:
            known = ", ".join(sorted(spelled.values()))
            raise QueryError(f"no indexed document has the status {safe_line(st)!r}: use one of {known}")
    statuses = tuple(spelled[st.lower()] for st in f.statuses)
    return replace(f, date_from=start, date_to=stop, statuses=statuses)


def visible_docs(store: Store, roles: tuple[str, ...] | None) -> dict[str, DocMeta]:
    """The indexed documents a reader holding these roles may see (None: no access control)."""
    allowed = allowed_docs(store, Filters(roles=roles))
    return {i: d for i, d in store.docs.items() if allowed is None or i in allowed}


NUMBER_RE = re.compile(r"\b\d[\d.,/-]*\b")
ACRONYM_RE = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z]|[A-Z]+\d+|G\d+)\b")  # TTC, OECD, G7, GPAI, UNESCO
COMMON_ACRONYMS = frozenset({"AI", "US", "EU", "UN", "UK", "IT", "ICT"})  # the corpus's topic words: no cue
BODY_RE = re.compile(r"(?<![.?!] )(?<!^)\b[A-Z][a-z]+(?: (?:of |for |on |the |and )*[A-Z][a-z]+)+")  # Council of Europe
BOILERPLATE_RE = re.compile(
    r"^\W*we,? the (?:leaders|heads|ministers|g7|group)\b[^.]{0,160}?\b(?:met|gathered|meeting|convened)\b", re.I
)
LIST_HEAD_RE = re.compile(r"^\W*(?:reference documents?|annex(?:es)?|attachments?|list of)\b[^.]{0,40}:", re.I)


def lexical_weight(query: str, base: float = 0.1, step: float = 0.15, top: float = 0.6) -> float:
    """How much the lexical ranking should count for this query, in [0, 1]: little for a plain paraphrase, more for
    each cue that exact words matter — a quoted phrase, a number, an acronym (TTC, G7), a named body (Council of
    Europe). Year-only numbers are left to the document prior."""
    cues = (
        2 * bool(PHRASE_RE.search(query))
        + bool([n for n in NUMBER_RE.findall(query) if not YEAR_RE.fullmatch(n)])
        + any(a not in COMMON_ACRONYMS for a in ACRONYM_RE.findall(query))
        + bool(BODY_RE.search(query))
    )
    return min(top, base + step * cues)


def hub_score(c: Chunk, issued: str = "") -> float:
    """`_hub`; and 1 for a postscript, a passage opening with an event dated after its text was issued (`issued`,
    the document's date): "On 23 October 2024, New Zealand joined the commitment to the Bletchley Declaration" names
    the declaration and its signatories, and so matches most questions on it, while it answers who joined, when."""
    text = c.text.strip()
    hub = _hub(text)
    if not hub and issued and (m := POSTSCRIPT_RE.match(text)) and m.group(1) > issued[:4]:
        return 1.0
    return hub


@lru_cache(maxsize=65536)
def _hub(text: str) -> float:
    """How much a chunk is structure rather than content, in [0, 1]: 1 for a heading alone or a list of document
    titles ("Reference documents: • G7 Leaders' Hiroshima Vision…"), 0.5 for an opening formula ("We, the Leaders
    of the Group of Seven (G7), met in …"), else 0. Such passages match many questions and answer few."""
    parts = sentences(text)
    if not _quotable(text):
        return 1.0
    titles = [x for x in parts if sentvec.title_like(x)]
    long_titles = len(titles) >= 0.6 * len(parts) and sum(len(x.split()) for x in titles) >= 4 * len(titles)
    if LIST_HEAD_RE.match(text) or (len(parts) >= 3 and long_titles):  # not a list of names ("• Australia • Brazil")
        return 1.0
    if BOILERPLATE_RE.match(text):
        return 0.5
    return 0.0


# What kind of answer a question asks for, and the passages that carry one (the classic expected-answer-type cue):
# "How many partners joined …?" wants the passage with the number, "Which governments signed …?" the list of names.
COUNT_Q_RE = re.compile(
    r"\bhow (?:many|much|big|large|long)\b|\bwhat (?:share|percentage|number)\b|\bnumber of\b", re.I
)
NAMES_Q_RE = re.compile(
    r"\b(?:which|what)(?:\s+[\w-]+){0,2}?\s+(?:countries|states|firms|companies|nations|governments|partners|members"
    r"|signatories|organi[sz]ations|bodies|agencies|labs|capitals|participants|economies)\b"
    r"|\bwho (?:joined|signed|took part|attended|backed|endorsed|participated)\b",
    re.I,
)
DATE_Q_RE = re.compile(
    r"^\W*(?:by )?when (?:did|does|do|will|would|was|were|is|are|has|have|had|should|must|can|could)\b"
    r"|\bin what year\b|\bwhat (?:year|date)\b",
    re.I,
)  # "When will …?" asks a date; "When labs release models, what …?" does not
MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December"
COUNT_RE = re.compile(
    r"\b\d[\d,.]*\b|\b(?:dozen|hundred|thousand|million|billion|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve|twenty|thirty|forty|fifty|sixty)\b",
    re.I,
)
NAME_WORD_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w&.-]+")  # capitalised, not opening a sentence
DATE_RE = re.compile(rf"\b(?:{MONTH})\b|\b(?:19|20)\d\d\b")
POSTSCRIPT_RE = re.compile(rf"^\W*On (?:\d{{1,2}} (?:{MONTH})|(?:{MONTH}) \d{{1,2}},?) ((?:19|20)\d\d)\b")


def answer_kind(query: str) -> str:
    """The kind of answer a question asks for: "count" (how many, how much, how big), "names" (which countries,
    firms, signatories; who joined), "date" (when, what year), or "" for any other."""
    if COUNT_Q_RE.search(query):
        return "count"
    if NAMES_Q_RE.search(query):
        return "names"
    return "date" if DATE_Q_RE.search(query) else ""


def kind_score(kind: str, text: str) -> float:
    """How fully a passage carries that kind of answer, in [0, 1]: numbers (three or more: 1), capitalised names
    not opening a sentence (fifteen or more: 1), a month or a year (1)."""
    if kind == "count":
        return min(len(COUNT_RE.findall(text)) / 3, 1.0)
    if kind == "names":
        return min(len(NAME_WORD_RE.findall(text)) / 15, 1.0)
    if kind == "date":
        return float(bool(DATE_RE.search(text)))
    return 0.0


@lru_cache(maxsize=65536)
def _names(text: str) -> frozenset[str]:
    """The distinctive words of a text, a hyphenated word's parts too ("anti-spyware" names the spyware texts).
    Cached: every query reads every document's names (`doc_prior`)."""
    words = NAME_RE.findall(fold(text.lower()))
    words += [p for w in words if "-" in w for p in w.split("-") if p]
    return frozenset(w for w in words if w not in GENERIC and not YEAR_RE.fullmatch(w))


def doc_prior(query: str, docs: dict[str, DocMeta]) -> dict[str, float]:
    """Documents the query names ("the 2022 TTC statement", "the Hiroshima communiqué", "in 2024").

    A document scores a point for a distinctive word of its label, title or forum that the query uses (a word
    found in at most two documents, or in one collection's documents when a year narrows it) and a point for its
    year; only the best-scoring documents get the prior, and of several editions of one text the earliest or the
    latest when the question asks for it (`_edition`).
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
    named = {i for i, sc in scores.items() if sc == best}
    return {i: 1.0 for i in _edition(query, named, docs)}


FIRST_RE = re.compile(r"\b(?:first(?!-ever|-of)|originally|initially|original)\b", re.I)
LATEST_RE = re.compile(r"\b(?:latest|most recent|newest|current|final)\b", re.I)


def _edition(query: str, named: set[str], docs: dict[str, DocMeta]) -> set[str]:
    """Of named documents that are editions of one family (a statement and its re-issue, a series of joint
    statements), the earliest when the question asks who or what came first ("Which capitals first backed …?"),
    the latest when it asks for the latest or current one; all of them otherwise."""
    pick = min if FIRST_RE.search(query) else max if LATEST_RE.search(query) else None
    if pick is None:
        return named
    families: dict[str, list[str]] = {}
    for i in named:
        families.setdefault(docs[i].family or i, []).append(i)
    return {pick(ids, key=lambda i: (docs[i].date, i)) for ids in families.values()}


_QUERY_CACHE: OrderedDict[tuple[ModelKey, str], np.ndarray] = OrderedDict()
_QUERY_CACHE_SIZE = 2048
_query_lock = threading.Lock()


def query_vectors(s: Settings, queries: list[str]) -> list[np.ndarray]:
    """The queries' embeddings with the configured model, those not cached yet embedded in one batch (cached per
    process, the least recently used forgotten first)."""
    key = model_key(s)
    found: dict[str, np.ndarray] = {}
    with _query_lock:
        for q in queries:
            if (key, q) in _QUERY_CACHE:
                _QUERY_CACHE.move_to_end((key, q))
                found[q] = _QUERY_CACHE[(key, q)]
    missing = [q for q in dict.fromkeys(queries) if q not in found]
    if missing:
        model = make_embedder(*key)
        vecs = embed_queries(model, missing)
        with _query_lock:
            for q, v in zip(missing, vecs, strict=True):
                found[q] = _QUERY_CACHE[(key, q)] = v
            while len(_QUERY_CACHE) > _QUERY_CACHE_SIZE:
                _QUERY_CACHE.popitem(last=False)
    return [found[q] for q in queries]


def query_vector(s: Settings, query: str) -> np.ndarray:
    """The query's embedding with the configured model (cached per process)."""
    return query_vectors(s, [query])[0]


def clear_query_cache() -> None:
    """Forget the cached query embeddings (timings then embed each query as a new one)."""
    with _query_lock:
        _QUERY_CACHE.clear()


def rrf(runs: list[tuple[list[tuple[Chunk, float]], float]], rrf_k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion of ranked lists, keyed by chunk id."""
    fused: dict[str, float] = {}
    for hits, weight in runs:
        for rank, (c, _score) in enumerate(hits, start=1):
            fused[c.id] = fused.get(c.id, 0.0) + weight / (rrf_k + rank)
    return fused


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    return {i: (v - lo) / (hi - lo) if hi > lo else 1.0 for i, v in scores.items()}


def convex(dense: dict[str, float], lexical: dict[str, float], lexical_weight: float) -> dict[str, float]:
    """Score-level fusion: each run min-max normalised over its own candidates (a candidate the run did not return
    scores 0 in it), then mixed as (1 - w) * dense + w * lexical."""
    d, lx = _minmax(dense), _minmax(lexical)
    return {i: (1 - lexical_weight) * d.get(i, 0.0) + lexical_weight * lx.get(i, 0.0) for i in d.keys() | lx.keys()}


@lru_cache(maxsize=65536)
def _quotable(text: str) -> tuple[str, ...]:
    return tuple(sentvec.quotable(text))


def maxsim(s: Settings, qvec: np.ndarray | None, chunks: list[Chunk]) -> dict[str, float]:
    """Multi-vector scoring: per chunk, the best cosine between the query and one of its quotable sentences (the
    vectors the build caches for answers). Chunks without a quotable sentence are left out."""
    if qvec is None:
        return {}
    chunks = list({c.id: c for c in chunks}.values())
    sents = [_quotable(c.text) for c in chunks]
    flat = [x for ss in sents for x in ss]
    if not flat:
        return {}
    sims = sentvec.vectors(s, flat) @ np.asarray(qvec, dtype=np.float32)
    out: dict[str, float] = {}
    at = 0
    for c, ss in zip(chunks, sents):
        if ss:
            out[c.id] = float(sims[at : at + len(ss)].max())
        at += len(ss)
    return out


def dense_scores(dense: list[tuple[Chunk, float]], ms: dict[str, float], weight: float) -> dict[str, float]:
    """The dense run with the sentence max-sim mixed in: (1 - weight) * chunk cosine + weight * max-sim. A chunk the
    max-sim reached but the dense run did not (a lexical candidate) takes the run's lowest cosine as its own."""
    cos = {c.id: sc for c, sc in dense}
    floor = min(cos.values(), default=0.0)
    return {i: (1 - weight) * cos.get(i, floor) + weight * ms.get(i, cos.get(i, floor)) for i in cos.keys() | ms.keys()}


def passage_prior(
    c: Chunk,
    prior: dict[str, float],
    doc_weight: float,
    hub_penalty: float,
    kind: str = "",
    kind_weight: float = 0.0,
    issued: str = "",
) -> float:
    """The factor a passage's score is multiplied by: the document prior lifts passages of a document the query
    names, and the answer-kind cue passages that carry the kind of answer asked for (`answer_kind`), except
    structural ones (headings, title lists, opening formulas, postscripts dated after `issued`, the document's
    date), which lose `hub_penalty` instead; a postscript asked for by a date or names question does not."""
    hub = hub_score(c, "" if kind in ("date", "names") else issued) if hub_penalty else 0.0
    lift = doc_weight * prior.get(c.doc_id, 0.0) + (kind_weight * kind_score(kind, c.text) if kind else 0.0)
    return (1 + lift * (1 - hub)) * (1 - hub_penalty * hub)


def _issued(store: Store, c: Chunk) -> str:
    d = store.docs.get(c.doc_id)
    return d.date if d else ""


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
    match: str = "",
) -> list[Hit]:
    """Rank passages for a query. Modes: default (fused + exact phrases + de-dup), fused, dense, bm25. `match`,
    when given, is the text the passages are matched against (embedded and BM25-scored) in place of the query, which
    still sets the document prior, the lexical weight and exact phrases: the question without the words that only
    scope it (`question.match_text`). The default mode matches it followed by the texts' words for the users' words
    it uses (`glossary.expand`); the cosine a hit reports stays the query's. Every read comes from one version of the
    index (`Store.pinned`)."""
    with store.pinned():
        return _search(store, query, s, k, filters, mode, match)


def _search(
    store: Store, query: str, s: Settings, k: int | None, filters: Filters | None, mode: str, match: str
) -> list[Hit]:
    k = s.k if k is None else k
    q = check_query(query, k, s)
    if mode not in MODES:
        raise QueryError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
    m = match.strip() or q
    if mode == "default":  # also matched by the texts' words for the users' words it uses (`glossary`)
        m = glossary.expand(m, glossary.for_search(s.glossary_file))
    filters = filters or Filters()
    allowed = allowed_docs(store, filters)
    if allowed is not None and not allowed:
        return []
    n_cand = max(s.candidates, k)  # not growing with k: the runs' normalisation, hence the order, stays the same
    dense: list[tuple[Chunk, float]] = []
    lexical: list[tuple[Chunk, float]] = []
    qvec = None
    if mode in ("default", "fused", "dense"):
        qvec = query_vectors(s, [m, q])[0]  # the question as asked, for the cosines reported, in the same batch
        dense = store.dense(qvec, n_cand, allowed)
    if mode in ("default", "fused", "bm25"):
        lexical = store.lexical(m, n_cand, allowed)
    by_id = {c.id: c for c, _ in (*dense, *lexical)}
    if mode == "dense":
        scored = {c.id: sc for c, sc in dense}
    elif mode == "bm25":
        scored = {c.id: sc for c, sc in lexical}
    elif mode == "fused" or s.fusion == "rrf":
        scored = rrf([(dense, s.dense_weight), (lexical, s.bm25_weight)], s.rrf_k)
    else:
        n = s.maxsim_candidates
        ms = maxsim(s, qvec, [c for c, _ in dense[:n]] + [c for c, _ in lexical[:n]]) if s.maxsim_weight else {}
        scored = convex(
            dense_scores(dense, ms, s.maxsim_weight),
            {c.id: sc for c, sc in lexical},
            lexical_weight(q, s.lexical_base, s.lexical_step, s.lexical_max),
        )
    if mode == "default":
        docs = store.docs if allowed is None else {i: store.docs[i] for i in allowed}  # the documents searched
        prior = doc_prior(q, docs)
        if not 0 < len(prior) < len(store.docs):
            prior = {}
        hub_penalty, kind = (s.hub_penalty, answer_kind(q)) if s.fusion != "rrf" else (0.0, "")
        scored = {
            i: sc
            * passage_prior(
                by_id[i], prior, s.doc_prior_weight, hub_penalty, kind, s.answer_kind_weight, _issued(store, by_id[i])
            )
            for i, sc in scored.items()
        }
    order = [by_id[i] for i in sorted(scored, key=lambda i: -scored[i])]
    cited: set[str] = set()
    if mode == "default" and (refs := paragraph_refs(q)):  # "paragraph 38 of the Hiroshima communiqué": that one first
        named = labelled(q, docs) or list(prior) or (list(docs) if len(docs) == 1 else [])
        found = [c for d in named for c in store.doc_chunks(d) if cites(c, refs)]
        cited = {c.id for c in found}  # of several texts named, the one whose paragraph fits the question best first
        best: dict[str, float] = {}
        for c in found:
            best[c.doc_id] = max(best.get(c.doc_id, 0.0), scored.get(c.id, 0.0))
        order = sorted(found, key=lambda c: (-best[c.doc_id], c.doc_id, c.order)) + [
            c for c in order if c.id not in cited
        ]
    if mode == "default":
        wanted = phrases(q)
        if wanted:
            exact = sorted(store.phrase(wanted, allowed), key=lambda c: (-scored.get(c.id, 0.0), c.doc_id, c.order))
            ids = {c.id for c in exact}
            order = exact + [c for c in order if c.id not in ids]
    drafts_only = bool(filters.statuses) and set(filters.statuses) == {"draft"}
    ranked = _dedupe(order) if mode == "default" and not drafts_only else [(c, ()) for c in order]
    cos = {c.id: sc for c, sc in dense}
    k = max(k, len(cited))  # a paragraph asked for by number comes whole: "paragraph 6" with all its sub-paragraphs
    if m != q and dense:  # the cosine a hit reports is with the question as asked (what `support` is calibrated on)
        cos = store.cosines(query_vector(s, q), [c.id for c, _ in ranked[:k]])
    return [
        Hit(
            c,
            store.docs[c.doc_id],
            float(scored.get(c.id, 0.0)),
            r,
            cos.get(c.id),
            tuple(o.doc_id for o in also),
            also,
            c.id in cited,
        )
        for r, (c, also) in enumerate(ranked[:k], start=1)
    ]
