"""The briefing note: every field a negotiator takes away (question, answer with citations, each passage
verbatim with document, paragraph, page, date, status; filters; index version; time), in markdown and .docx."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govassist.answer import ask
from govassist.briefing import describe_filters, file_name, make_note, note_docx, note_markdown
from govassist.cli import app
from govassist.retrieve import Filters
from govassist.settings import Settings

QUESTION = "Which body will the compact establish on artificial intelligence?"
PANEL = "We decide to establish an independent international scientific panel on artificial intelligence"
WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def note(mini_store, mini_settings):
    a = ask(mini_store, QUESTION, mini_settings, filters=Filters(collections=("UN",), date_from="2020-01-01"))
    assert a.found and a.citations
    return a, make_note(a, mini_store.docs, mini_store.manifest, Filters(("UN",), date_from="2020-01-01"), WHEN)


def test_markdown_note_has_every_field(note, mini_store) -> None:
    a, n = note
    md = note_markdown(n)
    assert md.startswith("# Briefing note\n\n**Question:** " + QUESTION)
    assert "## Answer\n\n" + a.text in md
    first = a.citations[0]
    assert f"[{first.citation}]" in a.text  # the answer's citations, as the answer gives them
    assert f"### [{first.key}] {first.citation}" in md
    doc = mini_store.docs[first.doc_id]
    assert f"{doc.title} — paragraph {first.para}" in md and f"— {first.date} — {first.status}" in md
    assert PANEL in md  # the passage, verbatim
    assert "- Filters: collection: UN; dated from: 2020-01-01" in md
    built = mini_store.manifest["built_at"]
    assert f"- Index: built {built}, embedder hash:256" in md
    assert "- Written: 2026-03-04 05:06 UTC" in md


def test_page_shown_when_the_passage_has_one(mini_store, mini_settings) -> None:
    a = ask(mini_store, "critical minerals supply chains", mini_settings, filters=Filters(doc_ids=("syn-report",)))
    md = note_markdown(make_note(a, mini_store.docs, mini_store.manifest, None, WHEN))
    c = next(c for c in a.citations if c.page)
    assert f"paragraph {c.para}, page {c.page} — " in md
    assert "- Filters: none (every text you may read)" in md


def test_docx_opens_and_holds_the_passage(note) -> None:
    from docx import Document

    a, n = note
    d = Document(io.BytesIO(note_docx(n)))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "Question: " + QUESTION in text
    assert PANEL in text and a.citations[0].citation in text
    assert "Filters: collection: UN; dated from: 2020-01-01" in text and "Written: 2026-03-04 05:06 UTC" in text
    quotes = [p.text for p in d.paragraphs if p.style.name == "Quote"]
    assert quotes == [c.text for c in a.citations]


def test_filters_described_without_roles() -> None:
    assert describe_filters(None) == ()
    assert describe_filters({"statuses": ["adopted"], "roles": ["staff"]}) == ("status: adopted",)
    assert file_name(WHEN, "docx") == "briefing-20260304-050607.docx"


@pytest.fixture
def env(mini_settings: Settings, mini_store, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    return mini_settings


def test_cli_ask_format_md_docx_and_out(env, tmp_path: Path, monkeypatch) -> None:
    from docx import Document

    r = CliRunner().invoke(app, ["ask", QUESTION, "--format", "md", "--collection", "UN"], catch_exceptions=False)
    assert r.exit_code == 0 and r.stdout.startswith("# Briefing note") and PANEL in r.stdout
    assert "- Filters: collection: UN" in r.stdout
    named = "What did the UN say about quantum computing research?"  # the forum the question names is a filter too
    r = CliRunner().invoke(app, ["ask", named, "--format", "md"], catch_exceptions=False)
    assert "- Filters: collection: UN" in r.stdout and "searched within what the question names" in r.stdout
    out = tmp_path / "note.docx"
    r = CliRunner().invoke(app, ["ask", QUESTION, "--format", "docx", "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0 and str(out) in r.stderr
    assert PANEL in "\n".join(p.text for p in Document(str(out)).paragraphs)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["ask", QUESTION, "--format", "docx"], catch_exceptions=False)
    made = list(tmp_path.glob("briefing-*.docx"))
    assert r.exit_code == 0 and len(made) == 1 and str(made[0]) in r.stderr
    bad = CliRunner().invoke(app, ["ask", QUESTION, "--format", "pdf"])
    assert bad.exit_code != 0


def test_the_briefing_names_the_scope_the_answer_was_searched_in_read_once(env, monkeypatch) -> None:
    import govassist.answer as answer_pkg
    import govassist.question as question

    calls: list[str] = []
    real = question.read

    def spy(store, text, base):
        calls.append(text)
        return real(store, text, base)

    monkeypatch.setattr(answer_pkg, "read", spy)
    monkeypatch.setattr(question, "read", spy)
    named = "What did the UN say about quantum computing research?"
    r = CliRunner().invoke(app, ["ask", named, "--format", "md"], catch_exceptions=False)
    assert r.exit_code == 0 and "- Filters: collection: UN" in r.stdout
    assert calls == [named]  # one reading, in the same pinned version of the index as the answer


def test_a_notice_the_answer_opens_with_is_written_once(note, mini_store) -> None:
    from dataclasses import replace

    a, _ = note
    notice = "The Global Digital Compact is catalogued but not indexed here."
    a = replace(a, text=f"{notice} {a.text}", notes=(notice,))
    md = note_markdown(make_note(a, mini_store.docs, mini_store.manifest, None, WHEN))
    assert md.count(notice) == 1
    assert "## Answer\n\n" + a.text[len(notice) :].strip() in md
