"""Embedders: retrieval quality on the development questions against throughput, for each packaged model.

Quality is measured on eval/questions.jsonl (judgments keyed {doc_id, para}) through govassist.evaluate, or with
ranx directly when that module is absent: a chunk is relevant when a judged paragraph is among its paragraphs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from govassist.chunk import Chunk
from govassist.text import sentences

from .common import BenchConfig, ensure_x1, settings_for, stats_ms, timed

METRICS = ("recall@5", "mrr@10", "ndcg@10")


def qrels(rows: list[dict[str, Any]], chunks: list[Chunk]) -> dict[str, dict[str, int]]:
    """Graded relevant chunk ids per question: a chunk counts when a judged (doc_id, para) is among its paras."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        rel: dict[str, int] = {}
        for j in r.get("judgments", []):
            for c in by_doc.get(j["doc_id"], []):
                if j["para"] in c.paras:
                    rel[c.id] = max(rel.get(c.id, 0), int(j.get("grade", 1)))
        if rel:
            out[r["qid"]] = rel
    return out


def _ranx_quality(store: Any, s: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from ranx import Qrels, Run, evaluate

    from govassist.retrieve import search

    judged = qrels(rows, store.chunks)
    out: dict[str, Any] = {"questions": len(judged), "via": "bench"}
    for mode in ("dense", "fused"):
        run = {}
        for r in rows:
            if r["qid"] in judged:
                hits = search(store, r["query"], s, k=10, mode=mode)
                run[r["qid"]] = {h.chunk.id: 1.0 / h.rank for h in hits} or {"(no hit)": 0.0}
        scores = evaluate(Qrels(judged), Run(run), list(METRICS))
        out[mode] = {m: round(float(v), 4) for m, v in scores.items()}
    return out


def quality(store: Any, s: Any, questions_file: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall@5, MRR@10 and nDCG@10 of dense and fused retrieval over the judged development questions.

    Uses govassist.evaluate (passage keys, its ranx setup) when that module is there, else ranx directly.
    """
    try:
        from govassist import evaluate as ev
    except ImportError:
        return _ranx_quality(store, s, rows)
    wanted = {r["qid"] for r in rows}
    qs = [q for q in ev.load_questions(questions_file) if q.qid in wanted]
    judged = ev.build_qrels(qs, store)
    out: dict[str, Any] = {"questions": len(qs), "via": "govassist.evaluate"}
    for mode in ("dense", "fused"):
        cr = ev.run_config(store, s, qs, ev.EvalConfig(mode, mode), 10, judged)
        mean = ev.score(qs, judged, cr).mean
        out[mode] = {m: round(float(mean[m]), 4) for m in METRICS}
    return out


def _sample_sentences(chunks: list[Chunk], n: int) -> list[str]:
    out = [x for c in chunks for x in sentences(c.text) if len(x) >= 25]
    return out[:n]


def one(cfg: BenchConfig, name: str, base: Any, questions_file: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Load time, sentences/s, passages/s, query latency and (within the time budget) retrieval quality."""
    from govassist.embed import embed_query, embed_texts, make_embedder
    from govassist.store import build, open_store

    x1 = settings_for(cfg, "x1")
    try:
        model, load_s = timed(lambda: make_embedder(name))
    except Exception as exc:  # a model that fails to load is a result
        return {"loads_offline": False, "error": f"{type(exc).__name__}: {exc}"}
    n_sent, n_pass = (16, 8) if cfg.quick else (128, 32)
    sents = _sample_sentences(base.chunks, n_sent)
    passages = [c.embed_text for c in base.chunks[:n_pass]]
    embed_texts(model, sents[:4])  # warm-up
    vecs, sent_s = timed(lambda: embed_texts(model, sents))
    _, pass_s = timed(lambda: embed_texts(model, passages))
    qtimes = [timed(lambda r=r: embed_query(model, r["query"]))[1] for r in rows[:20]]
    out: dict[str, Any] = {
        "loads_offline": True,
        "dim": int(vecs.shape[1]),
        "load_s": round(load_s, 3),
        "sentences_per_s": round(len(sents) / sent_s, 1),
        "passages_per_s": round(len(passages) / pass_s, 1),
        "query_embed_ms": stats_ms(qtimes),
    }
    estimate = len(base.chunks) / out["passages_per_s"]
    out["corpus_embed_estimate_s"] = round(estimate, 1)
    if estimate > cfg.embed_budget_s and name != base.manifest["embedder"]:
        out["quality"] = {
            "status": "skipped",
            "reason": f"embedding the corpus would take ~{estimate:.0f} s "
            f"(budget {cfg.embed_budget_s:.0f} s, --embed-budget)",
        }
        return out
    if name == base.manifest["embedder"]:
        s, store, build_s = x1, base, None
    else:
        s = settings_for(cfg, "x1", embed_model=name, index_dir=cfg.workdir / f"emb-{name}")
        report, build_s = timed(lambda: build(s, progress=False))
        out["build_embed_s"] = round(report.seconds.get("embed", 0.0), 3)
        out["build_chunks_per_s"] = round(report.chunks / max(report.seconds.get("embed", 1e-9), 1e-9), 1)
        store = open_store(s)
    if build_s is not None:
        out["build_s"] = round(build_s, 3)
    out["quality"] = quality(store, s, questions_file, rows)
    if store is not base:
        shutil.rmtree(s.index_dir, ignore_errors=True)
    return out


def run(cfg: BenchConfig) -> dict[str, Any]:
    from govassist.store import open_store

    base = open_store(ensure_x1(cfg))
    judged_file = cfg.judged
    if not judged_file.exists():
        return {"status": "skipped", "reason": f"no judged questions at {judged_file}"}
    rows = [json.loads(x) for x in judged_file.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = rows[: cfg.n_questions] if cfg.n_questions else rows
    return {
        "questions_file": str(judged_file),
        "models": {name: one(cfg, name, base, judged_file, rows) for name in cfg.embedders},
    }
