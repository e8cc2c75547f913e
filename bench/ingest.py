"""Ingestion: a full build of the corpus split by stage, chunks/s, peak memory, and incremental rebuilds."""

from __future__ import annotations

import shutil
from typing import Any

from .common import BenchConfig, dir_mb, peak_rss_mb, prepare_corpus, rss_mb, timed

EDIT = "\n\nBenchmark edit: a paragraph added to one document so that the next build re-embeds only that document.\n"


def _stages(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


def one_doc_rebuilds(s: Any) -> dict[str, Any]:
    """Edit the smallest and the largest text document (by chunks), rebuild; restore it, rebuild again."""
    import json

    from govassist.store import build

    docs = json.loads((s.current_index / "manifest.json").read_text())["docs"].values()
    texts = sorted((d for d in docs if d["file"].endswith((".md", ".txt"))), key=lambda d: d["chunks"])
    if not texts:
        return {"status": "skipped", "reason": "no .md or .txt document to edit"}
    out: dict[str, Any] = {"docs": []}
    for d in dict.fromkeys((texts[0]["id"], texts[-1]["id"])):
        meta = next(x for x in texts if x["id"] == d)
        path = s.corpus_dir / meta["file"]
        original = path.read_text(encoding="utf-8")
        runs = []
        for text in (original + EDIT, original):
            path.write_text(text, encoding="utf-8")
            r, took = timed(lambda: build(s, progress=False))
            runs.append({"embedded_docs": r.embedded_docs, "s": round(took, 3), "stages_s": _stages(r.seconds)})
        out["docs"].append({"doc": d, "chunks": meta["chunks"], "s": max(x["s"] for x in runs), "runs": runs})
    out["s"] = max(x["s"] for x in out["docs"])
    return out


def run(cfg: BenchConfig) -> dict[str, Any]:
    """Full build from scratch (model load timed apart), then a no-change and a one-document rebuild."""
    from govassist.embed import embedder_for
    from govassist.store import build

    shutil.rmtree(cfg.workdir / "x1", ignore_errors=True)
    s = prepare_corpus(cfg, "x1")
    rss0 = rss_mb()
    _, model_s = timed(lambda: embedder_for(s))
    report, build_s = timed(lambda: build(s, progress=False))
    full = {
        "documents": report.documents,
        "chunks": report.chunks,
        "skipped": len(report.skipped),
        "stages_s": _stages(report.seconds),
        "model_load_s": round(model_s, 3),
        "build_s": round(build_s, 3),
        "cold_build_s": round(build_s + model_s, 3),
        # the index serves once switched; the answer's sentence cache is filled after that
        "serving_s": round(build_s + model_s - report.seconds.get("sentences", 0.0), 3),
        "sentences_s": round(report.seconds.get("sentences", 0.0), 3),
        "chunks_per_s": round(report.chunks / build_s, 1),
        "embed_chunks_per_s": round(report.chunks / max(report.seconds.get("embed", 0.0), 1e-9), 1),
        "embed_s_per_chunk": round(report.seconds.get("embed", 0.0) / max(report.chunks, 1), 5),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_growth_mb": round(rss_mb() - rss0, 1),
        "index_mb": round(dir_mb(s.current_index), 2),
    }

    again, again_s = timed(lambda: build(s, progress=False))
    unchanged = {"changed": again.changed, "s": round(again_s, 3)}

    one_doc = one_doc_rebuilds(s)
    return {"full": full, "unchanged_rebuild": unchanged, "one_doc_rebuild": one_doc}
