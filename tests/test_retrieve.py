"""Hybrid retrieval on the synthetic corpus: fusion, filters, exact phrases, de-duplication, bounds."""

import shutil

import pytest

from govassist.chunk import Chunk
from govassist.errors import QueryError
from govassist.retrieve import Filters, rrf, search
from govassist.settings import Settings
from govassist.store import build, open_store


def _c(cid: str) -> Chunk:
    return Chunk(cid, "d", cid, (cid,), "", None, cid)


def test_rrf_weights_and_ranks() -> None:
    fused = rrf([([(_c("a"), 0.9), (_c("b"), 0.8)], 1.0), ([(_c("b"), 12.0), (_c("c"), 3.0)], 0.5)], rrf_k=60)
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 0.5 / 61, "c": 0.5 / 62})


def test_each_mode_finds_the_matching_paragraph(mini_store, mini_settings: Settings) -> None:
    q = "independent international scientific panel on artificial intelligence"
    for mode in ("default", "fused", "dense", "bm25"):
        hits = search(mini_store, q, mini_settings, k=3, mode=mode)
        assert hits[0].chunk.id == "syn-compact#4", mode
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_filters_by_collection_status_document_and_date(mini_store, mini_settings: Settings) -> None:
    q = "semiconductors supply chains"
    only_ttc = search(mini_store, q, mini_settings, k=10, filters=Filters(collections=("ttc",)))
    assert only_ttc and {h.doc.id for h in only_ttc} == {"syn-report"}
    drafts = search(mini_store, q, mini_settings, k=10, filters=Filters(statuses=("draft",)))
    assert {h.doc.status for h in drafts} == {"draft"}
    g7 = search(mini_store, q, mini_settings, k=10, filters=Filters(doc_ids=("syn-g7",)))
    assert {h.doc.id for h in g7} == {"syn-g7"}
    dated = search(mini_store, q, mini_settings, k=10, filters=Filters(date_from="2024-01-01", date_to="2024-06-30"))
    assert {h.doc.id for h in dated} == {"syn-report"}
    assert search(mini_store, q, mini_settings, filters=Filters(collections=("WSIS",))) == []


def test_exact_phrase_puts_verbatim_passages_first(mini_store, mini_settings: Settings) -> None:
    hits = search(mini_store, 'which text says "open research environment"', mini_settings, k=5)
    assert hits[0].chunk.id == "syn-g7#3"
    curly = search(mini_store, "“Promote multilingual content online”", mini_settings, k=5)
    assert curly[0].chunk.id == "syn-compact#2(c)"


def test_near_identical_versions_are_folded_unless_drafts_requested(mini_settings: Settings) -> None:
    text = (mini_settings.corpus_dir / "synthetic-g7-ministerial.md").read_text()
    (mini_settings.corpus_dir / "g7-copy.md").write_text(text + "\n4.  An added final paragraph.\n")
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    q = "secure submarine cables and resilient networks"
    hits = search(store, q, mini_settings, k=5)
    top = hits[0]
    assert top.chunk.para == "1" and len({top.doc.id, *top.also_in}) == 2
    assert sum(1 for h in hits if h.chunk.para == "1" and "submarine" in h.chunk.text) == 1
    fused = search(store, q, mini_settings, k=5, mode="fused")
    assert sum(1 for h in fused if "submarine" in h.chunk.text) == 2


def test_restricted_documents_need_a_role(mini_settings: Settings) -> None:
    cat = mini_settings.catalog_file
    cat.write_text(cat.read_text().replace('id = "syn-report"', 'id = "syn-report"\nrestricted = ["eu-delegation"]'))
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    q = "critical minerals batteries"
    assert any(h.doc.id == "syn-report" for h in search(store, q, mini_settings, k=10))
    anon = search(store, q, mini_settings, k=10, filters=Filters(roles=()))
    assert all(h.doc.id != "syn-report" for h in anon)
    member = search(store, q, mini_settings, k=10, filters=Filters(roles=("eu-delegation",)))
    assert any(h.doc.id == "syn-report" for h in member)


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        ("", 5, "empty"),
        ("   ", 5, "empty"),
        ("x" * 2001, 5, "over the limit of 2000"),
        ("ok", 0, "k must be"),
        ("ok", 51, "k must be between 1 and 50"),
    ],
)
def test_bad_queries_are_refused(mini_store, mini_settings: Settings, query: str, k: int, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        search(mini_store, query, mini_settings, k=k)


def test_unknown_mode_is_refused(mini_store, mini_settings: Settings) -> None:
    with pytest.raises(QueryError, match="unknown retrieval mode"):
        search(mini_store, "x", mini_settings, mode="magic")


def test_store_copy_is_independent(mini_settings: Settings, tmp_path) -> None:
    build(mini_settings, progress=False)
    shutil.rmtree(mini_settings.corpus_dir)
    assert open_store(mini_settings).chunks


def test_doc_prior_recognises_named_versions() -> None:
    from govassist.catalog import DocMeta
    from govassist.retrieve import doc_prior

    def d(i, label, date, coll):
        return DocMeta(id=i, title=label, label=label, file=f"{i}.md", date=date, collection=coll)

    docs = {
        x.id: x
        for x in [
            d("ttc-2022", "TTC College Park 2022", "2022-12-05", "TTC"),
            d("ttc-2023", "TTC Luleå 2023", "2023-05-31", "TTC"),
            d("spy-2023", "Spyware Joint Statement 2023", "2023-03-30", "S4D"),
            d("spy-2024", "Spyware Joint Statement 2024", "2024-03-18", "S4D"),
            d("hiro", "Hiroshima Communiqué", "2023-05-20", "G7"),
        ]
    }
    assert doc_prior("In the 2022 TTC statement, what about chips?", docs) == {"ttc-2022": 1.0}
    assert doc_prior("the 2024 version of the spyware statement", docs) == {"spy-2024": 1.0}
    assert doc_prior("What did the Hiroshima communiqué say on AI?", docs) == {"hiro": 1.0}
    assert doc_prior("what about quantum computing?", docs) == {}
