"""Extractive answers: every sentence is cited, quoted verbatim from the passage it cites."""

from dataclasses import replace
from pathlib import Path

from govassist.answer import NOTHING, ask
from govassist.settings import Settings
from govassist.text import normalise


def test_every_sentence_cites_a_passage_that_contains_it(mini_store, mini_settings: Settings) -> None:
    a = ask(mini_store, "What will be done about connecting schools and hospitals?", mini_settings)
    assert a.found and a.sentences
    keys = {c.key: c for c in a.citations}
    for sent in a.sentences:
        assert normalise(sent.text) in normalise(keys[sent.key].text)
        assert f"[{keys[sent.key].citation}]" in a.text
    assert any(c.para == "2(a)" and c.citation == "Syn. Compact ¶2(a)" for c in a.citations)
    assert sorted(keys) == list(range(1, len(keys) + 1))


def test_pdf_citations_carry_the_page(mini_store, mini_settings: Settings) -> None:
    a = ask(mini_store, "critical minerals for batteries and quantum technologies", mini_settings)
    cite = next(c for c in a.citations if c.doc_id == "syn-report")
    assert cite.page == 2 and cite.citation.endswith(", p. 2") and cite.source == "synthetic-report.pdf"


def test_nothing_relevant_is_said_plainly(mini_store, mini_settings: Settings) -> None:
    strict = Settings(**{**mini_settings.model_dump(), "min_relevance": 0.99})
    a = ask(mini_store, "What is the recipe for a good risotto?", strict)
    assert not a.found and a.text == NOTHING and a.citations == ()


def test_answer_json_shape(mini_store, mini_settings: Settings) -> None:
    d = ask(mini_store, "quantum computing research", mini_settings).to_dict()
    assert set(d) >= {"answer", "citations", "sentences", "found"}
    assert set(d["citations"][0]) >= {"chunk_id", "doc_id", "label", "para", "page", "source", "text"}


# ---------------------------------------------------------------- the sentence that answers comes first

from govassist.answer import CLOSEST, CLOSEST_LEAD, DIRECT, NONE  # noqa: E402
from govassist.answer import rank as rk  # noqa: E402
from govassist.answer import support as sp  # noqa: E402
from govassist.answer.extractive import extract  # noqa: E402
from govassist.catalog import DocMeta  # noqa: E402
from govassist.chunk import Chunk  # noqa: E402
from govassist.retrieve import Hit  # noqa: E402

CONTEXT = (
    "The countries of the spyware statement met again in 2024 to review the commercial spyware market. "
    "They discussed how commercial spyware has been misused against journalists and dissidents worldwide. "
)
JOINERS = "In 2024, Finland, Germany, Ireland, Japan, Poland and the Republic of Korea joined the spyware statement."


def _hit(text: str, doc_id: str = "d1", date: str = "2024-03-18", rank: int = 1, title: str = "") -> Hit:
    doc = DocMeta(doc_id, title or f"Statement {doc_id}", f"Stmt {doc_id}", f"{doc_id}.txt", date=date)
    return Hit(Chunk(f"{doc_id}#1", doc_id, "1", ("1",), "", None, text), doc, 1.0 / rank, rank, 0.9)


def test_the_answering_sentence_placed_last_in_its_paragraph_is_quoted_first(mini_settings: Settings) -> None:
    question = "Which countries joined the spyware statement in 2024?"
    a = extract(question, [_hit(CONTEXT + JOINERS)], mini_settings)
    assert len(a.sentences) > 1  # the context sentence is quoted too, after the answer
    assert a.sentences[0].text == JOINERS
    assert a.text.startswith(JOINERS)


def test_list_and_date_questions_are_recognised_and_their_sentences_found() -> None:
    assert rk.question_kind("Which countries joined the spyware statement?") == "list"
    assert rk.question_kind("Who signed the declaration in 2023?") == "list"
    assert rk.question_kind("When did the moratorium end?") == "date"
    assert rk.question_kind("How has the G7 language on AI changed since 2021?") == "evolution"
    assert rk.question_kind("How did the TTC semiconductor work develop from 2021 to 2024?") == "evolution"
    assert rk.question_kind("How do they move data across borders?") == ""
    assert rk.question_kind("What did the TTC say about chips?") == ""
    assert rk.question_kind("Compare what the TTC said on chips in 2023 and 2024") == "evolution"  # quoted by date
    assert rk.question_kind("How does the 2024 text differ from the 2023 one?") == "evolution"
    assert rk.question_kind("Compare the TTC and the G7 on chips") == ""  # no years: not an evolution
    assert rk.question_kind("Did Italy sign the Bletchley Declaration?") == "list"  # the list of names answers it
    assert rk.question_kind("Has the Republic of Korea joined the statement?") == "list"
    assert rk.question_kind("Did the G7 say anything about signing?") == ""
    assert rk.question_kind("Did the UK and France sign the declaration?") == "list"
    for q in ("Has the EU signalled support?", "Did the US back away from it?", "Is AI among the G7 priorities?"):
        assert rk.question_kind(q) == "", q
    assert rk.carries("list", "The countries represented were: • Australia • Brazil • Canada")
    assert rk.carries("list", JOINERS) and not rk.carries("list", CONTEXT)
    assert rk.carries("date", "The statement was agreed on 18 March 2024.")
    assert not rk.carries("date", "The statement was agreed by all participants.")


def test_a_count_question_asks_for_a_number_not_a_list_of_names() -> None:
    assert rk.question_kind("How many states showed up at the democracy summit?") == "count"  # was "list"
    assert rk.question_kind("How big was the 2021 summit, and who took part?") == "count"
    assert rk.question_kind("How long is the glossary the experts produced?") == "count"
    assert rk.carries("count", "The Summit brought together more than 275 participants, representing governments.")
    assert rk.carries("count", "Leaders from 100 governments announced commitments; 1,500 experts met.")
    assert rk.carries("count", "Spending rose by 20 per cent; 2500 engineers were trained.")
    assert rk.carries("count", "Coverage reached 20%.") and rk.carries("count", "It reached 1.5 million people.")
    for text in (  # a day, a year, a resolution's number or a paragraph's is no count
        "On December 8, 2021, the U.S. Government and its partners hosted sessions.",
        "On 23 October 2024, New Zealand joined the commitment.",
        "Recalling its resolution 78/265 of 21 March 2024 and paragraph 5.2 of the annex.",
        "G7 leaders met in 2023 and agreed OP12.",
        "As paragraph 5 of the annex and Article 19 of the Covenant say, SDG 9 and OP 5 apply.",
    ):
        assert not rk.carries("count", text), text


def test_a_list_question_prefers_the_sentence_carrying_the_list(mini_settings: Settings) -> None:
    topic = "The partnership on secure undersea cables was joined by several new partner governments this year."
    names = "Canada, Chile, Kenya and Norway became partners in the cables initiative."
    hits = [_hit(f"{topic} {names}")]
    question = "Which governments joined the partnership on undersea cables?"
    plain = rk.rank(question, hits, mini_settings, rk.Weights(kind=0.0))
    kind = rk.rank(question, hits, mini_settings, rk.Weights(kind=1.0))
    assert plain[0].text == topic  # without the preference the topic sentence shares more words
    assert kind[0].text == names


def test_the_best_ranked_passage_opens_the_answer_even_when_a_lower_one_has_a_closer_sentence(
    mini_settings: Settings,
) -> None:
    question = "What happened to the spyware statement in 2024: did Finland and Germany join it?"
    top = _hit(CONTEXT, "d1", rank=1)  # ranked first by the retriever, its sentences less like the question
    lower = _hit(JOINERS, "d2", rank=2)
    ranked = rk.rank(question, [top, lower], mini_settings)
    assert ranked[0].hit == 1  # the lower passage holds the sentence closest to the question
    a = extract(question, [top, lower], mini_settings)
    assert a.citations[0].doc_id == "d1"
    assert a.sentences[0].text in CONTEXT
    assert "d2" in [c.doc_id for c in a.citations]  # and the closer sentence is still quoted, second
    # but a question asking for a list opens with the passage holding it when the first passage has none
    listed = extract("Which countries joined the spyware statement in 2024?", [top, lower], mini_settings)
    assert listed.citations[0].doc_id == "d2" and listed.sentences[0].text == JOINERS


def test_an_evolution_question_orders_its_quotes_by_date(mini_settings: Settings) -> None:
    hits = [
        _hit(
            "Leaders committed to trusted cross-border data flows and to data free flow with trust.",
            "d24",
            "2024-06-14",
        ),
        _hit("Leaders launched work on cross-border data flows and data free flow with trust.", "d21", "2021-06-13", 2),
        _hit(
            "Leaders endorsed a partnership on cross-border data flows and data free flow with trust.",
            "d23",
            "2023-05-20",
            3,
        ),
    ]
    asked = "leaders committed to trusted cross-border data flows and data free flow with trust"
    plain = extract(f"What have {asked}?", hits, mini_settings)
    assert plain.citations[0].doc_id == "d24"  # the best sentence first
    a = extract(f"How has what {asked} evolved since 2021?", hits, mini_settings)
    assert [c.doc_id for c in a.citations] == ["d21", "d23", "d24"]


# ---------------------------------------------------------------- how strong the support is


def test_key_terms_are_names_years_and_acronyms() -> None:
    assert sp.key_terms("What did G7 leaders at Kananaskis say in 2025?") == ["G7", "Kananaskis", "2025"]
    assert sp.key_terms("Which countries signed the Council of Europe AI convention?") == ["Council of Europe"]
    assert sp.key_terms("Did the TTC welcome the UNGA's AI text?") == ["TTC", "UNGA"]
    assert sp.key_terms("What does the Paris AI Action Summit declaration say?") == ["Paris AI Action Summit"]
    # a name may open the question, as delegates type it; a request or a preposition opening it is no name
    assert sp.key_terms("Council of Europe AI convention - who signed?") == ["Council of Europe"]
    assert sp.key_terms("Paris AI Action Summit declaration - key commitments?") == ["Paris AI Action Summit"]
    assert sp.key_terms("Compare G7 and UN on AI") == ["G7", "UN"]
    assert sp.key_terms("Beyond Jamaica and Kenya, which countries got support?") == ["Jamaica", "Kenya"]
    assert sp.key_terms("Cooperation on AI: what did they agree?") == []  # one title-case word opens any sentence
    assert sp.key_terms("Recent G7 statements on AI?") == ["G7"]  # an acronym after it: no name of several words
    latest = [_hit("The Apulia Communiqué is the text.", title="Apulia Communiqué")]
    assert sp.missing_terms("Latest Apulia Communiqué text on AI?", latest) == ()  # found without its first word
    assert sp.missing_terms("Paris AI Action Summit – commitments?", latest) == ("Paris AI Action Summit",)
    assert sp.missing_terms("What does the Apulia Communique say on AI?", latest) == ()  # typed without the accent


def test_missing_terms_look_for_names_as_phrases_and_aliases() -> None:
    hits = [_hit("The United States and the European Union agree to protect human rights defenders online.")]
    assert sp.missing_terms("What have Washington and Brussels agreed on defenders?", hits) == ()
    assert sp.missing_terms("What did G20 leaders in Rio say?", hits) == ("G20", "Rio")
    assert sp.key_terms("When will 6G replace 5G, and what did 3GPP say?") == ["6G", "5G", "3GPP"]
    assert sp.missing_terms("What does the Digital Markets Act say about the European Union?", hits) == (
        "Digital Markets Act",
    )
    code = [_hit("Organizations should label AI content.", title="Hiroshima Process International Code of Conduct")]
    assert sp.missing_terms("What does the Hiroshima Code of Conduct say?", code) == ()  # the title, shortened
    assert sp.missing_terms("What does the Kyoto Code of Conduct say?", code) == ("Kyoto Code of Conduct",)


def test_a_paragraph_asked_for_by_number_opens_with_its_first_sentence_unless_asked_about_something(
    mini_settings: Settings,
) -> None:
    from dataclasses import replace as _replace

    text = (
        "7 Develop and deploy reliable content authentication and provenance mechanisms such as watermarking\n"
        "This includes provenance data for content created with an advanced AI system. Organizations are further "
        "encouraged to implement labeling or disclaimers to let users know when they interact with an AI system."
    )
    item = _replace(_part("un#7", 7, text), cited=True)
    plain = extract("What does paragraph 7 say?", [item], mini_settings)
    assert plain.sentences[0].text.startswith("7 Develop and deploy")  # the commitment itself
    topical = extract("What does paragraph 7 say about labeling or disclaimers for users?", [item], mini_settings)
    assert topical.sentences[0].text.startswith("Organizations are further encouraged")  # what it says of that


def test_apart_needs_the_year_and_the_name_in_one_passage() -> None:
    hits = [
        _hit("ASEAN and the United States agree on digital development.", "asean", "2021-10-27"),
        _hit("Leaders agree on AI safety testing.", "other", "2023-11-01", 2),
    ]
    assert sp.apart("What did ASEAN agree on AI in 2023?", hits) == 1
    assert sp.apart("What did ASEAN agree on AI in 2021?", hits) == 0
    assert sp.apart("What did ASEAN agree on AI?", hits) == 0
    # of two years compared, one passage needs one: no passage can hold both
    assert sp.apart("Compare what ASEAN agreed in 2021 and 2023", hits) == 0
    assert sp.apart("Compare what ASEAN agreed in 2022 and 2024", hits) == 1  # lacking both years counts once


def test_thresholds_decide_direct_closest_and_none(mini_settings: Settings) -> None:
    s = Settings(
        **{
            **mini_settings.model_dump(),
            "min_relevance": 0.3,
            "answer_direct_cosine": 0.4,
            "answer_direct_sentence": 0.35,
        }
    )
    assert sp.decide(sp.Evidence(0.6, 0.6, ()), s) == DIRECT
    assert sp.decide(sp.Evidence(0.6, 0.6, ("Kananaskis",)), s) == CLOSEST
    assert sp.decide(sp.Evidence(0.6, 0.6, (), apart=1), s) == CLOSEST
    assert sp.decide(sp.Evidence(0.35, 0.6, ()), s) == CLOSEST
    assert sp.decide(sp.Evidence(0.6, 0.3, ()), s) == CLOSEST
    assert sp.decide(sp.Evidence(0.2, 0.25, ()), s) == NONE  # neither the passage nor a sentence is near
    assert sp.decide(sp.Evidence(0.2, 0.6, ()), s) == CLOSEST  # a sentence is: shown, as the closest
    above = Settings(**{**s.model_dump(), "min_relevance": 0.45})  # a floor set above the 'direct' one (0.4)
    assert sp.decide(sp.Evidence(0.42, 0.6, ()), above) == CLOSEST  # still only the closest, never direct
    assert sp.decide(sp.Evidence(0.6, None, ()), s) == NONE
    lenient = Settings(**{**s.model_dump(), "answer_missing_terms": 2})
    assert sp.decide(sp.Evidence(0.6, 0.6, ("Kananaskis",)), lenient) == DIRECT


def _hash_floors(s: Settings) -> Settings:
    """The cosine floors are calibrated for the packaged model; the fixtures' hash embedder scores lower."""
    return Settings(**{**s.model_dump(), "answer_direct_cosine": 0.2})


def test_a_direct_answer_says_so(mini_store, mini_settings: Settings) -> None:
    a = ask(mini_store, "What will be done about connecting schools and hospitals?", _hash_floors(mini_settings))
    assert a.support == DIRECT and a.to_dict()["support"] == DIRECT
    assert not a.text.startswith(CLOSEST_LEAD)


def test_a_closest_answer_opens_with_the_warning_and_still_cites(mini_store, mini_settings: Settings) -> None:
    a = ask(mini_store, "What did the Kananaskis summit say about connecting schools and hospitals?", mini_settings)
    assert a.support == CLOSEST and a.found and a.citations
    assert a.text.startswith(CLOSEST_LEAD + " ")


def test_nothing_found_carries_support_none(mini_store, mini_settings: Settings) -> None:
    strict = Settings(**{**mini_settings.model_dump(), "min_relevance": 0.99})
    a = ask(mini_store, "What is the recipe for a good risotto?", strict)
    assert a.support == NONE and a.to_dict()["support"] == NONE


def test_a_catalogued_text_that_is_not_indexed_is_named_with_how_to_fetch_it(
    mini_store, mini_settings: Settings
) -> None:
    with mini_settings.catalog_file.open("a", encoding="utf-8") as fh:
        fh.write(
            '\n[[doc]]\nid = "syn-pact-2025"\ntitle = "Synthetic Digital Pact (2025)"\nlabel = "SDP"\n'
            'file = "synthetic-pact.pdf"\nurl = "https://example.org/pact.pdf"\n'
        )
    a = ask(mini_store, "What does the Synthetic Digital Pact say about connecting schools?", mini_settings)
    assert a.text.startswith("The Synthetic Digital Pact (SDP) is catalogued but not indexed here;")
    assert "`govassist corpus fetch`" in a.text and "`synthetic-pact.pdf`" in a.text
    assert a.notes and a.notes[0].startswith("The Synthetic Digital Pact (SDP) is catalogued")
    assert a.support in (CLOSEST, NONE)
    by_acronym = ask(mini_store, "Does the SDP mention schools?", mini_settings)
    assert by_acronym.notes and "Synthetic Digital Pact" in by_acronym.notes[0]
    other = ask(mini_store, "What will be done about connecting schools and hospitals?", _hash_floors(mini_settings))
    assert not other.notes and other.support == DIRECT
    with mini_settings.catalog_file.open("a", encoding="utf-8") as fh:  # a restricted draft is never named
        fh.write(
            '\n[[doc]]\nid = "secret-draft"\ntitle = "Secret Negotiating Draft"\nlabel = "Secret Draft"\n'
            'file = "secret.pdf"\nrestricted = ["negotiator"]\n'
        )
    (mini_settings.corpus_dir / "secret.pdf").write_bytes(b"%PDF-1.4")
    hidden = ask(mini_store, "What does the Secret Negotiating Draft say about schools?", mini_settings)
    assert "Secret" not in hidden.text + hidden.not_indexed + " ".join(hidden.notes)


def test_the_chat_reply_carries_the_support_flag_and_the_notice(mini_store, mini_settings: Settings) -> None:
    from govassist import chat

    with mini_settings.catalog_file.open("a", encoding="utf-8") as fh:
        fh.write('\n[[doc]]\nid = "syn-pact"\ntitle = "Synthetic Digital Pact"\nlabel = "SDP"\nfile = "pact.pdf"\n')
    q = "What did the Kananaskis summit say about connecting schools and hospitals?"
    reply = chat.answer_turn(mini_store, q, mini_settings, chat.Prefs(), (), None)
    assert reply.answer is not None and reply.answer.support == CLOSEST
    notice = chat.answer_turn(mini_store, "Does the SDP cover schools?", mini_settings, chat.Prefs(), (), None)
    assert notice.answer is not None and notice.answer.notes[0].startswith("The Synthetic Digital Pact (SDP) is")
    assert "catalogued but not indexed here" in notice.content  # the chat shows the answer's notes


def test_the_notice_names_one_text_for_its_versions_and_each_text_of_a_forum() -> None:
    drafts = [
        DocMeta(
            f"pact-{i}", f"Digital Pact, draft {i}", f"Pact draft {i}", f"p{i}.pdf", family="pact", date=f"2024-0{i}-01"
        )
        for i in (1, 2)
    ]
    final = DocMeta(
        "pact", "Digital Pact (A/RES/1)", "Pact", "pact.pdf", family="pact", date="2024-09-01", url="https://x/p.pdf"
    )
    text = sp.notice((*drafts, final))
    assert text.startswith("The Digital Pact (Pact) (and 2 earlier versions) is catalogued but not indexed here;")
    assert "`govassist corpus fetch` brings it in" in text and "`pact.pdf`" in text and "`p1.pdf`" not in text
    texts = (
        DocMeta("a", "Tunis Agenda", "Tunis Agenda", "a.html", family="wsis-outcomes"),
        DocMeta("b", "Geneva Declaration", "Geneva Declaration", "b.html", family="wsis-outcomes"),
    )
    assert "wsis" in sp.names(texts[0])[1]  # the family's acronym
    assert "unga" not in sp.names(DocMeta("c", "Compact", "C", "c.pdf", forum="United Nations General Assembly"))[1]
    assert sp.notice(texts).startswith("The Tunis Agenda and Geneva Declaration are catalogued")
    # no address to fetch from: copy the files in; the files already in the corpus folder: build the index
    assert "the catalog gives no address to fetch them from: copy the files" in sp.notice(texts)
    assert "corpus fetch" not in sp.notice(texts)


def test_the_notice_says_to_build_when_the_file_is_already_in_the_corpus(tmp_path: Path) -> None:
    doc = DocMeta("pact", "Digital Pact", "Pact", "pact.pdf", url="https://x/p.pdf")
    assert "`govassist corpus fetch` brings it in" in sp.notice((doc,), tmp_path)
    (tmp_path / "pact.pdf").write_bytes(b"%PDF-1.4")
    said = sp.notice((doc,), tmp_path)
    assert "in the corpus folder but not indexed here: `govassist index build` indexes it" in said
    assert "corpus fetch" not in said


def test_the_years_of_a_range_are_not_required_of_a_passage() -> None:
    assert sp.key_terms("How has G7 language on AI changed since 2021?") == ["G7"]
    assert sp.key_terms("What did the G7 say in 2021?") == ["G7", "2021"]


# ---------------------------------------------------------------- a paragraph is cited once


def _part(cid: str, order: int, text: str) -> Hit:
    doc = DocMeta("un", "Resolution", "A/RES/78/265", "un.pdf", date="2024-03-21")
    para = cid.split("#")[1].split("~")[0]
    return Hit(Chunk(cid, "un", para, (para,), "", 7, text, "", order), doc, 1.0, order, 0.8)


def test_quotes_from_two_parts_of_one_paragraph_cite_it_once_with_its_whole_text() -> None:
    """UN 78/265 ¶9 is one sentence over the chunk bound, so two passages: its quotes cite one ¶9 that shows both."""
    from govassist.answer import Answer, by_paragraph, to_citation
    from govassist.answer.records import Sentence

    one, two = "9. Encourages the private sector to act;", "as well as encourages fair competition;"
    hits = [_part("un#9~p2", 11, two), _part("un#8", 9, "8. Recalls its resolutions."), _part("un#9~p1", 10, one)]
    cites = tuple(to_citation(i, h) for i, h in enumerate(hits, start=1))
    a = Answer("q", "t", (Sentence(two, 1), Sentence("8. Recalls its resolutions.", 2), Sentence(one, 3)), cites, True)
    merged = by_paragraph(a, hits)
    assert [c.citation for c in merged.citations] == ["A/RES/78/265 ¶9, p. 7", "A/RES/78/265 ¶8, p. 7"]
    assert merged.citations[0].text == f"{one} {two}" and [x.key for x in merged.sentences] == [1, 2, 1]
    gap = by_paragraph(a, [hits[0], hits[2], _part("un#9~p4", 13, "and more;")])  # ~p3 not retrieved
    assert gap.citations[0].text == f"{one} {two} […] and more;"
    listed = [_part("un#4~p1", 20, "We commit to:\n• one item; and"), _part("un#4~p2", 21, "• another item.")]
    cited = Answer("q", "t", (Sentence("one item; and", 1), Sentence("another item.", 2)), (), True)
    cited = replace(cited, citations=tuple(to_citation(i, h) for i, h in enumerate(listed, start=1)))
    assert by_paragraph(cited, listed).citations[0].text == "We commit to:\n• one item; and\n• another item."
    # a label its text uses for several paragraphs (the Code of Conduct's "3 Publicly report …" and the paragraphs
    # explaining it): one citation, as a diplomat cites it, showing the paragraphs quoted in the text's order
    repeated = [_part("un#3~2", 30, "3. Another three."), _part("un#3", 3, "3. First three.")]
    b = Answer(
        "q",
        "t",
        (Sentence("3. Another three.", 1), Sentence("3. First three.", 2)),
        tuple(to_citation(i, h) for i, h in enumerate(repeated, start=1)),
        True,
    )
    once = by_paragraph(b, repeated)
    assert [c.citation for c in once.citations] == ["A/RES/78/265 ¶3, p. 7"]
    assert [x.key for x in once.sentences] == [1, 1]
    assert once.citations[0].text == "3. First three. […] 3. Another three."
    # with the store's chunks, a cited part shows its whole paragraph, parts not retrieved included
    store = [hits[2].chunk, hits[0].chunk, _part("un#9~p3", 12, "then this;").chunk, _part("un#9~p4", 13, "end.").chunk]
    whole = by_paragraph(a, hits[:2], lambda doc_id: [_part("un#10", 14, "10. Next.").chunk, *store])
    assert whole.citations[0].text == f"{one} {two} then this; end." and whole.citations[0].citation.endswith(
        "¶9, p. 7"
    )
    assert whole.citations[1].text == "8. Recalls its resolutions."  # a paragraph in one part is shown as it is


def test_a_paragraph_shown_whole_takes_only_its_own_parts() -> None:
    """TTC 2021 "Section 2 … ¶1" was used twice: once for a long list in parts (…¶1~p1, ~p2), once for a short
    paragraph whose id is the plain label. The list's unretrieved parts are not taken for the short one's; a
    paragraph over WHOLE_MAX_CHARS (a long bulleted list) shows the parts cited, not the whole."""
    from govassist.answer import WHOLE_MAX_CHARS, Answer, by_paragraph, to_citation
    from govassist.answer.records import Sentence

    list1, list2, short = (
        _part("un#1~p1", 1, "1. As follows:"),
        _part("un#1~p2", 2, "• an item;"),
        _part("un#1", 3, "1. We agree."),
    )
    store = [list1.chunk, list2.chunk, short.chunk]
    a = Answer(
        "q",
        "t",
        (Sentence("1. We agree.", 1), Sentence("• an item;", 2)),
        (to_citation(1, short), to_citation(2, list2)),
        True,
    )
    out = by_paragraph(a, [short, list2], lambda doc_id: store)  # one label, one citation: both, in the text's order
    assert [c.text for c in out.citations] == ["1. As follows:\n• an item; 1. We agree."]  # a bullet on its line
    big = _part("un#1~p3", 4, "x" * WHOLE_MAX_CHARS)
    out = by_paragraph(a, [short, list2], lambda doc_id: [list1.chunk, list2.chunk, big.chunk])
    assert out.citations[0].text == "• an item; 1. We agree."  # the long list's cited part only, not the whole


def test_a_paragraph_of_restarted_numbering_is_cited_with_its_heading() -> None:
    from govassist.answer import cite_label

    doc = DocMeta("ttc", "TTC Joint Statement", "TTC Pittsburgh 2021", "ttc.pdf")
    qualified = Chunk("ttc#AI8", "ttc", "Statement on AI ¶8", ("Statement on AI ¶8",), "Statement on AI", 3, "8. Text.")
    plain = Chunk("ttc#8", "ttc", "8", ("8",), "Section 1", None, "8. Text.")
    assert cite_label(doc, qualified) == "TTC Pittsburgh 2021, Statement on AI ¶8, p. 3"
    assert cite_label(doc, qualified, page=False) == "TTC Pittsburgh 2021, Statement on AI ¶8"
    assert cite_label(doc, plain) == "TTC Pittsburgh 2021 ¶8"


def test_a_question_in_another_script_is_not_answered_by_an_english_embedder(mini_store, mini_settings) -> None:
    from govassist.answer import ask

    for q in ("联合国大会关于人工智能的决议说了什么？", "Что сказала G7 об ИИ?"):
        a = ask(mini_store, q, mini_settings)
        assert (a.support, a.citations) == ("none", ()) and a.text.startswith("This question is not in English")
    assert ask(mini_store, "Who will connect schools in Côte d'Ivoire?", mini_settings).citations  # Latin script
    multi = mini_settings.model_copy(update={"embed_model": "intfloat/multilingual-e5-small"})
    assert sp.unread("联合国大会关于人工智能的决议说了什么？", multi) is None  # a multilingual embedder reads it
    english = mini_settings.model_copy(update={"embed_model": "intfloat/e5-base-v2"})
    assert sp.unread("联合国大会关于人工智能的决议说了什么？", english)  # English e5: not


def test_a_question_in_another_latin_script_language_is_answered_as_closest_with_a_note(
    mini_store, mini_settings: Settings
) -> None:
    from govassist.answer import ask

    assert sp.language("Qu'a dit le G7 sur l'intelligence artificielle en 2023 ?") == "French"
    assert sp.language("¿Qué dijo la Asamblea General sobre la inteligencia artificial?") == "Spanish"
    assert sp.language("Was hat die G7 zu künstlicher Intelligenz gesagt?") == "German"
    for q in (
        "Who will connect schools in Côte d'Ivoire?",
        "What did the Summit de la Francophonie say?",
        "G7?",
        "Hiroshima communiqué para 38, para 39",  # one word twice is one word, and "para" is no language's
        "Ursula von der Leyen on AI?",
        "EST time of summit, CE marking",  # acronyms are not words of a language
    ):
        assert sp.language(q) == "", q
    a = ask(
        mini_store,
        "Que disent les textes sur les écoles et les hôpitaux connectés à Internet ?",
        _hash_floors(mini_settings),
    )
    assert a.citations and a.support == CLOSEST and a.text.startswith(CLOSEST_LEAD)  # shared words found them
    assert any(n.startswith("This question seems to be in French") for n in a.notes)
    multi = _hash_floors(mini_settings).model_copy(update={"embed_model": "hash:256:multilingual"})
    assert not sp.other_language("Que disent les textes sur les écoles ?", multi)


def test_a_question_on_another_bodys_instrument_is_closest_with_a_note(mini_store, mini_settings: Settings) -> None:
    from govassist.answer import ask

    s = _hash_floors(mini_settings)
    for q, name in (
        ("What does the Digital Markets Act require of gatekeepers?", "Digital Markets Act"),
        ("When do the obligations of the EU Cyber Resilience Act start?", "EU Cyber Resilience Act"),
        ("Which countries signed the Council of Europe AI convention?", "Council of Europe AI convention"),
        ("How does the revised 2024 OECD text define an AI system?", "OECD text"),
        ("Is the Budapest Convention on submarine cables?", "Budapest Convention"),
        ("Does the GDPR apply to AI training data?", "GDPR"),
    ):
        assert sp.instrument(q, s) == name, q
    for q in (
        "Does the G7 welcome the EU AI Act?",  # what a forum of the texts says of it
        "Which texts mention the OECD AI Principles?",
        "Is the Synthetic Compact on Digital Cooperation binding?",  # catalogued: its own notice, if not indexed
        "What does the Compact on Digital Cooperation say on schools?",  # a catalogued title, shortened
        "What did ministers agree on submarine cables?",
        "What did ministers say about the Budapest Convention?",  # what the texts say of it
        "Does the CHIPS and Science Act come up?",
    ):
        assert sp.instrument(q, s) == "", q
    bletchley = DocMeta(
        "b", "The Bletchley Declaration by Countries Attending the AI Safety Summit", "Bletchley Declaration", "b.pdf"
    )
    tunis = DocMeta("t", "Tunis Commitment", "Tunis Commitment", "t.txt")
    takasaki = DocMeta("k", "G7 Digital and Tech Ministers' Declaration, Takasaki", "Takasaki Declaration", "k.txt")
    assert sp._names_it("Bletchley Park Declaration", bletchley)  # every word of its label
    assert sp._names_it("Tunis Commitments", tunis) and sp._names_it("Takasaki Ministerial Declaration", takasaki)
    assert not sp._names_it("Seoul Declaration", bletchley) and not sp._names_it(
        "Paris AI Action Declaration", bletchley
    )
    assert sp.instrument("What does the US-EU text from Leuven say on AI?", s) == ""  # the EU is a TTC party
    plain = ask(mini_store, "What will be done about connecting schools and hospitals?", s)
    assert plain.support == DIRECT and not any("not among the indexed texts" in n for n in plain.notes)
    a = ask(mini_store, "What will the Budapest Convention do about connecting schools and hospitals?", s)
    assert a.citations and a.support == CLOSEST  # the same passage is found, and is not the convention's text
    assert a.text.startswith("The Budapest Convention is not among the indexed texts") and CLOSEST_LEAD in a.text
    assert sp.instrument_note("Budapest Convention") in a.notes
    assert sp.instrument_note("OECD AI Principles").startswith("The OECD AI Principles are not among")


def test_the_same_item_numbered_in_one_text_and_not_in_another_is_quoted_once() -> None:
    from govassist.answer.extractive import choose

    def cands(*texts: str) -> list[rk.Candidate]:
        return [rk.Candidate(i, 0, t, 0.8, 0.5, 0.9 - i / 100) for i, t in enumerate(texts)]

    text = "Prioritize the development of advanced AI systems to address the world's greatest challenges"
    assert [c.hit for c in choose(cands(text, f"9 {text}"), 4, kind="evolution")] == [0]
    assert [c.hit for c in choose(cands(f"9 {text}", text), 4, kind="evolution")] == [0]
    endorsed = "countries and the European Union endorsed the Declaration for the Future of the Internet."
    assert [c.hit for c in choose(cands(f"28 {endorsed}", f"35 {endorsed}"), 4, kind="evolution")] == [0, 1]


def test_a_paragraph_number_alone_does_not_make_an_unrelated_passage_relevant(mini_store, mini_settings) -> None:
    from govassist.answer import ask

    a = ask(
        mini_store,
        "What does paragraph 1 say about tiramisu recipes?",
        mini_settings.model_copy(update={"min_relevance": 0.9}),
    )
    assert a.support == "none"  # the cosine decides, as for any question: no text was named, nothing was looked up
    a = ask(
        mini_store,
        "What does paragraph 1 of the Syn. Compact say?",
        mini_settings.model_copy(update={"min_relevance": 0.9}),
    )
    assert (a.citations[0].chunk_id, a.support) == ("syn-compact#1", "direct")  # looked up: found whatever its cosine


def test_a_paragraph_a_named_text_does_not_have_is_said_to_be_missing(mini_store, mini_settings) -> None:
    from govassist.answer import ask

    a = ask(mini_store, "What does paragraph 9 of the Syn. Compact say about schools?", mini_settings)
    assert "Syn. Compact has no paragraph 9 in the index; the passages below are the closest" in " ".join(a.notes)
    assert a.support in ("closest", "none")  # what was asked for is not shown: never "direct"
    a = ask(mini_store, "What does paragraph 2 of the Syn. Compact say?", mini_settings)
    assert not any("has no paragraph" in n for n in a.notes) and a.citations[0].chunk_id == "syn-compact#2"
    assert all(c.para.startswith("2") for c in a.citations)  # that paragraph (and its items), not its neighbours


def test_a_list_question_opens_with_the_passage_that_lists_though_another_ranks_first(mini_settings: Settings) -> None:
    question = "Which countries signed the declaration?"
    hits = [
        _hit("On 23 October 2024, New Zealand joined the commitment to the declaration.", "d1", rank=1),
        _hit("The countries represented were: Australia, Brazil, Canada, Chile and China.", "d2", rank=2),
    ]
    a = extract(question, hits, mini_settings)
    assert a.citations[0].doc_id == "d2" and a.sentences[0].text.startswith("The countries represented were")
    plain = extract("What did New Zealand do about the declaration?", hits, mini_settings)
    assert plain.citations[0].doc_id == "d1"  # any other question: the retriever's first passage opens


def test_a_count_question_opens_with_the_passage_that_counts_though_another_ranks_first(
    mini_settings: Settings,
) -> None:
    hits = [
        _hit("On December 9-10, 2021, the President convened world leaders at the summit for democracy.", "d1"),
        _hit("The summit for democracy brought together more than 275 participants.", "d2", rank=2),
    ]
    a = extract("How big was the summit for democracy?", hits, mini_settings)
    assert a.citations[0].doc_id == "d2" and "275 participants" in a.sentences[0].text
    plain = extract("Who convened the summit for democracy?", hits, mini_settings)
    assert plain.citations[0].doc_id == "d1"


def test_a_lead_in_is_not_quoted_alone(mini_settings: Settings) -> None:
    text = (
        "Specifically, we ask that the working groups, by our next meeting, focus on the following:\n"
        "• Working Group 1 on technology standards cooperation, including on AI and the Internet of Things."
    )
    a = extract("What should the working groups focus on by their next meeting?", [_hit(text)], mini_settings)
    assert a.sentences and not any(x.text.endswith(":") for x in a.sentences)  # "… the following:" tells nothing
    assert a.sentences[0].text.startswith("Working Group 1")


def test_a_paragraph_asked_for_with_many_sub_paragraphs_shows_those_closest_to_the_question(
    mini_settings: Settings,
) -> None:
    from dataclasses import replace as _replace

    topics = ["schools", "hospitals", "roads", "ports", "farms", "rivers", "privacy and personal data"]
    letters = "abcdefg"
    subs = [
        _replace(_part(f"un#6({x})", 10 + i, f"({x}) Protecting {w} in the digital age;"), cited=True)
        for i, (x, w) in enumerate(zip(letters, topics, strict=True))
    ]
    head = _replace(_part("un#6", 9, "6. Encourages Member States to take the following measures:"), cited=True)
    other = _part("un#7", 20, "7. Recalls its earlier resolutions on privacy.")
    a = extract("What does paragraph 6 say about privacy and personal data?", [head, *subs, other], mini_settings)
    paras = [c.para for c in a.citations]
    assert paras[0] == "6" and "6(g)" in paras and "7" not in paras and len(paras) == 5
    assert "3 more sub-paragraph(s) of A/RES/78/265 ¶6, p. 7 not shown" in " ".join(a.notes)
    shown = [(c.para, x.gap) for x in a.sentences for c in a.citations if c.key == x.key]
    assert shown == [("6", False), ("6(a)", False), ("6(b)", False), ("6(f)", True), ("6(g)", False)]  # text order
    assert "[A/RES/78/265 ¶6(b), p. 7] […] (f) Protecting rivers" in a.text  # (c)–(e) left out between them


def test_paragraphs_of_one_number_in_several_sections_are_not_marked_as_cut(mini_settings: Settings) -> None:
    from dataclasses import replace as _replace

    annex = _replace(_part("un#Statement on AI ¶6", 3, "6. The parties will cooperate on AI standards."), cited=True)
    body = _replace(_part("un#[6]", 9, "The parties will meet again next year to review AI standards."), cited=True)
    a = extract("What does paragraph 6 say?", [annex, body], mini_settings)
    assert len(a.sentences) == 2 and not any(x.gap for x in a.sentences) and "[…]" not in a.text


def _forum_hit(text: str, doc_id: str, collection: str, rank: int) -> Hit:
    doc = DocMeta(doc_id, f"{collection} statement", f"{collection} Stmt", f"{doc_id}.txt", collection=collection)
    return Hit(Chunk(f"{doc_id}#1", doc_id, "1", ("1",), "", None, text), doc, 1.0 / rank, rank, 0.9)


def test_a_comparison_of_two_forums_quotes_both(mini_settings: Settings) -> None:
    un = "The UN commits to connect all schools and hospitals to the Internet by 2030 and to close digital divides."
    hits = [
        _forum_hit(un, "un1", "UN", 1),
        _forum_hit("The UN will connect schools and hospitals and bring schools online.", "un2", "UN", 2),
        _forum_hit("Our partners will build hospitals and networks.", "g71", "G7", 3),
    ]
    question = "Do the G7 and the UN agree on connecting schools and hospitals?"
    a = extract(question, hits, mini_settings, sides=("G7", "UN"))
    assert {c.doc_id for c in a.citations} >= {"un1", "g71"}  # the G7's closest words, though far below the UN's
    assert a.citations[0].doc_id == "un1"
    one = extract("Does the UN agree on connecting schools and hospitals?", hits, mini_settings)
    assert "g71" not in {c.doc_id for c in one.citations}  # one forum asked about: no other side is added
    far = [*hits[:2], _forum_hit("We support better schools in partner countries.", "g72", "G7", 3)]
    assert "g72" not in {c.doc_id for c in extract(question, far, mini_settings, sides=("G7", "UN")).citations}


def test_ask_and_the_chat_quote_both_forums_compared(mini_store, mini_settings: Settings) -> None:
    from govassist import chat

    question = "Do the G7 and the UN agree on connecting schools and hospitals to the Internet by 2030?"
    floors = _hash_floors(mini_settings).model_copy(update={"answer_direct_sentence": 0.05})
    both = {"syn-g7", "syn-compact"}  # the G7's and the UN's texts
    assert both <= {c.doc_id for c in ask(mini_store, question, floors).citations}
    first = chat.answer_turn(mini_store, question, floors, chat.Prefs(), (), None)
    again = chat.answer_turn(mini_store, "and on open data?", floors, chat.Prefs(), (), first.turn)
    assert again.turn.followup and set(again.turn.collections) == {"G7", "UN"}
    assert both <= {c.doc_id for c in again.answer.citations}  # the follow-up compares too


def test_a_quote_starting_within_a_sentence_is_marked_as_continuing(mini_settings: Settings) -> None:
    from govassist.answer.records import as_quoted
    from govassist.chat_render import answer_markdown

    part = "and recognizing also existing digital divides between and within countries that developing countries face"
    a = extract("Which divides do developing countries face?", [_hit(part)], mini_settings)
    assert a.sentences[0].text == part  # the record stays verbatim
    assert a.text.startswith(f"…{part}") and as_quoted("We commit.") == "We commit."
    shown = answer_markdown(a, {1: "[1]"}, {}, {})
    assert "“…and recognizing also existing" in shown


def test_a_when_question_about_a_named_text_gets_its_catalog_date(mini_store, mini_settings: Settings) -> None:
    from govassist.answer import catalog_dates

    a = ask(mini_store, "When was the Syn. Compact adopted?", mini_settings)
    assert "Dated in the catalog: Syn. Compact, 22 September 2024." in a.notes
    other = ask(mini_store, "What does the Syn. Compact say?", mini_settings)
    assert not any(n.startswith("Dated") for n in other.notes)
    draft = DocMeta("d", "Secret Draft", "Secret Draft", "d.txt", date="2024-05-01", restricted=("staff",))
    assert catalog_dates("When was the Secret Draft circulated?", {"d": draft}) == ""  # never named to anyone
    open_draft = {"d": replace(draft, restricted=())}
    assert catalog_dates("When was the Secret Draft circulated?", open_draft)
    assert not catalog_dates("What must be done when the Secret Draft is read?", open_draft)
    assert not catalog_dates("When will the Secret Draft be final?", open_draft)  # a date to come is not its own
    assert not catalog_dates("When did Norway join the Secret Draft?", open_draft)  # a party's date, not the text's
    assert catalog_dates("What year is the Secret Draft from?", open_draft)
    two = {**open_draft, "e": DocMeta("e", "Public Compact", "Pub. Compact", "e.txt", date="2023-01-02")}
    assert not catalog_dates("When was the secret text circulated?", two)  # named loosely: only if cited first
    assert (
        catalog_dates("When was the secret text circulated?", two, "d")
        == "Dated in the catalog: Secret Draft, 1 May 2024."
    )


def _run_hit(paras: tuple[str, ...], lines: list[str], doc_id: str = "decl") -> Hit:
    label = f"{paras[0]}–{paras[-1]}"
    doc = DocMeta(doc_id, "A Declaration", "Decl", f"{doc_id}.txt", date="2023-11-01")
    return Hit(Chunk(f"{doc_id}#{label}", doc_id, label, paras, "", 6, "\n".join(lines)), doc, 1.0, 1, 0.9)


RUN = [
    "The declaration was opened for further signatures after the summit closed.",
    "On 23 October 2024, New Zealand joined the commitment to the declaration.",
]


def test_a_quote_from_a_run_of_short_paragraphs_cites_its_own_paragraph(mini_settings: Settings) -> None:
    from govassist.answer import by_paragraph

    hit = _run_hit(("[11]", "[12]"), RUN)
    a = extract("When did New Zealand join the commitment to the declaration?", [hit], mini_settings)
    first = a.citations[a.sentences[0].key - 1]
    assert a.sentences[0].text == RUN[1]
    assert (first.para, first.citation, first.text) == ("[12]", "Decl ¶[12], p. 6", RUN[1])  # not ¶[11]–[12]
    assert first.chunk_id == hit.chunk.id  # the passage retrieved, for grading and the chat's lookups
    assert by_paragraph(a, [hit]).citations[0].text == RUN[1]  # shown alone, not the whole run
    assert "¶[11]–[12]" not in a.text


def test_a_paragraph_asked_by_number_inside_a_run_is_quoted_from_that_paragraph(mini_settings: Settings) -> None:
    hit = replace(_run_hit(("[11]", "[12]"), RUN), cited=True)
    a = extract("What does paragraph 11 of the declaration say about New Zealand joining?", [hit], mini_settings)
    assert a.sentences[0].text == RUN[0]  # the sentence on New Zealand is in ¶[12]
    assert a.citations[0].para == "[11]"
    both = extract("What do paragraphs 11 and 12 of the declaration say?", [hit], mini_settings)
    assert [(x.text, both.citations[x.key - 1].para) for x in both.sentences] == [(RUN[0], "[11]"), (RUN[1], "[12]")]


LEAD = "To advance these interests, we are partnering to counter the misuse of spyware. We commit to:"
ITEMS = [
    "• establishing robust guardrails on the use of commercial spyware.",
    "• engaging additional partner governments.",
]
CALLS = "4. Calls upon Member States and invites other stakeholders to take action, including by:"


def _store_of(*chunks: Chunk):
    return lambda doc_id: [c for c in chunks if c.doc_id == doc_id]


def test_a_bullets_lead_in_is_the_sentence_that_introduces_it() -> None:
    from govassist.answer.leadin import lead_in

    part1 = Chunk("s#[4]~p1", "s", "[4]", ("[4]",), "", None, "\n".join([LEAD, *ITEMS]), order=4)
    first = lead_in(part1, "establishing robust guardrails on the use of commercial spyware.")
    assert first and (first.text, first.gap, first.source) == ("We commit to:", False, "s#[4]")  # its last sentence
    assert lead_in(part1, "engaging additional partner governments.").gap  # the first bullet is left out
    assert lead_in(part1, "We commit to:") is None and lead_in(part1, "not in it") is None
    cut = ("Since the misuse of spyware " * 20)[:300]  # the chunker keeps 300 characters of a lead-in as context
    part2 = Chunk("s#[4]~p2", "s", "[4]", ("[4]",), "", None, "• more bullets here.", cut, order=5)
    assert lead_in(part2, "more bullets here.", _store_of(part1, part2)).text == "We commit to:"  # read from ~p1
    alone = lead_in(part2, "more bullets here.")  # no store: the context, cut where the chunker cut it
    assert alone.gap and alone.text.endswith(" …") and alone.text.split()[:2] == ["Since", "the"]
    assert len(alone.text.split()) == 31 and "spyw …" not in alone.text
    assert lead_in(replace(part2, context=""), "more bullets here.") is None  # nothing to show
    plain = Chunk("d#5", "d", "5", ("5",), "", None, "We commit to open data.", "Some heading")
    assert lead_in(plain, "We commit to open data.") is None


def test_a_line_of_a_run_is_led_in_by_the_line_before_that_ends_with_a_colon() -> None:
    from govassist.answer.leadin import lead_in

    head = "In addition, we launched three expert groups which focus on:"
    items = "1. AI terminology and taxonomy, 2. Cooperation on standards, and 3. Monitoring AI risks."
    run = Chunk("t#[14]–[15]", "t", "[14]–[15]", ("[14]", "[15]"), "", None, f"{head}\n{items}", order=13)
    led = lead_in(run, items)
    assert led and (led.text, led.gap) == (head, False)
    assert lead_in(run, "2. Cooperation on standards") is None  # not the start of its line: no lead-in before it
    two = Chunk("a#[4]", "a", "[4]", ("[4]",), "", 1, "We are:\n• deepening cooperation on AI. We will launch a plan.")
    assert lead_in(two, "deepening cooperation on AI.").text == "We are:"
    assert lead_in(two, "We will launch a plan.") is None  # "We are: […] We will launch …" would misread the text
    assert lead_in(run, head) is None  # the lead-in's own line
    flat = replace(run, text=f"We met on Monday.\n{items}")
    assert lead_in(flat, items) is None  # the line before introduces nothing


def test_a_sub_paragraphs_lead_in_is_its_parents_last_sentence() -> None:
    from govassist.answer.leadin import lead_in

    head = Chunk("u#4", "u", "4", ("4",), "", 3, CALLS, order=4)
    sub_a = Chunk("u#4(a)", "u", "4(a)", ("4(a)",), "", 3, "(a) Expanding participation, including:", CALLS, 5)
    sub_c = replace(sub_a, id="u#4(c)", para="4(c)", text="(c) Enhancing the ability of developing countries;")
    roman = replace(sub_a, id="u#4(a)(i)", para="4(a)(i)", text="(i) Through training;")
    store = _store_of(head, sub_a, sub_c, roman)
    want = CALLS.removeprefix("4. ")  # the paragraph's number is in the citation
    assert (lead_in(sub_a, sub_a.text, store).text, lead_in(sub_a, sub_a.text, store).gap) == (want, False)
    assert lead_in(sub_a, sub_a.text).text == want  # no store: the context (the numbered paragraph's lead-in)
    assert lead_in(sub_c, sub_c.text, store).gap and lead_in(sub_c, sub_c.text, store).source == "u#4"
    sub = lead_in(roman, roman.text, store)  # "(i)" of "(a)": (a) introduces it
    assert (sub.text, sub.gap, sub.source) == ("(a) Expanding participation, including:", False, "u#4(a)")
    assert lead_in(roman, roman.text) is None  # no store: ¶4's context is not (a)'s lead-in
    later = replace(sub_a, id="u#4(a)~p2", text="and more of (a);")  # the second part of (a): its first is left out
    assert lead_in(later, later.text, store).gap
    long = replace(head, text="4. Calls " + " ".join(f"w{i}" for i in range(60)) + ", including by:")
    shown = lead_in(sub_a, sub_a.text, _store_of(long, sub_a)).text
    assert shown.startswith("Calls w0 w1") and " w28 … w50 " in shown and shown.endswith("w59, including by:")
    assert len(shown.split()) == 43  # its first 30 words (whom it addresses, its verb) and last 12
    fits = replace(head, text="4. Calls " + " ".join(f"w{i}" for i in range(40)) + ", including by:")
    assert "…" not in lead_in(sub_a, sub_a.text, _store_of(fits, sub_a)).text  # 43 words: shown whole


def test_the_answer_shows_a_lead_in_once_and_quotes_the_items_verbatim(mini_settings: Settings) -> None:
    from govassist.chat_render import answer_markdown

    doc = DocMeta("s", "Spyware statement", "Spyware", "s.txt", date="2023-03-30")
    same = ["• engaging partner governments on spyware guardrails.", "• engaging partner governments on spyware."]
    part1 = Chunk("s#[4]~p1", "s", "[4]", ("[4]",), "", None, "\n".join([LEAD, same[0]]), order=4)
    part2 = Chunk("s#[4]~p2", "s", "[4]", ("[4]",), "", None, same[1], LEAD, order=5)
    hits = [Hit(part1, doc, 1.0, 1, 0.9), Hit(part2, doc, 0.9, 2, 0.9)]
    question = "Engaging partner governments on spyware?"
    a = extract(question, hits, mini_settings, doc_chunks=_store_of(part1, part2))
    items = [x for x in a.sentences if x.text in (same[0][2:], same[1][2:])]
    assert len(items) == 2 and all(x.text in "\n".join(h.chunk.text for h in hits) for x in a.sentences)
    assert sum(bool(x.lead) for x in a.sentences) == (0 if "We commit to:" in [x.text for x in a.sentences] else 1)
    assert a.text.count("We commit to:") == 1  # the lead-in once, across the paragraph's two parts
    led = next(x for x in a.sentences if x.lead)
    shown = answer_markdown(a, {1: "[1]", 2: "[2]"}, {}, {})
    mark = "* […] “" if led.gap else "* “"
    assert f"*We commit to\\:{mark}{led.text[:20]}" in shown  # the lead-in in italics, outside the quote


def test_a_question_on_how_many_paragraphs_a_named_text_has_gets_the_count(mini_store, mini_settings) -> None:
    from govassist.answer import paragraph_count

    high = mini_settings.model_copy(update={"answer_direct_cosine": 0.99, "answer_direct_sentence": 0.99})
    assert ask(mini_store, "Which actions does the Syn. Compact list?", high).support == "closest"
    a = ask(mini_store, "How many actions does the Syn. Compact list?", high)
    assert a.support == "direct" and not a.text.startswith(CLOSEST_LEAD)  # the count answers it
    numbered = {p for c in mini_store.doc_chunks("syn-compact") for p in c.paras if p.isdigit()}
    preamble = {p for c in mini_store.doc_chunks("syn-compact") for p in c.paras if p.startswith("PP")}
    n, pp = len(numbered), len(preamble)
    want = f"Counted in the index: Syn. Compact: {n} numbered paragraphs (¶1–¶{n}), after {pp} preambular paragraphs."
    assert n >= 4 and pp >= 2 and want in a.notes
    docs, chunks = mini_store.docs, mini_store.doc_chunks
    assert paragraph_count("How many states signed the Syn. Compact?", docs, chunks) == ""  # no parts counted
    assert paragraph_count("What are the principles of the Syn. Compact?", docs, chunks) == ""  # no count asked
    assert paragraph_count("How many principles are there?", docs, chunks) == ""  # no text named
    for other in (  # a count of something else, or no count of parts
        "How many countries have endorsed the actions of the Syn. Compact?",
        "How long did it take to agree the actions of the Syn. Compact?",
    ):
        assert paragraph_count(other, docs, chunks) == "", other
    hidden = {i: replace(d, restricted=("delegates",)) for i, d in docs.items()}
    assert paragraph_count("How many actions does the Syn. Compact list?", hidden, chunks) == ""  # never restricted
    heads = [
        Chunk(f"t#{h}{n}", "t", f"{h}{n}", (f"{h}{n}",), "", None, "x", order=i)
        for i, (h, n) in enumerate([("", 1), ("", 2), ("Statement on AI ¶", 1), ("Statement on AI ¶", 2), ("B ¶", 1)])
    ]
    doc = DocMeta("t", "TTC statement", "TTC 2021", "t.txt", date="2021-09-29")
    code = [  # further paragraphs of an item share its number; sub-items and unnumbered paragraphs are not counted
        Chunk(f"c#{p}", "c", p, (p,), "", None, "x", order=i)
        for i, p in enumerate(["PP1", "1", "1", "2", "2(a)", "[5]", "B ¶1"])
    ]
    two = paragraph_count("How many actions are in the TTC 2021 statement?", {"c": doc}, lambda i: code)
    want = "TTC 2021: 3 numbered paragraphs in 2 runs (¶1–¶2; B ¶1), after 1 preambular paragraph; 1 unnumbered"
    want += " paragraph (¶[1]–¶[1])."
    assert two == f"Counted in the index: {want}"
    plain = [Chunk(f"c#[{i}]", "c", f"[{i}]", (f"[{i}]",), "", None, "x", order=i) for i in (1, 2, 3)]
    none = paragraph_count("How many paragraphs are in the TTC 2021 statement?", {"c": doc}, lambda i: plain)
    assert none == "Counted in the index: TTC 2021: no numbered paragraphs; 3 unnumbered paragraphs (¶[1]–¶[3])."
    said = paragraph_count("How many paragraphs are in the TTC 2021 statement?", {"t": doc}, lambda i: heads)
    assert said == (
        "Counted in the index: TTC 2021: 5 numbered paragraphs in 3 runs (¶1–¶2; Statement on AI ¶1–¶2; …)."
    )


def test_a_question_on_what_was_committed_to_quotes_every_item_of_the_list(mini_settings: Settings) -> None:
    doc = DocMeta("s", "Spyware statement", "Spyware", "s.txt", date="2023-03-30")
    bullets = [
        "• working within our systems to establish guardrails on government use of commercial spyware;",
        "• preventing the export of software and equipment to end-users likely to misuse it;",
        "• robust information sharing on commercial spyware proliferation and misuse;",
        "• engaging additional partner governments to align export control policies on spyware.",
    ]
    part1 = Chunk("s#[4]~p1", "s", "[4]", ("[4]",), "", None, "\n".join([LEAD, *bullets[:3]]), order=4)
    part2 = Chunk("s#[4]~p2", "s", "[4]", ("[4]",), "", None, bullets[3], LEAD, order=5)
    other = Chunk("s#[5]", "s", "[5]", ("[5]",), "", None, "Our efforts on spyware will continue.", order=6)
    hits = [Hit(part2, doc, 1.0, 1, 0.9), Hit(part1, doc, 0.9, 2, 0.9), Hit(other, doc, 0.8, 3, 0.9)]
    store = _store_of(part1, part2, other)
    a = extract("What did the governments commit to on spyware export controls?", hits, mini_settings, doc_chunks=store)
    items = [x.text for x in a.sentences if x.text in {b[2:] for b in bullets}]
    assert items == [b[2:] for b in bullets]  # all four, in the text's order, though the best is the last
    assert a.sentences[0].lead == "We commit to:" and not a.sentences[0].gap  # led in once, from the first
    b = extract("How do the governments control spyware exports?", hits, mini_settings, doc_chunks=store)
    assert len([x for x in b.sentences if x.text in {i[2:] for i in bullets}]) < 4  # not a question on commitments


def test_a_sentence_pointing_back_follows_the_one_it_points_to() -> None:
    from govassist.answer.extractive import arrange

    def cand(hit: int, pos: int, text: str, score: float) -> rk.Candidate:
        return rk.Candidate(hit, pos, text, score, 0.0, score)

    endorse = cand(0, 2, "To that end we endorse our Digital Ministers' Roadmap on data flows.", 0.9)
    cue = cand(0, 1, "Championing data free flow with trust across borders.", 0.8)
    other = cand(1, 0, "We will work on data flows with partners.", 0.85)
    assert [c.text for c in arrange([endorse, other, cue], [], "")] == [cue.text, endorse.text, other.text]
    plain = cand(0, 2, "We endorse our Digital Ministers' Roadmap on data flows.", 0.9)
    assert [c.text for c in arrange([plain, other, cue], [], "")] == [plain.text, cue.text, other.text]  # best first
