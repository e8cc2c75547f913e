"""Agreed-language search: near-verbatim wording found and ranked, differences marked, bad input refused.
Fast cases run on the synthetic corpus (hashing embedder); the perturbation cases on the real corpus."""

from __future__ import annotations

import json

import pytest

from govassist.errors import QueryError
from govassist.precedent import find_precedents, precedents_markdown
from govassist.retrieve import Filters

SENT_39 = (
    "We reiterate the importance of facilitating Data Free Flow with Trust (DFFT) to enable trustworthy cross-border "
    "data flows and invigorate the digital economy as a whole, while preserving governments’ ability to address "
    "legitimate public interest."
)
SPYWARE = (
    "Our efforts will allow us to work collectively for the first time as we develop and implement policies to "
    "discourage the misuse of commercial spyware"
)


def _ops(p) -> list[tuple[str, str]]:
    return [(w.op, w.text) for w in p.words if w.op != "="]


def test_phrase_inside_a_sentence_is_identical_with_its_context(mini_store, mini_settings) -> None:
    found = find_precedents(mini_store, "independent international scientific panel", mini_settings, k=3)
    top = found[0]
    assert (top.chunk_id, top.citation, top.identical, top.score) == ("syn-compact#4", "Syn. Compact ¶4", True, 100)
    assert top.before == "We decide to establish an"
    assert [w.text for w in top.words] == ["independent international scientific panel"]
    assert top.after == "on artificial intelligence with balanced geographical representation."
    assert (top.date, top.status, top.title) == (
        "2024-09-22",
        "adopted",
        "Synthetic Compact on Digital Cooperation (test fixture)",
    )


def test_ai_and_artificial_intelligence_are_one_term(mini_store, mini_settings) -> None:
    found = find_precedents(mini_store, "independent international scientific panel on AI", mini_settings, k=3)
    top = found[0]
    assert (top.chunk_id, top.score, top.identical) == ("syn-compact#4", 100, False)
    assert _ops(top) == [("-", "artificial intelligence"), ("+", "AI")]


def test_equally_close_passages_show_each_document_first() -> None:
    from govassist.chunk import Chunk
    from govassist.precedent import _across_documents

    def c(doc: str, n: int) -> Chunk:
        return Chunk(f"{doc}#{n}", doc, str(n), (str(n),), "", None, "text", order=n)

    scored = [(100.0, 100.0, "r", c("a", 1)), (100.0, 90.0, "r", c("a", 2)), (100.0, 80.0, "r", c("b", 1)),
              (90.0, 90.0, "r", c("c", 1))]  # fmt: skip
    assert [x[3].id for x in _across_documents(scored)] == ["a#1", "b#1", "a#2", "c#1"]


def test_altered_wording_is_found_with_the_differences(mini_store, mini_settings) -> None:
    # "schools" -> "clinics", "hospitals" kept, "by 2030" dropped
    found = find_precedents(mini_store, "Connect all clinics and hospitals to the Internet", mini_settings, k=3)
    top = found[0]
    assert top.chunk_id.startswith("syn-compact#2") and not top.identical and 70 <= top.score < 100
    assert _ops(top) == [("-", "schools"), ("+", "clinics")]
    assert top.after == "by 2030;"


def test_same_topic_other_words_is_not_a_wording_precedent(mini_store, mini_settings) -> None:
    found = find_precedents(mini_store, "Nations should link up every classroom and clinic online", mini_settings)
    assert [p for p in found if p.tier != "other words"] == []
    assert find_precedents(mini_store, "Nations should link up every classroom and clinic online", mini_settings,
                           semantic=0) == []  # fmt: skip


def test_tiers_are_labelled_verbatim_near_verbatim_and_other_words(mini_store, mini_settings) -> None:
    exact = find_precedents(mini_store, "independent international scientific panel", mini_settings, k=3, semantic=0)
    assert exact[0].tier == "verbatim" and exact[0].similarity is None
    near = find_precedents(mini_store, "Connect all clinics and hospitals to the Internet", mini_settings, k=3)
    assert near[0].tier == "near-verbatim"
    # the hashing embedder's cosines are low: a low floor lets the mini corpus show the semantic tier
    wording = "every hospital and school should be online by 2030"
    assert [p for p in find_precedents(mini_store, wording, mini_settings, semantic=0)] == []  # no wording tier
    found = find_precedents(mini_store, wording, mini_settings, min_similarity=0.05)
    other = [p for p in found if p.tier == "other words"]
    assert other and all(p.similarity is not None and p.similarity >= 0.05 for p in other)
    assert [p.rank for p in found] == list(range(1, len(found) + 1))
    assert any(p.chunk_id.startswith("syn-compact#2") for p in other)  # the schools-and-hospitals commitment
    md = precedents_markdown(found, wording)
    assert "**Same commitment in other words — by meaning (embedding similarity)**" in md
    assert f"1. **{other[0].citation}**".replace("(", "\\(").replace(")", "\\)") in md
    assert f"similarity {other[0].similarity:.2f}" in md and "other words)" in md
    both = precedents_markdown(near + exact)
    assert both.index("**Verbatim") < both.index("**Near-verbatim") or "**Verbatim" not in both


def test_json_shape_and_markdown(mini_store, mini_settings) -> None:
    found = find_precedents(mini_store, "Connect all clinics and hospitals to the Internet", mini_settings, k=2)
    d = found[0].to_dict()
    json.dumps(d)
    assert set(d) == {
        "rank", "score", "identical", "chunk_id", "doc_id", "label", "citation", "para", "page", "title", "date",
        "status", "passage", "before", "words", "after", "tier", "similarity",
    }  # fmt: skip
    assert d["rank"] == 1 and ["-", "schools"] in d["words"] and ["+", "clinics"] in d["words"]
    md = precedents_markdown(found, "Connect all clinics and hospitals to the Internet")
    assert md.startswith("Precedents for “Connect all clinics and hospitals to the Internet”:")
    assert "1. **Syn. Compact ¶2\\(a\\)** (2024-09-22, adopted) — closeness" in md
    assert "~~schools~~ **clinics**" in md
    assert precedents_markdown([]) == (
        "No passage in the indexed texts has this wording, nearly this wording or the same meaning."
    )


@pytest.mark.parametrize(
    ("text", "k", "message"),
    [
        ("", 10, "the phrase is empty"),
        ("   ", 10, "the phrase is empty"),
        ("— … —", 10, "the phrase is empty"),
        ("x" * 2001, 10, "over the limit of 2000"),
        ("submarine cables", 0, "k must be between 1 and 50"),
        ("submarine cables", 51, "k must be between 1 and 50"),
    ],
)
def test_bad_input(mini_store, mini_settings, text, k, message) -> None:
    with pytest.raises(QueryError, match=message):
        find_precedents(mini_store, text, mini_settings, k=k)


@pytest.mark.parametrize("min_score", [0, -5, 101])
def test_bad_minimum_closeness(mini_store, mini_settings, min_score) -> None:
    with pytest.raises(QueryError, match="minimum closeness must be above 0 and at most 100"):
        find_precedents(mini_store, "submarine cables", mini_settings, min_score=min_score)


def test_lower_minimum_admits_looser_wording(mini_store, mini_settings) -> None:
    loose = "We commit to connect schools, clinics and libraries to the Internet"
    assert find_precedents(mini_store, loose, mini_settings, semantic=0) == []  # no wording tier at 70
    by_meaning = find_precedents(mini_store, loose, mini_settings)
    assert [p.tier for p in by_meaning] == ["other words"] * len(by_meaning)
    assert by_meaning and by_meaning[0].chunk_id.startswith("syn-compact#2")
    found = find_precedents(mini_store, loose, mini_settings, min_score=50)
    assert found and found[0].chunk_id.startswith("syn-compact#2") and found[0].score < 70


def test_filters_keep_restricted_documents_out(mini_store, mini_settings) -> None:
    found = find_precedents(
        mini_store, "independent international scientific panel", mini_settings, filters=Filters(doc_ids=("syn-g7",))
    )
    assert all(p.doc_id == "syn-g7" for p in found)


def test_cli_precedent_json_and_empty_phrase(mini_settings, mini_store, monkeypatch, capsys) -> None:
    from govassist.cli import main

    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    monkeypatch.setattr("sys.argv", ["govassist", "precedent", "secure submarine cables", "--k", "2", "--json"])
    with pytest.raises(SystemExit) as ok:
        main()
    data = json.loads(capsys.readouterr().out)
    assert ok.value.code == 0 and data["text"] == "secure submarine cables"
    assert data["precedents"][0]["citation"] == "Syn. G7 Ministerial ¶1" and data["precedents"][0]["identical"]
    monkeypatch.setattr("sys.argv", ["govassist", "precedent", " "])
    with pytest.raises(SystemExit) as ex:
        main()
    err = capsys.readouterr().err
    assert (
        ex.value.code == 1 and err == "error: the phrase is empty: give the wording you want to find precedents for\n"
    )


# ---------------------------------------------------------------- the real corpus


@pytest.mark.integration
def test_word_swapped_finds_the_verbatim_source_first(real_store, real_settings) -> None:
    altered = SENT_39.replace("trustworthy", "secure")
    found = find_precedents(real_store, altered, real_settings, k=5)
    assert (found[0].doc_id, found[0].para, found[0].identical) == ("g7-hiroshima-2023", "39", False)
    assert _ops(found[0]) == [("-", "trustworthy"), ("+", "secure")]
    # Apulia 2024 reused the sentence with "operationalizing" for "facilitating": a precedent too, one word further
    assert found[1].doc_id == "g7-apulia-2024" and found[1].score < found[0].score
    assert _ops(found[1]) == [("-", "operationalizing"), ("+", "facilitating"), ("-", "trustworthy"), ("+", "secure")]


@pytest.mark.integration
def test_clause_removed_finds_the_verbatim_source_first(real_store, real_settings) -> None:
    shorter = SENT_39.replace(", while preserving governments’ ability to address legitimate public interest", "")
    found = find_precedents(real_store, shorter, real_settings, k=5)
    assert (found[0].doc_id, found[0].para, found[0].identical) == ("g7-hiroshima-2023", "39", False)
    # a whole sentence is compared whole: the clause it lacks is marked, not passed off as context
    assert _ops(found[0]) == [("-", "while preserving governments’ ability to address legitimate public interest.")]
    assert found[0].after == "" and 80 < found[0].score < 100


@pytest.mark.integration
def test_signatories_dropped_still_finds_the_statement(real_store, real_settings) -> None:
    proposal = (
        "We recognize the threat posed by the misuse of commercial spyware and the need for strict domestic and "
        "international controls on the proliferation and use of such technology."
    )
    found = find_precedents(real_store, proposal, real_settings, k=5)
    # both versions open with it after their list of governments; 2023 lists fewer, so it is closer
    assert [(p.doc_id, p.para) for p in found[:2]] == [("spyware-2023", "[1]"), ("spyware-2024", "[2]")]
    assert _ops(found[0])[0][0] == "-" and _ops(found[0])[0][1].startswith("the governments of Australia")
    assert "+" not in [op for op, _ in _ops(found[0])] and not found[0].identical


@pytest.mark.integration
def test_verbatim_wording_in_two_versions_ranks_both_first(real_store, real_settings) -> None:
    found = find_precedents(real_store, SPYWARE, real_settings, k=5)
    assert {p.doc_id for p in found[:2]} == {"spyware-2023", "spyware-2024"}
    assert all(p.identical and p.score == 100 for p in found[:2])
    assert found[0].status == "non-binding" and found[0].date in ("2023-03-30", "2024-03-18")


@pytest.mark.integration
def test_paraphrase_on_the_same_topic_is_not_agreed_language(real_store, real_settings) -> None:
    paraphrase = "Trusted movement of data between countries should be made easier while states keep room to regulate."
    found = find_precedents(real_store, paraphrase, real_settings)
    assert all(p.tier == "other words" for p in found)  # not agreed language: at most the same commitment
    assert find_precedents(real_store, paraphrase, real_settings, semantic=0) == []


@pytest.mark.integration
def test_paraphrase_tier_finds_the_asean_human_rights_language(real_store, real_settings) -> None:
    found = find_precedents(real_store, "human rights must be protected online just as they are offline", real_settings)
    top = found[0]
    assert (top.doc_id, top.para, top.tier) == ("asean-us-digital-2021", "PP8", "other words")
    assert "the same rights that people have offline must also be protected online" in top.passage
    assert top.similarity is not None and top.similarity >= 0.6


@pytest.mark.integration
def test_free_flow_of_data_with_trust_finds_more_than_one(real_store, real_settings) -> None:
    found = find_precedents(real_store, "free flow of data with trust", real_settings)
    assert len(found) > 1 and {"near-verbatim", "other words"} <= {p.tier for p in found}
    assert len({p.doc_id for p in found}) > 1


def test_a_precedent_in_a_run_of_short_paragraphs_cites_its_own_paragraph() -> None:
    from types import SimpleNamespace

    from govassist.catalog import DocMeta
    from govassist.chunk import Chunk
    from govassist.precedent import _precedent

    doc = DocMeta("b", "Chair's statement", "Chair", "b.pdf", date="2023-11-02")
    run = Chunk(
        "b#[33]–[34]", "b", "[33]–[34]", ("[33]", "[34]"), "", 5, "Key themes were collated.\nWe promote safe AI."
    )
    p = _precedent(SimpleNamespace(docs={"b": doc}), run, 1, 100.0, "We promote safe AI.", "We promote safe AI.", True)
    assert (p.para, p.citation) == ("[34]", "Chair ¶[34], p. 5")  # not ¶[33]–[34]
