"""The CLI's machine interface and its one-line errors, run in-process on the synthetic corpus."""

import json

import pytest
from typer.testing import CliRunner

from govassist.cli import app, main
from govassist.settings import Settings


@pytest.fixture
def env(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    return mini_settings


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def run_main(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["govassist", *args])
    with pytest.raises(SystemExit) as ex:
        main()
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


def test_build_exit_code_2_when_files_were_skipped(env: Settings) -> None:
    r = run("index", "build", "--no-progress")
    assert r.exit_code == 2
    assert "skipped: empty-file.txt: empty file" in r.output


def test_search_json_shape(env: Settings) -> None:
    run("index", "build", "--no-progress")
    r = run("search", "scientific panel on artificial intelligence", "--k", "3", "--json")
    data = json.loads(r.output)
    assert data["query"] == "scientific panel on artificial intelligence"
    hit = data["hits"][0]
    assert {"rank", "score", "chunk_id", "doc_id", "label", "para", "page", "source", "text"} <= set(hit)
    assert (hit["rank"], hit["chunk_id"], hit["source"]) == (1, "syn-compact#4", "synthetic-un-compact.txt")


def test_search_batch_prints_one_line_per_query(env: Settings, tmp_path) -> None:
    run("index", "build", "--no-progress")
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"qid": "a", "query": "quantum computing"}\n{"qid": "b", "query": "submarine cables"}\n')
    r = run("search", "--batch", str(batch), "--k", "2", "--json")
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert [x["qid"] for x in lines] == ["a", "b"] and all(len(x["hits"]) == 2 for x in lines)


def test_ask_json_carries_answer_and_citations(env: Settings) -> None:
    run("index", "build", "--no-progress")
    data = json.loads(run("ask", "Who will connect schools and hospitals?", "--json").output)
    assert data["answer"] and data["citations"]
    assert {"chunk_id", "doc_id", "label", "para", "page", "source", "text"} <= set(data["citations"][0])
    assert data["support"] == "direct"


def test_ask_searches_within_the_forum_the_question_names_and_says_so(env: Settings) -> None:
    run("index", "build", "--no-progress")
    data = json.loads(run("ask", "What did the UN say about quantum computing research?", "--json").output)
    assert data["citations"] and {c["doc_id"] for c in data["citations"]} == {"syn-compact"}
    assert "searched within what the question names: collection UN" in data["notes"]
    plain = run("ask", "What did the UN say about quantum computing research?").output
    assert "note: searched within what the question names: collection UN" in plain


def test_ask_says_how_strong_the_support_is(env: Settings) -> None:
    from govassist.answer import CLOSEST_LEAD

    run("index", "build", "--no-progress")
    data = json.loads(run("ask", "What did the Kananaskis summit say about schools and hospitals?", "--json").output)
    assert data["support"] == "closest" and data["answer"].startswith(CLOSEST_LEAD) and data["citations"]
    plain = run("ask", "What did the Kananaskis summit say about schools and hospitals?").output
    assert plain.startswith(CLOSEST_LEAD) and "support: closest" in plain
    with env.catalog_file.open("a", encoding="utf-8") as fh:
        fh.write('\n[[doc]]\nid = "syn-pact"\ntitle = "Synthetic Digital Pact"\nlabel = "SDP"\nfile = "pact.pdf"\n')
    out = run("ask", "What does the SDP say about schools?").output
    assert out.startswith("The Synthetic Digital Pact (SDP) is catalogued but not indexed here")
    assert "no address to fetch it from: copy the file into the corpus folder as `pact.pdf`" in out  # no url
    assert out.count("catalogued but not indexed") == 1  # said once, not again as a note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", ""), "the question is empty"),
        (("search", "x", "--k", "0"), "k must be between 1 and 50"),
        (("ask", "   "), "the question is empty"),
        (("search", "x", "--from", "15/03/2024"), "--from '15/03/2024' is not a date: use YYYY-MM-DD"),
        (("ask", "x", "--to", "2024-13-01"), "--to '2024-13-01' is not a date"),
        (("search", "x", "--from", "2024", "--to", "2023"), "--from 2024-01-01 is after --to 2023-12-31"),
        (("ask", "x", "-c", "NOPE"), "no indexed document is in collection 'NOPE': use one of G7, TTC, UN"),
        (
            ("search", "x", "--doc", "syn-compac"),
            "no indexed document has the id 'syn-compac': did you mean syn-compact",
        ),
        (("ask", "x", "--status", "final"), "no indexed document has the status 'final': use one of adopted, draft"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(env: Settings, capsys, monkeypatch, args, message) -> None:
    run("index", "build", "--no-progress")
    code, _out, err = run_main(capsys, monkeypatch, *args)
    assert code == 1 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_missing_index_is_a_clear_message(env: Settings, capsys, monkeypatch) -> None:
    code, _out, err = run_main(capsys, monkeypatch, "search", "anything")
    assert code == 1 and "no index at" in err and "govassist index build" in err


def test_settings_hides_secrets(env: Settings, monkeypatch) -> None:
    monkeypatch.setenv("GOVASSIST_LLM_API_KEY", "sekrit")
    data = json.loads(run("settings", "--json").output)
    assert data["llm_api_key"] == "***" and data["embed_model"] == "hash:256"


def test_toml_file_is_read_and_env_wins(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text('k = 5\nembed_model = "from-toml"\n')
    monkeypatch.setenv("GOVASSIST_CONFIG", str(cfg))
    monkeypatch.setenv("GOVASSIST_EMBED_MODEL", "from-env")
    s = Settings()
    assert (s.k, s.embed_model) == (5, "from-env")


def test_run_starts_the_chainlit_app_found_through_the_package(mini_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    from pathlib import Path

    import govassist
    from govassist.cli import chat_app_path

    for key in ("corpus_dir", "catalog_file", "index_dir", "data_dir", "embed_model", "mirror_dir"):
        monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(getattr(mini_settings, key)))
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda argv, env=None: calls.append(argv) or 0)
    res = CliRunner().invoke(app, ["run", "--port", "8123"])
    assert res.exit_code == 0, res.output
    app_py = Path(govassist.__file__).parent / "chat_app.py"
    assert chat_app_path() == app_py and app_py.is_file()
    assert calls == [
        [sys.executable, "-m", "chainlit", "run", str(app_py), "--headless", "--host", "127.0.0.1", "--port", "8123"]
    ]


def test_run_rebuilds_an_index_of_an_older_chunker_that_open_still_serves(
    env: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from govassist.cli import needs_build
    from govassist.store import files, info, open_store
    from govassist.store.plan import CHUNKER_VERSION

    run("index", "build", "--no-progress")
    manifest = env.current_index / "manifest.json"
    m = json.loads(manifest.read_text())
    m["chunker"]["version"] = CHUNKER_VERSION - 1  # an index cut by the previous release's chunker
    manifest.write_text(json.dumps(m))
    old = env.current_index.resolve()

    caplog.set_level(logging.WARNING, logger="govassist.store")
    # the old index still answers: it is served, saying it is outdated (log and `index info`)
    assert open_store(env).chunk_count > 0
    assert f"chunker version {CHUNKER_VERSION - 1}" in caplog.text
    assert f"chunker version {CHUNKER_VERSION - 1}" in info(env)["outdated"]
    assert f"note: the index was chunked by chunker version {CHUNKER_VERSION - 1}" in run("index", "info").output

    # `run` decides from the manifest alone, and rebuilds
    def no_open(_s: Settings) -> None:
        raise AssertionError("needs_build opened the index")

    with monkeypatch.context() as m:
        m.setattr(files, "open_index", no_open)
        assert needs_build(env)
    res = run("run", "--no-chat")
    assert "index built: 3 documents" in res.output
    assert env.current_index.resolve() != old
    assert json.loads(manifest.read_text())["chunker"]["version"] == CHUNKER_VERSION
    assert not needs_build(env) and info(env)["outdated"] is None
    assert "index built" not in run("run", "--no-chat").output  # current now: nothing to build


# --- corpus commands: symbolic links, odd names, missing paths, disk full, staff flows (issue 17) -------------


@pytest.fixture
def work(env: Settings, tmp_path, monkeypatch) -> Settings:
    """The CLI run from tmp_path/work, with a source text there and a folder outside it."""
    (tmp_path / "work").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "work" / "new.txt").write_text("1. We resolve to keep the network open.\n")
    monkeypatch.chdir(tmp_path / "work")
    return env


def catalog_ids(s: Settings) -> list[str]:
    from govassist.catalog import load_catalog

    return [d.id for d in load_catalog(s.catalog_file)]


def one_line_error(code: int, err: str, *parts: str) -> None:
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "\x1b" not in err and "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)


def test_corpus_add_refuses_to_write_through_a_link(work: Settings, tmp_path, capsys, monkeypatch) -> None:
    victim = tmp_path / "outside" / "victim.txt"
    victim.write_text("ORIGINAL")
    (work.corpus_dir / "victim.txt").symlink_to(victim)
    args = ("corpus", "add", "new.txt", "--id", "victim-doc", "--title", "V", "--file", "victim.txt")
    code, _out, err = run_main(capsys, monkeypatch, *args)
    one_line_error(code, err, "victim.txt: it is a symbolic link; not written through")
    assert victim.read_text() == "ORIGINAL" and "victim-doc" not in catalog_ids(work)


def test_corpus_add_refuses_a_source_that_is_a_link(work: Settings, tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "work" / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (tmp_path / "outside" / "secret.txt").write_text("1. Secret.\n")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "link.txt", "--id", "l", "--title", "L")
    one_line_error(code, err, "link.txt: a symbolic link (not followed)")
    assert not (work.corpus_dir / "link.txt").exists()


def _extra_entry(s: Settings, file: str = "extra.txt") -> None:
    with s.catalog_file.open("a") as fh:
        fh.write(f'\n[[doc]]\nid = "extra"\ntitle = "Extra"\nlabel = "Extra"\nfile = "{file}"\n')


def test_corpus_fetch_refuses_a_dangling_link_and_exits_2(work: Settings, tmp_path) -> None:
    _extra_entry(work)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "extra.txt").write_text("1. Extra text.\n")
    target = tmp_path / "outside" / "created.txt"
    (work.corpus_dir / "extra.txt").symlink_to(target)  # dangling
    r = CliRunner().invoke(app, ["corpus", "fetch", "--mirror", str(mirror), "--no-download"])
    assert r.exit_code == 2 and not target.exists()
    assert "refused 1" in r.output
    assert f"  refused: extra: {work.corpus_dir / 'extra.txt'}: it is a symbolic link; not written through" in r.output


def test_corpus_fetch_does_not_read_through_a_link_in_the_mirror(work: Settings, tmp_path) -> None:
    _extra_entry(work)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("1. Secret.\n")
    (mirror / "extra.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    r = CliRunner().invoke(app, ["corpus", "fetch", "--mirror", str(mirror), "--no-download"])
    assert r.exit_code == 2 and "refused: extra:" in r.output and "not read through" in r.output
    assert not (work.corpus_dir / "extra.txt").exists()


def test_build_lists_linked_files_as_skipped_and_exits_2(work: Settings, tmp_path) -> None:
    (tmp_path / "outside" / "secret.txt").write_text("1. A private note.\n")
    (work.corpus_dir / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (tmp_path / "outside" / "sub").mkdir()
    (tmp_path / "outside" / "sub" / "deep.txt").write_text("1. Another private note.\n")
    (work.corpus_dir / "sub").symlink_to(tmp_path / "outside" / "sub")
    _extra_entry(work, "sub/deep.txt")
    r = run("index", "build", "--no-progress")
    assert r.exit_code == 2 and "skipped 3 " in r.output
    assert "  skipped: link.txt: it is a symbolic link (not followed)" in r.output
    assert "  skipped: deep.txt: its folder sub is a symbolic link (not followed)" in r.output
    assert "private note" not in (work.current_index / "chunks.jsonl").read_text()


def test_corpus_add_warns_about_a_source_outside_the_working_tree(work: Settings, tmp_path, capsys, monkeypatch):
    far = tmp_path / "outside" / "far.txt"
    far.write_text("1. From far away.\n")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", str(far), "--id", "far", "--title", "Far")
    assert code == 0 and "far" in catalog_ids(work)
    assert err == f"warning: {far} lies outside the current folder and the mirror; copying it in anyway\n"
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "near", "--title", "Near")
    assert code == 0 and err == ""  # inside the working folder: no warning


def test_corpus_add_missing_paths_are_one_line(work: Settings, capsys, monkeypatch) -> None:
    code, _out, err = run_main(
        capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "x", "--title", "X", "--file", "nosuchdir/x.txt"
    )
    one_line_error(code, err, "nosuchdir/x.txt: no folder", "pass a plain --file name")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "gone.txt", "--id", "x", "--title", "X")
    one_line_error(code, err, "gone.txt: no such file; check the path")
    assert "x" not in catalog_ids(work)


def test_corpus_add_refuses_what_the_build_could_not_index_and_writes_nothing(work: Settings, capsys, monkeypatch):
    before = work.catalog_file.read_text()
    (work.corpus_dir.parent / "work" / "empty.txt").write_text("  \n")
    (work.corpus_dir.parent / "work" / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj")
    for name, said in (("empty.txt", "empty.txt: "), ("cut.pdf", "cut.pdf: ")):
        code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", name, "--id", "bad", "--title", "Bad")
        one_line_error(code, err, said)
        assert not (work.corpus_dir / name).exists()
    code, _out, err = run_main(
        capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "x", "--title", "X", "--date", "June 2024"
    )
    one_line_error(code, err, "date 'June 2024' is not a date: use YYYY-MM-DD")
    assert work.catalog_file.read_text() == before and not (work.corpus_dir / "new.txt").exists()


def test_corpus_add_does_not_overwrite_a_file_already_in_the_corpus(work: Settings, capsys, monkeypatch) -> None:
    (work.corpus_dir / "new.txt").write_text("1. Dropped in by hand.\n")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "n", "--title", "N")
    one_line_error(code, err, "new.txt: another file of that name is already in", "pass --file with another name")
    assert (work.corpus_dir / "new.txt").read_text() == "1. Dropped in by hand.\n" and "n" not in catalog_ids(work)
    code, _out, _err = run_main(
        capsys, monkeypatch, "corpus", "add", str(work.corpus_dir / "new.txt"), "--id", "n", "--title", "N"
    )
    assert code == 0 and "n" in catalog_ids(work)  # the file in the corpus folder itself is registered as it is


def test_corpus_add_keeps_the_catalog_readable_whatever_the_title_holds(work: Settings, capsys, monkeypatch) -> None:
    from govassist.catalog import load_catalog

    code, _out, _err = run_main(capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "d", "--title", "Bad\x7ftitle")
    assert code == 0 and next(d for d in load_catalog(work.catalog_file) if d.id == "d").title == "Bad\x7ftitle"


def test_odd_file_names_cannot_forge_lines_or_reach_the_terminal(work: Settings, tmp_path, capsys, monkeypatch) -> None:
    (work.corpus_dir / "bad\nOK: forged.txt").write_text("")
    (work.corpus_dir / "\x1b[31m.txt").write_text("1. Red text that is harmless once neutralised.\n")
    r = run("index", "build", "--no-progress")
    assert r.exit_code == 2 and "\x1b" not in r.output
    assert not any(line.startswith("OK: forged") for line in r.output.splitlines())
    assert "  skipped: bad OK: forged.txt: empty file" in r.output
    odd = tmp_path / "work" / "odd\nOK: forged\x1b[2J.docx"
    odd.write_text("x")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", str(odd), "--id", "odd", "--title", "O")
    one_line_error(code, err, "odd OK: forged [2J.docx: unsupported file type .docx")


def test_disk_full_during_corpus_add_is_one_line(work: Settings, capsys, monkeypatch) -> None:
    import errno

    import govassist.catalog as catalog

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(catalog.shutil, "copyfileobj", full)
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "n", "--title", "N")
    one_line_error(code, err, f"disk full writing {work.corpus_dir / 'new.txt'}: free some space")
    assert "n" not in catalog_ids(work) and not list(work.corpus_dir.glob(".*part"))


def test_disk_full_during_the_build_is_one_line(work: Settings, capsys, monkeypatch) -> None:
    import errno

    import govassist.store.files as index

    def full(path, *_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(index.np, "save", full)
    code, _out, err = run_main(capsys, monkeypatch, "index", "build", "--no-progress")
    one_line_error(code, err, "disk full writing ", "vectors", "free some space, then run the command again")


def test_corpus_add_refuses_unsupported_types_at_once(work: Settings, tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "work" / "notes.docx").write_bytes(b"PK\x03\x04")
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "add", "notes.docx", "--id", "notes", "--title", "N")
    one_line_error(code, err, "notes.docx: unsupported file type .docx; the corpus takes .pdf, .txt, .md")
    code, _out, err = run_main(
        capsys, monkeypatch, "corpus", "add", "new.txt", "--id", "n", "--title", "N", "--file", "n.rtf"
    )
    one_line_error(code, err, "n.rtf: unsupported file type .rtf")
    assert "notes" not in catalog_ids(work) and not (work.corpus_dir / "notes.docx").exists()


def test_markdown_suffix_is_one_definition_for_add_and_build(work: Settings, tmp_path) -> None:
    (tmp_path / "work" / "notes.markdown").write_text("1. We keep markdown files by either suffix.\n")
    assert run("corpus", "add", "notes.markdown", "--id", "md-long", "--title", "M").exit_code == 0
    assert (work.corpus_dir / "notes.markdown").is_file()
    run("index", "build", "--no-progress")
    assert '"doc_id": "md-long"' in (work.current_index / "chunks.jsonl").read_text()


def test_corpus_remove_drops_the_entry_and_the_file_and_says_the_index_waits(work: Settings, capsys, monkeypatch):
    before = catalog_ids(work)
    assert run("corpus", "add", "new.txt", "--id", "gone-soon", "--title", "G").exit_code == 0
    run("index", "build", "--no-progress")
    r = run("corpus", "remove", "gone-soon")
    assert r.exit_code == 0 and r.output == (
        f"removed gone-soon from the catalog and deleted {work.corpus_dir / 'new.txt'}; "
        "the index still holds it until `govassist index build`\n"
    )
    assert "gone-soon" not in catalog_ids(work) and not (work.corpus_dir / "new.txt").exists()
    assert catalog_ids(work) == before
    assert '"doc_id": "gone-soon"' in (work.current_index / "chunks.jsonl").read_text()  # until the next build
    run("index", "build", "--no-progress")
    assert "gone-soon" not in (work.current_index / "chunks.jsonl").read_text()
    code, _out, err = run_main(capsys, monkeypatch, "corpus", "remove", "gone-soon")
    one_line_error(code, err, "no catalog entry with id 'gone-soon'")


def test_corpus_remove_deletes_a_link_without_following_it(work: Settings, tmp_path) -> None:
    target = tmp_path / "outside" / "kept.txt"
    target.write_text("KEEP")
    _extra_entry(work)
    (work.corpus_dir / "extra.txt").symlink_to(target)
    assert run("corpus", "remove", "extra").exit_code == 0
    assert target.read_text() == "KEEP" and not (work.corpus_dir / "extra.txt").is_symlink()


def test_every_corpus_option_has_help() -> None:
    import typer.main

    corpus = typer.main.get_command(app).commands["corpus"]  # type: ignore[attr-defined]
    for name, cmd in corpus.commands.items():
        for param in cmd.params:
            assert getattr(param, "help", None), (name, param.name)
    add = {p.name: p.help for p in corpus.commands["add"].params}
    assert "YYYY-MM-DD" in add["date"] and "adopted | draft | non-binding" in add["status"]
    assert add["collection"] and add["forum"] and add["type"]


def test_corpus_list_marks_a_linked_file_and_prints_labels_inert(work: Settings, tmp_path) -> None:
    (tmp_path / "outside" / "x.txt").write_text("1. X.\n")
    with work.catalog_file.open("a") as fh:
        fh.write('\n[[doc]]\nid = "extra"\ntitle = "E"\nlabel = "Red \\u001b[31m label"\nfile = "extra.txt"\n')
    (work.corpus_dir / "extra.txt").symlink_to(tmp_path / "outside" / "x.txt")
    r = run("corpus", "list")
    line = next(x for x in r.output.splitlines() if " extra " in x)
    assert line.startswith("! extra") and line.endswith("Red  [31m label  (a symbolic link: the build skips it)")
    assert "\x1b" not in r.output


def test_run_builds_when_the_index_is_missing_or_from_another_recipe(mini_settings) -> None:
    import json

    from govassist.cli import needs_build
    from govassist.store import build

    assert needs_build(mini_settings)  # nothing built yet
    build(mini_settings, progress=False)
    assert not needs_build(mini_settings)
    manifest = mini_settings.current_index / "manifest.json"
    m = json.loads(manifest.read_text())
    m.pop("embed_recipe", None)  # an index of the previous release: embedded without headers
    manifest.write_text(json.dumps(m))
    assert needs_build(mini_settings)


def test_a_build_refused_because_another_runs_exits_3(env: Settings, capsys, monkeypatch) -> None:
    from govassist.store.files import build_lock

    with build_lock(env.index_dir):
        code, _out, err = run_main(capsys, monkeypatch, "index", "build", "--no-progress")
    assert code == 3 and err.startswith("error: ") and "--wait" in err
