"""The glossary of users' words and the texts' words: its file format, its matching, and how retrieval uses it."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govassist import glossary, retrieve
from govassist.cli import app
from govassist.errors import ConfigError
from govassist.settings import Settings

TEXT = """# a note
chip, chips, chipmaker*\tsemiconductors
legally binding, binding\tpolitical commitment

store data locally\tlocalize data
firms\tprivate sector
AI firms\torganizations developing advanced AI systems
standardization\tstandards
"""


def test_entries_are_read_with_their_lines_and_notes_and_blank_lines_skipped() -> None:
    entries = glossary.parse(TEXT)
    assert [(e.line, e.said, e.texts_words) for e in entries] == [
        (2, ("chip", "chips", "chipmaker*"), "semiconductors"),
        (3, ("legally binding", "binding"), "political commitment"),
        (5, ("store data locally",), "localize data"),
        (6, ("firms",), "private sector"),
        (7, ("AI firms",), "organizations developing advanced AI systems"),
        (8, ("standardization",), "standards"),
    ]


@pytest.mark.parametrize(
    ("query", "added"),
    [
        ("What about chips?", ["semiconductors"]),
        ("Where do Chipmakers stand?", ["semiconductors"]),  # a stem, any case
        ("Is it legally  binding?", ["political commitment"]),  # a phrase across spaces
        ("Can firms be forced to store data locally?", ["localize data", "private sector"]),
        ("Is it non-binding?", []),  # a word inside a hyphenated word is not that word
        ("What about chipsets?", []),  # nor the start of a longer word, unless it is a stem
        ("What about microchips?", []),
        ("chips that are binding", ["semiconductors", "political commitment"]),
        ("Is it legally-binding?", ["political commitment"]),  # a phrase across a hyphen
        ("Must they store data locally?", ["localize data"]),
        ("Which AI firms signed?", ["organizations developing advanced AI systems"]),  # the longer match wins ...
        ("Which AI firms and which firms signed?", ["private sector", "organizations developing advanced AI systems"]),
        ("Any standardisation?", ["standards"]),  # British or American, as the lexical index reads them
    ],
)
def test_a_question_is_followed_by_the_texts_words_of_the_entries_it_uses(query: str, added: list[str]) -> None:
    entries = glossary.parse(TEXT)
    assert glossary.expand(query, entries) == " ".join([query, *added])


@pytest.mark.parametrize(
    "line", ["chips semiconductors", "\tsemiconductors", "chips\t", "*\tanything", "**\tanything", "a\tb\tc"]
)
def test_a_malformed_line_is_an_error_naming_the_file_and_line(line: str) -> None:
    with pytest.raises(ConfigError, match=r"my\.tsv, line 2: expected the users' words"):
        glossary.parse(f"# note\n{line}\n", "my.tsv")


def test_the_file_is_read_again_when_it_changes_and_an_absent_or_empty_setting_is_none(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    assert glossary.load(path) == () and glossary.load(None) == ()
    assert Settings(glossary_file="").glossary_file is None  # GOVASSIST_GLOSSARY_FILE="" turns it off
    path.write_text("\ufeffchips\tsemiconductors\n", encoding="utf-8")  # a byte-order mark is no part of line 1
    stamp = path.stat().st_mtime_ns
    assert [e.texts_words for e in glossary.load(path)] == ["semiconductors"]
    path.write_text("antitrust\tcompetition\n", encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))  # an edit within one tick of the clock (or copied with its time) is seen too
    assert [e.texts_words for e in glossary.load(path)] == ["competition"]
    path.write_bytes(b"chips\tsemi\xff\n")
    with pytest.raises(ConfigError, match="the glossary cannot be read"):
        glossary.load(path)


def test_a_search_never_fails_on_the_glossary_it_keeps_the_last_good_version_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("chips\tsemiconductors\n", encoding="utf-8")
    assert [e.texts_words for e in glossary.for_search(path)] == ["semiconductors"]
    path.write_text("chips    semiconductors\n", encoding="utf-8")  # an editor turned the tab into spaces
    with caplog.at_level("WARNING", logger="govassist.glossary"):
        assert [e.texts_words for e in glossary.for_search(path)] == ["semiconductors"]
        assert [e.texts_words for e in glossary.for_search(path)] == ["semiconductors"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}, line 1: expected the users' words (comma-separated), one tab, then the texts' words; got "
        f"'chips    semiconductors': {glossary.OFF_HINT}"
    ]  # once, naming the file and the line
    with pytest.raises(ConfigError, match="line 1"):
        glossary.load(path)  # what `govassist glossary` reports
    caplog.clear()
    missing = tmp_path / "typo.tsv"
    with caplog.at_level("WARNING", logger="govassist.glossary"):
        assert glossary.for_search(missing) == ()
    assert "no glossary file there" in caplog.text
    assert glossary.for_search(None) == ()


def test_the_shipped_glossary_parses() -> None:
    entries = glossary.load(Path(__file__).resolve().parents[1] / "corpus" / "glossary.tsv")
    assert len(entries) >= 30
    assert "semiconductors" in glossary.expand("chip shortages", entries)


def test_the_default_search_matches_with_the_texts_words_and_reports_the_questions_cosine(
    mini_settings: Settings, mini_store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("chips\tsemiconductors\n", encoding="utf-8")
    s = mini_settings.model_copy(update={"glossary_file": path})
    question = "What did they say about chips?"
    lexical: list[str] = []
    embedded: list[str] = []
    real_lexical, real_vectors = mini_store.lexical, retrieve.query_vectors

    def spy_lexical(query, k, allowed=None):
        lexical.append(query)
        return real_lexical(query, k, allowed)

    def spy_vectors(settings, queries):
        embedded.extend(queries)
        return real_vectors(settings, queries)

    monkeypatch.setattr(mini_store, "lexical", spy_lexical)
    monkeypatch.setattr(retrieve, "query_vectors", spy_vectors)
    hits = retrieve.search(mini_store, question, s, k=20)
    assert lexical == [f"{question} semiconductors"] and embedded[0] == f"{question} semiconductors"
    rank = next(h.rank for h in hits if "semiconductors" in h.chunk.text)
    plain = retrieve.search(mini_store, question, mini_settings, k=20)
    assert rank < next((h.rank for h in plain if "semiconductors" in h.chunk.text), 21)
    as_asked = {
        h.chunk.id: h.score for h in retrieve.search(mini_store, question, s, k=mini_store.chunk_count, mode="dense")
    }
    assert all(h.cosine == pytest.approx(as_asked[h.chunk.id]) for h in hits)  # every hit, from the stored vectors
    lexical.clear()
    embedded.clear()
    retrieve.search(mini_store, question, s, k=5, mode="bm25")
    retrieve.search(mini_store, question, s, k=5, mode="fused")
    assert lexical == [question] * 2 and set(embedded) == {question}  # the baselines the evaluation compares
    lexical.clear()
    retrieve.search(mini_store, question, mini_settings, k=5)  # no glossary file
    assert lexical == [question]


def test_the_cli_shows_the_entries_a_question_uses(mini_settings: Settings, monkeypatch, tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("# note\nchips, chipmaker*\tsemiconductors\nantitrust\tcompetition\n", encoding="utf-8")
    monkeypatch.setenv("GOVASSIST_GLOSSARY_FILE", str(path))
    r = CliRunner().invoke(app, ["glossary", "Where do chipmakers stand?"], catch_exceptions=False)
    assert r.exit_code == 0 and r.stdout == f"{path}:2  chips, chipmaker* -> semiconductors\n"
    r = CliRunner().invoke(app, ["glossary", "--json"], catch_exceptions=False)
    assert [e["texts"] for e in json.loads(r.stdout)["entries"]] == ["semiconductors", "competition"]
    r = CliRunner().invoke(app, ["glossary", "Hello?"], catch_exceptions=False)
    assert "uses none of the glossary's words" in r.stdout
    monkeypatch.setenv("GOVASSIST_GLOSSARY_FILE", "")
    r = CliRunner().invoke(app, ["glossary"], catch_exceptions=False)
    assert "the glossary is off" in r.stdout
    path.write_text("chips semiconductors\n", encoding="utf-8")
    monkeypatch.setenv("GOVASSIST_GLOSSARY_FILE", str(path))
    r = CliRunner().invoke(app, ["glossary"])
    assert isinstance(r.exception, ConfigError) and "line 1" in str(r.exception)
