"""The PostgreSQL store against a real PostgreSQL with pgvector (pgserver, started once per session, one fresh
database per test): versioned builds, incremental rebuilds, a killed build, two processes on one database,
filters in SQL, and parity with the file store on the development questions."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from govassist import catalog, sentvec
from govassist.errors import BuildLockedError, ConfigError, IndexMissingError
from govassist.retrieve import Filters, query_vector, search
from govassist.settings import Settings
from govassist.store import files, pgserver, postgres

pytestmark = pytest.mark.pg
ROOT = Path(__file__).resolve().parents[1]
G7 = "synthetic-g7-ministerial.md"


def _env(s: Settings) -> dict[str, str]:
    """The settings as GOVASSIST_* variables, for a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVASSIST_")}
    for key in ("corpus_dir", "catalog_file", "index_dir", "data_dir", "embed_model", "database_url"):
        env[f"GOVASSIST_{key.upper()}"] = str(getattr(s, key))
    env["GOVASSIST_MIN_RELEVANCE"] = str(s.min_relevance)
    return env


def _tables(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'govassist'").fetchall()
    return {r[0] for r in rows}


def test_local_server_has_pgvector(pg_server: pgserver.ServerState) -> None:
    import psycopg

    assert pgserver.status(pg_server.pgdata).running
    with psycopg.connect(pg_server.url) as conn:
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0] >= "0.6"


def test_build_then_search_like_the_file_store(pg_settings: Settings) -> None:
    from govassist.store import build, open_store

    r = postgres.build(pg_settings, progress=False)
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"] and r.reused_docs == []
    assert r.skipped == {"empty-file.txt": "empty-file.txt: empty file: nothing to index"}
    store = postgres.PgStore(pg_settings)
    assert sorted(store.docs) == ["syn-compact", "syn-g7", "syn-report"]
    assert store.manifest["embedder"] == "hash:256" and store.manifest["dim"] == 256
    assert len(store.manifest["docs"]["syn-g7"]["sha256"]) == 64
    # this replica's answer cache holds every quotable sentence of the new version
    assert any(n.startswith("quotable sentences: ") for n in r.notes)
    with np.load(sentvec.cache_file(pg_settings)) as z:
        cached = set(json.loads(z["texts"].tobytes()))
    assert {x for c in store.chunks for x in sentvec.quotable(c.text)} <= cached

    file_settings = pg_settings.model_copy(update={"database_url": None})
    build(file_settings, progress=False)
    files = open_store(file_settings)
    assert sorted(c.id for c in store.chunks) == sorted(c.id for c in files.chunks)
    assert len(store.chunks) == store.manifest["counts"]["chunks"]
    assert [c.id for c in store.doc_chunks("syn-g7")] == [c.id for c in files.doc_chunks("syn-g7")]
    q = "independent international scientific panel on artificial intelligence"
    for mode in ("default", "fused", "dense", "bm25"):
        pg_ids = [h.chunk.id for h in search(store, q, pg_settings, k=5, mode=mode)]
        file_ids = [h.chunk.id for h in search(files, q, pg_settings, k=5, mode=mode)]
        assert pg_ids[0] == "syn-compact#4", mode
        if mode == "dense":
            assert pg_ids == file_ids
    hits = search(store, 'which text says "open research environment"', pg_settings, k=5)
    assert hits[0].chunk.id == "syn-g7#3"
    assert store.lexical("the and of", 5) == []  # only stop words: nothing to match


def test_unchanged_rebuild_is_a_no_op_and_a_change_reembeds_one_document(pg_settings: Settings) -> None:
    first = postgres.build(pg_settings, progress=False)
    first_docs = postgres.PgStore(pg_settings).manifest["docs"]
    compact = [c.id for c in postgres.PgStore(pg_settings).doc_chunks("syn-compact")]
    again = postgres.build(pg_settings, progress=False)
    assert not again.changed and again.version == first.version and again.embedded_docs == []

    g7 = pg_settings.corpus_dir / G7
    g7.write_text(g7.read_text() + "\n4.  We will meet again next year in Canada.\n")
    second = postgres.build(pg_settings, progress=False)
    assert second.version > first.version
    assert second.embedded_docs == ["syn-g7"] and sorted(second.reused_docs) == ["syn-compact", "syn-report"]
    n_g7 = second.chunks - sum(first_docs[d]["chunks"] for d in ("syn-compact", "syn-report"))
    assert f"embedded 1 of the {n_g7} chunks of new or changed documents" in second.notes  # only the new paragraph
    store = postgres.PgStore(pg_settings)
    assert "syn-g7#4" in {c.id for c in store.doc_chunks("syn-g7")}
    assert [c.id for c in store.doc_chunks("syn-compact")] == compact  # copied inside the database

    g7.write_text(g7.read_text() + "\n5.  A last paragraph.\n")
    third = postgres.build(pg_settings, progress=False)
    assert third.pruned == [first.version]  # the current version and one before it are kept
    assert {t for t in _tables(pg_settings.database_url) if t.startswith("chunks_")} == {
        f"chunks_v{second.version}",
        f"chunks_v{third.version}",
    }


def test_a_catalogued_text_whose_file_breaks_keeps_its_indexed_version(pg_settings: Settings) -> None:
    postgres.build(pg_settings, progress=False)
    ids = [c.id for c in postgres.PgStore(pg_settings).doc_chunks("syn-g7")]
    (pg_settings.corpus_dir / G7).write_bytes(b"%PDF-1.7\n% a PDF saved under the text's name\n")
    r = postgres.build(pg_settings, progress=False)
    assert G7 in r.skipped and any("keeps serving the version of 'syn-g7' built before" in n for n in r.notes)
    assert [c.id for c in postgres.PgStore(pg_settings).doc_chunks("syn-g7")] == ids


def test_reader_follows_the_current_version_without_restart(pg_settings: Settings) -> None:
    v1 = postgres.build(pg_settings, progress=False).version
    following = postgres.PgStore(pg_settings, recheck_s=0)
    pinned = postgres.PgStore(pg_settings, recheck_s=3600)
    catalog.remove(pg_settings.catalog_file, pg_settings.corpus_dir, "syn-g7")  # a missing file alone keeps the text
    v2 = postgres.build(pg_settings, progress=False).version
    assert following.manifest["version"] == v2 and "syn-g7" not in following.docs
    assert pinned.manifest["version"] == v1 and "syn-g7" in pinned.docs  # stays on its version until it rechecks
    assert pinned.refresh().id == v2 and "syn-g7" not in pinned.docs
    assert pinned.docs["syn-g7"].label == "Syn. G7 Ministerial"  # a request straddling the switch still resolves


def test_searches_from_many_threads_survive_rebuilds_that_switch_and_prune(pg_settings: Settings) -> None:
    postgres.build(pg_settings, progress=False)
    store = postgres.PgStore(pg_settings, recheck_s=0)
    g7 = pg_settings.corpus_dir / G7
    text = g7.read_text()
    errors: list[BaseException] = []
    versions: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                hits = search(store, "semiconductors supply chains and quantum research", pg_settings, k=5)
                assert hits and all(h.doc.id == h.chunk.doc_id for h in hits)
                versions.add(store.manifest["version"])
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    try:
        for i in range(4):  # the G7 text leaves, comes back changed, leaves, ...
            if i % 2:
                g7.write_text(text + f"\n4.  Round {i}.\n")
            else:
                g7.unlink()
            postgres.build(pg_settings, progress=False)
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=60)
    assert not errors, errors[0]
    assert len(versions) >= 2


def test_filters_are_sql_and_return_k_hits_from_the_allowed_documents(pg_settings: Settings) -> None:
    postgres.build(pg_settings, progress=False)
    store = postgres.PgStore(pg_settings)
    q = "semiconductors supply chains"
    only_ttc = search(store, q, pg_settings, k=10, filters=Filters(collections=("ttc",)))
    assert only_ttc and {h.doc.id for h in only_ttc} == {"syn-report"}
    g7 = search(store, q, pg_settings, k=10, filters=Filters(doc_ids=("syn-g7",)))
    assert {h.doc.id for h in g7} == {"syn-g7"}
    dated = search(store, q, pg_settings, k=10, filters=Filters(date_from="2024-01-01", date_to="2024-06-30"))
    assert {h.doc.id for h in dated} == {"syn-report"}
    assert search(store, q, pg_settings, filters=Filters(collections=("WSIS",))) == []

    n_g7 = len(store.doc_chunks("syn-g7"))
    qvec = query_vector(pg_settings, q)
    exact = store.dense(qvec, 50, {"syn-g7"})
    assert len(exact) == n_g7 and {c.doc_id for c, _ in exact} == {"syn-g7"}
    hnsw_store = postgres.PgStore(pg_settings.model_copy(update={"pg_exact_max": 0}))  # forces the HNSW path
    via_hnsw = hnsw_store.dense(qvec, 50, {"syn-g7"})
    assert [c.id for c, _ in via_hnsw] == [c.id for c, _ in exact]
    lex = store.lexical(q, 50, {"syn-report"})
    assert lex and {c.doc_id for c, _ in lex} == {"syn-report"}


def test_no_database_or_no_index_says_what_to_do(pg_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="govassist db build"):
        postgres.PgStore(pg_settings)
    bad = pg_settings.model_copy(update={"database_url": f"postgresql://postgres@/x?host={tmp_path}"})
    with pytest.raises(ConfigError, match="govassist db start"):
        postgres.build(bad, progress=False)
    with pytest.raises(ConfigError, match="GOVASSIST_DATABASE_URL"):
        postgres.build(pg_settings.model_copy(update={"database_url": None}), progress=False)


PAUSED_BUILD = """
import sys, time
from govassist.store import postgres
from govassist.settings import load_settings

def stage(msg):
    if msg == "index version":
        print("PAUSED", flush=True)
        time.sleep(600)

postgres.build(load_settings(), progress=False, on_stage=stage)
"""


def _read_line(proc: subprocess.Popen, timeout: float = 120) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError("child process said nothing")
    return proc.stdout.readline().strip()


def test_killed_build_leaves_the_previous_version_serving(pg_settings: Settings) -> None:
    v1 = postgres.build(pg_settings, progress=False).version
    before = [c.id for c in postgres.PgStore(pg_settings).doc_chunks("syn-g7")]
    (pg_settings.corpus_dir / G7).write_text("1. Changed.\n\n2. Changed too.\n\n3. And this.\n")
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED_BUILD], env=_env(pg_settings), stdout=subprocess.PIPE, text=True
    )
    try:
        assert _read_line(child) == "PAUSED"  # rows of the new version written, inside its transaction
        with pytest.raises(BuildLockedError, match="another database build is running"):
            postgres.build(pg_settings, progress=False)
        reader = postgres.PgStore(pg_settings, recheck_s=0)
        assert reader.manifest["version"] == v1 and [c.id for c in reader.doc_chunks("syn-g7")] == before
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert reader.manifest["version"] == v1 and [c.id for c in reader.doc_chunks("syn-g7")] == before
    assert {t for t in _tables(pg_settings.database_url) if t.startswith("chunks_")} == {f"chunks_v{v1}"}
    for _ in range(50):  # the server notices the dead client's socket and frees its lock
        try:
            r = postgres.build(pg_settings, progress=False)
            break
        except BuildLockedError:
            time.sleep(0.2)
    assert r.embedded_docs == ["syn-g7"] and r.version > v1
    assert "Changed too." in " ".join(c.text for c in reader.doc_chunks("syn-g7"))


def test_a_pinned_block_reads_one_version_while_a_rebuild_switches(pg_settings: Settings) -> None:
    v1 = postgres.build(pg_settings, progress=False).version
    store = postgres.PgStore(pg_settings, recheck_s=0)  # unpinned, every read would look for a new version
    q = "where will the ministers meet next year"
    g7 = pg_settings.corpus_dir / G7
    with store.pinned() as held:
        before = [h.chunk.id for h in search(store, q, pg_settings, k=3)]
        g7.write_text(g7.read_text() + "\n4.  The ministers will meet again next year in Canada.\n")
        v2 = postgres.build(pg_settings, progress=False).version
        assert held.id == v1 and store.manifest["version"] == v1
        assert [h.chunk.id for h in search(store, q, pg_settings, k=3)] == before and "syn-g7#4" not in before
    assert store.manifest["version"] == v2 > v1
    assert search(store, q, pg_settings, k=3)[0].chunk.id == "syn-g7#4"


APP = """
import json, sys
from govassist.retrieve import search
from govassist.settings import load_settings
from govassist.store import open_store, postgres

s = load_settings()
store = open_store(s)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "build":
        out = {"version": postgres.build(s, progress=False).version}
    else:
        with store.pinned():  # the version reported is the one searched
            hits = search(store, cmd["q"], s, k=3)
            out = {"version": store.manifest["version"], "ids": [h.chunk.id for h in hits]}
    print(json.dumps(out), flush=True)
"""


def test_two_app_processes_share_one_database_and_see_a_rebuild(pg_settings: Settings) -> None:
    v1 = postgres.build(pg_settings, progress=False).version
    apps = [
        subprocess.Popen(
            [sys.executable, "-c", APP],
            env=_env(pg_settings),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    def ask(proc: subprocess.Popen, **cmd: str) -> dict:
        proc.stdin.write(json.dumps(cmd) + "\n")
        proc.stdin.flush()
        return json.loads(_read_line(proc))

    try:
        for p in apps:
            assert json.loads(_read_line(p)) == {"ready": True}
        q = "where will the ministers meet next year"
        first = [ask(p, op="search", q=q) for p in apps]
        assert first[0] == first[1] and first[0]["version"] == v1 and "syn-g7#4" not in first[0]["ids"]

        g7 = pg_settings.corpus_dir / G7
        g7.write_text(g7.read_text() + "\n4.  The ministers will meet again next year in Canada.\n")
        v2 = ask(apps[0], op="build")["version"]
        assert v2 > v1
        seen = {}
        for _ in range(100):  # each app rechecks the current version at most every RECHECK_S
            seen = ask(apps[1], op="search", q=q)
            if seen["version"] == v2:
                break
            time.sleep(0.05)
        assert seen["version"] == v2 and seen["ids"][0] == "syn-g7#4"
        assert ask(apps[0], op="search", q=q)["ids"][0] == "syn-g7#4"
    finally:
        for p in apps:
            p.stdin.close()
            p.wait(timeout=30)


def test_open_store_build_and_info_pick_the_backend(pg_settings: Settings) -> None:
    from govassist.store import build, info, open_store
    from govassist.store.files import FileStore

    file_settings = pg_settings.model_copy(update={"database_url": None})
    files_report = build(file_settings, progress=False)
    assert files_report.path is not None and files_report.version is None
    assert isinstance(open_store(file_settings), FileStore)
    pg_report = build(pg_settings, progress=False)  # store.build routes to the database when the URL is set
    assert pg_report.path is None and pg_report.version is not None
    assert isinstance(open_store(pg_settings), postgres.PgStore)
    assert postgres.info(pg_settings)["versions"][0]["counts"]["documents"] == 3
    # `index info` describes whichever backend is configured, in one shape
    on_disk, in_db = info(file_settings), info(pg_settings)
    assert in_db["path"] == f"PostgreSQL version {pg_report.version}" and in_db["bytes"] > 0
    assert in_db["docs"] == on_disk["docs"] and in_db["counts"] == on_disk["counts"]


@pytest.mark.integration
def test_parity_with_the_file_store_on_the_development_questions(real_settings, real_store, pg_url: str) -> None:
    """Top-10 overlap per mode, and Recall@5 of the default pipeline, PostgreSQL vs FAISS + bm25s."""
    from ranx import Qrels, Run, evaluate

    from govassist.evaluate import build_qrels, load_questions, passage_key

    s = real_settings.model_copy(update={"database_url": pg_url})
    r = postgres.build(s, progress=False, seed=files.read_previous(s))
    assert r.embedded_docs == [] and len(r.seeded_docs) == r.documents  # vectors taken over, not re-embedded
    pg = postgres.PgStore(s)
    questions = load_questions(ROOT / "eval" / "questions.jsonl")
    overlap: dict[str, float] = {}
    runs: dict[str, dict[str, dict[str, float]]] = {"files": {}, "pg": {}}
    for mode in ("dense", "bm25", "fused", "default"):
        shares = []
        for q in questions:
            a = search(real_store, q.query, s, k=10, mode=mode)
            b = search(pg, q.query, s, k=10, mode=mode)
            shares.append(len({h.chunk.id for h in a} & {h.chunk.id for h in b}) / max(1, len(a)))
            if mode == "default":
                for name, hits in (("files", a), ("pg", b)):
                    ranked: dict[str, float] = {}
                    for h in hits:
                        ranked.setdefault(passage_key(h.chunk), 1.0 / (len(ranked) + 1))
                    runs[name][q.qid] = ranked
        overlap[mode] = sum(shares) / len(shares)
    qrels = build_qrels(questions, real_store)
    recall = {
        name: float(evaluate(Qrels(qrels), Run(run, name=name), "recall@5", make_comparable=True))
        for name, run in runs.items()
    }
    print(f"\nparity: top-10 overlap {overlap}; recall@5 {recall}")
    assert overlap["dense"] >= 0.95
    assert overlap["default"] >= 0.9 and overlap["fused"] >= 0.9
    assert abs(recall["pg"] - recall["files"]) <= 0.02


def test_db_cli_builds_and_reports_versions(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from govassist.cli import app

    for key, value in _env(pg_settings).items():
        if key.startswith("GOVASSIST_"):
            monkeypatch.setenv(key, value)
    runner = CliRunner()
    built = runner.invoke(app, ["db", "build", "--json"])
    assert built.exit_code == 0, built.output
    report = json.loads(built.stdout)
    assert report["documents"] == 3 and report["changed"]
    status = runner.invoke(app, ["db", "status", "--json", "--data", str(pg_settings.data_dir / "no-server")])
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["local"]["running"] is False
    assert data["database"]["current"] == report["version"]
    assert data["database"]["versions"][0]["counts"]["chunks"] == report["chunks"]
    again = runner.invoke(app, ["db", "build"])
    assert again.exit_code == 0 and again.stdout.startswith(f"unchanged v{report['version']}")


def test_db_build_from_files_seeds_an_empty_database(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from govassist.cli import app
    from govassist.store import build

    build(pg_settings.model_copy(update={"database_url": None}), progress=False)  # the file index to move
    for key, value in _env(pg_settings).items():
        if key.startswith("GOVASSIST_"):
            monkeypatch.setenv(key, value)
    built = CliRunner().invoke(app, ["db", "build", "--from-files", "--json"])
    assert built.exit_code == 0, built.output
    report = json.loads(built.stdout)
    assert sorted(report["seeded_docs"]) == ["syn-compact", "syn-g7", "syn-report"] and report["embedded_docs"] == []
    assert "path" not in report and report["version"] >= 1


def test_db_build_from_files_takes_chunks_and_vectors_as_the_file_index_has_them(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from govassist.cli import app
    from govassist.errors import IndexMismatchError
    from govassist.store import build, open_store
    from govassist.store.plan import CHUNKER_VERSION

    for key, value in _env(pg_settings).items():
        if key.startswith("GOVASSIST_"):
            monkeypatch.setenv(key, value)
    missing = CliRunner().invoke(app, ["db", "build", "--from-files"])
    assert isinstance(missing.exception, IndexMissingError) and "no file index at" in str(missing.exception)

    file_settings = pg_settings.model_copy(update={"database_url": None})
    build(file_settings, progress=False)
    on_disk = open_store(file_settings)
    r = postgres.build(pg_settings, progress=False, seed=files.read_previous(pg_settings))
    assert sorted(r.seeded_docs) == ["syn-compact", "syn-g7", "syn-report"] and r.embedded_docs == []
    store = postgres.PgStore(pg_settings)
    assert sorted(store.chunks, key=lambda c: c.id) == sorted(on_disk.chunks, key=lambda c: c.id)
    rows = store._query("SELECT id, embedding FROM {t}", ())
    assert len(rows) == len(on_disk.chunks)
    for cid, vec in rows:
        assert np.array_equal(np.asarray(vec.to_numpy(), dtype=np.float32), on_disk.vectors[on_disk.by_id[cid]])

    manifest = file_settings.current_index / "manifest.json"
    m = json.loads(manifest.read_text())
    m["chunker"]["version"] = CHUNKER_VERSION - 1
    manifest.write_text(json.dumps(m))
    old = CliRunner().invoke(app, ["db", "build", "--from-files"])
    assert isinstance(old.exception, IndexMismatchError)
    assert f"chunked by chunker version {CHUNKER_VERSION - 1}" in str(old.exception)


def test_the_embedding_recipe_is_recorded_and_another_one_rebuilds_everything(pg_settings: Settings) -> None:
    from govassist.errors import IndexMismatchError
    from govassist.store.plan import header_text

    postgres.build(pg_settings, progress=False)
    store = postgres.PgStore(pg_settings)
    assert store.manifest["embed_recipe"] == {"header": "forum", "bm25": "forum", "spelling": "american"}
    c = store.doc_chunks("syn-g7")[0]
    rows = store._query("SELECT search_text, embed_text FROM {t} WHERE id = %s", (c.id,))
    assert rows == [(header_text(c, store.docs["syn-g7"], "forum"),) * 2]
    plain = pg_settings.model_copy(update={"embed_header": "none", "bm25_header": "none"})
    with pytest.raises(IndexMismatchError, match="embedding recipe"):
        postgres.PgStore(plain, recheck_s=0)
    r = postgres.build(plain, progress=False)
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"] and r.reused_docs == []


def test_an_older_chunkers_version_is_served_but_needs_a_build(pg_settings: Settings) -> None:
    import psycopg

    from govassist.cli import needs_build
    from govassist.store import info
    from govassist.store.plan import CHUNKER_VERSION

    assert needs_build(pg_settings)  # the database holds no index yet
    first = postgres.build(pg_settings, progress=False)
    assert not needs_build(pg_settings)
    with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {postgres.SCHEMA}.versions SET manifest = jsonb_set(manifest, '{{chunker,version}}', %s::jsonb)",
            (str(CHUNKER_VERSION - 1),),
        )
    assert needs_build(pg_settings)
    assert postgres.PgStore(pg_settings, recheck_s=0).chunk_count > 0  # still answers
    assert f"chunker version {CHUNKER_VERSION - 1}" in info(pg_settings)["outdated"]
    r = postgres.build(pg_settings, progress=False)
    assert r.version != first.version and sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"]
    assert not needs_build(pg_settings) and info(pg_settings)["outdated"] is None


def test_a_build_releases_its_lock_before_it_returns(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # closing the connection frees the lock only once the server's backend has exited, which can lag: a build started
    # right after another one was refused (CI, once); the lock is released by the build itself, then the connection
    # closed
    import psycopg

    said: list[str] = []

    class Spy(psycopg.Connection):
        def execute(self, query, *args, **kwargs):
            said.append(str(query))
            return super().execute(query, *args, **kwargs)

        def close(self) -> None:
            said.append("CLOSE")
            super().close()

    monkeypatch.setattr(postgres, "_connect", lambda url, autocommit=True: Spy.connect(url, autocommit=autocommit))
    for change in (True, False):  # a build that writes a version, and one that finds nothing changed
        if change:
            (pg_settings.corpus_dir / G7).write_text("1. Changed.\n\n2. Changed too.\n")
        said.clear()
        postgres.build(pg_settings, progress=False)
        locked = [i for i, q in enumerate(said) if "pg_try_advisory_lock" in q]
        unlocked = [i for i, q in enumerate(said) if "pg_advisory_unlock_all" in q]
        assert locked and unlocked and locked[0] < unlocked[-1] < said.index("CLOSE"), said
        with psycopg.connect(pg_settings.database_url, autocommit=True) as other:  # free at once, not eventually
            assert other.execute("SELECT pg_try_advisory_lock(%s)", (postgres.LOCK_KEY,)).fetchone()[0]
