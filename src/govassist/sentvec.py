"""Vectors of the quotable sentences of the corpus, cached in memory and on disk (`indexes/sentence-cache/`).

The extractive answer ranks the sentences of the retrieved passages by cosine to the question, so each one must be
embedded. The build embeds them once, after it switches the index, and a fresh process reads them from disk instead of
embedding them at the first question. It is a cache keyed by embedder and sentence text: losing it costs time, never
an answer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .embed import ModelKey, embed_texts, make_embedder, model_key
from .settings import Settings
from .text import sentences

MIN_CHARS = 25
SENTENCE_END = re.compile(r"(?:[.;:!?…]|\band|\bor)[”\"’')\]]*,?$")
MAX_ENTRIES = 500_000  # 1.5 GB of 768-d vectors (0.77 GB at 384-d): past it the memory cache starts again empty

_cache: dict[ModelKey, dict[str, np.ndarray]] = {}
_on_disk: dict[tuple[ModelKey, Path], set[str]] = {}  # the files read so far, and what each holds
_lock = threading.Lock()
log = logging.getLogger("govassist.sentvec")


LIST_MIN = 3  # short bullet items after a lead-in ending with ":" that are quoted together with it
TITLES_HEAD_RE = re.compile(r"^\W*(?:reference documents?|annex(?:es)?|attachments?|list of documents)\b", re.I)


def quotable(text: str) -> list[str]:
    """The sentences and bullet items of a passage that may be quoted in an answer: not headings or list titles
    ("G7 Leaders' Statement on Ukraine", "*Building resilient supply chains*"), which answer nothing. A lead-in
    ending with ":" and the short bullet items after it ("The countries represented were: • Australia • Brazil …")
    are one quote, verbatim but for line breaks: alone, each name is too short to quote and the list is lost."""
    parts = sentences(text)
    at: list[int] = []  # where each part starts, found in order ("Japan" after "The Japanese Presidency …:")
    cursor = 0
    for p in parts:
        found = text.find(p, cursor)
        at.append(found)
        cursor = found + len(p) if found >= 0 else cursor
    out: list[str] = []
    i = 0
    while i < len(parts):
        j = i + 1
        if parts[i].endswith(":") and not TITLES_HEAD_RE.match(parts[i]) and at[i] >= 0:
            while j < len(parts) and at[j] >= 0 and _short_item(parts[j], text, at[j]):
                j += 1
        if j - i > LIST_MIN:
            out.append(" ".join(text[at[i] : at[j - 1] + len(parts[j - 1])].split()))
            i = j
            continue
        if len(parts[i]) >= MIN_CHARS and not title_like(parts[i]):
            out.append(parts[i])
        i += 1
    return out


def _short_item(part: str, text: str, at: int) -> bool:
    """A bullet item of a few words without a sentence's end, starting at `at` after a bullet mark on its line."""
    line_start = text.rfind("\n", 0, at) + 1
    return (
        len(part.split()) <= 12
        and not part.startswith(("*", "_"))
        and not re.search(r"[.;!?]$", part)
        and re.fullmatch(r"[ \t]*[•●▪◦\-–*][ \t]*", text[line_start:at]) is not None
    )


def title_like(sentence: str) -> bool:
    """A heading or a list of titles: no closing punctuation, and emphasised or in title case ("Developing Talent
    for the Digital Transition"). A short bullet in sentence case ("Strengthening cybersecurity capacity in
    developing countries") stays quotable."""
    if SENTENCE_END.search(sentence):
        return False
    if sentence.startswith(("*", "_")):
        return True
    words = [w for w in sentence.split() if len(w) > 3]
    return len(sentence.split()) < 12 and bool(words) and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def cache_file(s: Settings) -> Path:
    key = model_key(s)
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key[0].rsplit("/", 1)[-1])[:40]
    return s.index_dir / "sentence-cache" / f"{name}-{digest}.npz"


def _load(s: Settings, key: ModelKey) -> dict[str, np.ndarray]:
    """The memory cache of one embedder, filled from its disk file on first use. Call with `_lock` held.

    A file that cannot be read (truncated, not a zip, wrong shape) is removed: the next `warm` writes it anew."""
    mem = _cache.setdefault(key, {})
    path = cache_file(s)
    if (key, path) not in _on_disk:
        _on_disk[(key, path)] = set()
        try:
            with np.load(path, allow_pickle=False) as z:
                texts = json.loads(z["texts"].tobytes().decode("utf-8"))
                vecs = z["vectors"]
            if len(texts) != len(vecs):
                raise ValueError("texts and vectors differ in length")
            for t, v in zip(texts, vecs):
                mem.setdefault(t, v)
            _on_disk[(key, path)] = set(texts)
        except FileNotFoundError:
            pass
        except Exception as exc:  # a damaged cache must never stop an answer or a build
            log.warning("sentence cache %s unreadable (%s); it will be rebuilt", path, exc)
            with contextlib.suppress(OSError):
                path.unlink()
    return mem


def save(s: Settings, rows: dict[str, np.ndarray]) -> Path | None:
    """Write these sentence vectors as the cache file: a private temporary file, fsynced, then renamed."""
    if not rows:
        return None
    key, path = model_key(s), cache_file(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("*.tmp*.npz"):  # left by a process killed while saving
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink()
    texts = list(rows)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.tmp", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                texts=np.frombuffer(json.dumps(texts, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                vectors=np.vstack([rows[t] for t in texts]).astype(np.float32),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with _lock:
        _on_disk[(key, path)] = set(texts)
    return path


def forget(s: Settings) -> None:
    """Drop this embedder's cached sentence vectors, in memory and on disk (a forced rebuild re-embeds them)."""
    key, path = model_key(s), cache_file(s)
    with _lock:
        _cache.pop(key, None)
        _on_disk.pop((key, path), None)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def empty_memory() -> None:
    """Empty the vectors held in memory but keep the record of the files read, so they are not read again: the
    state of a process without the build's cache (the bench times answers in it)."""
    with _lock:
        for mem in _cache.values():
            mem.clear()


def drop_memory() -> None:
    """Forget every vector held in memory and which files were read, as a new process starts (the files stay)."""
    with _lock:
        _cache.clear()
        _on_disk.clear()


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
            if len(mem) + len(missing) > MAX_ENTRIES:  # start again empty; the disk file is still complete
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
        rows = {t: v for t in texts if (v := mem.get(t)) is not None}
        stale = not set(texts) <= _on_disk[(key, cache_file(s))]
    missing = sorted((t for t in texts if t not in rows), key=len)  # shortest first: batches pad little
    with tqdm(total=len(missing), desc="quotable sentences", unit="sent", disable=not progress or not missing) as bar:
        for i in range(0, len(missing), batch):
            part = missing[i : i + batch]
            rows.update(zip(part, vectors(s, part)))
            bar.update(len(part))
    if missing or stale:
        save(s, rows)
    return len(missing), len(texts) - len(missing)
