"""Index build: incremental re-embedding, atomic switch, bad files skipped with reasons, manifest checks."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import record_embedded

from govassist.errors import BuildLockedError, IndexMismatchError, IndexMissingError
from govassist.settings import Settings
from govassist.store import build, info, open_store
from govassist.store import files as index
from govassist.store.files import build_lock
from govassist.store.plan import CHUNKER_VERSION, FORMAT, chunker_settings, embed_recipe, header_text, mismatch


def test_first_build_indexes_good_files_and_names_the_bad_one(mini_settings: Settings) -> None:
    r = build(mini_settings, progress=False)
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"]
    assert r.skipped == {"empty-file.txt": "empty-file.txt: empty file: nothing to index"}
    current = mini_settings.current_index
    assert current.is_symlink() and (current / "manifest.json").exists()
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["embedder"] == "hash:256" and manifest["dim"] == 256
    assert manifest["chunker"] == {"version": manifest["chunker"]["version"], "max_chars": 1200, "min_chars": 200}
    assert set(manifest["docs"]) == {"syn-compact", "syn-g7", "syn-report"}
    assert len(manifest["docs"]["syn-g7"]["sha256"]) == 64
    assert manifest["skipped"] == r.skipped


def test_rebuild_reembeds_only_the_changed_document(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    build(mini_settings, progress=False)
    first = mini_settings.current_index.resolve()
    again = build(mini_settings, progress=False)
    assert not again.changed and again.embedded_docs == [] and mini_settings.current_index.resolve() == first

    before = open_store(mini_settings)
    g7 = mini_settings.corpus_dir / "synthetic-g7-ministerial.md"
    g7.write_text(g7.read_text() + "\n4.  We will meet again next year in Canada.\n")
    seen = record_embedded(monkeypatch, index)
    r = build(mini_settings, progress=False)
    assert r.embedded_docs == ["syn-g7"]
    assert sorted(r.reused_docs) == ["syn-compact", "syn-report"]
    assert mini_settings.current_index.resolve() != first
    store = open_store(mini_settings)
    assert "syn-g7#4" in store.by_id
    # within the changed document only the new paragraph was embedded; the others kept their vectors
    n_g7 = len(store.doc_chunks("syn-g7"))
    assert seen == [
        header_text(store.chunks[store.by_id["syn-g7#4"]], store.docs["syn-g7"], mini_settings.embed_header)
    ]
    assert f"embedded 1 of the {n_g7} chunks of new or changed documents" in r.notes
    for c in before.doc_chunks("syn-g7"):
        assert np.array_equal(store.vectors[store.by_id[c.id]], before.vectors[before.by_id[c.id]])


def test_a_new_chunker_recuts_every_document_but_embeds_only_text_it_changed(
    mini_settings: Settings, monkeypatch
) -> None:
    """A chunker release (CHUNKER_VERSION, chunk sizes) re-cuts every document; a chunk whose embedded text is
    unchanged keeps its vector (a corpus of 100x would otherwise be re-embedded in full for a relabelled annex)."""
    build(mini_settings, progress=False)
    before = open_store(mini_settings)
    recut = mini_settings.model_copy(update={"chunk_max_chars": 160})  # long paragraphs now cut in parts
    seen = record_embedded(monkeypatch, index)
    r = build(recut, progress=False)
    store = open_store(recut)
    assert sorted(r.embedded_docs) == sorted(store.docs)  # every document re-cut, none kept as it was
    fresh = {c.id: c.text for c in store.chunks}
    assert fresh != {c.id: c.text for c in before.chunks}
    old = {header_text(c, before.docs[c.doc_id], recut.embed_header) for c in before.chunks}
    new = [header_text(c, store.docs[c.doc_id], recut.embed_header) for c in store.chunks]
    assert seen and set(seen) == {x for x in new if x not in old}  # only the changed texts were embedded
    for c in store.chunks:
        if c.id in before.by_id and before.chunks[before.by_id[c.id]].text == c.text:
            assert np.array_equal(store.vectors[store.by_id[c.id]], before.vectors[before.by_id[c.id]])


def test_the_embedding_recipe_is_recorded_and_a_different_one_is_a_rebuild(
    mini_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(mini_settings, progress=False)
    manifest = json.loads((mini_settings.current_index / "manifest.json").read_text())
    assert manifest["embed_recipe"] == {"header": "forum", "bm25": "forum", "spelling": "american"}
    store = open_store(mini_settings)
    c = store.doc_chunks("syn-g7")[0]
    meta = store.docs["syn-g7"]
    embedded = header_text(c, meta, "forum")
    assert meta.title in embedded and embedded.endswith(c.embed_text)
    # the vectors are those of the header text (the hash embedder is deterministic)
    from govassist.embed import embed_texts, embedder_for

    want = embed_texts(embedder_for(mini_settings), [embedded])[0]
    assert np.allclose(store.vectors[store.by_id[c.id]], want, atol=1e-6)

    plain = mini_settings.model_copy(update={"embed_header": "none"})
    with pytest.raises(IndexMismatchError, match="embedding recipe"):
        open_store(plain)
    seen = record_embedded(monkeypatch, index)
    r = build(plain, progress=False)  # nothing is reused across recipes: every chunk is embedded again
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"]
    assert c.embed_text in seen and embedded not in seen


def test_a_renamed_document_is_reembedded_with_its_new_header(
    mini_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(mini_settings, progress=False)
    cat_file = mini_settings.catalog_file
    old = open_store(mini_settings).docs["syn-g7"].title
    cat_file.write_text(cat_file.read_text().replace(f'title = "{old}"', 'title = "Renamed Ministerial Text"'))
    seen = record_embedded(monkeypatch, index)
    r = build(mini_settings, progress=False)
    assert r.embedded_docs == ["syn-g7"]
    assert seen and all("Renamed Ministerial Text" in x for x in seen)


def test_new_uncatalogued_file_is_ingested_and_reported(mini_settings: Settings) -> None:
    build(mini_settings, progress=False)
    (mini_settings.corpus_dir / "Tunis Agenda 2005.txt").write_text(
        "72. We ask the Secretary-General to convene a forum.\n"
    )
    r = build(mini_settings, progress=False)
    assert r.embedded_docs == ["tunis-agenda-2005"]
    assert any("Tunis Agenda 2005.txt: not in the catalog" in n for n in r.notes)
    store = open_store(mini_settings)
    assert store.docs["tunis-agenda-2005"].date == "2005-01-01"


def test_duplicate_content_is_skipped(mini_settings: Settings) -> None:
    shutil.copy(mini_settings.corpus_dir / "synthetic-g7-ministerial.md", mini_settings.corpus_dir / "copy.md")
    r = build(mini_settings, progress=False)
    assert r.skipped["copy.md"] == "copy.md: duplicate of synthetic-g7-ministerial.md (same content); skipped"


def test_interrupted_build_leaves_old_index_serving(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    build(mini_settings, progress=False)
    old = mini_settings.current_index.resolve()
    old_ids = [c.id for c in open_store(mini_settings).chunks]
    (mini_settings.corpus_dir / "synthetic-g7-ministerial.md").write_text(
        "1. Changed.\n2. Changed too.\n3. And this.\n"
    )

    import faiss

    def boom(*_a, **_k):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(KeyboardInterrupt):
        build(mini_settings, progress=False)
    assert mini_settings.current_index.resolve() == old
    assert [c.id for c in open_store(mini_settings).chunks] == old_ids
    leftovers = [p.name for p in mini_settings.index_dir.glob("build-*.tmp")]
    assert len(leftovers) == 1
    monkeypatch.undo()
    build(mini_settings, progress=False)
    assert not list(mini_settings.index_dir.glob("build-*.tmp"))


def test_second_build_refuses_while_one_holds_the_lock(mini_settings: Settings) -> None:
    with build_lock(mini_settings.index_dir), pytest.raises(BuildLockedError, match=f"pid {os.getpid()}"):
        build(mini_settings, progress=False)


def test_open_store_errors(mini_settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="govassist index build"):
        open_store(mini_settings)
    build(mini_settings, progress=False)
    other = Settings(**{**mini_settings.model_dump(), "embed_model": "hash:128"})
    with pytest.raises(IndexMismatchError, match="built with embedder 'hash:256'"):
        open_store(other)


def test_read_previous_gives_each_document_with_its_chunks_and_vectors(mini_settings: Settings) -> None:
    assert index.read_previous(mini_settings) == {}  # no index yet
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    prev = index.read_previous(mini_settings)
    assert sorted(prev) == ["syn-compact", "syn-g7", "syn-report"]
    for doc_id, p in prev.items():
        assert p.entry == store.manifest["docs"][doc_id]
        assert list(p.chunks) == store.doc_chunks(doc_id)
        assert np.array_equal(p.vectors, store.vectors[[store.by_id[c.id] for c in p.chunks]])
    # an index not built as the settings ask offers nothing to reuse
    other = mini_settings.model_copy(update={"chunk_min_chars": 100})
    assert index.read_previous(other) == {}
    # ... but its vectors serve another chunker's build, which is told the index was not built alike (one read)
    assert sorted(index.read_previous(other, any_chunker=True)) == sorted(prev)
    assert index.previous_index(other)[1] is False and index.previous_index(mini_settings)[1] is True
    assert index.previous_index(mini_settings.model_copy(update={"embed_model": "hash:128"})) == ({}, False)


def _recorded(s: Settings) -> dict:
    return {
        "format": FORMAT,
        "embedder": s.embed_model,
        "chunker": chunker_settings(s),
        "embed_recipe": embed_recipe(s),
    }


def test_mismatch_is_none_for_an_index_built_as_the_settings_ask(mini_settings: Settings) -> None:
    assert mismatch(_recorded(mini_settings), mini_settings) is None
    build(mini_settings, progress=False)
    manifest = json.loads((mini_settings.current_index / "manifest.json").read_text())
    assert mismatch(manifest, mini_settings) is None
    assert "max_chars 1200" in mismatch(manifest, mini_settings.model_copy(update={"chunk_max_chars": 900}))


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("format", FORMAT + 1, f"index format {FORMAT + 1}"),
        ("embedder", "hash:128", "embedder 'hash:128'"),
        ("embed_recipe", {"header": "none", "bm25": "forum"}, "header 'none'"),
        ("embed_recipe", {"header": "forum", "bm25": "none"}, "bm25 header 'none'"),
        ("embed_recipe", {"header": "forum", "bm25": "forum"}, "sources' spellings"),
        ("embed_recipe", {"header": "forum", "bm25": "forum", "spelling": "american", "lower": True}, "'lower': True"),
        ("embed_recipe", None, "no embedding recipe"),
        (
            "chunker",
            {"version": CHUNKER_VERSION - 1, "max_chars": 1200, "min_chars": 200},
            f"version {CHUNKER_VERSION - 1}",
        ),
        ("chunker", {"version": CHUNKER_VERSION, "max_chars": 900, "min_chars": 200}, "max_chars 900"),
        ("chunker", {"version": CHUNKER_VERSION, "max_chars": 1200, "min_chars": 50}, "min_chars 50"),
        ("chunker", {"version": CHUNKER_VERSION, "max_chars": 1200, "min_chars": 200, "overlap": 1}, "'overlap': 1"),
        ("chunker", None, "chunker version None"),
    ],
)
def test_mismatch_names_the_field_that_differs(mini_settings: Settings, field: str, value: object, named: str) -> None:
    manifest = _recorded(mini_settings)
    if value is None:
        del manifest[field]
    else:
        manifest[field] = value
    why = mismatch(manifest, mini_settings)
    assert why is not None and named in why
    # an index cut by another chunker still answers queries: only that is let through when serving
    assert (mismatch(manifest, mini_settings, serving=True) is None) == (field == "chunker")


def test_info_reports_documents_and_paragraph_coverage(mini_settings: Settings) -> None:
    build(mini_settings, progress=False)
    data = info(mini_settings)
    docs = {d["id"]: d for d in data["docs"]}
    assert docs["syn-compact"]["numbered"] == "1–4"
    assert docs["syn-report"]["pages"] == 2
    assert data["counts"]["documents"] == 3


def test_nothing_to_index_is_a_clear_error(tmp_path: Path, mini_settings: Settings) -> None:
    empty = Settings(**{**mini_settings.model_dump(), "corpus_dir": tmp_path / "nothing"})
    with pytest.raises(IndexMissingError, match="corpus fetch"):
        build(empty, progress=False)


def test_a_catalogued_text_whose_file_breaks_or_goes_keeps_its_indexed_version(mini_settings: Settings) -> None:
    from govassist import catalog

    build(mini_settings, progress=False)
    ids = [c.id for c in open_store(mini_settings).doc_chunks("syn-g7")]
    g7 = mini_settings.corpus_dir / "synthetic-g7-ministerial.md"
    g7.write_bytes(b"%PDF-1.7\n% a PDF saved under the text's name\n")
    r = build(mini_settings, progress=False)
    assert r.skipped["synthetic-g7-ministerial.md"].endswith(
        "rename it to synthetic-g7-ministerial.pdf; then set `file` of 'syn-g7' in catalog.toml to the new name"
    )
    assert any("keeps serving the version of 'syn-g7' built before" in n for n in r.notes)
    assert [c.id for c in open_store(mini_settings).doc_chunks("syn-g7")] == ids
    manifest = json.loads((mini_settings.current_index / "manifest.json").read_text())
    assert "synthetic-g7-ministerial.md" in manifest["skipped"]  # `index info` lists what this build skipped
    g7.unlink()
    r = build(mini_settings, progress=False)
    assert any(n.startswith("synthetic-g7-ministerial.md: the file is missing; the index keeps") for n in r.notes)
    assert [c.id for c in open_store(mini_settings).doc_chunks("syn-g7")] == ids
    catalog.remove(mini_settings.catalog_file, mini_settings.corpus_dir, "syn-g7")  # removing it is what drops it
    build(mini_settings, progress=False)
    assert "syn-g7" not in open_store(mini_settings).docs


def test_a_corpus_whose_every_file_fails_names_each_file_and_reason(tmp_path: Path, mini_settings: Settings) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "catalog.toml").write_text("")
    (bad / "empty.txt").write_text("")
    (bad / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj")
    s = Settings(**{**mini_settings.model_dump(), "corpus_dir": bad, "catalog_file": bad / "catalog.toml"})
    with pytest.raises(IndexMissingError, match=r"every file was skipped: cut\.pdf: .*; empty\.txt: empty file") as e:
        build(s, progress=False)
    assert "fix or replace those files" in str(e.value)


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_reason(mini_settings: Settings) -> None:
    bad = os.fsdecode(b"r\xe9sum\xe9-2024.txt")
    (mini_settings.corpus_dir / bad).write_text("1. A text whose name is Latin-1.\n")
    r = build(mini_settings, progress=False)
    (reason,) = [why for name, why in r.skipped.items() if name.startswith("r")]
    assert reason.endswith("the file name is not valid UTF-8: rename it") and "\udce9" not in reason
    assert sorted(open_store(mini_settings).docs) == ["syn-compact", "syn-g7", "syn-report"]


def test_a_lost_file_keeps_its_text_across_a_new_chunker_and_force_and_a_rename_is_no_second_copy(
    mini_settings: Settings,
) -> None:
    build(mini_settings, progress=False)
    g7 = mini_settings.corpus_dir / "synthetic-g7-ministerial.md"
    renamed = g7.with_name("g7-renamed.md")
    g7.rename(renamed)  # renamed on disk, the catalog not told
    r = build(mini_settings, progress=False)
    assert r.skipped == {
        "empty-file.txt": "empty-file.txt: empty file: nothing to index",
        "g7-renamed.md": "g7-renamed.md: duplicate of synthetic-g7-ministerial.md (same content); skipped",
    }
    renamed.unlink()
    recut = mini_settings.model_copy(update={"chunk_max_chars": 900})  # another chunker: nothing is reused, but...
    build(recut, progress=False)
    assert "syn-g7" in open_store(recut).docs  # ... the text whose file is gone is kept as it was
    build(recut, progress=False, force=True)
    assert "syn-g7" in open_store(recut).docs


def test_loading_shows_a_bar_per_file_when_progress_is_asked(mini_settings: Settings, capsys) -> None:
    build(mini_settings, progress=True)
    assert "load+chunk" in capsys.readouterr().err
    build(mini_settings, progress=False, force=True)
    assert "load+chunk" not in capsys.readouterr().err
