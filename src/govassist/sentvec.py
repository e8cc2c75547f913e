"""Vectors of the quotable sentences of the corpus, cached in memory and on disk (`indexes/sentence-cache/`).

The extractive answer ranks the sentences of the retrieved passages by cosine to the question, so each one must be
embedded. The build embeds them once, after it switches the index, and a fresh process reads them from disk instead of
embedding them at the first question. It is a cache keyed by embedder and sentence text: losing it costs time, never
an answer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .embed import embed_texts, make_embedder
from .settings import Settings
from .text import sentences

MIN_CHARS = 25
SENTENCE_END = re.compile(r"(?:[.;:!?…]|\band|\bor)[”\"’')\]]*,?$")
MAX_ENTRIES = 500_000  # about 770 MB of 384-d vectors: past it the memory cache starts again empty

ModelKey = tuple[str, int, str, str]
_cache: dict[ModelKey, dict[str, np.ndarray]] = {}
_loaded: set[tuple[ModelKey, Path]] = set()
_on_disk: dict[tuple[ModelKey, Path], set[str]] = {}  # what each cache file holds, as read or written
_lock = threading.Lock()


def quotable(text: str) -> list[str]:
    """The sentences and bullet items of a passage that may be quoted in an answer: not headings or list titles
    ("G7 Leaders' Statement on Ukraine", "*Building resilient supply chains*"), which answer nothing."""
    return [x for x in sentences(text) if len(x) >= MIN_CHARS and not _title_like(x)]


def _title_like(sentence: str) -> bool:
    return not SENTENCE_END.search(sentence) and (len(sentence.split()) < 12 or sentence.startswith(("*", "_")))


def model_key(s: Settings) -> ModelKey:
    return (s.embed_model, s.embed_batch_size, s.embed_query_prefix, s.embed_passage_prefix)


def cache_file(s: Settings) -> Path:
    key = model_key(s)
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key[0].rsplit("/", 1)[-1])[:40]
    return s.index_dir / "sentence-cache" / f"{name}-{digest}.npz"


def _load(s: Settings, key: ModelKey) -> dict[str, np.ndarray]:
    """The memory cache of one embedder, filled from its disk file on first use (a bad file is ignored)."""
    mem = _cache.setdefault(key, {})
    path = cache_file(s)
    if (key, path) not in _loaded:
        _loaded.add((key, path))
        _on_disk[(key, path)] = set()
        try:
            with np.load(path, allow_pickle=False) as z:
                texts = json.loads(z["texts"].tobytes().decode("utf-8"))
                vecs = z["vectors"]
            if len(texts) == len(vecs):
                for t, v in zip(texts, vecs):
                    mem.setdefault(t, v)
                _on_disk[(key, path)] = set(texts)
        except (OSError, ValueError, KeyError):
            pass
    return mem


def save(s: Settings, texts: list[str]) -> Path | None:
    """Write the vectors of these sentences (those in memory) to the cache file atomically (tmp, then rename)."""
    key = model_key(s)
    with _lock:
        mem = _load(s, key)
        rows = {t: v for t in texts if (v := mem.get(t)) is not None}
    if not rows:
        return None
    path = cache_file(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = list(rows)
    for old in path.parent.glob("*.tmp*.npz"):  # left by a process killed while saving
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink()
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(
        tmp,
        texts=np.frombuffer(json.dumps(texts, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
        vectors=np.vstack([rows[t] for t in texts]).astype(np.float32),
    )
    os.replace(tmp, path)
    _on_disk[(key, path)] = set(texts)
    return path


def vectors(s: Settings, texts: list[str], progress: bool = False) -> np.ndarray:
    """One normalised row per text: from memory, else the disk cache, else embedded now (and remembered)."""
    key = model_key(s)
    with _lock:
        mem = _load(s, key)
        found = {t: v for t in texts if (v := mem.get(t)) is not None}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        new = embed_texts(make_embedder(*key), missing, progress=progress)
        with _lock:
            if len(mem) + len(missing) > MAX_ENTRIES:
                mem.clear()
            for t, v in zip(missing, new):
                mem[t] = found[t] = v
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([found[t] for t in texts])


def warm(s: Settings, passages: list[str], progress: bool = False, batch: int = 256) -> tuple[int, int]:
    """Make sure every quotable sentence of these passages has a vector, in memory and in the cache file.

    Returns (embedded now, already cached). The model is loaded only if something is missing."""
    key = model_key(s)
    texts = list(dict.fromkeys(x for p in passages for x in quotable(p)))
    with _lock:
        mem = _load(s, key)
        missing = [t for t in texts if t not in mem]
        stale = not set(texts) <= _on_disk[(key, cache_file(s))]
    missing.sort(key=len)  # shortest first: batches pad little
    with tqdm(total=len(missing), desc="quotable sentences", unit="sent", disable=not progress or not missing) as bar:
        for i in range(0, len(missing), batch):
            vectors(s, missing[i : i + batch])
            bar.update(len(missing[i : i + batch]))
    if missing or stale:
        save(s, texts)
    return len(missing), len(texts) - len(missing)
