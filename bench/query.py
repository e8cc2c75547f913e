"""Query latency with models loaded (search in each mode, the query embedding alone, ask), and cold starts of
the CLI and of the chat app, each in a fresh process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from govassist.settings import Settings

from .common import REPO, BenchConfig, ensure_x1, questions, rss_mb, stats_ms, timed

MODES = ("dense", "bm25", "fused", "default")
COLD_QUESTION = "What did the G7 leaders launch on generative AI in Hiroshima?"


def _clear_caches() -> None:
    """Forget cached query embeddings, so each timed call embeds its question as a new question does."""
    from govassist import retrieve

    retrieve.clear_query_cache()


def _forget_sentences() -> None:
    """Empty the sentence vectors in memory without rereading the cache file: a process without the build's cache."""
    from govassist import sentvec

    sentvec.empty_memory()


def _reload_sentences(s: Settings) -> None:
    """Back to the normal state: the build's sentence cache read from disk (as a fresh process does on first use)."""
    from govassist import sentvec

    sentvec.drop_memory()
    sentvec.vectors(s, [])  # reads the file


def latencies(store: Any, s: Settings, queries: list[str], uncached_round: bool = True) -> dict[str, Any]:
    """p50/p95/p99 per mode over the queries, models loaded and warmed; query vectors forgotten before every call.

    `ask` quotes sentences whose vectors the build cached (indexes/sentence-cache/). With `uncached_round`, each
    `ask` is timed a second time without that cache: its passages' sentences are embedded on the spot.
    """
    from govassist.answer import ask
    from govassist.embed import embed_query, embedder_for
    from govassist.retrieve import search

    model = embedder_for(s)
    for mode in MODES:  # warm-up: first calls pay for imports and lazy structures
        search(store, queries[0], s, mode=mode)
    _reload_sentences(s)
    ask(store, queries[0], s)
    names = (*MODES, "embed_query", "ask", *(("ask_uncached",) if uncached_round else ()))
    times: dict[str, list[float]] = {m: [] for m in names}
    for q in queries:
        times["embed_query"].append(timed(lambda q=q: embed_query(model, q))[1])
        for mode in MODES:
            _clear_caches()
            times[mode].append(timed(lambda q=q, mode=mode: search(store, q, s, mode=mode))[1])
        _clear_caches()
        times["ask"].append(timed(lambda q=q: ask(store, q, s))[1])
        if uncached_round:  # the same question again, its sentences and its query vector not cached
            _clear_caches()
            _forget_sentences()
            times["ask_uncached"].append(timed(lambda q=q: ask(store, q, s))[1])
            _reload_sentences(s)
    return {name: stats_ms(v) for name, v in times.items()}


def run(cfg: BenchConfig) -> dict[str, Any]:
    from govassist.embed import embedder_for
    from govassist.store import open_store

    s = ensure_x1(cfg)
    rss0 = rss_mb()
    _, model_s = timed(lambda: embedder_for(s))
    store, open_s = timed(lambda: open_store(s))
    qs = [r["query"] for r in questions(cfg)]
    return {
        "chunks": store.chunk_count,
        "questions": len(qs),
        "model_load_s": round(model_s, 3),
        "open_store_s": round(open_s, 3),
        "rss_mb": round(rss_mb() - rss0, 1),
        "latency_ms": latencies(store, s, qs),
    }


def _env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVASSIST_")}
    env.update(
        GOVASSIST_CONFIG=str(s.index_dir.parent / "no-govassist.toml"),
        GOVASSIST_CORPUS_DIR=str(s.corpus_dir),
        GOVASSIST_CATALOG_FILE=str(s.catalog_file),
        GOVASSIST_INDEX_DIR=str(s.index_dir),
        GOVASSIST_DATA_DIR=str(s.data_dir),
        GOVASSIST_EMBED_MODEL=s.embed_model,
        HF_HUB_OFFLINE="1",
    )
    return env


def _cli(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("govassist")
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "govassist.cli", *args]


def _wall(cmd: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    walls, rc, err = [], 0, ""
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
        walls.append(time.perf_counter() - t)
        rc, err = p.returncode, p.stderr.strip().splitlines()[-1:] if p.returncode else ""
    return {
        "median_s": round(sorted(walls)[len(walls) // 2], 3),
        "runs_s": [round(w, 3) for w in walls],
        "rc": rc,
        **({"error": err} if err else {}),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chat_cold_start(s: Settings, app: Path = REPO / "app.py", timeout_s: float = 120.0) -> dict[str, Any]:
    """Seconds from `chainlit run app.py --headless` to the first HTTP 200 of its page, then to the first answer
    of a question asked at that moment over Chainlit's socket (the model may still be loading in the background)."""
    import httpx

    if not app.exists() or not app.read_text(encoding="utf-8").strip():
        return {"status": "skipped", "reason": f"{app.name} is missing or empty"}
    chainlit = Path(sys.executable).with_name("chainlit")
    if not chainlit.exists():
        return {"status": "skipped", "reason": "chainlit is not installed in this environment"}
    port = _free_port()
    cmd = [str(chainlit), "run", str(app), "--headless", "--host", "127.0.0.1", "--port", str(port)]
    log = s.index_dir.parent / "chainlit.log"
    with log.open("w") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=app.parent, env=_env(s), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while time.perf_counter() - t < timeout_s:
                if proc.poll() is not None:
                    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                    return {"status": "failed", "rc": proc.returncode, "log_tail": tail}
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/", timeout=2.0).status_code == 200:
                        page_s = round(time.perf_counter() - t, 3)
                        return {"status": "ok", "s": page_s, "first_answer_s": _first_answer_s(port, t, timeout_s)}
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            return {"status": "timeout", "s": timeout_s}
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _first_answer_s(port: int, t0: float, timeout_s: float) -> float | None:
    """Seconds from t0 to the complete answer of one question asked now (None if it failed)."""
    from .load_chat import run_load

    report = run_load(f"http://127.0.0.1:{port}", [COLD_QUESTION], sessions=1, per_session=1, timeout_s=timeout_s)
    return round(time.perf_counter() - t0, 3) if report.answered == 1 and not report.errors else None


def run_cold(cfg: BenchConfig) -> dict[str, Any]:
    """`govassist --help`, `govassist ask` (process start to printed answer) and the chat page, cold."""
    s = ensure_x1(cfg)
    env = _env(s)
    q = questions(cfg)[0]["query"]
    out = {
        "help": _wall(_cli("--help"), env, cfg.cold_runs),
        "ask": _wall(_cli("ask", q), env, cfg.cold_runs),
    }
    out["chat"] = chat_cold_start(s) if cfg.chat else {"status": "skipped", "reason": "--no-chat"}
    return out
