"""The `govassist` command. Subcommands mirror the stages and stay thin over the public functions."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import DiskFullError, GovassistError
from .text import safe_line

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited retrieval over digital-governance texts.")
corpus_app = typer.Typer(no_args_is_help=True, help="The corpus catalog and its files.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the index.")
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
Collection = Annotated[list[str] | None, typer.Option("--collection", "-c", help="Collection/forum, e.g. G7, TTC.")]
DocOpt = Annotated[list[str] | None, typer.Option("--doc", "-d", help="Document id (repeatable).")]
StatusOpt = Annotated[list[str] | None, typer.Option("--status", help="adopted | draft | non-binding.")]
FromOpt = Annotated[str, typer.Option("--from", help="Earliest date, YYYY-MM-DD.")]
ToOpt = Annotated[str, typer.Option("--to", help="Latest date, YYYY-MM-DD.")]


def _settings():
    from .settings import load_settings

    return load_settings()


def _out(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _filters(store, collection, doc, status, date_from, date_to):
    """The filters typed, checked against the indexed documents (`retrieve.checked_filters`)."""
    from .retrieve import Filters, checked_filters

    typed = Filters(tuple(collection or ()), tuple(doc or ()), tuple(status or ()), (), date_from, date_to)
    return checked_filters(typed, store.docs)


@app.command("settings")
def settings_cmd(as_json: JsonOpt = False) -> None:
    """Print the effective configuration (environment over govassist.toml over defaults)."""
    data = _settings().model_dump(mode="json")
    if data.get("llm_api_key"):
        data["llm_api_key"] = "***"
    for u in data.get("users", {}).values():
        u["password"] = "***"
    _out(data) if as_json else [typer.echo(f"{k} = {v}") for k, v in data.items()]


@corpus_app.command("fetch")
def corpus_fetch(
    mirror: Annotated[Path | None, typer.Option(help="Folder holding copies of catalogued files.")] = None,
    download: Annotated[bool, typer.Option(help="Download what the mirror lacks from its official URL.")] = True,
    replace: Annotated[
        list[str] | None, typer.Option("--replace", help="Fetch this text again though its file is there (damaged).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bring every catalogued file into the corpus folder, from a mirror or by download; a file already there is
    kept unless named with --replace ID (a corrupt or truncated copy).

    Exit code 0: done; 2: some files refused (a symbolic link where a file would be read or written)."""
    from . import catalog

    s = _settings()
    mirror = mirror or (s.mirror_dir if s.mirror_dir.is_dir() else None)
    r = catalog.fetch(catalog.load_catalog(s.catalog_file), s.corpus_dir, mirror, download, replace or ())
    if as_json:
        _out(r.__dict__)
    else:
        typer.echo(
            f"copied {len(r.copied)}, downloaded {len(r.downloaded)}, already present {len(r.present)}, "
            f"not obtained {len(r.failed)}, refused {len(r.refused)}"
        )
        for doc_id, why in r.failed.items():
            typer.echo(f"  not obtained: {doc_id}: {safe_line(why)}")
        for doc_id, why in r.refused.items():
            typer.echo(f"  refused: {doc_id}: {safe_line(why)}")
    if r.refused:
        raise typer.Exit(2)


@corpus_app.command("add")
def corpus_add(
    source: Annotated[str, typer.Argument(help="A file path or an http(s) URL (PDF, TXT, MD or HTML).")],
    id: Annotated[str, typer.Option("--id", help="Stable id: a-z, 0-9, '.', '-', e.g. gdc-rev2-2024.")],
    title: Annotated[str, typer.Option(help="Full title.")],
    label: Annotated[str, typer.Option(help="Short citation label, e.g. 'GDC Rev.2' (default: the title).")] = "",
    forum: Annotated[str, typer.Option(help="Issuing body, e.g. 'G7 Leaders'.")] = "",
    collection: Annotated[str, typer.Option(help="Collection searches filter by, e.g. G7, TTC, GDC.")] = "",
    date: Annotated[str, typer.Option(help="Adoption or publication date, YYYY-MM-DD.")] = "",
    type: Annotated[str, typer.Option(help="Kind of text, e.g. 'joint statement'.")] = "",
    status: Annotated[str, typer.Option(help="adopted | draft | non-binding.")] = "non-binding",
    family: Annotated[str, typer.Option(help="Family id shared by the versions of one text (for compare).")] = "",
    order: Annotated[int, typer.Option(help="Position of this version within its family (1, 2, ...).")] = 0,
    url: Annotated[str, typer.Option(help="Official URL (default: SOURCE when it is a URL).")] = "",
    file: Annotated[str, typer.Option(help="File name to store it under in the corpus folder.")] = "",
) -> None:
    """Register a new text in the catalog and copy or download it into the corpus folder."""
    from . import catalog

    s = _settings()
    if catalog.outside_tree(source, [Path.cwd(), s.mirror_dir]):
        typer.echo(
            f"warning: {safe_line(source)} lies outside the current folder and the mirror; copying it in anyway",
            err=True,
        )
    meta = {
        "id": id,
        "title": title,
        "label": label or title,
        "forum": forum,
        "collection": collection,
        "date": date,
        "type": type,
        "status": status,
        "family": family,
        "order": order,
        "url": url or (source if source.startswith("http") else ""),
        "file": file,
    }
    from .load import check_file, limits_for
    from .store.plan import chunk_file

    limits = limits_for(s)

    def loads(entry: catalog.DocMeta, path: Path) -> None:  # what the build would do: refused now, not at the build
        check_file(path, limits)
        chunk_file(entry, path, s, limits, [])

    entry = catalog.add(s.catalog_file, s.corpus_dir, source, meta, check=loads)
    typer.echo(f"added {entry.id} as {safe_line(s.corpus_dir / entry.file)}; run `govassist index build` to index it")


@corpus_app.command("remove")
def corpus_remove(doc_id: Annotated[str, typer.Argument(help="Id of the text (see `corpus list`).")]) -> None:
    """Remove a text from the catalog and delete its file from the corpus folder; the next build drops it."""
    from . import catalog

    s = _settings()
    entry, deleted = catalog.remove(s.catalog_file, s.corpus_dir, doc_id)
    gone = f" and deleted {safe_line(s.corpus_dir / entry.file)}" if deleted else " (its file was not in the corpus)"
    typer.echo(f"removed {entry.id} from the catalog{gone}; the index still holds it until `govassist index build`")


@corpus_app.command("list")
def corpus_list(as_json: JsonOpt = False) -> None:
    """List catalogued texts and whether their file is present (✓), missing (·) or a symbolic link (!)."""
    from . import catalog
    from .load import linked_part

    s = _settings()
    docs = catalog.load_catalog(s.catalog_file)
    rows = []
    for d in docs:
        link = linked_part(s.corpus_dir / d.file, s.corpus_dir) is not None
        rows.append({**d.to_dict(), "present": not link and (s.corpus_dir / d.file).is_file(), "link": link})
    if as_json:
        _out(rows)
        return
    for r in rows:
        mark = "!" if r["link"] else "✓" if r["present"] else "·"
        why = "  (a symbolic link: the build skips it)" if r["link"] else ""
        typer.echo(safe_line(f"{mark} {r['id']:30} {r['date']:10} {r['status']:11} {r['label']}{why}", 2000))


@index_app.command("build")
def index_build(
    wait: Annotated[bool, typer.Option(help="Wait for another running build instead of refusing.")] = False,
    force: Annotated[bool, typer.Option(help="Re-embed every document.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Build the index incrementally into a new folder and switch to it atomically.

    Exit code 0: built, nothing skipped; 2: built, but some files were skipped (reasons listed); 3: another build
    is running (try again later, or pass --wait); 1: any other error.
    """
    from .store import build

    s = _settings()
    say = (lambda m: typer.echo(f"· {m}", err=True)) if progress and not as_json else None
    r = build(s, progress=progress and not as_json, wait=wait, on_stage=say, force=force)
    if as_json:
        _out({**r.to_dict(), "path": str(r.path or r.where)})
    else:
        state = "unchanged" if not r.changed else f"built {r.where}"
        typer.echo(
            f"{state}: {r.documents} documents, {r.chunks} chunks; re-embedded {len(r.embedded_docs)}, "
            f"reused {len(r.reused_docs)}, skipped {len(r.skipped)} in {r.seconds.get('total', 0):.1f}s"
        )
        for note in r.notes:
            typer.echo(f"  note: {safe_line(note, 2000)}")
        for why in r.skipped.values():
            typer.echo(f"  skipped: {safe_line(why, 2000)}")
    if r.skipped:
        raise typer.Exit(2)


@index_app.command("info")
def index_info(as_json: JsonOpt = False) -> None:
    """What the current index holds (files or database): documents, chunks per document, paragraph coverage."""
    from .store import info

    data = info(_settings())
    if as_json:
        _out(data)
        return
    typer.echo(
        f"{data['path']}\nbuilt {data['built_at']} with {data['embedder']} ({data['dim']}-d, {data['faiss']}); "
        f"{data['counts']['documents']} documents, {data['counts']['chunks']} chunks, "
        f"{data['bytes'] / 2**20:.1f} MB"
    )
    for d in data["docs"]:
        typer.echo(
            f"  {d['id']:30} {d['chunks']:4} chunks {d['paragraphs']:4} paras "
            f"{('numbered ' + d['numbered']) if d['numbered'] else '':18} {d['label']}"
        )
    for why in data["skipped"].values():
        typer.echo(f"  skipped: {why}")
    if data["outdated"]:
        typer.echo(f"note: {data['outdated']}")


def _hit_json(h, rank: int) -> dict:
    c = h.chunk
    return {
        "rank": rank,
        "score": round(h.score, 6),
        "chunk_id": c.id,
        "doc_id": c.doc_id,
        "label": h.doc.label,
        "para": c.para,
        "paras": list(c.paras),
        "page": c.page,
        "source": h.doc.file,
        "text": c.text,
        "date": h.doc.date,
        "status": h.doc.status,
        "also_in": list(h.also_in),
    }


@app.command("search")
def search_cmd(
    query: Annotated[str | None, typer.Argument(help="The query; quote a phrase for an exact match.")] = None,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Number of hits (default: GOVASSIST_K).")] = None,
    batch: Annotated[Path | None, typer.Option(help="JSONL file of {qid, query} lines.")] = None,
    mode: Annotated[str, typer.Option(help="default | fused | dense | bm25")] = "default",
    collection: Collection = None,
    doc: DocOpt = None,
    status: StatusOpt = None,
    date_from: FromOpt = "",
    date_to: ToOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Search the index: passages ranked by hybrid retrieval."""
    from .errors import QueryError
    from .retrieve import search
    from .store import open_store

    s = _settings()
    if batch is None and query is None:
        raise QueryError("give a query, or --batch FILE.jsonl")
    if batch is not None and not batch.is_file():
        raise QueryError(f"{batch}: no such file")
    store = open_store(s)
    f = _filters(store, collection, doc, status, date_from, date_to)
    if batch is not None:
        lines = [json.loads(x) for x in batch.read_text(encoding="utf-8").splitlines() if x.strip()]
        for q in lines:
            hits = search(store, q["query"], s, k=k, filters=f, mode=mode)
            typer.echo(json.dumps({"qid": q["qid"], "hits": [_hit_json(h, h.rank) for h in hits]}, ensure_ascii=False))
        return
    t = time.perf_counter()
    hits = search(store, query, s, k=k, filters=f, mode=mode)
    ms = (time.perf_counter() - t) * 1000
    if as_json:
        _out({"query": query, "hits": [_hit_json(h, h.rank) for h in hits]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(hits)} hits for {query!r} in {ms:.0f} ms", show_lines=True)
    for col in ("#", "citation", "score", "passage"):
        table.add_column(col)
    from .answer import cite_label

    for h in hits:
        extra = f"\n[dim](same text in: {', '.join(h.also_in)})[/dim]" if h.also_in else ""
        table.add_row(str(h.rank), cite_label(h.doc, h.chunk), f"{h.score:.4f}", h.chunk.text[:300] + extra)
    Console().print(table)


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int | None, typer.Option("--k", "-k", help="Passages to draw on (default: GOVASSIST_K).")] = None,
    llm: Annotated[bool, typer.Option(help="Let the configured LLM rephrase (cites only given passages).")] = False,
    collection: Collection = None,
    doc: DocOpt = None,
    status: StatusOpt = None,
    date_from: FromOpt = "",
    date_to: ToOpt = "",
    as_json: JsonOpt = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="A briefing note: md (to stdout or --out) or docx (a file).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the briefing note.")] = None,
) -> None:
    """Answer a question; every sentence carries a citation, and the cited passages follow verbatim. The answer says
    how strongly the texts support it (`support`: direct, closest or none; the JSON carries it)."""
    from .answer import ask_scoped
    from .store import open_store

    if fmt is not None and fmt not in ("md", "docx"):
        raise GovassistError(f"unknown --format {fmt!r}: choose md or docx")
    s = _settings()
    store = open_store(s)
    filters = _filters(store, collection, doc, status, date_from, date_to)
    a, scope = ask_scoped(store, question, s, k=k, filters=filters, mode="llm" if llm else None)
    if fmt is not None:  # the note names the filters searched with, the question's forums and years included
        _briefing(a, store, scope, fmt, out)
        return
    if as_json:
        _out(a.to_dict())
        return
    typer.echo(a.text + "\n")
    for note in a.notes:
        if note not in a.text:
            typer.echo(f"note: {note}")
    typer.echo(f"support: {a.support}\n")
    for c in a.citations:
        typer.echo(f"[{c.citation}] {c.title} ({c.date}, {c.status}){' — ' + c.section if c.section else ''}")
        typer.echo(f"  “{c.text}”\n")


def _briefing(a: Any, store: Any, filters: Any, fmt: str, out: Path | None) -> None:
    """Write the briefing note of an answer: md to stdout unless --out; docx to --out or briefing-<time>.docx."""
    from datetime import UTC, datetime

    from . import briefing

    when = datetime.now(UTC)
    note = briefing.make_note(a, store.docs, store.manifest, filters, when)
    if fmt == "md" and out is None:
        typer.echo(briefing.note_markdown(note), nl=False)
        return
    path = out or Path(briefing.file_name(when, fmt))
    data = briefing.note_docx(note) if fmt == "docx" else briefing.note_markdown(note).encode("utf-8")
    path.write_bytes(data)
    typer.echo(f"briefing note written to {path.resolve()}", err=True)


def chat_app_path() -> Path:
    """The Chainlit app's file, found through the package (a checkout or a wheel alike), without importing it."""
    from importlib.util import find_spec

    spec = find_spec("govassist.chat_app")
    if spec is None or spec.origin is None:
        raise GovassistError("govassist.chat_app is missing from this installation: reinstall govassist")
    return Path(spec.origin)


def needs_build(s: Any) -> bool:
    """No index yet, or one not built as the settings ask (`plan.mismatch`: another embedder, embedding recipe,
    chunker version or chunk sizes, as after an upgrade): build first. Reads the manifest only."""
    from .store import current_manifest
    from .store.plan import mismatch

    manifest = current_manifest(s)
    return manifest is None or mismatch(manifest, s) is not None


@app.command("run")
def run_cmd(
    chat: Annotated[bool, typer.Option(help="Start the chat after indexing.")] = True,
    port: int = 8000,
    host: str = "127.0.0.1",
) -> None:
    """The main job: bring the corpus in, build the index if missing, then start the chat."""
    from . import catalog
    from .store import build

    s = _settings()
    mirror = s.mirror_dir if s.mirror_dir.is_dir() else None
    r = catalog.fetch(catalog.load_catalog(s.catalog_file), s.corpus_dir, mirror, download=mirror is None)
    typer.echo(
        f"corpus: {len(r.copied) + len(r.downloaded)} brought in, {len(r.present)} present, "
        f"{len(r.failed)} not obtained",
        err=True,
    )
    if needs_build(s):
        rep = build(s, progress=True)
        typer.echo(
            f"index built: {rep.documents} documents, {rep.chunks} chunks in {rep.seconds['total']:.1f}s",
            err=True,
        )
    if chat:
        import os
        import subprocess

        from .chat_web import chainlit_env

        app_py = chat_app_path()
        cmd = [sys.executable, "-m", "chainlit", "run", str(app_py), "--headless", "--host", host, "--port", str(port)]
        raise typer.Exit(subprocess.call(cmd, env=chainlit_env(dict(os.environ))))


def _markdown(text: str) -> None:
    """Markdown on a terminal through rich; raw (diff marks kept) when piped."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        typer.echo(text)


@app.command("compare")
def compare_cmd(
    old: Annotated[str | None, typer.Argument(help="Document id of the earlier version.")] = None,
    new: Annotated[str | None, typer.Argument(help="Document id of the later version.")] = None,
    family: Annotated[str | None, typer.Option(help="Walk every version of a family in catalog order.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only paragraphs about this topic, side by side.")] = None,
    para: Annotated[
        str | None,
        typer.Option(help="Follow one paragraph through the versions, e.g. 29(d) (or 'Annex ¶2' after a restart)."),
    ] = None,
    anchor: Annotated[str | None, typer.Option(help="Document the --para label refers to.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What changed between versions: paragraphs aligned (renumbered, moved, split, merged), words marked."""
    from .compare import run_compare
    from .store import open_store

    s = _settings()
    data, md, warnings = run_compare(open_store(s), s, old, new, family, topic, para, anchor)
    for w in warnings:
        typer.echo(f"warning: {w}", err=True)
    _out(data) if as_json else _markdown(md)


@app.command("precedent")
def precedent_cmd(
    text: Annotated[str, typer.Argument(help="The wording to find agreed precedents for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of precedents.")] = 10,
    min_score: Annotated[float, typer.Option(help="Closeness (0-100) a passage needs to be listed.")] = 70.0,
    as_json: JsonOpt = False,
) -> None:
    """Agreed-language search: passages with this wording or nearly so, closest first, differences marked."""
    from .precedent import find_precedents, precedents_markdown
    from .store import open_store

    s = _settings()
    found = find_precedents(open_store(s), text, s, k=k, min_score=min_score)
    _out({"text": text, "precedents": [p.to_dict() for p in found]}) if as_json else _markdown(
        precedents_markdown(found, text)
    )


@app.command("glossary")
def glossary_cmd(
    question: Annotated[str | None, typer.Argument(help="A question: show what the glossary adds to it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The glossary of users' words and the texts' words (GOVASSIST_GLOSSARY_FILE): its entries, or those a question
    (as typed) uses, whose texts' words the default search adds to it. A malformed line is an error here; a search
    uses the last good version and logs it."""
    from . import glossary

    s = _settings()
    entries = glossary.load(s.glossary_file)
    shown = glossary.matches(question, entries) if question is not None else entries
    if as_json:
        rows = [{"line": e.line, "said": e.said, "texts": e.texts_words} for e in shown]
        _out({"file": None if glossary.is_off(s.glossary_file) else str(s.glossary_file), "entries": rows})
        return
    if not entries:
        off = glossary.is_off(s.glossary_file)
        where = "the glossary is off (GOVASSIST_GLOSSARY_FILE is empty)" if off else f"no glossary at {s.glossary_file}"
        typer.echo(f"{where}: questions are matched as asked")
        return
    if question is not None and not shown:
        typer.echo("the question uses none of the glossary's words: it is matched as asked")
    for e in shown:
        typer.echo(f"{s.glossary_file}:{e.line}  {', '.join(e.said)} -> {e.texts_words}")


@app.command("feedback")
def feedback_cmd(
    bad: Annotated[bool, typer.Option("--bad", help="Only thumbs down.")] = False,
    limit: Annotated[int, typer.Option(help="Newest N.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Chat feedback for review: each thumbs up/down with the question, filters, answer and citations it judged."""
    from .chat_feedback import db_path, feedback_rows
    from .text import safe_line

    rows = feedback_rows(db_path(_settings().data_dir), bad_only=bad, limit=limit)
    if as_json:
        _out(rows)
        return
    for f in rows:
        cites = safe_line(", ".join(c["citation"] for c in f["citations"] or []), 1000)
        who, question = safe_line(f["user"] or "-", 100), safe_line(f["question"] or "", 1000)
        typer.echo(f"{'👍' if f['value'] else '👎'} {safe_line(f['created_at'])} {who}: “{question}”")
        comment = f"\n   comment: {safe_line(f['comment'], 5000)}" if f["comment"] else ""
        typer.echo(f"   cited: {cites or '(nothing)'}{comment}")


@app.command("hash-password")
def hash_password_cmd(password: Annotated[str, typer.Option(prompt=True, hide_input=True)]) -> None:
    """A PBKDF2 hash to put in users.NAME.password (govassist.toml) instead of the password itself."""
    from .chat_auth import hash_password

    typer.echo(hash_password(password))


db_app = typer.Typer(no_args_is_help=True, help="The PostgreSQL store: a local server, builds, versions.")
app.add_typer(db_app, name="db")
PgData = Annotated[Path | None, typer.Option("--data", help="Server data folder (default: <data_dir>/pg).")]


@db_app.command("start")
def db_start(data: PgData = None) -> None:
    """Start a local PostgreSQL with pgvector (pgserver) and print the GOVASSIST_DATABASE_URL to use."""
    from .store import pgserver, postgres

    st = pgserver.start(data or postgres.data_path(_settings()))
    typer.echo(f"PostgreSQL running (pid {st.pid}) in {st.pgdata}\nexport GOVASSIST_DATABASE_URL='{st.url}'")


@db_app.command("stop")
def db_stop(data: PgData = None) -> None:
    """Stop the local PostgreSQL started by `govassist db start`."""
    from .store import pgserver, postgres

    st = pgserver.stop(data or postgres.data_path(_settings()))
    typer.echo(f"PostgreSQL in {st.pgdata} is {'still running' if st.running else 'stopped'}")


@db_app.command("status")
def db_status(data: PgData = None, as_json: JsonOpt = False) -> None:
    """The local server's state and, when GOVASSIST_DATABASE_URL is set, the versions in the database."""
    from .store import pgserver, postgres

    s = _settings()
    st = pgserver.status(data or postgres.data_path(s))
    db = postgres.info(s) if s.database_url else None
    if as_json:
        _out({"local": {"pgdata": str(st.pgdata), "running": st.running, "url": st.url}, "database": db})
        return
    typer.echo(f"local server {st.pgdata}: " + (f"running, {st.url}" if st.running else "not running"))
    if db is None:
        typer.echo("GOVASSIST_DATABASE_URL is not set")
        return
    for v in db["versions"]:
        mark = "*" if v["id"] == db["current"] else " "
        typer.echo(f"{mark} v{v['id']} {v['built_at']} {v['counts']} {(v['bytes'] or 0) / 2**20:.1f} MB")


def _file_seed(s: Any) -> dict[str, Any]:
    """The file index's documents for `db build --from-files`: an error when there is none, or when it was not
    built as the settings ask (nothing of it could be taken)."""
    from .errors import IndexMissingError
    from .store import files
    from .store.plan import mismatch, mismatch_error

    how = "`GOVASSIST_DATABASE_URL= govassist index build`"
    manifest = files.read_manifest(s)
    if manifest is None:
        raise IndexMissingError(f"no file index at {s.current_index} to take vectors from: build one with {how}")
    why = mismatch(manifest, s)
    if why:
        raise mismatch_error(f"the file index at {s.current_index}", why, how.strip("`"))
    return files.read_previous(s)


@db_app.command("build")
def db_build(
    wait: Annotated[bool, typer.Option(help="Wait for another running build instead of refusing.")] = False,
    force: Annotated[bool, typer.Option(help="Re-embed every document.")] = False,
    from_files: Annotated[bool, typer.Option(help="Take vectors from the file index where hashes match.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build a new version in PostgreSQL (only changed documents re-embedded) and make it current."""
    from .store import postgres

    s = _settings()
    seed = _file_seed(s) if from_files else None
    r = postgres.build(s, progress=not as_json, wait=wait, force=force, seed=seed)
    if as_json:
        _out(r.to_dict())
        return
    typer.echo(
        f"{'built' if r.changed else 'unchanged'} v{r.version}: {r.documents} documents, {r.chunks} chunks; "
        f"embedded {len(r.embedded_docs)}, copied {len(r.reused_docs)}, from files {len(r.seeded_docs)}, "
        f"skipped {len(r.skipped)}, pruned {r.pruned or 'none'} in {r.seconds.get('total', 0):.1f}s"
    )
    for why in [*r.notes, *r.skipped.values()]:
        typer.echo(f"  {why}")


eval_app = typer.Typer(help="Retrieval evaluation: `govassist eval` runs it; subcommands manage the question set.")
app.add_typer(eval_app, name="eval")
QuestionsOpt = Annotated[Path, typer.Option("--questions", help="Question set (JSONL).")]


@eval_app.callback(invoke_without_command=True)
def eval_cmd(
    ctx: typer.Context,
    config: Annotated[list[str] | None, typer.Option("--config", help="bm25|dense|fused|default|MODE@MODEL")] = None,
    questions: QuestionsOpt = Path("eval/questions.jsonl"),
    baseline: Annotated[Path | None, typer.Option(help="results.json of an earlier eval to test against.")] = None,
    fail_under: Annotated[list[str] | None, typer.Option("--fail-under", help="METRIC=VALUE gate")] = None,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = Path("eval/reports"),
    k: Annotated[int, typer.Option("--k", help="Hits per question.")] = 20,
    answers: Annotated[bool, typer.Option(help="Also measure the answers (citations, abstention, turns).")] = True,
    split: Annotated[list[str] | None, typer.Option("--split", help="test (default) | dev | legacy | all")] = None,
    original_judgments: Annotated[
        bool, typer.Option("--original-judgments", help="Leave out judgments added after the questions were written.")
    ] = False,
) -> None:
    """Evaluate bm25, dense, fused and default on the current index over a split (test by default) and write a
    report (exit 1 if a gate fails). Other embedders only with --config MODE@EMBEDDER."""
    if ctx.invoked_subcommand:
        return
    from .errors import EvalError
    from .eval_report import headline, write_report
    from .evaluate import gate_state, parse_gates, run_eval

    gates = parse_gates(fail_under)
    r = run_eval(
        _settings(), questions, config, k, baseline, gates, answers, True, split or ["test"], original_judgments
    )
    folder = write_report(r, out)
    typer.echo(
        f"split: {' + '.join(r.splits)}\n{headline(r)}\n\n"
        + "".join(f"note: {n}\n" for n in r.notes)
        + f"{gate_state(r)}\nreport: {folder}/report.md"
    )
    if r.gate_failures:
        raise EvalError(f"regression gate failed: {'; '.join(r.gate_failures)} (see {folder}/report.md)")


@eval_app.command("convert")
def eval_convert(
    raw: Annotated[Path, typer.Option(help="Questions with verbatim quotes.")] = Path("eval/questions.raw.jsonl"),
    dest: Annotated[Path, typer.Option("--out", help="Where to write the set.")] = Path("eval/questions.jsonl"),
) -> None:
    """Map each judgment's quote to the paragraph label the parser gives it; write the question set."""
    from .evaluate import convert

    qs = convert(raw, dest, _settings())
    typer.echo(f"{len(qs)} questions, {sum(len(q.judgments) for q in qs)} judged paragraphs -> {dest}")


@eval_app.command("validate")
def eval_validate(questions: QuestionsOpt = Path("eval/questions.jsonl")) -> None:
    """Check the question set against the current index (types, splits, qids, judged paragraphs, overlap)."""
    from . import catalog
    from .evaluate import load_questions, validate
    from .store import open_store

    s = _settings()
    qs = load_questions(questions)
    warnings = validate(qs, open_store(s), [d.id for d in catalog.load_catalog(s.catalog_file)])
    for w in warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"{questions}: {len(qs)} questions, judged paragraphs checked, {len(warnings)} warning(s)")


@eval_app.command("prepare")
def eval_prepare(questions: QuestionsOpt = Path("eval/questions.jsonl")) -> None:
    """Give new questions a dev/test split (stratified by type, by qid hash) and store every row's overlap."""
    from .evaluate import SPLITS, median_overlap, prepare
    from .store import open_store

    qs = prepare(questions, open_store(_settings()))
    for sp in SPLITS:
        part = [q for q in qs if q.split == sp]
        typer.echo(f"{sp}: {len(part)} questions, median overlap {median_overlap(part)}")


def main() -> None:
    import errno

    from .errors import BuildLockedError

    try:
        app()
    except BuildLockedError as exc:  # not broken, busy: a script may retry later
        typer.echo(f"error: {safe_line(exc, 2000)}", err=True)
        sys.exit(3)
    except GovassistError as exc:
        typer.echo(f"error: {safe_line(exc, 2000)}", err=True)
        sys.exit(1)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        where = safe_line(exc.filename or "a file")
        err = DiskFullError(f"disk full writing {where}: free some space, then run the command again")
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
