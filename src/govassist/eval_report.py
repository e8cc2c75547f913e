"""The evaluation report: Markdown summary, JSON of every figure and run, per-question tables, PNG plots."""

from __future__ import annotations

import csv
import itertools
import json
import textwrap
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .chunk import para_mark
from .evaluate import (
    ANSWER_METRICS,
    BUCKETS,
    FAIL_AT,
    MAX_P,
    METRICS,
    OVERLAP_WARN,
    AnswerRow,
    EvalResult,
    Question,
    RankedHit,
    answer_metrics,
    gate_state,
    median_overlap,
)

RETRIEVAL_DEFINITIONS = {
    "ndcg@10": "normalised discounted cumulative gain of the top 10, linear gains (grade 2 counts twice grade 1)",
    "recall@5/10/20": "share of a question's relevant passages (grade 1 or 2) among the top 5/10/20",
    "mrr@10": "mean reciprocal rank of the first relevant passage within the top 10 (0 if none)",
    "hit@1": "share of questions whose first passage is relevant",
    "hit@5": "share of questions with a relevant passage in the top 5",
    "overlap": "share of a question's content words (lower-case alphabetic tokens of 3+ letters minus "
    "scikit-learn's English stop words) found in the union of its grade-2 paragraphs",
}

SIG_METRICS = ("ndcg@10", "recall@10", "mrr@10")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def headline(r: EvalResult) -> str:
    """Configuration x metric over all questions, with search latency."""
    rows = [
        [name, *(sc.mean[m] for m in METRICS), f"{sc.latency_p50_ms:.0f}", f"{sc.latency_p95_ms:.0f}"]
        for name, sc in r.scores.items()
    ]
    return _table(["configuration", *METRICS, "p50 ms", "p95 ms"], rows)


def _facet_keys(q: Question, facet: str) -> list[str]:
    from .evaluate import bucket

    if facet == "by_type":
        return [q.type]
    if facet == "by_bucket":
        return [bucket(q.overlap)]
    if facet == "by_split":
        return [q.split]
    return list(q.collections)


def _split_table(r: EvalResult, facet: str, metric: str) -> str:
    counts: dict[str, int] = {}
    for q in r.questions:
        for key in _facet_keys(q, facet):
            counts[key] = counts.get(key, 0) + 1
    rows = [
        [f"{key} ({n})", *(getattr(sc, facet).get(key, {}).get(metric, 0.0) for sc in r.scores.values())]
        for key, n in sorted(counts.items())
    ]
    return _table(["", *r.scores], rows)


def _significance(r: EvalResult) -> str:
    c = r.comparisons
    if not c:
        return "Only one configuration was run: nothing to compare."
    rows = []
    for a, b in itertools.combinations(r.scores, 2):
        row: list[Any] = [f"{b} vs {a}"]
        for m in SIG_METRICS:
            rm = METRICS[m]
            delta = c[b]["scores"][rm] - c[a]["scores"][rm]
            p = c[a]["comparisons"][b][rm]
            wtl = c[b]["win_tie_loss"][a][rm]
            row.append(f"{delta:+.3f} (p={p:.3f}{'*' if p < MAX_P else ''}; {wtl['W']}/{wtl['T']}/{wtl['L']})")
        rows.append(row)
    return (
        f"Paired two-sided Student's t-test over the questions (ranx `compare`); * marks p < {MAX_P}. "
        "W/T/L: questions where the first configuration wins / ties / loses.\n\n" + _table(["", *SIG_METRICS], rows)
    )


def _baseline(r: EvalResult) -> str:
    rows, notes = [], []
    for name, rep in r.baseline.items():
        base = f"baseline:{name}"
        if rep.get("left_out"):
            notes.append(
                f"`{name}`: {rep['left_out']} of this run's questions are not in the baseline and are left out"
                + (
                    f"; compared on the {rep['shared_questions']} both answered."
                    if rep["shared_questions"]
                    else ": the baseline shares no question with this run (another split?), nothing to compare."
                )
            )
        if not rep.get("shared_questions"):
            continue
        row: list[Any] = [f"{name} ({rep['shared_questions']})"]
        for m in SIG_METRICS:
            rm = METRICS[m]
            now, then = rep[name]["scores"][rm], rep[base]["scores"][rm]
            p = rep[base]["comparisons"][name][rm]
            row.append(f"{then:.3f} → {now:.3f} ({now - then:+.3f}, p={p:.3f}{'*' if p < MAX_P else ''})")
        rows.append(row)
    table = _table(["configuration (questions)", *SIG_METRICS], rows) if rows else ""
    text = "\n\n".join(x for x in (table, "\n".join(f"- {n}" for n in notes)) if x)
    return text or "No configuration matched the baseline's."


def _hits_text(hits: tuple[RankedHit, ...], n: int = 3) -> str:
    return " / ".join(f"{h.chunk_id} [{h.citation}] “{h.text}”" for h in hits[:n]) or "(no hits)"


def _expected(q: Question) -> str:
    return ", ".join(f"{j.doc_id} {para_mark(j.para)} (g{j.grade})" for j in q.judgments)


def _failed(r: EvalResult, name: str, qid: str) -> bool:
    return not any(h.grade > 0 for h in r.runs[name].hits[qid][:FAIL_AT])


def weakest_types(r: EvalResult, config: str = "default", n: int = 3) -> list[tuple[str, float, Question]]:
    """The n question types with the lowest nDCG@10, each with its worst question as the example."""
    sc = r.scores[config]
    types = sorted(sc.by_type, key=lambda t: sc.by_type[t]["ndcg@10"])[:n]
    out = []
    for t in types:
        qs = [q for q in r.questions if q.type == t]
        worst = min(qs, key=lambda q: (sc.per_query["ndcg@10"][q.qid], sc.per_query["mrr@10"][q.qid]))
        out.append((t, sc.by_type[t]["ndcg@10"], worst))
    return out


def _weakest(r: EvalResult) -> str:
    config = "default" if "default" in r.scores else next(iter(r.scores))
    parts = [f"Configuration `{config}`, by nDCG@10; the example is the type's lowest-scoring question."]
    for t, v, q in weakest_types(r, config):
        hits = r.runs[config].hits[q.qid]
        first = next((h.rank for h in hits if h.grade > 0), None)
        parts.append(
            f"- **{t}** (nDCG@10 {v:.3f}). {q.qid}: “{q.query}” expects {_expected(q)}; "
            f"first relevant passage at rank {first or '> k'}; top 3: {_hits_text(hits)}"
        )
    return "\n".join(parts)


def _fmt(v: float | None, n: int) -> str:
    return "–" if v is None else f"{v:.3f} (n={n})"


def _answers(r: EvalResult) -> str:
    if r.answers is None:
        return "Not run (--no-answers)."
    groups: dict[str, list[AnswerRow]] = {"all": list(r.answers)}
    for a in r.answers:
        groups.setdefault(f"split {a.split}", []).append(a)
    for a in r.answers:
        groups.setdefault(f"type {a.type}", []).append(a)
    per = {g: answer_metrics(rows) for g, rows in groups.items()}
    rows = [[g, *(_fmt(*per[g][m]) for m in ANSWER_METRICS)] for g in per]
    support = (
        'the answer\'s support flag: "none" counts as abstaining'
        if any(a.support is not None for a in r.answers)
        else "no support flag yet: an answer without citations counts as abstaining"
    )
    return (
        f"{len(r.answers)} questions answered by the default composer ({support}). "
        "n = the questions a metric is computed over.\n\n" + _table(["", *ANSWER_METRICS], rows)
    )


def _by_bucket_hits(r: EvalResult, config: str = "default") -> str:
    if config not in r.scores:
        return "The default configuration was not run."
    sc = r.scores[config]
    hit5 = {q.qid: float(any(h.grade > 0 for h in r.runs[config].hits[q.qid][:5])) for q in r.questions}
    order = [name for _, name in BUCKETS] + ["n/a"]
    rows = []
    ans = {a.qid: a for a in r.answers or ()}
    from .evaluate import bucket

    for b in order:
        qs = [q for q in r.questions if bucket(q.overlap) == b]
        if not qs:
            continue
        fca = [bool(ans[q.qid].grades) and ans[q.qid].grades[0] == 2 for q in qs if q.qid in ans and not q.follow_up]
        rows.append(
            [
                f"{b} ({len(qs)})",
                sum(sc.per_query["hit@1"][q.qid] for q in qs) / len(qs),
                sum(hit5[q.qid] for q in qs) / len(qs),
                sum(sc.per_query["mrr@10"][q.qid] for q in qs) / len(qs),
                sum(fca) / len(fca) if fca else "–",
            ]
        )
    return _table(["overlap bucket", "hit@1", "hit@5", "mrr@10", "first-citation accuracy"], rows)


def _definitions() -> str:
    lines = [f"- **{k}**: {v}." for k, v in RETRIEVAL_DEFINITIONS.items()]
    lines += [f"- **{k}**: {v}." for k, v in ANSWER_METRICS.items()]
    return "\n".join(lines)


def _failures(r: EvalResult, config: str = "default", limit: int = 60) -> str:
    if config not in r.runs:
        return "The default configuration was not run."
    ans = {a.qid: a for a in r.answers or ()}
    out = []
    for q in r.questions:
        a = ans.get(q.qid)
        first_ok = a is not None and bool(a.grades) and a.grades[0] == 2
        if not _failed(r, config, q.qid) and (a is None or first_ok):
            continue
        hits = r.runs[config].hits[q.qid]
        why = "no relevant passage in the top 5" if _failed(r, config, q.qid) else "first citation not grade 2"
        out.append(
            f"**{q.qid}** ({q.type}, overlap {q.overlap if q.overlap is not None else 'n/a'}; {why}) “{q.query}”"
            + (f" after “{' / '.join(q.history)}”, read as “{a.query_read}”" if q.history and a else "")
            + f"  \nexpected: {_expected(q)}  \n"
            + "".join(f"{h.rank}. `{h.chunk_id}` {h.citation}: “{h.text}”  \n" for h in hits[:3])
            + f"answer's first quote: “{a.first_quote if a and a.first_quote else '(none)'}”"
        )
    for a in r.answers or ():
        if a.type == "unanswerable" and not a.abstained:
            quote = f"answer's first quote: “{a.first_quote}”"
            out.append(f"**{a.qid}** (unanswerable, answered) “{a.query_read}”  \n{quote}")
    shown = out[:limit]
    more = f"\n\n… and {len(out) - limit} more (results.json holds every question's run)" if len(out) > limit else ""
    return (f"{len(out)} question(s).\n\n" + "\n\n".join(shown) + more) if out else "None."


def report_md(r: EvalResult) -> str:
    types: dict[str, int] = {}
    for q in r.questions:
        types[q.type] = types.get(q.type, 0) + 1
    idx = r.index
    where = " + ".join(r.splits)
    med = median_overlap(r.questions)
    sections = [
        f"# Evaluation on the {where} split, {r.started}",
        "## Definitions\n\n" + _definitions(),
        f"Split shown: **{where}**. {len(r.questions)} questions scored for retrieval "
        f"({', '.join(f'{t} {n}' for t, n in sorted(types.items()))}); {len(r.unscored)} more count only in "
        f"the answer-level metrics (unanswerable, or judged on documents not indexed yet); k = {r.k}; median "
        f"overlap {med if med is not None else 'n/a'} (warning above {OVERLAP_WARN} for new questions). "
        f"Index built {idx.get('built_at')} with {idx.get('embedder')}, "
        f"{(idx.get('counts') or {}).get('chunks')} chunks. A passage is relevant with the highest grade of the "
        "judged paragraphs it covers; the parts of one paragraph count once.",
        *(f"> note: {n}" for n in r.notes),
        f"## Regression gate\n\n{gate_state(r)}",
        "## Headline (retrieval)\n\n" + headline(r),
        "## Answer-level metrics (`answer.ask`; the chat's `answer_turn` after earlier turns)\n\n" + _answers(r),
        "## Default configuration by overlap bucket\n\n" + _by_bucket_hits(r),
        "## MRR@10 by split\n\n" + _split_table(r, "by_split", "mrr@10"),
        "## MRR@10 by question type\n\n" + _split_table(r, "by_type", "mrr@10"),
        "## nDCG@10 by question type\n\n" + _split_table(r, "by_type", "ndcg@10"),
        "## MRR@10 by overlap bucket\n\n" + _split_table(r, "by_bucket", "mrr@10"),
        "## nDCG@10 by collection\n\n" + _split_table(r, "by_collection", "ndcg@10"),
        "## Significance between configurations\n\n" + _significance(r),
        *(["## Against the baseline\n\n" + _baseline(r)] if r.baseline else []),
        "## Weakest question types\n\n" + _weakest(r),
        "## Questions the default configuration gets wrong, with the top 3 passages and the answer's first quote\n\n"
        f"Wrong: no relevant passage in the top {FAIL_AT} (what per_question.md calls a failure), or, with answers "
        "measured, a first citation that is not grade 2, or an unanswerable question answered.\n\n" + _failures(r),
        "Files: results.json (all figures, runs, per-question values), per_question.md/.csv "
        f"(failures = no relevant passage in the top {FAIL_AT}, with their top 3 hits), metrics_by_config.png, "
        "ndcg_by_type.png, answer_metrics.png.",
    ]
    return "\n\n".join(sections) + "\n"


def _per_question_rows(r: EvalResult) -> list[dict[str, Any]]:
    rows = []
    for q in r.questions:
        for name, sc in r.scores.items():
            hits = r.runs[name].hits[q.qid]
            failed = _failed(r, name, q.qid)
            rows.append(
                {
                    "qid": q.qid,
                    "type": q.type,
                    "collections": ";".join(q.collections),
                    "config": name,
                    **{m: round(sc.per_query[m][q.qid], 4) for m in METRICS},
                    "first_relevant_rank": next((h.rank for h in hits if h.grade > 0), ""),
                    "failure": int(failed),
                    "query": q.query,
                    "expected": _expected(q),
                    "top3": _hits_text(hits) if failed else "",
                }
            )
    return rows


def per_question_md(r: EvalResult) -> str:
    names = list(r.scores)
    rows = [
        [q.qid, q.type, *(f"{r.scores[n].per_query['ndcg@10'][q.qid]:.2f}" for n in names), q.query]
        for q in r.questions
    ]
    out = [f"# Per question: nDCG@10 by configuration\n\n{_table(['qid', 'type', *names, 'query'], rows)}"]
    for n in names:
        failed = [q for q in r.questions if _failed(r, n, q.qid)]
        lines = [f"## Failures of `{n}` ({len(failed)}): no relevant passage in the top {FAIL_AT}"]
        for q in failed:
            hits = r.runs[n].hits[q.qid]
            lines.append(f"\n**{q.qid}** ({q.type}) “{q.query}”  \nexpected: {_expected(q)}")
            lines += [f"{h.rank}. `{h.chunk_id}` {h.citation}: “{h.text}”" for h in hits[:3]] or ["(no hits)"]
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


LOWER_IS_BETTER = frozenset(
    ("unanswerable answered", "wrong abstention", "answerable flagged", "pronoun misread as follow-up")
)


def plots(r: EvalResult, folder: Path) -> list[Path]:
    """metrics_by_config.png (every metric) and ndcg_by_type.png (nDCG@10 per question type)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(r.scores)
    width = 0.8 / max(1, len(names))
    made = []
    split = " + ".join(r.splits)
    for fname, groups, get, title in (
        ("metrics_by_config.png", list(METRICS), lambda sc, g: sc.mean[g], "Retrieval metrics by configuration"),
        (
            "ndcg_by_type.png",
            sorted({q.type for q in r.questions}),
            lambda sc, g: sc.by_type.get(g, {}).get("ndcg@10", 0.0),
            "nDCG@10 by question type",
        ),
    ):
        fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(groups)), 4.6))
        x = np.arange(len(groups))
        for i, n in enumerate(names):
            ax.bar(x + i * width - 0.4 + width / 2, [get(r.scores[n], g) for g in groups], width, label=n)
        ax.set_xticks(x, [textwrap.fill(g.replace("-", "- "), 12).replace("- ", "-") for g in groups], fontsize=8.5)
        ax.set_ylim(0, 1)
        ax.set_ylabel("score (higher is better)")
        ax.set_title(f"{title}, {split} split ({len(r.questions)} questions)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="configuration", title_fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / fname, dpi=110)
        plt.close(fig)
        made.append(folder / fname)
    if r.answers:
        values = answer_metrics(r.answers)
        names_a = [m for m in ANSWER_METRICS if values[m][0] is not None]
        fig, ax = plt.subplots(figsize=(11, 5))
        colours = ["tab:red" if m in LOWER_IS_BETTER else "tab:green" for m in names_a]
        bars = ax.bar(range(len(names_a)), [values[m][0] for m in names_a], color=colours)
        for b, m in zip(bars, names_a, strict=True):
            ax.annotate(
                f"{values[m][0]:.2f} (n={values[m][1]})",
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        labels = [textwrap.fill(m + (" (lower is better)" if m in LOWER_IS_BETTER else ""), 16) for m in names_a]
        ax.set_xticks(range(len(names_a)), labels, fontsize=7.5)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("share of questions")
        ax.set_title(f"Answer-level metrics, default composer, {split} split (green: higher is better; red: lower)")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / "answer_metrics.png", dpi=110)
        plt.close(fig)
        made.append(folder / "answer_metrics.png")
    return made


def results_json(r: EvalResult) -> dict[str, Any]:
    paras = {h.key: list(h.paras) for cr in r.runs.values() for hits in cr.hits.values() for h in hits}
    return {
        "started": r.started,
        "k": r.k,
        "index": r.index,
        "notes": list(r.notes),
        "metrics": METRICS,
        "scores": {n: asdict(sc) for n, sc in r.scores.items()},
        "comparisons": r.comparisons,
        "baseline": r.baseline,
        "splits": list(r.splits),
        "gate": gate_state(r),
        "answers": [asdict(a) for a in r.answers] if r.answers is not None else None,
        "answer_metrics": {m: {"value": v, "n": n} for m, (v, n) in answer_metrics(r.answers).items()}
        if r.answers is not None
        else None,
        "unscored": [q.qid for q in r.unscored],
        "gate_failures": list(r.gate_failures),
        "questions": [q.to_dict() for q in r.questions],
        "qrels": r.qrels,
        "runs": {n: cr.run for n, cr in r.runs.items()},
        "passage_paras": paras,
        "hits": {n: {q: [asdict(h) for h in hs] for q, hs in cr.hits.items()} for n, cr in r.runs.items()},
        "latencies_ms": {n: list(cr.latencies_ms) for n, cr in r.runs.items()},
    }


def write_report(r: EvalResult, out_dir: Path) -> Path:
    """Write eval/reports/<timestamp>/ and overwrite <out_dir>/latest.md with the headline table."""
    folder = out_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 2
    while folder.exists():
        folder = folder.with_name(f"{folder.name.split('.')[0]}.{n}")
        n += 1
    folder.mkdir(parents=True)
    (folder / "report.md").write_text(report_md(r), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results_json(r), ensure_ascii=False), encoding="utf-8")
    rows = _per_question_rows(r)
    with (folder / "per_question.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["qid"])
        w.writeheader()
        w.writerows(rows)
    (folder / "per_question.md").write_text(per_question_md(r), encoding="utf-8")
    plots(r, folder)
    judged = next((f" J{n[1:]}." for n in r.notes if n.startswith("judgments:")), "")
    latest = (
        f"# Latest evaluation ({' + '.join(r.splits)} split)\n\n{r.started}: {len(r.questions)} questions scored "
        f"for retrieval, {len(r.answers or ())} answered, k = {r.k}, index embedder {r.index.get('embedder')}. "
        f"Full report: `{folder.name}/report.md` (not committed).{judged}\n\n{headline(r)}\n\n"
        f"Default configuration by overlap bucket:\n\n{_by_bucket_hits(r)}\n\n"
        f"Answer-level metrics:\n\n{_answers(r)}\n\nRegression gate: {gate_state(r)}\n"
    )
    (out_dir / "latest.md").write_text(latest, encoding="utf-8")
    return folder
