"""Integration on the real mirror corpus with the packaged embedder (built once per session)."""

import re
from collections import Counter

import pytest

from govassist import catalog
from govassist import question as qn
from govassist.answer import PART_RE, ask
from govassist.chunk import plain_para
from govassist.retrieve import Filters, search
from govassist.text import normalise

pytestmark = pytest.mark.integration


def test_every_mirrored_catalog_document_is_indexed(real_settings, real_store) -> None:
    docs = catalog.load_catalog(real_settings.catalog_file)
    mirrored = {d.id for d in docs if (real_settings.mirror_dir / d.file).is_file()}
    assert len(mirrored) == 24
    assert mirrored == set(real_store.docs)
    assert real_store.manifest["embedder"] == "all-mpnet-base-v2" and real_store.manifest["dim"] == 768
    assert real_store.manifest["skipped"] == {}


def test_hiroshima_chunks_carry_paragraphs_1_to_66(real_store) -> None:
    numbered = {p for c in real_store.doc_chunks("g7-hiroshima-2023") for p in c.paras if p.isdigit()}
    assert numbered == {str(i) for i in range(1, 67)}
    para38 = [c for c in real_store.doc_chunks("g7-hiroshima-2023") if c.para == "38"]
    assert para38[0].text.startswith("38. We recognize that, while rapid technological change")


def test_no_pdf_chunk_contains_running_header_or_page_footer(real_store) -> None:
    headers = {
        "g7-apulia-2024": "G7 Apulia Leaders' Communiqué",
        "ttc-2024-04": "U.S.-EU Joint Statement of the Trade and Technology Council, April 2024",
        "spyware-2024": "Joint Statement on Efforts to Counter the Proliferation and Misuse of Commercial Spyware "
        "(2024)",
    }
    for doc_id, header in headers.items():
        chunks = real_store.doc_chunks(doc_id)
        assert chunks and all(c.page for c in chunks)
        for c in chunks:
            assert header not in c.text, c.id
            assert not re.search(r"\bPage \d+\b", c.text), c.id


def test_pdf_pages_are_right(real_store) -> None:
    c = next(c for c in real_store.doc_chunks("spyware-2024") if "Our efforts will allow us" in c.text)
    assert c.page == 2


def test_the_ttc_2021_annexed_statements_are_cited_by_their_own_numbering(real_store, real_settings) -> None:
    # each annexed statement numbers its paragraphs from 1: "¶8" alone named the export-control principle and the
    # AI statement's paragraph alike
    paras = {c.para: c for c in real_store.doc_chunks("ttc-2021-09")}
    assert paras["Principles ¶8"].text.startswith("8. Against this backdrop the Export Control Working Group")
    assert paras["Statement on AI ¶8"].text.startswith("8. The European Union notes the U.S. government")
    assert paras["Statement on Investment Screening ¶5"].text.startswith("5. The United States and the European")
    assert "8" not in paras
    a = ask(real_store, "What did the TTC say in 2021 about the AI Risk Management Framework?", real_settings)
    assert a.citations[0].citation == "TTC Pittsburgh 2021, Statement on AI ¶8"


def _opens_paragraph(chunk_id: str) -> bool:
    """A chunk that is a whole paragraph or its first part ("#9~p1", "#9~p1~2" for a repeated label)."""
    part = PART_RE.search(chunk_id)
    return part is None or part.group() == "~p1"


def test_no_two_numbered_paragraphs_of_a_document_share_a_label(real_store) -> None:
    # numbering restarting under one heading (the TTC 2021 semiconductor annex: 1–6, then 1–3) named two paragraphs
    # "¶1"; further paragraphs of one numbered item (the Code of Conduct's) share its label by design
    openings = Counter(
        (c.doc_id, c.para)
        for d in real_store.docs
        for c in real_store.doc_chunks(d)
        if _opens_paragraph(c.id)
        if re.match(rf"{re.escape(plain_para(c.para)[1])}[.\s]", c.text)
    )
    assert [key for key, n in openings.items() if n > 1] == []
    paras = {c.para: c for c in real_store.doc_chunks("ttc-2021-09")}
    assert paras["Statement on Semiconductor Supply Chains, list 2 ¶1"].text.startswith("1. We share the aim")


def test_a_question_asking_who_or_how_many_cites_the_passage_with_the_names_or_the_number(
    real_store, real_settings
) -> None:
    # the spyware statement's [1] lists the signatories, the DFI fact sheet's [2] counts the partners; without the
    # answer-kind cue each opened with a neighbouring paragraph on the same topic
    who = "Which governments signed the original March 2023 joint statement on commercial spyware?"
    many = "How many partners joined the United States in launching the Declaration for the Future of the Internet?"
    for question, cited, chunk in (
        (who, "Spyware Joint Statement 2023 ¶[1]", "spyware-2023#[1]"),
        (many, "DFI Launch Fact Sheet ¶[2]", "dfi-fact-sheet-2022#[2]"),
    ):
        assert ask(real_store, question, real_settings).citations[0].citation == cited
        off = real_settings.model_copy(update={"answer_kind_weight": 0.0})  # the retriever's cue (the answer's own
        turn, scope = qn.read(real_store, question, Filters())  # list-first rule may still find the passage)
        assert qn.search_turn(real_store, turn, scope, off, k=1)[0].chunk.id != chunk
        assert qn.search_turn(real_store, turn, scope, real_settings, k=1)[0].chunk.id == chunk


def test_a_users_word_finds_the_paragraph_in_the_texts_words(real_store, real_settings) -> None:
    # the glossary's "treaty" is the DFI fact sheet's "political commitment" (its [3]), "deepfakes" the G7 texts'
    # "content authentication and provenance mechanisms" (Guiding Principles and Code of Conduct ¶7); without the
    # glossary these answers open with the fact sheet's [4] and an unrelated paragraph (North Korea)
    off = real_settings.model_copy(update={"glossary_file": None})
    for question, cited in (
        ("Is the Declaration for the Future of the Internet a treaty?", ("DFI Launch Fact Sheet ¶[3]",)),
        (
            "Did the G7 leaders say anything about deepfakes?",
            ("Guiding Principles ¶7, p. 4", "Code of Conduct ¶7, p. 6"),
        ),
    ):
        assert ask(real_store, question, real_settings).citations[0].citation in cited, question
        assert ask(real_store, question, off).citations[0].citation not in cited, question
    # a text named alone is searched alone, matched without its name: "watermarking" finds its ¶7 either way
    question = "What does the Code of Conduct say about watermarking?"
    for settings in (real_settings, off):
        assert ask(real_store, question, settings).citations[0].citation == "Code of Conduct ¶7, p. 6"


def test_exact_agreed_language_is_found_verbatim(real_store, real_settings) -> None:
    phrase = "safe, secure, and trustworthy AI"
    hits = search(real_store, f'Where was "{phrase}" agreed?', real_settings, k=10)
    contains = [normalise(phrase) in normalise(h.chunk.text) for h in hits]
    assert contains[0] and sum(contains) >= 2
    assert contains == sorted(contains, reverse=True)  # every verbatim match ranks above every other hit


def test_spyware_versions_fold_into_one_hit_naming_the_other(real_store, real_settings) -> None:
    q = "preventing the export of software to end-users likely to use them for malicious cyber activities"
    hits = search(real_store, q, real_settings, k=5)
    top = hits[0]
    assert {top.doc.id, *top.also_in} == {"spyware-2023", "spyware-2024"}
    drafts_view = search(real_store, q, real_settings, k=5, mode="fused")
    assert {h.doc.id for h in drafts_view[:2]} == {"spyware-2023", "spyware-2024"}


def test_the_readme_question_is_answered_with_hiroshima_citations(real_store, real_settings) -> None:
    a = ask(real_store, "What did the G7 leaders launch on generative AI in Hiroshima?", real_settings)
    assert a.found
    assert any(c.doc_id in ("g7-hiroshima-2023", "g7-hiroshima-ai-2023") for c in a.citations)
    for s in a.sentences:
        assert normalise(s.text) in normalise(a.citations[s.key - 1].text)


def test_collection_filter_on_real_corpus(real_store, real_settings) -> None:
    hits = search(real_store, "semiconductor supply chains", real_settings, k=10, filters=Filters(collections=("TTC",)))
    assert hits and {h.doc.collection for h in hits} == {"TTC"}


def test_off_topic_question_finds_nothing(real_store, real_settings) -> None:
    a = ask(real_store, "What is the best recipe for tiramisu with mascarpone?", real_settings)
    assert not a.found


def test_a_paragraph_asked_for_by_number_is_quoted_and_cited(real_store, real_settings) -> None:
    from govassist.answer import ask

    for question, (doc, para) in {
        "What does paragraph 38 of the Hiroshima Communiqué say?": ("g7-hiroshima-2023", "38"),
        "What does paragraph 38 of the Hiroshima Communique say?": ("g7-hiroshima-2023", "38"),  # typed unaccented
        "Show me OP12 of the UN resolution": ("unga-78-265-2024", "12"),
        "What does A/RES/78/265 paragraph 6(g) say?": ("unga-78-265-2024", "6(g)"),
        "What does subparagraph 6(h) of the UN resolution say?": ("unga-78-265-2024", "6(h)"),
        "What does paragraph 7 of the Hiroshima Code of Conduct say?": ("g7-hiroshima-code-of-conduct-2023", "7"),
    }.items():
        a = ask(real_store, question, real_settings)
        assert (a.citations[0].doc_id, a.citations[0].para, a.support) == (doc, para, "direct"), question
        assert {c.para for c in a.citations} == {para}, question  # not ¶66 between two quotes of ¶38
    a = ask(real_store, "What does paragraph 7 of the Hiroshima Code of Conduct say?", real_settings)
    assert a.sentences[0].text.startswith("7 Develop and deploy reliable content authentication")  # its commitment
    a = ask(real_store, "What do paragraphs 6(g) and 6(h) of the UN resolution say?", real_settings)
    assert [c.para for c in a.citations] == ["6(g)", "6(h)"]
    # every paragraph of that number: TTC 2021 numbers its annexed statements afresh
    a = ask(real_store, "What does paragraph 8 of the TTC Pittsburgh statement say?", real_settings)
    assert {c.para for c in a.citations} == {"Principles ¶8", "Statement on AI ¶8", "[8]"}
    a = ask(real_store, "What does paragraph 99 of the Hiroshima Communiqué say?", real_settings)
    assert a.support == "closest" and "Hiroshima Communiqué has no paragraph 99" in " ".join(a.notes)
    a = ask(real_store, "What does paragraph 99 of the UN resolution say?", real_settings)  # named by its words
    assert a.support == "closest" and "A/RES/78/265 has no paragraph 99" in " ".join(a.notes)


def test_other_bodies_instruments_are_told_apart_from_the_catalogued_texts(real_store, real_settings) -> None:
    from govassist.answer import ask
    from govassist.answer import support as sp

    a = ask(real_store, "What does the EU AI Act ban?", real_settings)  # the TTC texts mention it
    assert a.support == "closest" and sp.instrument_note("EU AI Act") in a.notes
    for q in (  # catalogued texts, named as users shorten them, and what the texts make of another instrument
        "Does the Hiroshima AI Process Code of Conduct cover watermarking?",
        "Is the Bletchley Declaration binding?",
        "What do the Hiroshima Guiding Principles say about risk?",
        "Did the G7 welcome the Council of Europe AI convention?",
    ):
        assert sp.instrument(q, real_settings) == "", q
    assert sp.instrument("What does the Global Digital Compact say on data?", real_settings) == ""  # catalogued
    for a, b in (
        ("OECD AI Principles", "Hiroshima Guiding Principles"),
        ("Hiroshima Guiding Principles", "OECD AI Principles"),
    ):
        assert sp.instrument(f"How do the {a} and the {b} differ?", real_settings) == "OECD AI Principles"  # any order
    a = ask(real_store, "What does the paragraph on labelling AI content in the Code of Conduct say?", real_settings)
    assert not any("not among the indexed texts" in n for n in a.notes)
    # a text named alone is searched alone: Apulia does not mention the convention, the TTC and Bletchley texts do
    a = ask(real_store, "Does the Apulia communique mention the Council of Europe convention on AI?", real_settings)
    assert a.support == "closest" and {c.doc_id for c in a.citations} == {"g7-apulia-2024"}
    a = ask(real_store, "Does the Apulia communique refer to the Seoul AI Summit?", real_settings)
    assert (a.support, a.citations[0].doc_id, a.citations[0].para) == ("direct", "g7-apulia-2024", "[113]")
    a = ask(real_store, "Did the TTC encourage companies to apply the Hiroshima Code of Conduct?", real_settings)
    assert a.citations[0].doc_id == "ttc-2024-04"  # the TTC's words on the Code, not the Code
    q = "Do the UN resolution and the Bletchley Declaration agree on inclusion of developing countries?"
    a = ask(real_store, q, real_settings)  # each side by its own texts' words, not by the names
    assert [c.para for c in a.citations if c.doc_id == "bletchley-declaration-2023"] == ["[6]"]
