"""Scale: the corpus indexed x1, x10 and x100 times under new document ids, through the real build.

The copies reuse the x1 embeddings instead of running the model again (embedding cost grows linearly and is
measured per chunk in the ingest section). Each copy's vectors get a small fixed Gaussian jitter
(`JITTER` per dimension, cosine to the original about 0.96) so copies are near-duplicates, not exact ties:
with exact ties "recall of approximate search against exact search" would be undefined.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from govassist.settings import Settings

from .common import RESULTS, BenchConfig, dir_mb, ensure_x1, questions, settings_for, stats_ms, timed

JITTER = 0.015
COPY_RE = re.compile(r"-x\d{3}(?=#)")  # "<doc>-x007#12" -> "<doc>#12"
# the share of the 150 ms x100 search target that exact (flat) dense search may take, beside the query embedding
# (~40 ms on a 2-core AVX2 machine) and BM25 + fusion; below it exact search also means recall 1.0
DENSE_BUDGET_MS = 40.0
SWEEP_EXTRA = 3  # the flat-only sweep also tries 3x the largest factor (vectors only)


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def replicate(cfg: BenchConfig, factor: int) -> Settings:
    """`<workdir>/x<factor>`: every x1 document `factor` times, copies as `<id>-xNNN` with their own file.

    A copy's bytes are the original's plus trailing newlines, so its content hash differs (the build skips
    byte-identical files as duplicates) while its text, paragraphs and chunks are the same.
    """
    from govassist import catalog

    src = settings_for(cfg, "x1")
    s = settings_for(cfg, f"scale-x{factor}")
    shutil.rmtree(s.index_dir.parent, ignore_errors=True)
    s.corpus_dir.mkdir(parents=True)
    docs = catalog.load_catalog(src.catalog_file)
    pairs, _notes = catalog.corpus_documents(docs, src.corpus_dir)
    lines: list[str] = []
    for meta, path in pairs:
        data = path.read_bytes()
        for i in range(factor):
            suffix = f"-x{i:03d}" if i else ""
            name = f"{path.stem}{suffix}{path.suffix}"
            (s.corpus_dir / name).write_bytes(data + b"\n" * i)
            entry = {**meta.to_dict(), "id": f"{meta.id}{suffix}", "file": name}
            lines.append("[[doc]]")
            lines += [f"{k} = {_toml(v)}" for k, v in entry.items() if k != "in_catalog" and v not in ("", ())]
            lines.append("")
    s.catalog_file.write_text("\n".join(lines), encoding="utf-8")
    return s


@contextmanager
def reused_embeddings(store: Any) -> Iterator[None]:
    """Within the block, index builds take each chunk's vector from `store` instead of embedding it."""
    from govassist.store import files as index

    by_text = {c.embed_text: store.vectors[i] for i, c in enumerate(store.chunks)}
    real = index.embed_texts

    def lookup(model: Any, texts: list[str], progress: bool = False) -> np.ndarray:
        missing = [t for t in texts if t not in by_text]
        fresh = dict(zip(missing, real(model, missing))) if missing else {}
        rows = [by_text[t] if t in by_text else fresh[t] for t in texts]
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, store.vectors.shape[1]), np.float32)

    index.embed_texts = lookup
    try:
        yield
    finally:
        index.embed_texts = real


def jitter_copies(s: Settings) -> int:
    """Give every repeated chunk of the current index its own nearby vector, as a paraphrase would have, and
    rewrite vectors.npy and faiss.index. The build embeds an identical text once and shares the vector among the
    copies; 100 identical copies of every vector would measure how HNSW copes with exact duplicates, which real
    corpora do not have at that rate, not how it scales. Returns the number of vectors moved."""
    import faiss

    from govassist.chunk import Chunk
    from govassist.store import files as index

    path = s.current_index.resolve()
    chunks = [Chunk.from_dict(json.loads(x)) for x in (path / index.CHUNKS).read_text().splitlines() if x]
    vectors = np.load(path / index.VECTORS)
    seen: set[str] = set()
    copies = []
    for j, c in enumerate(chunks):
        if c.embed_text in seen:
            copies.append(j)
        seen.add(c.embed_text)
    if copies:
        rng = np.random.default_rng(7)
        vectors[copies] += rng.standard_normal((len(copies), vectors.shape[1])).astype(np.float32) * JITTER
        vectors[copies] /= np.linalg.norm(vectors[copies], axis=1, keepdims=True)
        np.save(path / index.VECTORS, vectors)
        findex, _kind = index.faiss_index(vectors, s.faiss_exact_max)
        faiss.write_index(findex, str(path / index.FAISS_FILE))
    return len(copies)


def _faiss_search_ms(findex: Any, qvecs: np.ndarray, k: int) -> dict[str, float]:
    times = [timed(lambda q=q: findex.search(q.reshape(1, -1), k))[1] for q in qvecs]
    return stats_ms(times)


def faiss_compare(
    vectors: np.ndarray, qvecs: np.ndarray, k_cand: int, hnsw: bool = True, passages: list[str] | None = None
) -> dict[str, Any]:
    """Exact flat vs HNSW (as the build makes it): build time, single-query latency, recall@10 vs exact.

    `passages` names each row's original passage (copies share it): passage recall counts an approximate hit
    as found when it is a copy of a passage among the exact top 10, since near-duplicate copies tie up to noise.
    """

    from govassist.store.files import faiss_index

    flat, flat_s = timed(lambda: faiss_index(vectors, len(vectors))[0])
    out: dict[str, Any] = {
        "vectors": len(vectors),
        "flat": {"build_s": round(flat_s, 3), "search_ms": _faiss_search_ms(flat, qvecs, k_cand)},
    }
    if hnsw:
        (approx, kind), hnsw_s = timed(lambda: faiss_index(vectors, 0))
        assert kind == "hnsw"
        _, exact_ids = flat.search(qvecs, 10)
        _, approx_ids = approx.search(qvecs, 10)
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx_ids, exact_ids)])
        if passages is not None:
            found = [{passages[i] for i in a} & {passages[i] for i in e} for a, e in zip(approx_ids, exact_ids)]
            wanted = [{passages[i] for i in e} for e in exact_ids]
            out["passage_recall_at_10"] = round(float(np.mean([len(f) / len(w) for f, w in zip(found, wanted)])), 4)
        out["hnsw"] = {
            "build_s": round(hnsw_s, 3),
            "search_ms": _faiss_search_ms(approx, qvecs, k_cand),
            "recall_at_10": round(float(recall), 4),
            "passage_recall_at_10": out.pop("passage_recall_at_10", None),
            "params": {"M": 32, "efConstruction": approx.hnsw.efConstruction, "efSearch": approx.hnsw.efSearch},
        }
        del approx
    del flat
    return out


STORE_RSS = """
import json, sys
from pathlib import Path
import bm25s, faiss
from llama_index.retrievers.bm25 import BM25Retriever
from govassist.store import open_store
from govassist.settings import Settings
from bench.common import rss_mb, timed
s = Settings(**json.loads(sys.argv[1]))
r0 = rss_mb()
store, t = timed(lambda: open_store(s))
print(json.dumps({"open_s": round(t, 3), "store_mb": round(rss_mb() - r0, 1), "process_mb": round(rss_mb(), 1)}))
"""


def store_memory(s: Settings) -> dict[str, Any]:
    """Memory of an opened store, measured in a fresh process (libraries imported before the baseline)."""
    args = json.dumps(
        {"index_dir": str(s.index_dir), "embed_model": s.embed_model, "catalog_file": str(s.catalog_file)}
    )
    p = subprocess.run(
        [sys.executable, "-c", STORE_RSS, args], capture_output=True, text=True, timeout=600, cwd=RESULTS.parents[1]
    )
    if p.returncode:
        return {"error": p.stderr.strip().splitlines()[-1:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def threshold(points: list[tuple[int, float]], budget_ms: float = DENSE_BUDGET_MS) -> dict[str, Any]:
    """The largest size at which exact search stays within the budget, by linear fit of p95 against size."""
    n = np.array([p[0] for p in points], float)
    ms = np.array([p[1] for p in points], float)
    slope, icept = np.polyfit(n, ms, 1) if len(points) > 1 else (ms[0] / n[0], 0.0)
    at = (budget_ms - icept) / slope if slope > 0 else float("inf")
    nice = int(min(at, 5e6) // 50_000 * 50_000) if np.isfinite(at) else 5_000_000
    return {
        "budget_ms": budget_ms,
        "ms_per_100k": round(float(slope) * 1e5, 3),
        "crosses_at": int(min(at, 1e9)),
        "recommended_faiss_exact_max": max(nice, 50_000),
    }


def run(cfg: BenchConfig, on_factor: Callable[[int, dict], None] | None = None) -> dict[str, Any]:
    from govassist.embed import embed_texts, make_embedder
    from govassist.store import build
    from govassist.store.files import open_index

    from .query import latencies

    x1 = ensure_x1(cfg)
    base = open_index(x1)
    qs = [r["query"] for r in questions(cfg)]
    model = make_embedder(cfg.embed_model)
    qvecs = embed_texts(model, qs)
    out: dict[str, Any] = {
        "jitter": JITTER,
        "method": "copies of the real corpus under new ids, x1 vectors reused, copies jittered after the build",
        "factors": {},
    }
    sweep: list[tuple[int, float]] = []
    for f in cfg.factors:
        s = replicate(cfg, f)
        # the copies quote the same sentences: the x1 sentence cache saves the build from embedding them again
        shutil.copytree(x1.index_dir / "sentence-cache", s.index_dir / "sentence-cache", dirs_exist_ok=True)
        with reused_embeddings(base):
            report, build_s = timed(lambda s=s: build(s, progress=False))
        jittered = jitter_copies(s)  # untimed: a property of the synthetic corpus, not of the build
        store, open_s = timed(lambda s=s: open_index(s))
        row: dict[str, Any] = {
            "chunks": report.chunks,
            "documents": report.documents,
            "faiss_kind": store.manifest["faiss"],
            "build_s": round(build_s, 3),
            "jittered_copies": jittered,
            "stages_s": {k: round(v, 3) for k, v in report.seconds.items()},
            "index_disk_mb": round(dir_mb(s.current_index), 1),
            "open_store_s": round(open_s, 3),
            "latency_ms": latencies(store, s, qs[: cfg.scale_questions], uncached_round=False),
            "faiss": faiss_compare(
                store.vectors, qvecs, max(s.candidates, s.k * 3), passages=[COPY_RE.sub("", c.id) for c in store.chunks]
            ),
        }
        del store
        row["memory"] = store_memory(s)
        sweep.append((report.chunks, row["faiss"]["flat"]["search_ms"]["p95"]))
        out["factors"][str(f)] = row
        if on_factor:
            on_factor(f, row)
        if f != 1:
            shutil.rmtree(s.index_dir.parent, ignore_errors=True)
    big = base.vectors
    if cfg.factors and not cfg.quick:
        reps = max(cfg.factors) * SWEEP_EXTRA
        rng = np.random.default_rng(11)
        tiled = np.vstack([big] * reps).astype(np.float32)
        tiled[len(big) :] += rng.standard_normal((len(tiled) - len(big), big.shape[1])).astype(np.float32) * JITTER
        tiled /= np.linalg.norm(tiled, axis=1, keepdims=True)
        extra = faiss_compare(tiled, qvecs, 50, hnsw=False)
        out["flat_sweep_extra"] = extra
        sweep.append((len(tiled), extra["flat"]["search_ms"]["p95"]))
        del tiled
    out["threshold"] = threshold(sweep)
    return out


def plot(result: dict[str, Any], path: Path) -> Path:
    """The scaling curve: p95 latency per mode and build stages against the number of chunks (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(result["factors"].values(), key=lambda r: r["chunks"])
    n = [r["chunks"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in ("dense", "bm25", "fused", "default", "ask"):
        ax1.plot(n, [r["latency_ms"][name]["p95"] for r in rows], marker="o", label=name)
    ax1.plot(n, [r["faiss"]["hnsw"]["search_ms"]["p95"] for r in rows], ls="--", marker="x", label="FAISS HNSW alone")
    ax1.plot(n, [r["faiss"]["flat"]["search_ms"]["p95"] for r in rows], ls="--", marker="x", label="FAISS flat alone")
    ax1.set(xscale="log", yscale="log", xlabel="chunks", ylabel="p95 latency (ms)", title="Query latency")
    ax1.legend(fontsize=8)
    for stage in ("load_chunk", "write", "total"):
        ax2.plot(n, [max(r["stages_s"].get(stage, 0.0), 1e-3) for r in rows], marker="o", label=stage)
    ax2.set(xscale="log", yscale="log", xlabel="chunks", ylabel="seconds", title="Build (embeddings reused)")
    ax2.legend(fontsize=8)
    for r in rows:
        ax2.annotate(f"{r['memory'].get('store_mb', '?')} MB", (r["chunks"], r["stages_s"]["total"]), fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
