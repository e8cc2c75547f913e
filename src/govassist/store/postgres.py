"""The PostgreSQL store: chunks, pgvector embeddings (HNSW, cosine) and BM25 over PostgreSQL full-text lexemes in
one database that every app replica reads, selected by GOVASSIST_DATABASE_URL.

Layout (schema `govassist`): `versions` (one row per successful build, with its manifest), `docs` (per version
and document: content hash and catalog metadata), `current` (one row: the version readers serve), and per
version N: `chunks_vN` (chunk columns, `embedding vector(dim)` with an HNSW index, a stored `tsv tsvector` and its
length), `postings_vN` (lexeme -> chunk with the BM25 term-frequency factor, btree on lexeme) and `lexemes_vN`
(document frequencies). A build holds an advisory lock and writes the new version in one transaction that ends
by moving `current`, so readers never see a half-built version and a killed build rolls back.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import catalog as cat
from .. import sentvec
from ..chunk import Chunk
from ..errors import BuildLockedError, ConfigError, IndexMissingError
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

if TYPE_CHECKING:
    from .files import PreviousDoc

log = logging.getLogger("govassist.store")
SCHEMA = "govassist"
LOCK_KEY = 0x676F7661  # pg_advisory_lock key for builds ("gova")
KEEP_OLD = 1  # versions kept besides the current one, for readers still on it and for rollback
RECHECK_S = 0.5  # a reader looks up the current version at most this often
EF_MIN, EF_MAX = 100, 1000  # hnsw.ef_search bounds (pgvector returns at most ef_search rows per scan)
COLS = "id, doc_id, para, paras, section, page, text, context, ord"
C_COLS = ", ".join(f"c.{x}" for x in COLS.split(", "))
# Lexical ranking mirrors the file store's BM25 (bm25s, Lucene variant, k1=1.5, b=0.75): English snowball stems,
# bm25s's 33 English stop words and one-character tokens dropped, hyphenated compounds indexed by their parts.
BM25_K1, BM25_B = 1.5, 0.75
# fmt: off
STOP_WORDS = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
    "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
    "will", "with",
)
# fmt: on
STOP_LEXEMES = sorted({*STOP_WORDS, *"abcdefghijklmnopqrstuvwxyz0123456789"})

DDL = f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.versions (
  id bigserial PRIMARY KEY,
  embedder text NOT NULL,
  dim int NOT NULL,
  chunker jsonb NOT NULL,
  manifest jsonb NOT NULL,
  built_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {SCHEMA}.docs (
  version_id bigint NOT NULL REFERENCES {SCHEMA}.versions(id) ON DELETE CASCADE,
  doc_id text NOT NULL,
  sha256 text NOT NULL,
  chunks int NOT NULL,
  meta jsonb NOT NULL,
  PRIMARY KEY (version_id, doc_id));
CREATE TABLE IF NOT EXISTS {SCHEMA}.current (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version_id bigint NOT NULL REFERENCES {SCHEMA}.versions(id),
  switched_at timestamptz NOT NULL DEFAULT now());
DO $do$ BEGIN
  IF to_regproc('{SCHEMA}.bm25_tsv') IS NULL THEN
    CREATE TEXT SEARCH DICTIONARY {SCHEMA}.english_stem_all (TEMPLATE = snowball, Language = english);
    CREATE TEXT SEARCH CONFIGURATION {SCHEMA}.english (COPY = pg_catalog.english);
    ALTER TEXT SEARCH CONFIGURATION {SCHEMA}.english
      ALTER MAPPING FOR asciiword, word, hword_asciipart, hword_part WITH {SCHEMA}.english_stem_all;
    ALTER TEXT SEARCH CONFIGURATION {SCHEMA}.english DROP MAPPING FOR asciihword, hword, numhword;
    CREATE FUNCTION {SCHEMA}.bm25_tsv(text) RETURNS tsvector IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
      AS $f$ SELECT ts_delete(to_tsvector('{SCHEMA}.english'::regconfig, $1),
                              '{{{",".join(STOP_LEXEMES)}}}'::text[]) $f$;
    CREATE FUNCTION {SCHEMA}.tsv_len(tsvector) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
      AS $f$ SELECT coalesce(sum(cardinality(positions)), 0)::int FROM unnest($1) $f$;
  END IF;
END $do$;
"""


def table(version: int) -> str:
    return f"{SCHEMA}.chunks_v{int(version)}"


def lex_table(version: int) -> str:
    return f"{SCHEMA}.lexemes_v{int(version)}"


def _chunk_table_ddl(version: int, dim: int) -> str:
    return f"""
CREATE TABLE {table(version)} (
  id text PRIMARY KEY,
  doc_id text NOT NULL,
  para text NOT NULL,
  paras text[] NOT NULL,
  section text NOT NULL,
  page int,
  text text NOT NULL,
  context text NOT NULL,
  ord int NOT NULL,
  search_text text NOT NULL,
  embed_text text NOT NULL,
  norm text NOT NULL,
  embedding vector({int(dim)}) NOT NULL,
  tsv tsvector GENERATED ALWAYS AS ({SCHEMA}.bm25_tsv(search_text)) STORED,
  tlen int GENERATED ALWAYS AS ({SCHEMA}.tsv_len({SCHEMA}.bm25_tsv(search_text))) STORED)"""


def post_table(version: int) -> str:
    return f"{SCHEMA}.postings_v{int(version)}"


def _index_ddl(version: int, avgdl: float) -> list[str]:
    """Indexes of a loaded version: doc_id btree, HNSW for cosine, and the lexical postings derived from the
    tsvector (one row per chunk and lexeme, sorted by lexeme, with the BM25 term-frequency factor precomputed)
    plus document frequencies per lexeme."""
    t, v, post, lex = table(version), int(version), post_table(version), lex_table(version)
    return [
        f"CREATE INDEX chunks_v{v}_doc ON {t} (doc_id, ord)",
        f"CREATE INDEX chunks_v{v}_hnsw ON {t} USING hnsw (embedding vector_cosine_ops) "
        "WITH (m = 16, ef_construction = 64)",
        f"CREATE TABLE {post} AS SELECT u.lexeme AS word, c.id AS chunk_id, c.doc_id, "
        f"(cardinality(u.positions) / (cardinality(u.positions) + {BM25_K1} * "
        f"(1 - {BM25_B} + {BM25_B} * c.tlen / {float(avgdl)!r}::float8)))::float4 AS tfn "
        f"FROM {t} c, unnest(c.tsv) u ORDER BY 1, 2",
        f"CREATE INDEX postings_v{v}_word ON {post} (word) INCLUDE (chunk_id, doc_id, tfn)",
        f"CREATE TABLE {lex} AS SELECT word, count(*)::int AS ndoc FROM {post} GROUP BY word",
        f"ALTER TABLE {lex} ADD PRIMARY KEY (word)",
        f"ANALYZE {t}",
        f"ANALYZE {post}",
        f"ANALYZE {lex}",
    ]


def _connect(url: str, autocommit: bool = True) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ConfigError(
            f"cannot reach PostgreSQL ({_first_line(exc)}): start it with `govassist db start` "
            "or fix GOVASSIST_DATABASE_URL"
        ) from exc


def _unlock_and_close(conn: Any) -> None:
    """Release the build lock, then close. Closing alone releases it only when the server's backend has exited,
    which can lag the client: a build started right after another one then found the lock still held (CI, once)."""
    import psycopg

    try:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock_all()")
    except psycopg.Error:
        pass  # a broken connection: closing it is all that is left, and the server releases the lock when it goes
    finally:
        conn.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _register(conn: Any) -> None:
    from pgvector.psycopg import register_vector

    register_vector(conn)


def _require_url(s: Settings) -> str:
    if not s.database_url:
        raise ConfigError("no database configured: set GOVASSIST_DATABASE_URL (see `govassist db start`)")
    return s.database_url


# ---------------------------------------------------------------- build


@dataclass(frozen=True)
class _Planned:
    meta: cat.DocMeta
    digest: str
    source: str  # "db" (copy rows from the previous version), "seed" (file index vectors) or "embed"
    chunks: tuple[Chunk, ...] = ()
    vectors: np.ndarray | None = None


def _current_row(conn: Any) -> tuple[int, str, int, dict, dict] | None:
    exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.current",)).fetchone()[0]
    if exists is None:
        return None
    return conn.execute(
        f"SELECT v.id, v.embedder, v.dim, v.chunker, v.manifest FROM {SCHEMA}.current c "
        f"JOIN {SCHEMA}.versions v ON v.id = c.version_id"
    ).fetchone()


def _prev_docs(conn: Any, version: int) -> dict[str, dict]:
    rows = conn.execute(f"SELECT doc_id, sha256, chunks, meta FROM {SCHEMA}.docs WHERE version_id = %s", (version,))
    return {d: {**meta, "sha256": h, "chunks": n} for d, h, n, meta in rows}


def _plan(
    s: Settings,
    prev_docs: dict[str, dict],
    seeds: Mapping[str, PreviousDoc],
    servable: dict[str, dict] | None = None,
    progress: bool = False,
) -> tuple[list[_Planned], dict[str, str], list[str]]:
    """The shared plan (plan.plan_documents), each kept document taken from the database or else from the seed.
    `servable`: the current version's documents when it can answer these settings' queries (any chunker): a text
    whose file is now missing or broken is copied from it as it is."""
    servable = servable or {}

    def in_db(meta: cat.DocMeta, digest: str) -> bool:
        return prev_docs.get(meta.id, {}).get("sha256") == digest and same_header(prev_docs.get(meta.id), meta)

    def in_seed(meta: cat.DocMeta, digest: str) -> bool:
        return meta.id in seeds and seeds[meta.id].entry.get("sha256") == digest

    indexed = {i: p.entry.get("sha256", "") for i, p in seeds.items()} | {
        i: e.get("sha256", "") for i, e in servable.items()
    }
    planned, skipped, notes = plan_documents(s, lambda m, d: in_db(m, d) or in_seed(m, d), indexed, progress)
    plan: list[_Planned] = []
    for p in planned:
        from_db = servable.get(p.meta.id, {}).get("sha256") == p.digest if p.kept else in_db(p.meta, p.digest)
        if p.chunks is not None:
            plan.append(_Planned(p.meta, p.digest, "embed", p.chunks))
        elif from_db:
            plan.append(_Planned(p.meta, p.digest, "db"))
        else:
            seed = seeds[p.meta.id]
            plan.append(_Planned(p.meta, p.digest, "seed", seed.chunks, seed.vectors))
    return plan, skipped, notes


def _copy_rows(
    conn: Any, version: int, chunks: list[Chunk], vectors: np.ndarray, meta: cat.DocMeta, s: Settings
) -> None:
    """Write chunks with their vectors: `search_text` is what BM25 indexes, `embed_text` what was embedded (the
    key of chunk-level reuse), both with the document header the settings' recipe asks for."""
    types = ["text", "text", "text", "text[]", "text", "int4", "text", "text", "int4", "text", "text", "text", "vector"]
    cols = f"{COLS}, search_text, embed_text, norm, embedding"
    with conn.cursor() as cur, cur.copy(f"COPY {table(version)} ({cols}) FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(types)
        for c, v in zip(chunks, vectors):
            row = (c.id, c.doc_id, c.para, list(c.paras), c.section, c.page, c.text, c.context, c.order)
            search, embedded = lexical_text(c, meta, s.bm25_header), header_text(c, meta, s.embed_header)
            cp.write_row((*row, search, embedded, normalise(c.text), np.asarray(v, dtype=np.float32)))


def _prune(conn: Any, current: int) -> list[int]:
    """Drop versions older than the current one and the KEEP_OLD before it; a table still being read is left
    for the next build (lock_timeout), so readers are never blocked for long."""
    import psycopg

    ids = [r[0] for r in conn.execute(f"SELECT id FROM {SCHEMA}.versions WHERE id < %s ORDER BY id DESC", (current,))]
    dropped = []
    for vid in ids[KEEP_OLD:]:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '2s'")
                conn.execute(f"DROP TABLE IF EXISTS {table(vid)}, {lex_table(vid)}, {post_table(vid)}")
                conn.execute(f"DELETE FROM {SCHEMA}.versions WHERE id = %s", (vid,))
            dropped.append(vid)
        except psycopg.errors.LockNotAvailable:
            continue
    return dropped


def build(
    s: Settings,
    progress: bool = True,
    wait: bool = False,
    on_stage: Callable[[str], None] | None = None,
    force: bool = False,
    seed: Mapping[str, PreviousDoc] | None = None,
) -> BuildReport:
    """Build a new version in the database (re-embedding only changed documents) and make it current.

    `seed` may be a file index's documents (`files.read_previous`, which keeps only an index built as the settings
    ask): documents whose content hash it shares take its chunks and vectors instead of being embedded again
    (moving a file index into PostgreSQL). Another build running at the same time makes this one refuse, or wait
    when asked.
    """
    import psycopg

    from ..embed import embed_texts, embedder_for, resolve_dtype

    say = on_stage or (lambda _msg: None)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    conn = _connect(_require_url(s))
    try:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            holder = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted", (LOCK_KEY,)
            ).fetchone()
            raise BuildLockedError(
                f"another database build is running (backend pid {holder[0] if holder else '?'}); "
                "wait for it or pass --wait"
            )
        try:
            conn.execute(DDL)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot prepare the database schema: {_first_line(exc)}") from exc
        _register(conn)
        cur = _current_row(conn)
        compatible = bool(cur) and not force and mismatch(cur[4], s) is None
        if force:
            sentvec.forget(s)
        prev_docs = _prev_docs(conn, cur[0]) if cur else {}
        say("load+chunk")
        t = time.perf_counter()
        servable = bool(cur) and mismatch(cur[4], s, serving=True) is None
        plan, skipped, notes = _plan(
            s, prev_docs if compatible else {}, seed or {}, prev_docs if servable else {}, progress
        )
        seconds["load_chunk"] = time.perf_counter() - t

        to_embed = [p for p in plan if p.source == "embed"]
        texts = [header_text(c, p.meta, s.embed_header) for p in to_embed for c in p.chunks]
        known: dict[str, np.ndarray] = {}
        if compatible and texts:  # a changed document keeps the vectors of its unchanged chunks
            rows = conn.execute(
                f"SELECT embed_text, embedding FROM {table(cur[0])} WHERE doc_id = ANY(%s)",
                ([p.meta.id for p in to_embed],),
            )
            known = {text: np.asarray(v.to_numpy(), dtype=np.float32) for text, v in rows}  # pgvector Vector
        fresh = list(dict.fromkeys(x for x in texts if x not in known))
        if texts:
            notes.append(f"embedded {len(fresh)} of the {len(texts)} chunks of new or changed documents")
        say(f"embed {len(fresh)} chunks")
        t = time.perf_counter()
        vecs = np.zeros((0, 0), dtype=np.float32)
        if fresh:
            known.update(zip(fresh, embed_texts(embedder_for(s), fresh, progress=progress)))
        if texts:
            vecs = np.vstack([known[x] for x in texts])
        seconds["embed"] = time.perf_counter() - t

        doc_entries = {
            p.meta.id: doc_entry(
                p.meta, p.digest, prev_docs[p.meta.id]["chunks"] if p.source == "db" else len(p.chunks)
            )
            for p in plan
        }
        n_chunks = sum(d["chunks"] for d in doc_entries.values())
        if not n_chunks:
            raise nothing_to_index(s, skipped)
        by_source = {k: [p.meta.id for p in plan if p.source == k] for k in ("db", "seed", "embed")}
        same_skips = skipped == (cur[4] or {}).get("skipped", {}) if cur else False  # else `index info` would be stale
        if compatible and not by_source["embed"] and not by_source["seed"] and doc_entries == prev_docs and same_skips:
            seconds["total"] = time.perf_counter() - t0
            report = BuildReport(
                version=cur[0],
                documents=len(doc_entries),
                chunks=n_chunks,
                embedded_docs=[],
                reused_docs=by_source["db"],
                skipped=skipped,
                notes=notes,
                seconds=seconds,
                changed=False,
            )
            passages = _texts(conn, cur[0])
            _unlock_and_close(conn)
            warm_sentences(s, passages, progress, say, report.notes, report.seconds)  # lock released
            return report
        dim = int(vecs.shape[1]) if texts else int(cur[2] if compatible else _seed_dim(plan))

        say("write version")
        t = time.perf_counter()
        with conn.transaction():
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")  # HNSW graph built in memory
            conn.execute("SET LOCAL work_mem = '256MB'")  # sorting the postings
            manifest = {
                "format": FORMAT,
                "backend": "postgresql",
                "embedder": s.embed_model,
                "embed_dtype": resolve_dtype(s.embed_dtype),
                "dim": dim,
                "chunker": chunker_settings(s),
                "embed_recipe": embed_recipe(s),
                "faiss": "pgvector-hnsw",
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "counts": {"documents": len(doc_entries), "chunks": n_chunks, "skipped": len(skipped)},
                "skipped": skipped,
                "embedded_docs": by_source["embed"],
            }
            version = conn.execute(
                f"INSERT INTO {SCHEMA}.versions (embedder, dim, chunker, manifest) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (s.embed_model, dim, json.dumps(chunker_settings(s)), json.dumps(manifest)),
            ).fetchone()[0]
            conn.execute(_chunk_table_ddl(version, dim))
            # vectors inline, not in TOAST: an exact (filtered) scan then reads no TOAST pages (pgvector's advice)
            conn.execute(f"ALTER TABLE {table(version)} ALTER COLUMN embedding SET STORAGE PLAIN")
            if by_source["db"]:
                conn.execute(
                    f"INSERT INTO {table(version)} ({COLS}, search_text, embed_text, norm, embedding) "
                    f"SELECT {COLS}, search_text, embed_text, norm, embedding FROM {table(cur[0])} "
                    "WHERE doc_id = ANY(%s)",
                    (by_source["db"],),
                )
            offset = 0
            for p in plan:
                if p.source == "seed":
                    _copy_rows(conn, version, list(p.chunks), p.vectors, p.meta, s)
                elif p.source == "embed":
                    _copy_rows(conn, version, list(p.chunks), vecs[offset : offset + len(p.chunks)], p.meta, s)
                    offset += len(p.chunks)
            say("index version")
            n, avgdl = conn.execute(f"SELECT count(*), avg(tlen)::float8 FROM {table(version)}").fetchone()
            manifest["lexical"] = {"ranking": "bm25", "k1": BM25_K1, "b": BM25_B, "n": n, "avgdl": avgdl or 1.0}
            for ddl in _index_ddl(version, avgdl or 1.0):
                conn.execute(ddl)
            with (
                conn.cursor() as c,
                c.copy(f"COPY {SCHEMA}.docs (version_id, doc_id, sha256, chunks, meta) FROM STDIN") as cp,
            ):
                for doc_id, d in doc_entries.items():
                    meta = {k: v for k, v in d.items() if k not in ("sha256", "chunks")}
                    cp.write_row((version, doc_id, d["sha256"], d["chunks"], json.dumps(meta, ensure_ascii=False)))
            seconds["write"] = time.perf_counter() - t
            seconds["total"] = time.perf_counter() - t0
            manifest["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
            conn.execute(f"UPDATE {SCHEMA}.versions SET manifest = %s WHERE id = %s", (json.dumps(manifest), version))
            conn.execute(
                f"INSERT INTO {SCHEMA}.current (one, version_id) VALUES (true, %s) "
                "ON CONFLICT (one) DO UPDATE SET version_id = excluded.version_id, switched_at = now()",
                (version,),
            )
        for tab in (table(version), post_table(version)):  # sets the visibility map: index-only scans
            conn.execute(f"VACUUM (ANALYZE) {tab}")
        pruned = _prune(conn, version)
        report = BuildReport(
            version=version,
            documents=len(doc_entries),
            chunks=n_chunks,
            embedded_docs=by_source["embed"],
            reused_docs=by_source["db"],
            seeded_docs=by_source["seed"],
            skipped=skipped,
            notes=notes,
            seconds=seconds,
            pruned=pruned,
        )
        passages = _texts(conn, version)
    finally:
        _unlock_and_close(conn)
    # this replica's answer cache, filled after the lock is released; other replicas fill theirs when their chat starts
    warm_sentences(s, passages, progress, say, report.notes, report.seconds)
    return report


def _texts(conn: Any, version: int) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT text FROM {table(version)}")]


def _seed_dim(plan: list[_Planned]) -> int:
    return next(int(p.vectors.shape[1]) for p in plan if p.vectors is not None)


# ---------------------------------------------------------------- read


@dataclass(frozen=True)
class Version:
    """One built version as readers see it: its table, manifest and documents (with chunk counts)."""

    id: int
    manifest: dict[str, Any]
    docs: dict[str, cat.DocMeta]
    counts: dict[str, int]

    @property
    def table(self) -> str:
        return table(self.id)


class DocsView(Mapping[str, cat.DocMeta]):
    """The current version's documents; a lookup of a document only the previous version had still resolves,
    so a request that straddles a switch never fails on a document removed by it."""

    def __init__(self, current: dict[str, cat.DocMeta], previous: dict[str, cat.DocMeta]) -> None:
        self._cur, self._prev = current, previous

    def __getitem__(self, key: str) -> cat.DocMeta:
        return self._cur[key] if key in self._cur else self._prev[key]

    def __contains__(self, key: object) -> bool:
        return key in self._cur

    def __iter__(self) -> Iterator[str]:
        return iter(self._cur)

    def __len__(self) -> int:
        return len(self._cur)


@lru_cache(maxsize=8)
def _pool(url: str, max_size: int) -> Any:
    """One connection pool per database URL and process, shared by every store opened on it."""
    from psycopg_pool import ConnectionPool

    with _connect(url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.current",)).fetchone()[0] is None:
            raise IndexMissingError("the database holds no index yet: build one with `govassist db build`")
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True},
        configure=_register,
        open=True,
        name="govassist",
    )
    try:
        pool.wait(timeout=15)
    except Exception as exc:
        pool.close()
        _pool.cache_clear()
        raise ConfigError(
            f"cannot reach PostgreSQL ({_first_line(exc)}): start it with `govassist db start` "
            "or fix GOVASSIST_DATABASE_URL"
        ) from exc
    return pool


class PgStore:
    """The database-backed store (a `store.Store`). It follows the `current` pointer: at most every `recheck_s`
    seconds it reads the current version id (one indexed single-row SELECT) and loads that version's documents
    once."""

    def __init__(self, s: Settings, recheck_s: float = RECHECK_S, pool_size: int = 4) -> None:
        self.settings = s
        self.recheck_s = recheck_s
        self._pool = _pool(_require_url(s), pool_size)
        self._lock = threading.Lock()
        self._all: tuple[int, list[Chunk]] | None = None
        self._pinned: Version | None = None
        self._previous: Version | None = None
        self._checked = 0.0
        self._held = threading.local()  # the version a `pinned` block in this thread holds
        self.refresh()

    # -- version tracking

    def refresh(self) -> Version:
        """Look up the current version now and switch to it if it changed."""
        import psycopg

        with self._pool.connection() as conn:
            try:
                row = conn.execute(f"SELECT version_id FROM {SCHEMA}.current").fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row is None:
                raise IndexMissingError("the database holds no index yet: build one with `govassist db build`")
            vid = int(row[0])
            with self._lock:
                if self._pinned is None or self._pinned.id != vid:
                    known = self._previous if self._previous and self._previous.id == vid else None
                    self._previous, self._pinned = self._pinned, known or self._load_version(conn, vid)
                self._checked = time.monotonic()
                return self._pinned

    def _load_version(self, conn: Any, vid: int) -> Version:
        (manifest,) = conn.execute(f"SELECT manifest FROM {SCHEMA}.versions WHERE id = %s", (vid,)).fetchone()
        why = mismatch(manifest, self.settings, serving=True)
        if why:
            raise mismatch_error(f"the database index (version {vid})", why, "govassist db build")
        stale = outdated(manifest, self.settings, "govassist db build")
        if stale:
            log.warning("%s", stale)
        rows = conn.execute(
            f"SELECT doc_id, sha256, chunks, meta FROM {SCHEMA}.docs WHERE version_id = %s ORDER BY doc_id", (vid,)
        ).fetchall()
        docs = {d: doc_meta(meta) for d, _h, _n, meta in rows}
        counts = {d: int(n) for d, _h, n, _m in rows}
        manifest = {**manifest, "version": vid, "docs": {d: {**m, "sha256": h, "chunks": n} for d, h, n, m in rows}}
        return Version(vid, manifest, docs, counts)

    @contextmanager
    def pinned(self) -> Iterator[Version]:
        """Hold the current version for this thread while the block runs (re-entrant): a search's dense,
        lexical and document reads then come from one build, whatever `current` does meanwhile."""
        held = getattr(self._held, "v", None)
        if held is not None:
            yield held
            return
        self._held.v = self.version
        try:
            yield self._held.v
        finally:
            self._held.v = None

    @property
    def version(self) -> Version:
        held = getattr(self._held, "v", None)
        if held is not None:
            return held
        if self._pinned is None or time.monotonic() - self._checked >= self.recheck_s:
            return self.refresh()
        return self._pinned

    @property
    def docs(self) -> Mapping[str, cat.DocMeta]:
        v = self.version
        prev = self._previous.docs if self._previous else {}
        return DocsView(v.docs, prev) if prev else v.docs

    @property
    def manifest(self) -> dict[str, Any]:
        return self.version.manifest

    @property
    def chunk_count(self) -> int:
        return sum(self.version.counts.values())

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk of the current version, loaded once per version: for evaluation and small corpora only."""
        v = self.version
        if self._all is None or self._all[0] != v.id:
            rows = self._query(f"SELECT {COLS} FROM {{t}} ORDER BY doc_id, ord", ())
            self._all = (v.id, [self._chunk(r) for r in rows])
        return self._all[1]

    # -- queries

    def _query(self, sql: str, params: tuple | dict, settings: tuple[tuple[str, str], ...] = ()) -> list[tuple]:
        """Run a read on the pinned version's table; if a build pruned that table meanwhile, re-pin and retry."""
        import psycopg

        for attempt in (1, 2):
            v = self.version
            try:
                sql_v = sql.replace("{t}", v.table).replace("{lex}", lex_table(v.id))
                sql_v = sql_v.replace("{post}", post_table(v.id))
                with self._pool.connection() as conn:
                    if not settings:
                        return conn.execute(sql_v, params).fetchall()
                    with conn.pipeline(), conn.transaction():  # one round trip for BEGIN, SET LOCALs, query
                        for name, value in settings:
                            conn.execute(f"SELECT set_config('{name}', %s, true)", (value,))
                        cur = conn.execute(sql_v, params)
                    return cur.fetchall()
            except psycopg.errors.UndefinedTable:
                if attempt == 2:
                    raise
                fresh = self.refresh()
                if getattr(self._held, "v", None) is not None:  # the held version's tables were pruned
                    self._held.v = fresh
        return []

    @staticmethod
    def _chunk(row: tuple) -> Chunk:
        cid, doc_id, para, paras, section, page, text, context, order = row[:9]
        return Chunk(cid, doc_id, para, tuple(paras), section, page, text, context, order)

    @staticmethod
    def _where(allowed: set[str] | None, prefix: str = "") -> tuple[str, tuple]:
        """The documents filter as SQL: a semi-join on the allowed ids (hashed, whatever their number)."""
        if allowed is None:
            return "", ()
        return f"AND {prefix}doc_id IN (SELECT unnest(%s::text[]))", (sorted(allowed),)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._query(f"SELECT {COLS} FROM {{t}} WHERE doc_id = %s ORDER BY ord", (doc_id,))
        return [self._chunk(r) for r in rows]

    def dense(self, qvec: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Top-k by cosine. The HNSW index serves unfiltered searches and broad filters (ef_search widened by
        the share of rows the filter keeps); a filter keeping at most `pg_exact_max` chunks, or an HNSW scan
        that came back short, is answered exactly from the doc_id index. Filters are SQL, never post-filters."""
        v = self.version
        total = sum(v.counts.values())
        n = total if allowed is None else sum(v.counts.get(d, 0) for d in allowed)
        if n == 0 or k < 1:
            return []
        k = min(k, n)
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        where, extra = self._where(allowed)
        sql = (  # nearest ids first, then their columns: an exact scan never reads the text of rows it drops
            f"SELECT {C_COLS}, 1 - s.d AS cos FROM (SELECT id, embedding <=> %s AS d FROM {{t}} WHERE true {where} "
            "ORDER BY embedding <=> %s LIMIT %s) s JOIN {t} c USING (id) ORDER BY s.d, c.id"
        )
        params = (q, *extra, q, k)
        exact = allowed is not None and n <= self.settings.pg_exact_max
        if not exact:
            ef = min(EF_MAX, max(EF_MIN, math.ceil(2 * k * total / n)))
            rows = self._query(sql, params, (("hnsw.ef_search", str(ef)),))
            if len(rows) >= k or allowed is None:
                return [(self._chunk(r), float(r[9])) for r in rows]
        rows = self._query(sql, params, (("enable_indexscan", "off"),))
        return [(self._chunk(r), float(r[9])) for r in rows]

    def cosines(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        """These chunks' cosines with the query vector, read by primary key (no nearest-neighbour search)."""
        if not ids:
            return {}
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        sql = "SELECT id, 1 - (embedding <=> %s) FROM {t} WHERE id = ANY(%s)"
        rows = self._query(sql, (q, list(dict.fromkeys(ids))))
        return {r[0]: float(r[1]) for r in rows}

    def lexical(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Top-k by BM25 over PostgreSQL full-text lexemes: the query goes through the same text search
        configuration as the chunks; each of its lexemes reads its postings (chunk, precomputed term-frequency
        factor) from a btree; idf comes from the version's document frequencies. Any term may match, as in BM25.
        """
        n = float(self.version.manifest["lexical"]["n"])
        where, extra = self._where(allowed, "p.")
        sql = f"""
WITH w AS MATERIALIZED (
  SELECT l.word, ln(1 + (%s - l.ndoc + 0.5) / (l.ndoc + 0.5::float8)) AS idf FROM {{lex}} l
  WHERE l.word = ANY(tsvector_to_array({SCHEMA}.bm25_tsv(%s)))),
s AS (
  SELECT p.chunk_id, sum(w.idf * p.tfn) AS score FROM w JOIN {{post}} p ON p.word = w.word
  WHERE true {where} GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT %s)
SELECT {C_COLS}, s.score FROM s JOIN {{t}} c ON c.id = s.chunk_id ORDER BY s.score DESC, c.id"""
        return [(self._chunk(r), float(r[9])) for r in self._query(sql, (n, american(query), *extra, k))]

    def phrase(self, wanted: list[str], allowed: set[str] | None = None) -> list[Chunk]:
        """Chunks whose normalised text contains every normalised phrase (exact substring, as the file store)."""
        if not wanted:
            return []
        where, extra = self._where(allowed)
        conds = " AND ".join("strpos(norm, %s) > 0" for _ in wanted)
        rows = self._query(f"SELECT {COLS} FROM {{t}} WHERE {conds} {where} ORDER BY doc_id, ord", (*wanted, *extra))
        return [self._chunk(r) for r in rows]


# ---------------------------------------------------------------- inspect


def info(s: Settings) -> dict[str, Any]:
    """The database's versions, which one is current, and the size of each version's chunk table."""
    conn = _connect(_require_url(s))
    with conn:
        cur = _current_row(conn)
        if cur is None:
            raise IndexMissingError("the database holds no index yet: build one with `govassist db build`")
        rows = conn.execute(
            "SELECT id, embedder, dim, built_at, manifest->'counts', "
            + " + ".join(
                f"coalesce(pg_total_relation_size(to_regclass('{SCHEMA}.{name}_v' || id)), 0)"
                for name in ("chunks", "postings", "lexemes")
            )
            + " "
            f"FROM {SCHEMA}.versions ORDER BY id"
        ).fetchall()
    return {
        "current": cur[0],
        "versions": [
            {"id": r[0], "embedder": r[1], "dim": r[2], "built_at": r[3].isoformat(), "counts": r[4], "bytes": r[5]}
            for r in rows
        ],
    }


def current_manifest(s: Settings) -> dict[str, Any] | None:
    """The current version's manifest alone (None: the database holds no index yet)."""
    with _connect(_require_url(s)) as conn:
        cur = _current_row(conn)
    return cur[4] if cur else None


def index_info(s: Settings) -> dict[str, Any]:
    """What the current database version holds, in the shape of the file index's `info` (`govassist index info`)."""
    store = PgStore(s)
    v = store.version
    m = v.manifest
    rows = store._query("SELECT doc_id, paras, page FROM {t} ORDER BY doc_id, ord", ())
    size = next((x["bytes"] for x in info(s)["versions"] if x["id"] == v.id), 0)
    return {
        "path": f"PostgreSQL version {v.id}",
        "built_at": m["built_at"],
        "embedder": m["embedder"],
        "dim": m["dim"],
        "faiss": m["faiss"],
        "chunker": m["chunker"],
        "counts": m["counts"],
        "skipped": m["skipped"],
        "bytes": size or 0,
        "outdated": outdated(m, s, "govassist db build"),
        "docs": describe_docs(m["docs"], [(d, list(paras), page) for d, paras, page in rows]),
    }


def data_path(s: Settings) -> Path:
    """Where `govassist db start` keeps the local server's data."""
    return s.data_dir / "pg"
