"""The index store. `Store` is what retrieval, answers and the chat read; two backends offer it: `files` (FAISS +
BM25 files under `indexes/current`) and `postgres` (pgvector + full-text BM25, selected by GOVASSIST_DATABASE_URL).
`open_store`, `current_manifest`, `build` and `info` here are the one place that chooses between them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .plan import BuildReport, chunker_settings

if TYPE_CHECKING:
    import numpy as np

    from ..catalog import DocMeta
    from ..chunk import Chunk
    from ..settings import Settings

__all__ = ["BuildReport", "Store", "build", "chunker_settings", "current_manifest", "info", "open_store"]


@runtime_checkable
class Store(Protocol):
    """An opened index. `allowed` restricts results to those document ids (None: every document); filters are
    applied inside the search, never after it."""

    @property
    def docs(self) -> Mapping[str, DocMeta]:
        """The indexed documents by id."""
        ...

    @property
    def manifest(self) -> dict[str, Any]:
        """How the index was built: embedder, dimension, chunker, counts, and each document's entry."""
        ...

    @property
    def chunk_count(self) -> int:
        """The number of chunks, without loading them."""
        ...

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk (on PostgreSQL this loads them all): for evaluation and offline tools, not per query."""
        ...

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """One document's chunks in reading order."""
        ...

    def dense(self, qvec: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """The top-k chunks by cosine with the query vector."""
        ...

    def cosines(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        """The cosine of each of these chunks with the query vector (an id not in the index is left out)."""
        ...

    def lexical(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """The top-k chunks by BM25; chunks that match no query term are left out."""
        ...

    def phrase(self, wanted: list[str], allowed: set[str] | None = None) -> list[Chunk]:
        """The chunks whose normalised text contains every normalised phrase."""
        ...

    def pinned(self) -> AbstractContextManager[object]:
        """Hold one index version while the block runs, so that a search's reads (and what is reported with
        them) come from the same build even if a rebuild switches `current` meanwhile."""
        ...


def open_store(s: Settings) -> Store:
    """The store the settings select: PostgreSQL when GOVASSIST_DATABASE_URL is set, else the file index. Open it
    once per process: a database store follows the `current` version by itself (stores opened on one URL share a
    connection pool); a file store is reopened when `indexes/current` moves (see `chat.current_store`)."""
    if s.database_url:
        from .postgres import PgStore

        return PgStore(s)
    from .files import open_index

    return open_index(s)


def current_manifest(s: Settings) -> dict[str, Any] | None:
    """How the configured backend's current index was built, read without opening it (None: no index yet)."""
    if s.database_url:
        from .postgres import current_manifest as pg_manifest

        return pg_manifest(s)
    from .files import read_manifest

    return read_manifest(s)


def build(
    s: Settings,
    progress: bool = True,
    wait: bool = False,
    on_stage: Callable[[str], None] | None = None,
    force: bool = False,
) -> BuildReport:
    """Build (incrementally) into the configured backend and switch readers to it. Bad files are skipped with a
    reason; the previous index keeps serving until the switch."""
    if s.database_url:
        from . import postgres

        return postgres.build(s, progress=progress, wait=wait, on_stage=on_stage, force=force)
    from . import files

    return files.build(s, progress=progress, wait=wait, on_stage=on_stage, force=force)


def info(s: Settings) -> dict[str, Any]:
    """What the configured backend's current index holds: documents, chunks per document, paragraph coverage."""
    if s.database_url:
        from .postgres import index_info

        return index_info(s)
    from .files import info as files_info

    return files_info(s)
