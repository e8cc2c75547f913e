"""What both backends share when they build: the plan (which corpus files to keep, which to load and chunk), content
hashes, the chunker's settings, the manifest's document entries, the quotable-sentence warm-up, and the report."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import catalog as cat
from .. import sentvec
from ..chunk import Chunk, chunk_blocks
from ..errors import IndexMismatchError, IndexMissingError, LoadError
from ..load import Limits, check_file, limits_for, load_file
from ..settings import Settings
from ..text import american, safe_line, utf8

FORMAT = 1
CHUNKER_VERSION = 17  # bump whenever load.py or chunk.py changes what they produce


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    """What a build did. A file build sets `path` (the new folder); a database build sets `version` (now current),
    `seeded_docs` (vectors taken from a file index) and `pruned` (versions dropped)."""

    path: Path | None = None
    version: int | None = None
    documents: int
    chunks: int
    embedded_docs: list[str]
    reused_docs: list[str]
    seeded_docs: list[str] = field(default_factory=list)
    skipped: dict[str, str]
    notes: list[str]
    seconds: dict[str, float]
    pruned: list[int] = field(default_factory=list)
    changed: bool = True

    @property
    def where(self) -> str:
        """The build folder's name, or the database version."""
        return self.path.name if self.path else f"database version {self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The report's fields for this backend (JSON output): `path` for files; `version`, `seeded_docs` and
        `pruned` for the database."""
        d = asdict(self)
        drop = ("version", "seeded_docs", "pruned") if self.path else ("path",)
        return {k: v for k, v in d.items() if k not in drop}


def doc_entry(meta: cat.DocMeta, digest: str, chunks: int) -> dict[str, Any]:
    """A document's entry in a manifest: its catalog metadata, content hash and number of chunks."""
    return {**meta.to_dict(), "restricted": list(meta.restricted), "sha256": digest, "chunks": chunks}


def doc_meta(entry: dict[str, Any]) -> cat.DocMeta:
    """The catalog metadata back from a manifest entry (or the database's `meta` column)."""
    fields = {k: v for k, v in entry.items() if k in cat.DocMeta.__dataclass_fields__}
    fields["restricted"] = tuple(fields.get("restricted", ()))
    return cat.DocMeta(**fields)


def describe_docs(entries: dict[str, dict[str, Any]], rows: list[tuple[str, list[str], int | None]]) -> list[dict]:
    """Per document of a manifest, for `index info`: its chunks, paragraphs, numbered range and pages, from the
    (doc_id, paragraph labels, page) of every chunk in reading order."""
    per_doc: dict[str, dict[str, Any]] = {}
    for doc_id, paras, page in rows:
        d = per_doc.setdefault(doc_id, {"chunks": 0, "paras": [], "pages": set()})
        d["chunks"] += 1
        for p in paras:
            if p not in d["paras"]:
                d["paras"].append(p)
        if page:
            d["pages"].add(page)
    docs = []
    for doc_id, meta in entries.items():
        d = per_doc.get(doc_id, {"chunks": 0, "paras": [], "pages": set()})
        numbered = [p for p in d["paras"] if p[:1].isdigit()]  # the first run of numbers (chunk._qualify_restarts)
        docs.append(
            {
                "id": doc_id,
                "label": meta["label"],
                "collection": meta.get("collection", ""),
                "date": meta.get("date"),
                "status": meta.get("status"),
                "chunks": d["chunks"],
                "paragraphs": len(d["paras"]),
                "numbered": f"{numbered[0]}–{numbered[-1]}" if numbered else "",
                "pages": len(d["pages"]),
            }
        )
    return docs


def nothing_to_index(s: Settings, skipped: dict[str, str]) -> IndexMissingError:
    """The error of a build that found no text to index: with no file, run `corpus fetch`; with files that all
    failed, each one's reason (the first five)."""
    if not skipped:
        return IndexMissingError(f"nothing to index in {s.corpus_dir}/: run `govassist corpus fetch` first")
    reasons = "; ".join(safe_line(why) for why in list(skipped.values())[:5])
    more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
    return IndexMissingError(
        f"nothing to index in {s.corpus_dir}/: every file was skipped: {reasons}{more}; fix or replace those files "
        "(or `govassist corpus fetch` the catalogued ones)"
    )


HEADER_FORMS = ("none", "title", "forum", "label")


def header_text(c: Chunk, meta: cat.DocMeta, form: str = "title") -> str:
    """What the embedder (and BM25) see for a chunk: a header naming its document, then the chunk's own
    `embed_text` (section, lead-in, text). Displayed text, ids and citations never include the header.

    Forms: "title" = "{title} ({year}). …", "forum" = "{forum}, {year}: {title}. …", "label" = "{label} ({forum},
    {year}). …", "none" = the chunk alone."""
    year = meta.date[:4]
    when = f" ({year})" if year and year not in meta.title else ""
    if form == "none":
        return c.embed_text
    if form == "title":
        head = f"{meta.title}{when}"
    elif form == "forum":
        head = f"{meta.forum or meta.collection}, {year}: {meta.title}" if year else f"{meta.forum}: {meta.title}"
    elif form == "label":
        head = f"{meta.label} ({', '.join(x for x in (meta.forum, year) if x)})"
    else:
        raise ValueError(f"unknown header form {form!r}: use one of {', '.join(HEADER_FORMS)}")
    return f"{head.strip()}. {c.embed_text}"


HEADER_FIELDS = ("title", "label", "forum", "collection", "date")


def lexical_text(c: Chunk, meta: cat.DocMeta, form: str) -> str:
    """What BM25 indexes of a chunk, in either store: its header form and text, British spellings in American form
    (the recipe's "spelling"; each store reads its queries alike, `text.american`)."""
    return american(header_text(c, meta, form))


def embed_recipe(s: Settings) -> dict[str, Any]:
    """How chunk texts are turned into what is embedded and what BM25 indexes (recorded in the manifest: an index
    built with another recipe is rebuilt, never mixed)."""
    return {"header": s.embed_header, "bm25": s.bm25_header, "spelling": "american"}


def same_header(entry: dict[str, Any] | None, meta: cat.DocMeta) -> bool:
    """Whether a previous manifest entry names the document as `meta` does (else its header, so its vectors, change)."""
    return entry is not None and all(entry.get(f, "") == getattr(meta, f) for f in HEADER_FIELDS)


def chunker_settings(s: Settings) -> dict[str, int]:
    return {"version": CHUNKER_VERSION, "max_chars": s.chunk_max_chars, "min_chars": s.chunk_min_chars}


def mismatch(manifest: Mapping[str, Any], s: Settings, *, serving: bool = False) -> str | None:
    """Why the index a manifest describes was not built as these settings ask (its format, embedder, embedding
    recipe, chunker version or chunk sizes), or None when it was. The reason completes "the index was …" and names
    the setting to change where there is one.

    With `serving`, only what stops the index from answering these settings' queries (format, embedder, recipe):
    an index cut by another chunker still answers, and the next build (`govassist run` builds first) re-chunks it.
    """
    recipe, chunker = manifest.get("embed_recipe"), manifest.get("chunker") or {}
    want_recipe, want_chunker = embed_recipe(s), chunker_settings(s)
    checks: list[tuple[Any, Any, str]] = [
        (manifest.get("format"), FORMAT, "written in index format {got}; this release reads format {want}"),
        (
            manifest.get("embedder"),
            s.embed_model,
            "built with embedder {got!r} but settings ask for {want!r} (GOVASSIST_EMBED_MODEL)",
        ),
    ]
    if recipe is None:
        checks.append((None, want_recipe, "built by an earlier release with no embedding recipe (now {want})"))
    else:
        checks += [
            (
                recipe.get("header"),
                want_recipe["header"],
                "built with embedding recipe header {got!r} but settings ask for {want!r} (GOVASSIST_EMBED_HEADER)",
            ),
            (
                recipe.get("bm25"),
                want_recipe["bm25"],
                "built with embedding recipe bm25 header {got!r} but settings ask for {want!r} (GOVASSIST_BM25_HEADER)",
            ),
            (
                recipe.get("spelling"),
                want_recipe["spelling"],
                "built with its lexical index in the sources' spellings ({got!r}); this release indexes British "
                "spellings in their {want} form, for queries in either",
            ),
            (recipe, want_recipe, "built with embedding recipe {got} but settings ask for {want}"),
        ]
    if not serving:
        checks += [
            (
                chunker.get("version"),
                CHUNKER_VERSION,
                "chunked by chunker version {got}; this release's chunker is version {want}",
            ),
            (
                chunker.get("max_chars"),
                s.chunk_max_chars,
                "chunked with max_chars {got} but settings ask for {want} (GOVASSIST_CHUNK_MAX_CHARS)",
            ),
            (
                chunker.get("min_chars"),
                s.chunk_min_chars,
                "chunked with min_chars {got} but settings ask for {want} (GOVASSIST_CHUNK_MIN_CHARS)",
            ),
            (chunker, want_chunker, "chunked with chunker settings {got} but settings ask for {want}"),
        ]
    return next((why.format(got=got, want=want) for got, want, why in checks if got != want), None)


def mismatch_error(where: str, why: str, command: str) -> IndexMismatchError:
    """The error of opening an index that cannot answer these settings' queries (`mismatch(..., serving=True)`)."""
    also = " or set that variable to match" if "(GOVASSIST_" in why else ""
    return IndexMismatchError(f"{where} was {why}: rebuild it with `{command}`{also}")


def outdated(manifest: Mapping[str, Any], s: Settings, command: str) -> str | None:
    """What `index info` and the log say of an index that answers but was not built as the settings ask (another
    chunker version or chunk sizes): it is served as it is until the next build, which `govassist run` starts."""
    why = mismatch(manifest, s)
    return f"the index was {why}: it is served as it is; `{command}` rebuilds it" if why else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def chunk_file(
    meta: cat.DocMeta, path: Path, s: Settings, limits: Limits, notes: list[str] | None = None
) -> list[Chunk]:
    """Load and chunk one corpus file (loader notes, such as a legacy encoding, go to `notes`); a file that
    yields no paragraph is a LoadError like any other."""
    chunks = chunk_blocks(meta.id, load_file(path, limits, notes), s.chunk_max_chars, s.chunk_min_chars)
    if not chunks:
        raise LoadError(f"{path.name}: no paragraphs of text found")
    return chunks


@dataclass(frozen=True)
class Planned:
    """One corpus file in a build: kept as the previous index stored it (`chunks` None), or loaded and chunked now."""

    meta: cat.DocMeta
    digest: str
    chunks: tuple[Chunk, ...] | None
    kept: bool = False  # its file is missing or broken: the version indexed before is kept, as it was


def _with_catalog(reason: str, meta: cat.DocMeta, s: Settings) -> str:
    """A loader's reason, and where it says to rename a catalogued file, that its entry must follow."""
    if meta.in_catalog and "rename it to" in reason:
        return f"{reason}; then set `file` of {meta.id!r} in {s.catalog_file.name} to the new name"
    return reason


def plan_documents(
    s: Settings,
    reusable: Callable[[cat.DocMeta, str], bool],
    indexed: Mapping[str, str] | None = None,
    progress: bool = False,
) -> tuple[list[Planned], dict[str, str], list[str]]:
    """Check and hash every corpus file; keep those `reusable(meta, sha256)` accepts, load and chunk the rest.

    `indexed`: the content hash of each document the current index holds (built by any chunker). A catalogued
    document whose file is now missing or fails to load keeps that indexed version as it is (`Planned.kept`), with a
    note saying so: a broken or lost file never takes a text out of the live index; `govassist corpus remove` does.
    Shared by the file and PostgreSQL builds, which show a bar per file with `progress` (a slow PDF is not a hang).
    Returns the plan, the skipped files with their reasons, and notes."""
    docs = cat.load_catalog(s.catalog_file)
    pairs, notes = cat.corpus_documents(docs, s.corpus_dir)
    indexed = indexed or {}
    plan: list[Planned] = []
    skipped: dict[str, str] = {}
    seen_hash: dict[str, str] = {}

    def keep(meta: cat.DocMeta, why: str) -> None:
        digest = indexed.get(meta.id)
        if meta.in_catalog and digest:
            plan.append(Planned(meta, digest, None, kept=True))
            seen_hash.setdefault(digest, meta.file)  # the same text under another name is a duplicate of it
            notes.append(
                f"{safe_line(meta.file)}: {why}; the index keeps serving the version of {meta.id!r} built before: "
                f"replace the file (or `govassist corpus fetch`), or `govassist corpus remove {meta.id}` to drop it"
            )

    missing = [d for d in docs if not (s.corpus_dir / d.file).is_file()]
    if missing:
        notes.append(
            f"{len(missing)} catalogued text(s) not in {s.corpus_dir}/ (run `govassist corpus fetch`): "
            + ", ".join(d.id for d in missing)
        )
    for d in missing:
        if not (s.corpus_dir / d.file).is_symlink():  # a symbolic link is paired, and refused below
            keep(d, "the file is missing")
    limits = limits_for(s)
    for meta, path in tqdm(pairs, desc="load+chunk", unit="file", disable=not progress, leave=False):
        if not utf8(path.name):  # its name would reach the title, the header and the embedder
            shown = safe_line(os.fsencode(path.name).decode("utf-8", "backslashreplace"))  # r\xe9sum\xe9.txt
            skipped[shown] = f"{shown}: the file name is not valid UTF-8: rename it"
            continue
        try:
            check_file(path, limits)  # type and size, before reading a byte
            digest = sha256(path)
        except LoadError as exc:
            skipped[path.name] = _with_catalog(str(exc), meta, s)
            keep(meta, "the file cannot be indexed now (see skipped)")
            continue
        except OSError as exc:
            skipped[path.name] = f"{path.name}: cannot read: {exc.strerror}"
            keep(meta, "the file cannot be read now")
            continue
        if digest in seen_hash:
            skipped[path.name] = f"{path.name}: duplicate of {seen_hash[digest]} (same content); skipped"
            continue
        if reusable(meta, digest):
            seen_hash[digest] = path.name
            plan.append(Planned(meta, digest, None))
            continue
        try:
            chunks = chunk_file(meta, path, s, limits, notes)
        except LoadError as exc:
            skipped[path.name] = _with_catalog(str(exc), meta, s)
            keep(meta, "the file cannot be indexed now (see skipped)")
            continue
        seen_hash[digest] = path.name  # only indexed files: a copy of a bad file gets its own reason
        plan.append(Planned(meta, digest, tuple(chunks)))
    return plan, skipped, notes


def warm_sentences(
    s: Settings,
    passages: list[str],
    progress: bool,
    say: Callable[[str], None],
    notes: list[str],
    seconds: dict[str, float],
) -> None:
    """Embed the quotable sentences not yet in the cache (after the switch: the new index already serves); add a
    note saying what was done and its time as `seconds["sentences"]`."""
    say("quotable sentences")
    t = time.perf_counter()
    try:
        embedded, cached = sentvec.warm(s, passages, progress=progress)
        notes.append(f"quotable sentences: {embedded} embedded, {cached} already cached")
    except Exception as exc:  # a cache: failing to fill it slows the first answers, it never fails the build
        notes.append(f"quotable-sentence cache not written ({exc}); answers embed their sentences on first use")
    seconds["sentences"] = time.perf_counter() - t
