"""The index store: the file backend (FAISS + BM25 files) and the PostgreSQL backend."""

from .files import BuildReport, Store, build, info, open_store

__all__ = ["BuildReport", "Store", "build", "info", "open_store"]
