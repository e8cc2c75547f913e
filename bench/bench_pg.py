"""PostgreSQL + pgvector against the file store (FAISS + bm25s): search latency at x1 and x100 corpus size,
database build times and sizes, and parity on the development questions (top-10 overlap per mode, Recall@5).

Both backends index the same chunks: x100 is the real corpus copied under new document ids (bench.scale), built
by the file build with the x1 vectors reused, then moved into PostgreSQL with `postgres.build(seed=...)`.
Latencies are for `retrieve.search` with the query embedding cached (it is the same for both backends).

    .venv/bin/python -m bench.bench_pg --factors 1,100 --workdir /tmp/govassist-bench-pg
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import (
    REPO,
    RESULTS,
    BenchConfig,
    Record,
    append_result,
    dir_mb,
    ensure_x1,
    git_commit,
    machine,
    settings_dump,
    stats_ms,
    timed,
)

MODES = ("dense", "bm25", "default")


def _database(url: str, name: str) -> str:
    """A fresh database `name` on the server behind `url`."""
    import psycopg

    from govassist.store.pgserver import url_for

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_for(url, name)


def latency(store: Any, s: Any, queries: list[str], filters: Any = None, rounds: int = 2) -> dict[str, Any]:
    """p50/p95 of search per mode over the queries (query vectors cached, one warm-up pass)."""
    from govassist.retrieve import search

    out = {}
    for mode in MODES:
        for q in queries:
            search(store, q, s, k=10, mode=mode, filters=filters)
        times = []
        for _ in range(rounds):
            for q in queries:
                t = time.perf_counter()
                search(store, q, s, k=10, mode=mode, filters=filters)
                times.append(time.perf_counter() - t)
        out[mode] = stats_ms(times)
    return out


def parity(files: Any, pg: Any, s: Any, judged: Path) -> dict[str, Any]:
    """Top-10 overlap of chunk ids per mode, and Recall@5 of the default pipeline for each backend."""
    from ranx import Qrels, Run, evaluate

    from govassist.evaluate import build_qrels, load_questions, passage_key
    from govassist.retrieve import search

    questions = load_questions(judged)
    overlap, runs = {}, {"files": {}, "pg": {}}
    for mode in ("dense", "bm25", "fused", "default"):
        shares = []
        for q in questions:
            a = search(files, q.query, s, k=10, mode=mode)
            b = search(pg, q.query, s, k=10, mode=mode)
            shares.append(len({h.chunk.id for h in a} & {h.chunk.id for h in b}) / max(1, len(a)))
            if mode == "default":
                for name, hits in (("files", a), ("pg", b)):
                    ranked: dict[str, float] = {}
                    for h in hits:
                        ranked.setdefault(passage_key(h.chunk), 1.0 / (len(ranked) + 1))
                    runs[name][q.qid] = ranked
        overlap[mode] = round(sum(shares) / len(shares), 4)
    qrels = Qrels(build_qrels(questions, files))
    recall = {
        n: round(float(evaluate(qrels, Run(r, name=n), "recall@5", make_comparable=True)), 4) for n, r in runs.items()
    }
    return {"questions": len(questions), "top10_overlap": overlap, "recall@5": recall}


def run(cfg: BenchConfig, url: str, factors: tuple[int, ...]) -> dict[str, Any]:
    from govassist.retrieve import Filters, query_vector
    from govassist.store import build, postgres
    from govassist.store.files import open_index, read_previous

    from .common import questions
    from .scale import replicate, reused_embeddings

    x1 = ensure_x1(cfg)
    base = open_index(x1)
    queries = [r["query"] for r in questions(cfg)]
    for q in queries:
        query_vector(x1, q)
    out: dict[str, Any] = {"queries": len(queries), "factors": {}}
    for f in factors:
        s = x1
        if f > 1:
            s = replicate(cfg, f)
            with reused_embeddings(base):
                build(s, progress=False)
        files = open_index(s)
        seed = read_previous(s)
        s_pg = s.model_copy(update={"database_url": _database(url, f"bench_x{f}")})
        report, build_s = timed(lambda s_pg=s_pg, seed=seed: postgres.build(s_pg, progress=False, seed=seed))
        pg = postgres.PgStore(s_pg)
        info = postgres.info(s_pg)["versions"][-1]
        g7 = Filters(collections=("G7",))
        row: dict[str, Any] = {
            "chunks": report.chunks,
            "documents": report.documents,
            "faiss": files.manifest["faiss"],
            "files_mb": round(dir_mb(s.current_index), 1),
            "pg_mb": round((info["bytes"] or 0) / 2**20, 1),
            "pg_build_s": round(build_s, 1),
            "pg_build_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
            "latency_ms": {"files": latency(files, s, queries), "pg": latency(pg, s_pg, queries)},
            "latency_ms_filter_g7": {
                "files": latency(files, s, queries, g7, 1),
                "pg": latency(pg, s_pg, queries, g7, 1),
            },
        }
        t = time.perf_counter()
        for _ in range(200):
            pg.refresh()
        row["version_check_ms"] = round((time.perf_counter() - t) / 200 * 1000, 3)
        if f == 1 and cfg.judged.is_file():
            row["parity"] = parity(files, pg, s_pg, cfg.judged)
        out["factors"][str(f)] = row
        typer.echo(f"[bench_pg] x{f}: {summary_row(f, row)}", err=True)
        del files, pg
    return out


def summary_row(f: int, row: dict[str, Any]) -> str:
    lat = row["latency_ms"]
    cells = [f"{b} {m} p50 {lat[b][m]['p50']} p95 {lat[b][m]['p95']}" for b in ("files", "pg") for m in MODES]
    return f"{row['chunks']} chunks; " + "; ".join(cells)


def main(
    factors: Annotated[str, typer.Option(help="Corpus multiples.")] = "1,100",
    workdir: Annotated[Path | None, typer.Option(help="Scratch folder (default: a new temporary one).")] = None,
    n_questions: Annotated[int, typer.Option(help="Development questions to time (0 = all).")] = 0,
    out: Annotated[Path, typer.Option(help="Results file to append to.")] = RESULTS / "pg.json",
) -> None:
    """Run the PostgreSQL benchmark against a local pgserver (or GOVASSIST_DATABASE_URL) and append the results."""
    from govassist.settings import load_settings
    from govassist.store import pgserver

    s = load_settings()
    mirror = s.mirror_dir if s.mirror_dir.is_absolute() else REPO / s.mirror_dir
    cfg = BenchConfig(
        workdir=(workdir or Path(tempfile.mkdtemp(prefix="govassist-bench-pg-"))).resolve(),
        catalog=s.catalog_file if s.catalog_file.is_absolute() else REPO / s.catalog_file,
        source=(mirror if mirror.is_dir() else REPO / s.corpus_dir).resolve(),
        questions=REPO / "eval" / "questions.raw.jsonl",
        judged=REPO / "eval" / "questions.jsonl",
        embed_model=s.embed_model,
        n_questions=n_questions,
    )
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    url = s.database_url
    server = None
    if not url:
        server = Path(tempfile.mkdtemp(prefix="govassist-pg-")) / "data"  # reachable by pgserver's user under root
        url = pgserver.start(server).url
    fac = tuple(int(x) for x in factors.split(",") if x.strip())
    rec = Record(
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
        git=git_commit(),
        config={**cfg.to_dict(), "factors": fac, "server": "pgserver (local)" if server else "GOVASSIST_DATABASE_URL"},
        settings=settings_dump(s),
    )
    t0 = time.perf_counter()
    try:
        rec.sections["pg"] = run(cfg, url, fac)
    finally:
        if server:
            pgserver.stop(server)
            shutil.rmtree(server.parent, ignore_errors=True)
    rec.seconds = round(time.perf_counter() - t0, 1)
    rec.machine["loadavg_end"] = machine()["loadavg"]
    append_result(out, rec)
    typer.echo(f"appended to {out}", err=True)


if __name__ == "__main__":
    typer.run(main)
