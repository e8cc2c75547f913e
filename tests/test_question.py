"""How a question is read for search, alike in `answer.ask`, the chat and the evaluation: the forums and years
it names narrow the filters (`question.scoped`), and the reader is told."""

from __future__ import annotations

import pytest

from govassist import evaluate as ev
from govassist import question as qn
from govassist.answer import ask
from govassist.catalog import DocMeta
from govassist.retrieve import Filters, query_vector, search
from govassist.settings import Settings

ALIASES = {"g7": "G7", "ttc": "TTC", "un": "UN"}
UN_QUANTUM = "What did the UN say about quantum computing research?"


def test_the_forums_and_years_a_question_names_narrow_the_filters() -> None:
    turn = qn.understand("What did the TTC say in 2024 about chips?", None, ALIASES)
    f = qn.scoped(turn, Filters(collections=("G7",), statuses=("adopted",), roles=("staff",)))
    assert f == Filters(("TTC",), (), ("adopted",), (), "2024-01-01", "2024-12-31", ("staff",))
    assert qn.scope_note(Filters(), qn.scoped(turn, Filters())) == (
        "searched within what the question names: collection TTC; dated 2024-01-01 to 2024-12-31"
    )


def test_chosen_documents_and_dates_are_not_overridden() -> None:
    turn = qn.understand("What did the TTC say in 2024 about chips?", None, ALIASES)
    chosen = Filters(doc_ids=("syn-g7",), date_from="2020-01-01")
    assert qn.scoped(turn, chosen) == chosen and qn.scope_note(chosen, qn.scoped(turn, chosen)) == ""
    plain = qn.understand("What was said about chips?", None, ALIASES)
    assert qn.scoped(plain, Filters()) == Filters() and qn.scope_note(Filters(), qn.scoped(plain, Filters())) == ""


def test_ask_searches_within_the_forum_the_question_names(mini_store, mini_settings: Settings) -> None:
    # unscoped, the G7 paragraph on quantum research comes first
    assert search(mini_store, UN_QUANTUM, mini_settings, k=1)[0].chunk.doc_id == "syn-g7"
    a = ask(mini_store, UN_QUANTUM, mini_settings)
    assert a.citations and {c.doc_id for c in a.citations} == {"syn-compact"}
    assert "searched within what the question names: collection UN" in a.notes
    assert "searched within" not in " ".join(ask(mini_store, "quantum computing research", mini_settings).notes)


def test_the_evaluation_searches_as_users_get_it(mini_store, mini_settings: Settings) -> None:
    judged = (ev.Judgment("syn-compact", "4", 2),)
    q = ev.Question("s1", UN_QUANTUM, "forum-year", ("UN",), judged, split="dev")
    run = ev.run_config(mini_store, mini_settings, [q], ev.EvalConfig("default", "default"), 5, {"s1": {}})
    assert run.hits["s1"] and all(h.key.startswith("syn-compact#") for h in run.hits["s1"])


def test_within_the_forum_filter_the_forum_name_is_not_matched() -> None:
    turn = qn.understand("Did G7 leaders set up a standing channel on chips?", None, ALIASES)
    assert turn.core == "Did leaders set up a standing channel on chips?"
    assert qn.match_text(turn, qn.scoped(turn, Filters())) == turn.core
    assert qn.match_text(turn, qn.scoped(turn, Filters(doc_ids=("syn-g7",)))) == ""  # documents chosen: no filter
    plain = qn.understand("Did leaders set up a standing channel on chips?", None, ALIASES)
    assert qn.match_text(plain, Filters()) == ""
    follow = qn.understand("and in 2024?", turn, ALIASES)  # inherits the forum, names none: nothing to take out
    assert follow.collections == ("G7",) and qn.match_text(follow, qn.scoped(follow, Filters())) == ""


def test_search_matches_the_match_text_and_reports_the_question_cosine(mini_store, mini_settings: Settings) -> None:
    q = "quantum computing research"
    hits = search(mini_store, q, mini_settings, k=3, match="submarine cables and resilient networks")
    assert hits[0].chunk.id == "syn-g7#1" and search(mini_store, q, mini_settings, k=1)[0].chunk.id != "syn-g7#1"
    with_q = dict((c.id, sc) for c, sc in mini_store.dense(query_vector(mini_settings, q), 50))
    assert hits[0].cosine == pytest.approx(with_q["syn-g7#1"])


def test_a_forum_named_inside_another_name_is_not_a_filter() -> None:
    aliases = {**ALIASES, "dfi": "DFI"}
    for q in (
        "Which UN General Assembly resolution is recalled in the ASEAN-U.S. statement?",
        "Which texts invoke the UN Guiding Principles on Business and Human Rights?",
        "With which UN agency is the Italian Presidency establishing the AI Hub?",
    ):
        assert qn.understand(q, None, aliases).collections == (), q
    assert qn.understand("What does the UN text expect from companies?", None, aliases).collections == ("UN",)
    assert qn.understand("What did the G7 DFFT plan say?", None, aliases).collections == ("G7",)  # an acronym
    both = qn.understand("Did the G7 ministers promote the DFI?", None, aliases)
    assert both.collections == ("DFI", "G7") and qn.match_text(both, qn.scoped(both, Filters())) == ""
    event = qn.understand("Who prepares the stocktake of the 2003/2005 summit outcomes?", None, aliases)
    assert (event.date_from, event.date_to, event.named) == ("", "", ())  # an event's years, not a text's date
    owned = qn.understand("What did the UN's resolution say on gaps?", None, aliases)
    assert qn.match_text(owned, qn.scoped(owned, Filters())) == "What did the resolution say on gaps?"


def test_a_forum_named_by_its_own_text_is_searched_beside_the_other_forum_named() -> None:
    from govassist.catalog import DocMeta

    docs = {
        "b": DocMeta("b", "Bletchley Declaration", "Bletchley Declaration", "b.pdf", collection="AI Safety Summit"),
        "u": DocMeta("u", "A/RES/78/265", "A/RES/78/265", "u.pdf", collection="UN"),
        "q": DocMeta("q", "Quad Principles", "Quad", "q.md", collection="Regional"),
    }
    aliases = qn.aliases_for(docs)
    assert aliases["ai safety summit"] == "AI Safety Summit" and "regional" not in aliases  # a plain word is no forum
    q = "Do the Bletchley Declaration and the UN resolution agree on the risks of frontier AI?"
    assert set(qn.understand(q, None, aliases).collections) == {"AI Safety Summit", "UN"}  # not the UN's alone
    assert qn.understand("What did the UN Human Rights Council say?", None, aliases).collections == ()
    # a summit's or a place's name selects its forum and stays a topic word: "they … at the AI Safety Summit" after
    # an unrelated question stands alone (read as a follow-up on ransomware before "ai safety summit" was kept)
    earlier = qn.understand("What did the G7 say about ransomware?", None, aliases)
    alone = qn.understand("What did they agree at the AI Safety Summit?", earlier, aliases)
    assert not alone.followup and alone.collections == ("AI Safety Summit",)


def test_a_follow_up_moving_place_and_year_is_matched_on_its_topic_not_the_place() -> None:
    first = qn.understand("What did the G7 say about DFFT at Hiroshima in 2023?", None, ALIASES)
    moved = qn.understand("and in Apulia the year after?", first, ALIASES)
    f = qn.scoped(moved, Filters())
    assert (f.collections, f.date_from) == (("G7",), "2024-01-01")
    match = qn.match_text(moved, f)
    assert "DFFT" in match.split() and "apulia" not in match.lower() and "year after" not in match
    assert "Apulia" in moved.query  # the document prior still reads the place
    undated = qn.understand("and in Apulia?", first, ALIASES)  # a place of its own: not Hiroshima's year
    assert (undated.date_from, undated.date_to) == ("", "") and undated.collections == ("G7",)
    assert "Apulia" in (qn.match_text(undated, qn.scoped(undated, Filters())) or undated.query)
    same = qn.understand("and in 2024?", first, ALIASES)  # nothing to leave out: the query is matched
    assert qn.match_text(same, qn.scoped(same, Filters())) == ""


def test_a_follow_up_naming_another_kind_of_text_drops_the_previous_kind() -> None:
    first = qn.understand("What do the Hiroshima guiding principles say on watermarking?", None, ALIASES)
    second = qn.understand("and the code of conduct?", first, ALIASES)
    assert second.followup and "watermarking" in second.query and "Hiroshima" in second.query
    assert "guiding" not in second.query and "principles" not in second.query  # or the prior favours both texts
    same = qn.understand("and on provenance?", first, ALIASES)  # no kind of its own: the previous one stays
    assert "guiding principles" in same.query


TWO_FORUMS = "Do the G7 and the UN agree on connecting schools and hospitals to the Internet by 2030?"


def test_a_question_naming_two_forums_sees_each_among_the_first_hits(
    mini_store, mini_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    turn, f = qn.read(mini_store, TWO_FORUMS, Filters())
    assert set(f.collections) == {"G7", "UN"} and qn.sides(turn, f) == ("G7", "UN")
    plain = search(mini_store, turn.query, mini_settings, k=6, filters=f, match=qn.match_text(turn, f))
    assert [h.doc.collection for h in plain[:2]] == ["UN", "UN"]  # the UN's words fill the top: the G7 is compared
    monkeypatch.setattr(qn, "SIDE_DEPTH", 2)
    hits = qn.search_turn(mini_store, turn, f, mini_settings, k=6)
    assert {h.doc.collection for h in hits[:2]} == {"G7", "UN"} and len(hits) == len(plain)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].chunk.id == plain[0].chunk.id  # the best passage keeps its place
    two = qn.search_turn(mini_store, turn, f, mini_settings, k=2)  # the G7's best is not among these: searched alone
    assert [h.doc.collection for h in two] == ["UN", "G7"]
    assert [h.chunk.id for h in qn.search_turn(mini_store, turn, f, mini_settings, k=1)] == [plain[0].chunk.id]
    one = qn.understand("What did the UN say about schools?", None, {"un": "UN", "g7": "G7"})
    assert qn.sides(one, qn.scoped(one, Filters())) == ()  # one forum: nothing to balance


def test_a_forum_followed_by_one_of_its_own_meetings_is_still_that_forum() -> None:
    own = {"G7": frozenset({"apulia", "communiqué", "hiroshima"}), "UN": frozenset({"a/res/78/265"})}
    aliases = {"g7": "G7", "un": "UN", "ttc": "TTC"}
    turn = qn.understand("Compare G7 Apulia and the UN resolution on the digital divide", None, aliases, own)
    assert turn.collections == ("G7", "UN") and "apulia" in turn.topic  # the place stays what is asked about
    assert qn.understand("Compare G7 Apulia and the UN resolution", None, aliases).collections == ("UN",)  # no labels
    for q in ("What did the UN General Assembly say?", "Which texts invoke the UN Guiding Principles?"):
        assert qn.understand(q, None, aliases, own).collections == (), q  # another body's name, as before
    docs = {
        "a": DocMeta("a", "G7 Apulia Leaders' Communiqué", "Apulia Communiqué", "a.pdf", collection="G7"),
        "u": DocMeta("u", "UN General Assembly resolution 78/265", "A/RES/78/265", "u.pdf", collection="UN"),
    }
    assert qn.own_words(docs) == {"G7": frozenset({"apulia", "communiqué"}), "UN": frozenset({"res"})}


def test_a_text_named_beside_a_forum_is_searched_as_one_more_side(mini_store) -> None:
    from govassist.question import reading
    from govassist.retrieve import visible_docs

    docs = visible_docs(mini_store, ())
    turn = reading("Do the G7 and the Syn. Report agree on open data?", None, docs)
    assert turn.collections == ("G7", "TTC") and "TTC" in turn.named  # the report's forum too
    assert reading("Do the G7 ministers agree on open data?", None, docs).collections == ("G7",)
    alone = reading("Did the G7 ministers say the Syn. Report was useful?", None, docs)
    assert alone.collections == ("G7",)  # no comparison: the forum's own texts, not the report's forum too


def test_a_text_named_without_a_forum_is_searched_alone(mini_store) -> None:
    from govassist.question import read, reading
    from govassist.retrieve import Filters, visible_docs

    docs = visible_docs(mini_store, ())
    report = next(i for i, d in docs.items() if d.label == "Syn. Report")
    turn = reading("What does the Syn. Report say on open data?", None, docs)
    assert (turn.texts, turn.collections) == ((report,), ("TTC",))
    assert "Report" not in turn.core and "open data" in turn.core  # matched without the words of its name
    _turn, f = read(mini_store, "What does the Syn. Report say on open data?", Filters())
    assert f.doc_ids == (report,)
    from govassist.question import scope_note

    assert scope_note(Filters(), f) == f"searched within what the question names: collection TTC; text {report}"
    assert scope_note(Filters(), f, docs).endswith("; text Syn. Report")  # by its label for the reader
    compact = next(i for i, d in docs.items() if d.label == "Syn. Compact")
    both = reading("Do the Syn. Report and the Syn. Compact differ on open data?", None, docs)
    assert set(both.texts) == {report, compact} and set(both.collections) == {"TTC", "UN"}  # both searched
    assert reading("Does the Syn. Report agree with what ministers said?", None, docs).texts == ()  # compared
    assert reading("Did the Syn. Report agree to open data?", None, docs).texts == (report,)  # no comparison
    follow = reading("And on cables?", turn, docs)
    assert follow.followup and follow.texts == (report,)  # carried, as a forum is
    other = reading("And in the Syn. Compact?", turn, docs)
    assert other.texts == (compact,)  # a follow-up naming a text of its own
    ministerial = next(i for i, d in docs.items() if d.label == "Syn. G7 Ministerial")
    inside = reading("What does the Syn. G7 Ministerial say on cables?", None, docs)  # "G7" only within its name
    assert inside.texts == (ministerial,) and inside.collections == ("G7",)
    assert reading("Did the G7 ministers welcome the Syn. Report?", None, docs).texts == ()  # the G7 on its own
    source = reading("Does the Syn. Report require open source code?", None, docs)
    assert "code" in source.core and "Report" not in source.core  # only the name is left out
    for q in (
        'Where is "the Syn. Report" quoted?',  # agreed language is searched wherever it is
        "Which texts cite the Syn. Report?",  # other texts than the one named
        "What does the syn. report say on open data?",  # its words, not written as its name
    ):
        assert reading(q, None, docs).texts == (), q
    assert read(mini_store, "Which texts cite the Syn. Report?", Filters())[1].doc_ids == ()
