"""One body of retrieval and filter assertions run against both `Store` backends on the mini corpus: what
retrieval, answers and the chat rely on, whichever store the settings select."""

from __future__ import annotations

import pytest

from govassist.retrieve import MODES, Filters, query_vector, search
from govassist.settings import Settings
from govassist.store import Store, build, open_store

DOCS = ["syn-compact", "syn-g7", "syn-report"]
PANEL = "independent international scientific panel on artificial intelligence"


@pytest.fixture(params=["files", pytest.param("postgres", marks=pytest.mark.pg)])
def backend(request: pytest.FixtureRequest) -> tuple[Store, Settings]:
    """The mini corpus built and opened through `store.build` / `store.open_store` on one backend."""
    s = request.getfixturevalue("mini_settings" if request.param == "files" else "pg_settings")
    report = build(s, progress=False)
    assert report.documents == 3
    return open_store(s), s


def test_shape(backend: tuple[Store, Settings]) -> None:
    store, _s = backend
    assert isinstance(store, Store)
    assert sorted(store.docs) == DOCS and store.docs["syn-g7"].collection == "G7"
    assert store.manifest["embedder"] == "hash:256" and store.manifest["dim"] == 256
    assert store.chunk_count == store.manifest["counts"]["chunks"] == len(store.chunks)
    g7 = store.doc_chunks("syn-g7")
    assert g7 and {c.doc_id for c in g7} == {"syn-g7"} and [c.order for c in g7] == sorted(c.order for c in g7)
    assert sum(len(store.doc_chunks(d)) for d in DOCS) == store.chunk_count
    assert store.doc_chunks("no-such-doc") == []
    g7.clear()  # the list returned is the caller's
    assert len(store.doc_chunks("syn-g7")) > 0


def test_dense_lexical_and_phrase(backend: tuple[Store, Settings]) -> None:
    store, s = backend
    dense = store.dense(query_vector(s, PANEL), 5)
    assert dense[0][0].id == "syn-compact#4" and len(dense) == 5
    assert [sc for _c, sc in dense] == sorted((sc for _c, sc in dense), reverse=True)
    lexical = store.lexical(PANEL, 5)
    assert lexical[0][0].id == "syn-compact#4" and all(sc > 0 for _c, sc in lexical)
    assert store.lexical("the and of", 5) == []  # only stop words: nothing to match
    assert [c.id for c in store.phrase(["open research environment"])] == ["syn-g7#3"]
    assert store.phrase(["no such phrase anywhere"]) == []


def test_cosines_of_chunks_asked_by_id_are_their_dense_scores(backend: tuple[Store, Settings]) -> None:
    store, s = backend
    qvec = query_vector(s, PANEL)
    dense = store.dense(qvec, 5)
    far = store.dense(qvec, store.chunk_count)[-1]  # the farthest chunk: a cosine no top-5 search reports
    got = store.cosines(qvec, [c.id for c, _ in dense] + [far[0].id, "no-such-chunk"])
    assert set(got) == {c.id for c, _ in dense} | {far[0].id}
    for c, sc in [*dense, far]:
        assert got[c.id] == pytest.approx(sc, abs=1e-4)
    assert store.cosines(qvec, []) == {}


def test_filters_are_applied_inside_every_search(backend: tuple[Store, Settings]) -> None:
    store, s = backend
    only_g7 = {"syn-g7"}
    dense = store.dense(query_vector(s, PANEL), 5, only_g7)
    assert dense and {c.doc_id for c, _ in dense} == only_g7
    assert len(dense) == min(5, len(store.doc_chunks("syn-g7")))  # filtered inside: k results, not fewer
    assert {c.doc_id for c, _ in store.lexical("research cooperation", 5, only_g7)} <= only_g7
    assert store.phrase(["open research environment"], {"syn-compact"}) == []
    assert store.dense(query_vector(s, PANEL), 5, set()) == []
    assert store.lexical(PANEL, 5, set()) == []
    q = "joint research on semiconductors and artificial intelligence"  # words of every document
    for mode in MODES:
        hits = search(store, q, s, k=5, filters=Filters(collections=("G7",)), mode=mode)
        assert hits and {h.doc.id for h in hits} == {"syn-g7"}, mode
        drafts = search(store, q, s, k=5, filters=Filters(statuses=("draft",)), mode=mode)
        assert drafts and {h.doc.id for h in drafts} == {"syn-report"}, mode


def test_search_ranks_the_same_passage_first_in_every_mode(backend: tuple[Store, Settings]) -> None:
    store, s = backend
    for mode in MODES:
        assert search(store, PANEL, s, k=5, mode=mode)[0].chunk.id == "syn-compact#4", mode
    hits = search(store, 'which text says "open research environment"', s, k=5)
    assert hits[0].chunk.id == "syn-g7#3"


def test_a_question_naming_a_forum_is_searched_within_it(backend: tuple[Store, Settings]) -> None:
    from govassist.answer import ask

    store, s = backend
    q = "What did the UN say about quantum computing research?"
    assert search(store, q, s, k=1)[0].chunk.doc_id == "syn-g7"  # as given, the G7 paragraph on quantum research
    a = ask(store, q, s)
    assert a.citations and {c.doc_id for c in a.citations} == {"syn-compact"}
    assert "searched within what the question names: collection UN" in a.notes


def test_british_and_american_spellings_find_each_other(backend: tuple[Store, Settings]) -> None:
    """The texts mix spellings (the UK's G7 presidency "prioritise", the U.S.'s "prioritize"): the lexical index
    and its queries are both read in American form, so either spelling finds both; the text shown is unchanged."""
    store, _s = backend
    found = store.lexical("recognised", 5)  # the mini corpus writes "recognize" only
    assert found and all("recognize" in c.text for c, _sc in found)
    assert [c.id for c, _ in store.lexical("recognized", 5)] == [c.id for c, _ in found]
