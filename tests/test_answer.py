"""Extractive answers: every sentence is cited, quoted verbatim from the passage it cites."""

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
