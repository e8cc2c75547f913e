"""The file store: build the index (load, chunk, embed only what changed, write FAISS + BM25 + chunks + manifest
into a new folder, then switch `indexes/current` to it atomically), open it for reading, and describe it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import catalog as cat
from .. import sentvec
from ..chunk import Chunk
from ..embed import embed_texts, embedder_for, resolve_dtype
from ..errors import BuildLockedError, IndexMissingError
from ..settings import Settings
from ..text import american, normalise
from .plan import (
    FORMAT,
    BuildReport,
    chunker_settings,
    describe_docs,
    doc_entry,
    doc_meta,
    embed_recipe,
    header_text,
    lexical_text,
    mismatch,
    mismatch_error,
    nothing_to_index,
    outdated,
    plan_documents,
    same_header,
    warm_sentences,
)

MANIFEST, CHUNKS, VECTORS, FAISS_FILE, BM25_DIR = (
    "manifest.json",
    "chunks.jsonl",
    "vectors.npy",
    "faiss.index",
    "bm25",
)
log = logging.getLogger("govassist.store")


@dataclass
class FileStore:
    """The file-backed index held in memory: chunks, vectors, FAISS, BM25 and the manifest (a `store.Store`)."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: Any
    bm25: Any
    docs: dict[str, cat.DocMeta] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)
    norm: list[str] = field(default_factory=list)  # normalised chunk texts, for exact phrases
    by_doc: dict[str, list[Chunk]] = field(default_factory=dict)  # each document's chunks, in reading order

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """One document's chunks in reading order (every answer reads its cited paragraphs whole through this)."""
        return list(self.by_doc.get(doc_id, ()))

    def pinned(self) -> contextlib.AbstractContextManager[object]:
        """An opened file index is one version already (a rebuild writes a new folder)."""
        return contextlib.nullcontext(self)

    def _mask(self, allowed: set[str] | None) -> np.ndarray:
        if allowed is None:
            return np.ones(len(self.chunks), dtype=bool)
        return np.fromiter((c.doc_id in allowed for c in self.chunks), dtype=bool, count=len(self.chunks))

    def dense(self, qvec: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by cosine, restricted to the allowed documents inside FAISS (not a post-filter)."""
        import faiss

        mask = self._mask(allowed)
        if not mask.any():
            return []
        k = min(k, int(mask.sum()))
        params = None
        if not mask.all():
            sel = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
            params = (
                faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, k))
                if isinstance(self.faiss_index, faiss.IndexHNSWFlat)
                else faiss.SearchParameters(sel=sel)
            )
        scores, ids = self.faiss_index.search(qvec.reshape(1, -1).astype(np.float32), k, params=params)
        return [(self.chunks[int(i)], float(sc)) for i, sc in zip(ids[0], scores[0]) if 0 <= i < len(self.chunks)]

    def cosines(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        """These chunks' cosines with the query vector, from the stored (unit) vectors."""
        known = [i for i in dict.fromkeys(ids) if i in self.by_id]
        rows = self.vectors[[self.by_id[i] for i in known]] if known else self.vectors[:0]
        sims = rows @ np.asarray(qvec, dtype=np.float32).reshape(-1)
        return {i: float(x) for i, x in zip(known, sims, strict=True)}

    def lexical(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 (bm25s, built through llama-index), with a weight mask for the filters."""
        import bm25s

        mask = self._mask(allowed)
        r = self.bm25
        tokens = bm25s.tokenize(american(query), stemmer=r.stemmer, token_pattern=r.token_pattern, show_progress=False)
        if not tokens.vocab or not mask.any():
            return []
        k = min(k, len(self.chunks))
        ids, scores = r.bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=mask.astype(np.float32))
        return [(self.chunks[int(i)], float(sc)) for i, sc in zip(ids[0], scores[0]) if sc > 0 and mask[int(i)]]

    def phrase(self, wanted: list[str], allowed: set[str] | None = None) -> list[Chunk]:
        """Chunks whose normalised text contains every normalised phrase."""
        return [
            c
            for c, norm in zip(self.chunks, self.norm)
            if (allowed is None or c.doc_id in allowed) and all(p in norm for p in wanted)
        ]


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """One build at a time: a second build refuses (or waits, if asked). The OS frees it if we die."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = (index_dir / ".build.lock").open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError as exc:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise BuildLockedError(f"another build is running (pid {holder}); wait for it or pass --wait") from exc
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _clean_stale(index_dir: Path, keep: set[Path]) -> list[str]:
    """Remove half-written build folders (no manifest) and old builds not kept. Runs under the lock."""
    removed = []
    for p in index_dir.glob("build-*"):
        if p.resolve() in keep:
            continue
        if not (p / MANIFEST).exists() or p.name.endswith(".tmp"):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    for p in index_dir.glob(".current-*"):  # a symlink left by a build killed inside switch_current
        p.unlink(missing_ok=True)
        removed.append(p.name)
    return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, keep: set[Path], keep_n: int = 2) -> None:
    builds = sorted((p for p in index_dir.glob("build-*") if (p / MANIFEST).exists()), key=lambda p: p.name)
    for p in builds[:-keep_n]:
        if p.resolve() not in keep:
            shutil.rmtree(p, ignore_errors=True)


def switch_current(index_dir: Path, target: Path) -> None:
    """Point indexes/current at target with one atomic rename of a symlink."""
    tmp = index_dir / f".current-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)
    os.replace(tmp, index_dir / "current")


@dataclass(frozen=True)
class PreviousDoc:
    """One document of the current file index as a build may reuse it: its manifest entry, its chunks in reading
    order and their vectors (one row each)."""

    entry: dict[str, Any]
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray


def read_previous(s: Settings, *, any_chunker: bool = False) -> dict[str, PreviousDoc]:
    """The current file index's documents by id, for the file build to keep and the database build to seed from:
    empty when there is no readable index or `plan.mismatch` finds it built otherwise than the settings ask. With
    `any_chunker`, an index cut by another chunker counts too (its vectors serve chunks whose embedded text is the
    same; its chunks are not kept)."""
    return previous_index(s, any_chunker=any_chunker)[0]


def previous_index(s: Settings, *, any_chunker: bool = True) -> tuple[dict[str, PreviousDoc], bool]:
    """The current file index's documents by id, and whether it was built exactly as the settings ask, its chunker
    included (`plan.mismatch`): from one read of its manifest. The documents are empty when the index cannot answer
    these settings' queries, or, without `any_chunker`, when it was not built alike (then nothing else is read)."""
    manifest = read_manifest(s)
    if manifest is None or mismatch(manifest, s, serving=True):
        return {}, False
    alike = mismatch(manifest, s) is None
    if not (alike or any_chunker):
        return {}, False
    cur = s.current_index
    try:
        lines = (cur / CHUNKS).read_text(encoding="utf-8").splitlines()
        chunks = [Chunk.from_dict(json.loads(x)) for x in lines if x]
        vectors = np.load(cur / VECTORS)
    except (OSError, ValueError, KeyError, TypeError):
        return {}, False
    if len(vectors) != len(chunks):
        return {}, False
    rows: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(i)
    entries = manifest.get("docs", {})
    docs = {
        d: PreviousDoc(entries[d], tuple(chunks[i] for i in ix), vectors[ix]) for d, ix in rows.items() if d in entries
    }
    return docs, alike


def faiss_index(vectors: np.ndarray, exact_max: int) -> tuple[Any, str]:
    import faiss

    dim = vectors.shape[1]
    if len(vectors) <= exact_max:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
        kind = "hnsw"
    index.add(vectors)
    return index, kind


def _embed_by_length(model: Any, texts: list[str], progress: bool) -> np.ndarray:
    """Embed shortest first so each batch pads little (mirror corpus: 1.8x fewer tokens); rows in input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    vecs = embed_texts(model, [texts[i] for i in order], progress=progress)
    out = np.empty_like(vecs)
    out[order] = vecs
    return out


def _bm25(chunks: list[Chunk], docs: dict[str, cat.DocMeta], form: str) -> Any:
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [TextNode(id_=c.id, text=lexical_text(c, docs[c.doc_id], form)) for c in chunks]
    return BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(10, len(nodes)))


def build(
    s: Settings,
    progress: bool = True,
    wait: bool = False,
    on_stage: Callable[[str], None] | None = None,
    force: bool = False,
) -> BuildReport:
    """Build (incrementally) and switch. Bad files are skipped with a reason; the old index keeps serving."""
    say = on_stage or (lambda _msg: None)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    with build_lock(s.index_dir, wait=wait):
        keep = {s.current_index.resolve()} if s.current_index.exists() else set()
        _clean_stale(s.index_dir, keep)
        if force:  # re-embed everything, the quotable sentences too
            sentvec.forget(s)
        # vectors are reused by embedded text even from an index cut by another chunker; its chunks only when not;
        # a text whose file is now missing or broken keeps its indexed chunks whatever cut them, --force or not
        old_docs, alike = previous_index(s)
        vectors_from = {} if force else old_docs
        prev = old_docs if alike and not force else {}
        prev_docs = {d: p.entry for d, p in prev.items()}

        say("load+chunk")
        t = time.perf_counter()
        plan, skipped, notes = plan_documents(
            s,
            lambda meta, digest: (
                meta.id in prev
                and prev[meta.id].entry.get("sha256") == digest
                and same_header(prev[meta.id].entry, meta)
            ),
            {d: p.entry.get("sha256", "") for d, p in old_docs.items()},
            progress,
        )
        seconds["load_chunk"] = time.perf_counter() - t

        # a changed document keeps the vectors of its chunks whose embedded text (header included) did not change
        form = s.embed_header
        known = {
            header_text(c, doc_meta(old.entry), form): v
            for old in vectors_from.values()
            for c, v in zip(old.chunks, old.vectors)
        }
        changed_texts = [header_text(c, p.meta, form) for p in plan if p.chunks for c in p.chunks]
        new_texts = list(dict.fromkeys(t for t in changed_texts if t not in known))
        if changed_texts:
            notes.append(f"embedded {len(new_texts)} of the {len(changed_texts)} chunks of new or changed documents")
        say(f"embed {len(new_texts)} chunks")
        t = time.perf_counter()
        if new_texts:
            known.update(zip(new_texts, _embed_by_length(embedder_for(s), new_texts, progress)))
        seconds["embed"] = time.perf_counter() - t

        all_chunks: list[Chunk] = []
        rows: list[np.ndarray] = []
        doc_entries: dict[str, dict] = {}
        embedded, reused = [], []
        for p in plan:
            meta = p.meta
            if p.chunks is None:
                source = old_docs[meta.id] if p.kept else prev[meta.id]
                doc_chunks = list(source.chunks)
                rows.extend(source.vectors)
                reused.append(meta.id)
            else:
                doc_chunks = list(p.chunks)
                rows.extend(known[header_text(c, meta, form)] for c in doc_chunks)
                embedded.append(meta.id)
            all_chunks.extend(doc_chunks)
            doc_entries[meta.id] = doc_entry(meta, p.digest, len(doc_chunks))
        if not all_chunks:
            raise nothing_to_index(s, skipped)
        changed = bool(embedded) or any(doc_entries.get(d) != prev_docs.get(d) for d in doc_entries | prev_docs)
        changed = changed or (bool(prev) and skipped != (read_manifest(s) or {}).get("skipped", {}))  # index info
        if not changed and prev and not force:
            warm_sentences(s, [c.text for c in all_chunks], progress, say, notes, seconds)
            return BuildReport(
                path=s.current_index.resolve(),
                documents=len(doc_entries),
                chunks=len(all_chunks),
                embedded_docs=[],
                reused_docs=reused,
                skipped=skipped,
                notes=notes,
                seconds={**seconds, "total": time.perf_counter() - t0},
                changed=False,
            )

        say("write index")
        t = time.perf_counter()
        vectors = np.vstack(rows).astype(np.float32)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = s.index_dir / f"build-{stamp}"
        work = s.index_dir / f"build-{stamp}.tmp"
        work.mkdir(parents=True)
        with (work / CHUNKS).open("w", encoding="utf-8") as fh:
            for c in all_chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        np.save(work / VECTORS, vectors)
        import faiss

        findex, kind = faiss_index(vectors, s.faiss_exact_max)
        faiss.write_index(findex, str(work / FAISS_FILE))
        _bm25(all_chunks, {p.meta.id: p.meta for p in plan}, s.bm25_header).persist(str(work / BM25_DIR))
        seconds["write"] = time.perf_counter() - t
        seconds["total"] = time.perf_counter() - t0
        manifest = {
            "format": FORMAT,
            "embedder": s.embed_model,
            "embed_dtype": resolve_dtype(s.embed_dtype),
            "dim": int(vectors.shape[1]),
            "chunker": chunker_settings(s),
            "embed_recipe": embed_recipe(s),
            "faiss": kind,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "counts": {"documents": len(doc_entries), "chunks": len(all_chunks), "skipped": len(skipped)},
            "docs": doc_entries,
            "skipped": skipped,
            "embedded_docs": embedded,
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        for f in work.rglob("*"):
            if f.is_file():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
        os.replace(work, final)
        _fsync_dir(s.index_dir)  # the new folder's name is on disk before current points at it
        switch_current(s.index_dir, final)
        _fsync_dir(s.index_dir)
        _prune(s.index_dir, {final.resolve()})
        warm_sentences(s, [c.text for c in all_chunks], progress, say, notes, seconds)
        seconds["total"] = time.perf_counter() - t0
        return BuildReport(
            path=final,
            documents=len(doc_entries),
            chunks=len(all_chunks),
            embedded_docs=embedded,
            reused_docs=reused,
            skipped=skipped,
            notes=notes,
            seconds=seconds,
        )


def open_index(s: Settings) -> FileStore:
    """Load the current file index, checking it answers these settings' queries (`plan.mismatch`, serving); one
    cut by another chunker is served, with a warning (`govassist run` rebuilds it first, see `read_manifest`)."""
    path = s.current_index
    if not (path / MANIFEST).exists():
        raise IndexMissingError(
            f"no index at {path}: build one with `govassist index build` (after `govassist corpus fetch`)"
        )
    path = path.resolve()
    manifest = json.loads((path / MANIFEST).read_text())
    why = mismatch(manifest, s, serving=True)
    if why:
        raise mismatch_error(f"the index at {path}", why, "govassist index build")
    stale = outdated(manifest, s, "govassist index build")
    if stale:
        log.warning("%s", stale)
    import bm25s
    import faiss
    from llama_index.retrievers.bm25 import BM25Retriever

    chunks = [Chunk.from_dict(json.loads(x)) for x in (path / CHUNKS).read_text(encoding="utf-8").splitlines() if x]
    docs = {doc_id: doc_meta(d) for doc_id, d in manifest["docs"].items()}
    return FileStore(
        path=path,
        manifest=manifest,
        chunks=chunks,
        vectors=np.load(path / VECTORS),
        faiss_index=faiss.read_index(str(path / FAISS_FILE)),
        bm25=BM25Retriever(existing_bm25=bm25s.BM25.load(str(path / BM25_DIR), load_corpus=False)),
        docs=docs,
        by_id={c.id: i for i, c in enumerate(chunks)},
        norm=[normalise(c.text) for c in chunks],
        by_doc=_by_doc(chunks),
    )


def _by_doc(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in chunks:
        out.setdefault(c.doc_id, []).append(c)
    return out


def read_manifest(s: Settings) -> dict[str, Any] | None:
    """The current file index's manifest alone (None: no index, or one that cannot be read)."""
    try:
        return json.loads((s.current_index / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def info(s: Settings) -> dict[str, Any]:
    """What the current file index holds: documents, chunks per document, paragraph coverage."""
    path = s.current_index
    if not (path / MANIFEST).exists():
        raise IndexMissingError(f"no index at {path}: build one with `govassist index build`")
    manifest = json.loads((path / MANIFEST).read_text())
    chunks = [json.loads(x) for x in (path / CHUNKS).read_text(encoding="utf-8").splitlines() if x]
    docs = describe_docs(manifest["docs"], [(c["doc_id"], c["paras"], c["page"]) for c in chunks])
    size = sum(f.stat().st_size for f in path.resolve().rglob("*") if f.is_file())
    return {
        "path": str(path.resolve()),
        "built_at": manifest["built_at"],
        "embedder": manifest["embedder"],
        "dim": manifest["dim"],
        "faiss": manifest["faiss"],
        "chunker": manifest["chunker"],
        "counts": manifest["counts"],
        "skipped": manifest["skipped"],
        "bytes": size,
        "outdated": outdated(manifest, s, "govassist index build"),
        "docs": docs,
    }
