"""Hybrid retrieval on the synthetic corpus: fusion, filters, exact phrases, de-duplication, bounds."""

import contextlib
import dataclasses
import shutil

import pytest

from govassist.chunk import Chunk
from govassist.errors import QueryError
from govassist.retrieve import Filters, checked_filters, labelled, paragraph_refs, rrf, search
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


def test_doc_prior_takes_the_first_or_latest_edition_when_asked() -> None:
    """Versions of one text (family): "first backed" names the earliest, "latest" the newest; a hyphenated word
    names by its parts ("anti-spyware")."""
    from dataclasses import replace

    from govassist.catalog import DocMeta
    from govassist.retrieve import doc_prior

    spy = DocMeta(id="spy-2023", title="Spyware Joint Statement", label="Spyware 2023", file="a.md", date="2023-03-30")
    spy = replace(spy, family="spyware")
    docs = {
        "spy-2023": spy,
        "spy-2024": replace(spy, id="spy-2024", label="Spyware 2024", date="2024-03-18"),
        "hiro": DocMeta(id="hiro", title="Hiroshima Communiqué", label="Hiroshima", file="h.md", date="2023-05-20"),
    }
    assert doc_prior("Which capitals first backed the anti-spyware text?", docs) == {"spy-2023": 1.0}
    assert doc_prior("Who signs the latest spyware statement?", docs) == {"spy-2024": 1.0}
    assert doc_prior("Who signs the spyware statement?", docs) == {"spy-2023": 1.0, "spy-2024": 1.0}
    assert doc_prior("a first-of-its-kind spyware commitment", docs) == {"spy-2023": 1.0, "spy-2024": 1.0}


# ---- contextual headers, multi-vector scoring, fusion, query kinds, hub passages ---------------------------


def _meta(**kw):
    from govassist.catalog import DocMeta

    return DocMeta(**{"id": "d", "title": "Joint Statement", "label": "TTC 2022", "file": "x.md", **kw})


def test_header_names_the_document_and_leaves_the_chunk_alone() -> None:
    from govassist.store.plan import header_text

    c = Chunk("d#1", "d", "1", ("1",), "Semiconductors", None, "We agree on chips.")
    m = _meta(forum="EU-US TTC", date="2022-12-05")
    assert header_text(c, m, "title") == "Joint Statement (2022). Semiconductors. We agree on chips."
    assert header_text(c, m, "forum") == "EU-US TTC, 2022: Joint Statement. Semiconductors. We agree on chips."
    assert header_text(c, m, "label") == "TTC 2022 (EU-US TTC, 2022). Semiconductors. We agree on chips."
    assert header_text(c, m, "none") == c.embed_text == "Semiconductors. We agree on chips."
    assert header_text(c, _meta(title="Hiroshima 2023 Communiqué", date="2023-05-20"), "title").startswith(
        "Hiroshima 2023 Communiqué. "  # the year is not repeated when the title carries it
    )
    assert c.text == "We agree on chips."
    with pytest.raises(ValueError, match="unknown header form"):
        header_text(c, m, "abstract")


def test_convex_fusion_normalises_each_run_and_mixes() -> None:
    from govassist.retrieve import convex

    fused = convex({"a": 0.9, "b": 0.7, "c": 0.5}, {"b": 12.0, "d": 4.0}, 0.25)
    assert fused == pytest.approx({"a": 0.75, "b": 0.75 * 0.5 + 0.25, "c": 0.0, "d": 0.0})
    assert convex({"a": 0.3}, {}, 0.5) == {"a": 0.5}  # a single candidate is the top of its run


def test_dense_scores_mix_in_the_sentence_max_sim() -> None:
    from govassist.retrieve import dense_scores

    dense = [(_c("a"), 0.6), (_c("b"), 0.4)]
    mixed = dense_scores(dense, {"a": 0.2, "c": 0.8}, 0.5)
    # b has no quotable sentence: its own cosine; c only reached by the lexical run: the run's lowest cosine
    assert mixed == pytest.approx({"a": 0.4, "b": 0.4, "c": 0.5 * 0.4 + 0.5 * 0.8})


def test_max_sim_is_the_best_sentence_of_each_chunk(mini_settings: Settings) -> None:
    from govassist import sentvec
    from govassist.retrieve import maxsim, query_vector

    text = "The parties discuss many unrelated matters at length here. Semiconductors supply chain resilience matters."
    c = Chunk("d#1", "d", "1", ("1",), "", None, text)
    q = query_vector(mini_settings, "semiconductors supply chain resilience")
    sims = sentvec.vectors(mini_settings, sentvec.quotable(text)) @ q
    got = maxsim(mini_settings, q, [c, Chunk("d#2", "d", "2", ("2",), "", None, "Heading")])
    assert got == pytest.approx({"d#1": float(sims.max())})
    assert sims.argmax() == 1 and got["d#1"] > float(sims.min())


@pytest.mark.parametrize(
    ("query", "cues"),
    [
        ("how do they plan to keep the internet open and free", 0),
        ("what was said about chips in 2022", 0),  # a year alone is the document prior's cue
        ("what did the EU and US say on AI risks", 0),  # the corpus's own topic acronyms are no cue
        ("what did the TTC agree on chips", 1),
        ("did the Council of Europe convention get signatories", 1),
        ("which 15 countries joined", 1),
        ('"safe, secure and trustworthy" agreed language', 2),
    ],
)
def test_lexical_weight_follows_the_query_kind(query: str, cues: int) -> None:
    from govassist.retrieve import lexical_weight

    assert lexical_weight(query, base=0.1, step=0.15, top=0.9) == pytest.approx(0.1 + 0.15 * cues)


def test_structural_passages_are_hubs_and_the_document_prior_does_not_lift_them() -> None:
    from govassist.retrieve import hub_score, passage_prior

    def c(text: str) -> Chunk:
        return Chunk("d#x", "d", "x", ("x",), "", None, text)

    refs = c("Reference documents: • G7 Leaders' Hiroshima Vision on Nuclear Disarmament • G7 Clean Energy Economy")
    opening = c(
        "We, the Leaders of the Group of Seven (G7), met in Hiroshima for our annual Summit on May 19-21, 2023."
    )
    answer = c("We commit to work together to promote trustworthy AI in line with our shared democratic values.")
    assert hub_score(c("Digital and Technology")) == 1.0
    assert hub_score(refs) == 1.0
    assert hub_score(opening) == 0.5
    assert hub_score(answer) == 0.0
    countries = c("The countries represented were:\n• Australia\n• Brazil\n• Canada\n• Chile\n• China")
    assert hub_score(countries) == 0.0  # a list of names answers "who signed"
    named = {"d": 1.0}
    assert passage_prior(answer, named, 0.25, 0.4) == pytest.approx(1.25)
    assert passage_prior(refs, named, 0.25, 0.4) == pytest.approx(0.6)  # demoted, not lifted
    assert passage_prior(opening, {}, 0.25, 0.4) == pytest.approx(0.8)
    later = c("On 23 October 2024, New Zealand joined the commitment to the Bletchley Declaration.")
    assert hub_score(later, "2023-11-01") == 1.0  # a postscript: dated after its text
    assert hub_score(later, "2024-11-01") == 0.0 and hub_score(later) == 0.0  # an event of its own year; no date
    assert hub_score(c("On December 9, 2025, we met again."), "2023-11-01") == 1.0  # either order of day and month
    assert hub_score(c("We will meet on 23 October 2025 in Paris."), "2023-11-01") == 0.0  # a plan, not a postscript
    assert passage_prior(later, {}, 0.25, 0.4, issued="2023-11-01") == pytest.approx(0.6)
    assert passage_prior(later, {}, 0.25, 0.4, "date", 0.3, "2023-11-01") > 1.0  # "When did New Zealand join?"
    assert passage_prior(later, {}, 0.25, 0.4, "names", 0.3, "2023-11-01") >= 1.0  # "Who joined …?"


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("How many partners joined the United States in launching the DFI?", "count"),
        ("How big was the 2021 democracy summit?", "count"),
        ("Which governments signed the March 2023 spyware statement?", "names"),
        ("Which tech firms joined governments at Bletchley?", "names"),
        ("Who joined the spyware statement in 2024?", "names"),
        ("When will the WSIS review take place?", "date"),
        ("In what year did the TTC first meet?", "date"),
        ("When labs release advanced models, what must they disclose?", ""),  # a clause, not a date asked
        ("Which world problems should frontier labs focus on?", ""),  # "labs" is not what is asked for
        ("What does the UN text expect from companies?", ""),
        ("Did the G7 commit to trustworthy AI when it met in Hiroshima?", ""),  # "when" not asking a date
    ],
)
def test_the_kind_of_answer_a_question_asks_for(query: str, kind: str) -> None:
    from govassist.retrieve import answer_kind

    assert answer_kind(query) == kind


def test_passages_carrying_the_kind_of_answer_asked_are_lifted_and_hubs_are_not() -> None:
    from govassist.retrieve import kind_score, passage_prior

    def c(text: str) -> Chunk:
        return Chunk("d#x", "d", "x", ("x",), "", None, text)

    listed = c("Joined by Australia, Canada, Costa Rica, Denmark, France, New Zealand, Norway, Sweden, Switzerland.")
    prose = c("The partners share the aim of protecting human rights defenders from misuse of such tools.")
    assert kind_score("names", listed.text) == pytest.approx(11 / 15)  # "Costa Rica" counts two
    assert kind_score("names", prose.text) == 0.0
    assert kind_score("count", "More than 60 partners and two dozen firms, in 2022.") == 1.0  # 60, two, dozen
    assert kind_score("count", prose.text) == 0.0
    assert kind_score("date", "On 23 October 2024 New Zealand joined.") == kind_score("date", "In May, we met.") == 1.0
    assert kind_score("", listed.text) == 0.0
    assert passage_prior(listed, {}, 0.25, 0.4, "names", 0.3) == pytest.approx(1 + 0.3 * 11 / 15)
    assert passage_prior(prose, {}, 0.25, 0.4, "names", 0.3) == 1.0
    refs = c("Reference documents: • G7 Leaders' Hiroshima Vision on Nuclear Disarmament • G7 Clean Energy Economy")
    assert passage_prior(refs, {}, 0.25, 0.4, "names", 0.3) == pytest.approx(0.6)  # a list of titles is no answer


def test_the_passage_with_the_names_asked_for_comes_first(mini_settings: Settings) -> None:
    prose = Chunk("d#1", "d", "1", ("1",), "", None, "Governments agreed to counter the misuse of spyware together.")
    listed = Chunk(
        "d#2",
        "d",
        "2",
        ("2",),
        "",
        None,
        "Signed by Australia, Canada, Costa Rica, Denmark, France, New Zealand, "
        "Norway, Sweden, Switzerland, the United Kingdom and the United States.",
    )
    other = Chunk("d#3", "d", "3", ("3",), "", None, "Cooperation on quantum research and space.")
    dense, lexical = [(prose, 0.62), (listed, 0.60), (other, 0.30)], [(prose, 3.0), (listed, 2.9), (other, 0.5)]
    store = _FixedStore({"d": _meta()}, dense, lexical)
    s = mini_settings.model_copy(update={"maxsim_weight": 0.0, "hub_penalty": 0.0})
    assert search(store, "Which governments signed the spyware statement?", s)[0].chunk.id == "d#2"
    assert search(store, "Did governments agree on spyware?", s)[0].chunk.id == "d#1"
    off = s.model_copy(update={"answer_kind_weight": 0.0})
    assert search(store, "Which governments signed the spyware statement?", off)[0].chunk.id == "d#1"


class _FixedStore:
    """A store whose runs are given: to check how search combines them."""

    def __init__(self, docs, dense, lexical) -> None:
        self.docs, self._dense, self._lexical = docs, dense, lexical
        self.manifest: dict = {}

    def dense(self, qvec, k, allowed=None):
        return self._dense[:k]

    def lexical(self, query, k, allowed=None):
        return self._lexical[:k]

    def phrase(self, wanted, allowed=None):
        return []

    def pinned(self):
        return contextlib.nullcontext()


def test_a_hub_passage_no_longer_outranks_the_answer(mini_settings: Settings) -> None:
    refs = Chunk("d#1", "d", "1", ("1",), "", None, "Reference documents: • Digital Trade Principles • Data Flows Plan")
    answer = Chunk("d#2", "d", "2", ("2",), "", None, "We endorse the principles on digital trade and data flows.")
    other = Chunk("d#3", "d", "3", ("3",), "", None, "Unrelated cooperation on quantum research and space.")
    dense, lexical = [(refs, 0.62), (answer, 0.60), (other, 0.30)], [(refs, 5.0), (answer, 4.8), (other, 1.0)]
    store = _FixedStore({"d": _meta()}, dense, lexical)
    on = mini_settings.model_copy(update={"maxsim_weight": 0.0})
    assert [h.chunk.id for h in search(store, "digital trade principles", on)][:2] == ["d#2", "d#1"]
    off = on.model_copy(update={"hub_penalty": 0.0})
    assert [h.chunk.id for h in search(store, "digital trade principles", off)][:2] == ["d#1", "d#2"]


def test_query_kind_moves_the_lexical_weight_in_search(mini_settings: Settings) -> None:
    a = Chunk("d#1", "d", "1", ("1",), "", None, "Paraphrase match about keeping networks open to everyone.")
    b = Chunk("d#2", "d", "2", ("2",), "", None, "The OECD recommendation is cited word for word here.")
    store = _FixedStore({"d": _meta()}, [(a, 0.70), (b, 0.55)], [(b, 9.0), (a, 1.0)])
    s = mini_settings.model_copy(update={"maxsim_weight": 0.0, "hub_penalty": 0.0, "lexical_max": 0.9})
    assert search(store, "keeping networks open to everyone", s)[0].chunk.id == "d#1"
    assert search(store, '"OECD recommendation" word for word', s)[0].chunk.id == "d#2"


def test_the_first_results_do_not_depend_on_how_many_are_asked_for(mini_settings: Settings) -> None:
    # the runs are min-max normalised over the candidate pool: a pool growing with k would rescale the dense run
    # and let d#10 (10th in it, first in the lexical run) overtake d#0 (first in it, absent from the lexical run)
    chunks = [Chunk(f"d#{i}", "d", str(i), (str(i),), "", None, f"Paragraph {i} on cooperation.") for i in range(200)]
    dense = [(c, 0.9 - 0.004 * i) for i, c in enumerate(chunks)]
    lexical = [(chunks[10], 10.0)] + [(c, 1.0) for c in chunks[100:]]
    store = _FixedStore({"d": _meta()}, dense, lexical)
    s = mini_settings.model_copy(update={"maxsim_weight": 0.0, "hub_penalty": 0.0, "candidates": 50, "k_max": 50})
    few = [h.chunk.id for h in search(store, "cooperation", s, k=5)]
    many = [h.chunk.id for h in search(store, "cooperation", s, k=50)]
    assert few[0] == "d#0" and len(many) == 50 and many[:5] == few


def test_query_vectors_embed_only_what_is_not_cached_in_one_batch(mini_settings: Settings, monkeypatch) -> None:
    from govassist import retrieve

    batches: list[list[str]] = []
    real = retrieve.embed_queries
    monkeypatch.setattr(
        retrieve, "embed_queries", lambda model, texts: batches.append(list(texts)) or real(model, texts)
    )
    retrieve.clear_query_cache()
    one = retrieve.query_vector(mini_settings, "semiconductors")
    a, b, again = retrieve.query_vectors(mini_settings, ["export controls", "submarine cables", "semiconductors"])
    # one batch per call, the cached query not embedded again
    assert batches == [["semiconductors"], ["export controls", "submarine cables"]]
    assert again is one and a.shape == b.shape == one.shape
    monkeypatch.setattr(retrieve, "_QUERY_CACHE_SIZE", 2)
    retrieve.query_vectors(mini_settings, ["quantum", "spyware"])
    assert len(retrieve._QUERY_CACHE) == 2  # the least recently used were forgotten
    retrieve.clear_query_cache()


def test_typed_filters_become_full_dates_and_the_index_spelling(mini_store) -> None:
    f = checked_filters(Filters(statuses=("Adopted",), date_from="2021", date_to="2024-02"), mini_store.docs)
    assert (f.statuses, f.date_from, f.date_to) == (("adopted",), "2021-01-01", "2024-02-29")
    un = next(d for d in mini_store.docs.values() if d.status == "adopted")
    year = un.date[:4]  # "--to 2024" keeps a text of 2024 (as a string, "2024-05-01" > "2024" would drop it)
    assert checked_filters(Filters(date_to=year), mini_store.docs).allows(un)
    assert not Filters(date_to=year).allows(un)


@pytest.mark.parametrize(
    ("query", "refs"),
    [
        ("What does paragraph 38 say?", (("38", True), ("[38]", False))),
        ("Show me OP12", (("12", True), ("[12]", False))),
        ("What does para. 6(g) say?", (("6(g)", False),)),
        ("Compare GDC ¶29(d) with ¶30", (("29(d)", False), ("30", True), ("[30]", False))),
        ("preambular paragraph 3, and PP4", (("PP3", False), ("PP4", False))),
        ("What did 78/265 say in 2024 about 6G?", ()),  # a symbol, a year and a name are not paragraphs
        ("paragraphs 3 and 4", (("3", True), ("[3]", False), ("4", True), ("[4]", False))),
        ("see pp 12-14 of the report", ()),  # pages
        ("What does paragraph 6 (AI) say?", (("6", True), ("[6]", False))),
        ("section 1.2, paragraph 1.2", ()),
        ("What does subparagraph 6(h) say?", (("6(h)", False),)),
        ("sub-paragraphs 6(g) and 6(h)", (("6(g)", False), ("6(h)", False))),  # not 6(g) twice
        ("paragraph 6(g) and (h)", (("6(g)", False), ("6(h)", False))),
        ("paragraphs 6(g), 7(a) and (b)", (("6(g)", False), ("7(a)", False), ("7(b)", False))),
        ("OP6(g), 7 and 8", (("6(g)", False), ("7", True), ("[7]", False), ("8", True), ("[8]", False))),
        ("principle 7 of the Guiding Principles", (("7", True), ("[7]", False))),
        ("item 3 of the Code", (("3", True), ("[3]", False))),
        ("the 11 principles of 2023", ()),
    ],
)
def test_a_question_citing_paragraphs_by_number_is_read(query: str, refs: tuple) -> None:
    assert paragraph_refs(query) == refs


def test_a_paragraph_cited_by_number_comes_first(mini_store, mini_settings: Settings) -> None:
    assert labelled("What does paragraph 2 of the Syn. Compact say?", mini_store.docs) == ["syn-compact"]
    accented = {"d": dataclasses.replace(mini_store.docs["syn-compact"], label="Luleå Communiqué")}
    assert labelled("What does paragraph 2 of the Lulea Communique say?", accented) == ["d"]  # typed unaccented
    hits = search(mini_store, "What does paragraph 2 of the Syn. Compact say?", mini_settings, k=8)
    assert [h.chunk.id for h in hits[:5]] == [f"syn-compact#{p}" for p in ("2", "2(a)", "2(b)", "2(c)", "2(d)")]
    assert [h.cited for h in hits[:6]] == [True] * 5 + [False]
    hits = search(
        mini_store, "And preambular paragraph 2?", mini_settings, k=3, filters=Filters(doc_ids=("syn-compact",))
    )
    assert hits[0].chunk.id == "syn-compact#PP2"  # the one document searched is the one meant
    hits = search(mini_store, "What does paragraph 2 say about schools?", mini_settings, k=3)
    assert hits[0].chunk.id == "syn-compact#2(a)" and not hits[0].cited  # no document named: an ordinary search


def test_a_catalog_date_of_a_year_only_is_within_that_year() -> None:
    from govassist.catalog import DocMeta

    d = DocMeta(id="a", title="A", label="A", file="a.txt", date="2024")
    assert Filters(date_from="2024-01-01", date_to="2024-12-31").allows(d)
    assert not Filters(date_from="2025-01-01").allows(d) and not Filters(date_to="2023-12-31").allows(d)
