"""The chat without a browser: message building, inert rendering, follow-ups, settings -> filters, commands,
errors, login, restricted documents, feedback records and the page's headers."""

from __future__ import annotations

import asyncio
import html
import re
import threading
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from govassist import chat, chat_auth
from govassist import chat_feedback as fb
from govassist import chat_render as r
from govassist import question as qn
from govassist.errors import IndexMissingError, QueryError
from govassist.settings import Settings

HOSTILE = (
    "Write to sec@evil.example or www.evil.example. "
    'Delegates noted <script>alert("x")</script> and <img src=http://evil.example/p.png onerror=alert(1)> '
    "then ![pixel](http://evil.example/t.png) and [click](javascript:alert(1)) and <http://evil.example> "
    "# heading\n- item\n1. item\n```\ncode\n```\n:::warning\nboxed\n:::\n\u200bcursor &amp; https://evil.example"
)


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def assert_inert(markdown: str) -> None:
    out = rendered(markdown)
    tags = set(re.findall(r"<([a-z0-9]+)", out))
    assert tags <= {"p", "blockquote", "em", "strong", "ul", "li", "br", "code", "pre", "h3", "h4"}, tags
    assert "evil.example" not in "".join(re.findall(r"<[^>]+>", out))


# ---------------------------------------------------------------- rendering


def test_inert_text_renders_as_the_same_characters_and_no_markup() -> None:
    md = r.inert(HOSTILE)
    out = rendered(md)
    assert set(re.findall(r"<([a-z0-9]+)", out)) == {"p"}
    expected = " ".join(HOSTILE.replace("\u200b", "").replace(":::", ": ::").split())
    assert " ".join(visible_text(out).replace(r.WJ, "").split()) == expected
    # what GFM would link after parsing (bare URLs, www., e-mail) is broken by an invisible joiner
    plain = visible_text(out)
    assert not re.search(r"https?://|www\.|\w@", plain) and plain.count(r.WJ) == 6


def test_element_names_keep_the_label_but_no_markup_characters() -> None:
    M = r.MARK
    assert r.element_name("Hiroshima Communiqué ¶38, p. 7") == "Hiroshima Communiqué ¶38, p. 7" + M
    assert r.element_name("Takasaki Declaration ¶[12]") == "Takasaki Declaration ¶[12]" + M
    assert r.element_name("GDC Rev.3 ¶29(d), p. 7") == "GDC Rev.3 ¶29(d), p. 7" + M
    bad = r.element_name("Evil <img src=x> ![a](http://e) **b** ¶[3")
    assert not set(bad) & set("<>*![]") and "img" not in bad and "Evil" in bad
    assert r.element_name("Hostile <b>fixture</b> & co") == "Hostile fixture ＆ co" + M
    assert r.element_name(f"A{M} ¶1{M}") == "A ¶1" + M
    assert r.unique_names(["A ¶1", "A ¶1", "B"]) == ["A ¶1" + M, "A ¶1 (2)" + M, "B" + M]


def chip_count(content: str, name: str) -> int:
    """How many chips Chainlit makes of an element: it links every occurrence of the name in the message."""
    return content.count(name)


def test_corpus_text_quoting_a_citation_label_does_not_become_a_chip() -> None:
    from govassist.answer import Answer, Citation, Sentence

    def cite(key: int, citation: str, text: str) -> Citation:
        return Citation(key, f"c{key}", f"d{key}", citation.split(" ¶")[0], citation, citation.split("¶")[1], None,
                        f"d{key}.txt", f"Title {key}", "2022-09-30", "adopted", "", text)  # fmt: skip

    forged = "Semiconductors matter, as TTC College Park 2022 ¶PP15 said."
    a = Answer(
        "q", "", (Sentence("We will cooperate on semiconductors.", 1), Sentence(forged, 2)),
        (cite(1, "TTC College Park 2022 ¶PP15", "We will cooperate on semiconductors."), cite(2, "Forger ¶1", forged)),
        True,
    )  # fmt: skip
    names = dict(zip((1, 2), r.unique_names(c.citation for c in a.citations), strict=True))
    content = r.answer_markdown(a, names, {}, {})
    assert "TTC College Park 2022 ¶PP15 said" in content  # the corpus text is shown as it is...
    assert chip_count(content, names[1]) == 2  # ...but only the answer's own marks are chips: sentence and sources
    assert chip_count(content, names[2]) == 2


def test_long_dates_for_people() -> None:
    assert r.long_date("2023-05-20") == "20 May 2023"
    assert r.long_date("") == "undated" and r.long_date("2023") == "2023"


# ---------------------------------------------------------------- one turn on the synthetic corpus


def test_answer_turn_cites_passages_as_side_elements_and_pdf_pages(mini_store, mini_settings: Settings) -> None:
    reply = chat.answer_turn(
        mini_store, "critical minerals for batteries and quantum technologies", mini_settings, chat.Prefs(), (), None
    )
    a = reply.answer
    assert a is not None and a.found and a.citations
    names = [p.name for p in reply.passages]
    assert names == [c.citation + r.MARK for c in a.citations]  # one side element per citation, named by its label
    assert all(n.startswith(c.citation) for n, c in zip(names, a.citations))
    for name in names:
        assert name in reply.content  # the marker Chainlit turns into a clickable chip
    report = next(c for c in a.citations if c.doc_id == "syn-report")
    side = reply.passages[names.index(report.citation + r.MARK)].markdown
    shown = " ".join(visible_text(rendered(side)).split())
    assert report.title in shown and f"paragraph {report.para} · page {report.page}" in shown
    assert "5 April 2024" in shown and "draft" in shown and " ".join(report.text.split()) in shown
    pdf = next(p for p in reply.pdfs if p.doc_id == "syn-report")
    assert pdf.page == report.page == 2 and pdf.name in reply.content
    assert pdf.url == "/govassist/pdf/syn-report#page=2"  # served once by id, never copied per answer
    assert "passages in" in reply.step and reply.retrieval_ms is not None
    assert_inert(reply.content)


def test_one_pdf_viewer_per_cited_page(mini_store, mini_settings: Settings) -> None:
    from dataclasses import replace

    a = chat.answer_turn(mini_store, "critical minerals batteries", mini_settings, chat.Prefs(), (), None).answer
    report = next(c for c in a.citations if c.doc_id == "syn-report")
    twice = replace(a, citations=(report, replace(report, key=99, chunk_id=report.chunk_id + "~p2")))
    names, pages = chat.pdf_pages(twice, mini_store.docs, mini_settings)
    pdf = "PDF Syn. Report p. 2" + r.MARK
    assert names == {report.key: pdf, 99: pdf} and len(pages) == 1


def test_nothing_found_says_so_and_names_the_filters(mini_store, mini_settings: Settings) -> None:
    prefs = chat.Prefs(collections=("UN",), status="Drafts only")  # the only UN text is adopted
    reply = chat.answer_turn(mini_store, "schools and hospitals", mini_settings, prefs, (), None)
    assert reply.answer is not None and not reply.answer.found and not reply.passages
    assert reply.content.startswith("**Filtered to\\:** UN · drafts only — clear with"), reply.content
    assert "Nothing matched within these filters\\: collection UN" in reply.content


def test_collection_setting_restricts_citations(mini_store, mini_settings: Settings) -> None:
    for col in ("G7", "UN", "TTC"):
        reply = chat.answer_turn(
            mini_store, "digital cooperation and data", mini_settings, chat.Prefs(collections=(col,)), (), None
        )
        assert reply.answer is not None
        assert {mini_store.docs[c.doc_id].collection for c in reply.answer.citations} <= {col}


def test_hostile_corpus_text_and_file_name_render_inert(mini_settings: Settings) -> None:
    from govassist.store import build, open_store

    name = "evil <img src=http_evil.example_x.png> ![p](x).txt"
    (mini_settings.corpus_dir / name).write_text(
        "Hostile test text. " + HOSTILE.replace("\n", " ") + " Data flows with trust across borders matter.",
        encoding="utf-8",
    )
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    reply = chat.answer_turn(store, "data flows with trust across borders", mini_settings, chat.Prefs(), (), None)
    assert reply.answer is not None and any(c.doc_id.startswith("evil") for c in reply.answer.citations)
    for md in (reply.content, reply.step, *(p.markdown for p in reply.passages)):
        assert_inert(md)
    for p in reply.passages:
        assert not set(p.name) & set("<>*!`")


def test_question_and_error_text_are_inert() -> None:
    reply = chat.error_reply(QueryError("unknown document '<img src=http://evil.example/x>'"))
    assert reply.error and reply.content.startswith("⚠")
    assert_inert(reply.content)
    step = r.retrieval_markdown("<script>alert(1)</script> ![x](http://evil.example/a.png)", [], [], 1.0)
    assert_inert(step)


# ---------------------------------------------------------------- follow-ups


ALIASES = {"g7": "G7", "ttc": "TTC", "trade and technology council": "TTC", "gdc": "GDC"}


def test_follow_up_keeps_the_topic_and_takes_forum_and_year_from_the_question() -> None:
    first = qn.understand("What did the G7 say about semiconductors?", None, ALIASES)
    assert first.topic == ("semiconductors",) and first.collections == ("G7",) and not first.followup
    second = qn.understand("and what did the TTC say about it in 2024?", first, ALIASES)
    assert second.followup and second.collections == ("TTC",)
    assert second.query.endswith("semiconductors") and "semiconductors" in second.topic
    assert (second.date_from, second.date_to) == ("2024-01-01", "2024-12-31")
    third = qn.understand("And in 2023?", second, ALIASES)
    assert third.collections == ("TTC",) and third.date_from == "2023-01-01" and "semiconductors" in third.query


def test_a_follow_up_carries_two_letter_topics_such_as_ai_and_6g() -> None:
    first = qn.understand("What did the 2021 TTC plan on AI's effect on the workforce?", None, ALIASES)
    assert "ai" in first.topic
    second = qn.understand("was it delivered in 2022?", first, ALIASES)
    assert second.followup and "AI" in second.query.split() and "workforce" in second.query  # as written
    assert "6g" in qn.understand("What did the TTC say about 6G?", None, ALIASES).topic
    assert "is" not in qn.understand("Is it in force?", None, ALIASES).topic  # lower-case short words stay out


def test_a_follow_up_naming_another_place_drops_the_previous_place_but_keeps_the_topic() -> None:
    first = qn.understand("What did the G7 say about DFFT at Hiroshima in 2023?", None, ALIASES)
    second = qn.understand("and in Apulia the year after?", first, ALIASES)
    assert second.followup and "DFFT" in second.query.split() and "hiroshima" not in second.query.lower()
    assert (second.date_from, second.date_to) == ("2024-01-01", "2024-12-31")
    kept = qn.understand("and the year after?", first, ALIASES)  # no place of its own: the previous one stays
    assert "Hiroshima" in kept.query.split()  # carried as the question wrote it: the embedder sees case


def test_a_new_question_starts_a_new_topic() -> None:
    first = qn.understand("What did the G7 say about semiconductors?", None, ALIASES)
    fresh = qn.understand("Which texts address internet shutdowns?", first, ALIASES)
    assert not fresh.followup and fresh.query == "Which texts address internet shutdowns?"
    assert fresh.collections == () and "semiconductors" not in fresh.topic


def test_forum_names_and_years_in_questions() -> None:
    t = qn.understand("What has the Trade and Technology Council said about AI since 2022?", None, ALIASES)
    assert t.collections == ("TTC",) and (t.date_from, t.date_to) == ("2022-01-01", "")
    assert "technology" not in t.topic or t.collections == ("TTC",)
    assert qn.understand("the 2030 Agenda in the GDC", None, ALIASES).date_from == ""  # a target, not a date
    assert qn.understand("before 2023, what did the G7 say?", None, ALIASES).date_to == "2022-12-31"


def test_aliases_only_for_indexed_collections(mini_store) -> None:
    aliases = qn.aliases_for(mini_store.docs)
    assert aliases["g7"] == "G7" and aliases["ttc"] == "TTC" and "gdc" not in aliases


# ---------------------------------------------------------------- settings -> filters


def test_settings_values_become_prefs_and_filters(mini_store, mini_settings: Settings) -> None:
    values = {"collections": ["G7", "Nope"], "documents": ["syn-g7"], "status": "Exclude drafts", "k": 5.0}
    prefs = chat.prefs_from_values(values, mini_settings, mini_store.docs)
    assert prefs == chat.Prefs(("G7",), ("syn-g7",), "Exclude drafts", 5, "extractive")
    turn = qn.understand("What did the TTC say in 2024?", None, qn.aliases_for(mini_store.docs))
    f, desc = chat.filters_for(prefs, turn, ("negotiator",))
    assert f.collections == ("G7",)  # documents chosen: the forum named in the question does not override them
    assert f.doc_ids == ("syn-g7",) and f.statuses == ("adopted", "non-binding") and f.roles == ("negotiator",)
    assert (f.date_from, f.date_to) == ("2024-01-01", "2024-12-31") and any("dated" in d for d in desc)
    f2, desc2 = chat.filters_for(chat.Prefs(collections=("G7",)), turn, ())
    assert f2.collections == ("TTC",) and any("set aside" in d for d in desc2)


@pytest.mark.parametrize(
    ("values", "message"),
    [({"k": 0}, "between 1 and"), ({"k": "many"}, "whole number"), ({"mode": "llm"}, "GOVASSIST_LLM_BASE_URL"),
     ({"status": "secret"}, "unknown status")],
)  # fmt: skip
def test_bad_settings_values_are_refused_with_the_range(mini_store, mini_settings, values, message) -> None:
    with pytest.raises(QueryError, match=message):
        chat.prefs_from_values(values, mini_settings, mini_store.docs)


def test_llm_mode_is_offered_only_when_configured(mini_settings: Settings) -> None:
    assert chat.answer_modes(mini_settings) == ("extractive",)
    with_llm = Settings(**{**mini_settings.model_dump(), "llm_base_url": "http://127.0.0.1:9/v1"})
    assert chat.answer_modes(with_llm) == ("extractive", "llm")


# ---------------------------------------------------------------- errors and commands


def test_a_bad_question_is_an_error_message_not_an_exception(mini_store, mini_settings: Settings) -> None:
    with pytest.raises(QueryError):
        chat.answer_turn(
            mini_store, "x" * (mini_settings.max_question_chars + 1), mini_settings, chat.Prefs(), (), None
        )
    reply = chat.error_reply(RuntimeError("boom"))
    assert reply.error and "RuntimeError" in reply.content and "still open" in reply.content


def test_commands_dispatch(mini_store, mini_settings: Settings) -> None:
    assert chat.run_command(mini_store, "What is DPI?", mini_settings, ()) is None
    assert "/compare" in chat.run_command(mini_store, "/help", mini_settings, ()).content
    docs = chat.run_command(mini_store, "/docs", mini_settings, ()).content
    assert "`syn-compact`" in docs and "`syn-report`" in docs
    with pytest.raises(QueryError, match="unknown command"):
        chat.run_command(mini_store, "/frobnicate", mini_settings, ())
    with pytest.raises(QueryError, match="two document ids"):
        chat.run_command(mini_store, "/compare syn-g7", mini_settings, ())
    cmp = chat.run_command(mini_store, "/compare syn-g7 syn-compact", mini_settings, ()).content
    assert "Syn. G7 Ministerial" in cmp and "Syn. Compact" in cmp
    prec = chat.run_command(mini_store, "/precedent connect all schools and hospitals", mini_settings, ()).content
    assert "Syn. Compact ¶2(a)" in prec.replace("\\", "")


LINKS = " See https://evil.example/a and www.evil.example or mailto:sec@evil.example today."


def assert_no_live_link(markdown: str) -> None:
    """What GFM's autolinking would turn into a link after parsing: none may remain (an invisible joiner breaks
    each), and none of the markup Chainlit reads as an alert box."""
    plain = visible_text(rendered(markdown))
    assert not re.search(r"(?i)https?://|mailto:|www\.|\w@", plain), plain
    assert ":::" not in markdown and "<a " not in rendered(markdown)


def test_compare_and_precedent_output_is_inert(mini_settings: Settings) -> None:
    from govassist.store import build, open_store

    for name, words in (("links-v1", "Data flows shall be governed"), ("links-v2", "Data flows should be governed")):
        text = f"Version.\n\n1. {words} with trust.{LINKS}\n\n2. Other text here:::warning boxed.\n"
        (mini_settings.corpus_dir / f"{name}.txt").write_text(text, encoding="utf-8")
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    cmp = chat.run_command(store, "/compare links-v1 links-v2", mini_settings, ()).content
    assert "evil" in cmp and "should" in cmp
    assert_no_live_link(cmp)
    prec = chat.run_command(store, f"/precedent Data flows shall be governed with trust.{LINKS}", mini_settings, ())
    assert prec.content.count("evil") >= 3  # the proposal (heading) and the precedent
    assert_no_live_link(prec.content)


def test_missing_command_module_gives_a_message(mini_store, mini_settings, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "govassist.precedent", None)  # import now fails
    reply = chat.run_command(mini_store, "/precedent anything", mini_settings, ())
    assert reply is not None and "not available" in reply.content


def test_no_index_is_reported_with_how_to_build(tmp_path: Path, mini_settings: Settings) -> None:
    empty = Settings(**{**mini_settings.model_dump(), "index_dir": tmp_path / "none"})
    with pytest.raises(IndexMissingError):
        chat.current_store(empty)
    assert "govassist index build" in r.NO_INDEX


def test_store_is_shared_and_reopened_after_a_rebuild(mini_store, mini_settings: Settings) -> None:
    from govassist.store import build

    first = chat.current_store(mini_settings)
    assert chat.current_store(mini_settings) is first
    build(mini_settings, progress=False, force=True)
    again = chat.current_store(mini_settings)
    assert again is not first and again.path != first.path


# ---------------------------------------------------------------- access


def _restricted(mini_settings: Settings):
    from govassist.store import build, open_store

    cat = mini_settings.catalog_file
    text = cat.read_text(encoding="utf-8").replace(
        'status = "draft"\n', 'status = "draft"\nrestricted = ["negotiator"]\n'
    )
    cat.write_text(text, encoding="utf-8")
    build(mini_settings, progress=False)
    return open_store(mini_settings)


def test_restricted_documents_only_for_their_roles(mini_settings: Settings) -> None:
    store = _restricted(mini_settings)
    q = "critical minerals for batteries and quantum technologies"
    for roles, visible in (((), False), (("press",), False), (("negotiator",), True)):
        reply = chat.answer_turn(store, q, mini_settings, chat.Prefs(), roles, None)
        cited = {c.doc_id for c in reply.answer.citations}
        assert ("syn-report" in cited) is visible
        assert ("TTC 1" in chat.index_summary(store, roles, mini_settings)) is visible
        assert ("syn-report" in chat.run_command(store, "/docs", mini_settings, roles).content) is visible
    with pytest.raises(QueryError, match="unknown document"):
        chat.run_command(store, "/compare syn-g7 syn-report", mini_settings, ())


def test_login_checks_hashes_and_plain_passwords(mini_settings: Settings) -> None:
    users = {
        "ana": {"password": chat_auth.hash_password("s3cret pass", iterations=1000), "roles": ["negotiator"]},
        "bo": {"password": "plain-pw", "roles": []},
        "nopw": {"password": "", "roles": ["negotiator"]},
    }
    s = Settings(**{**mini_settings.model_dump(), "users": users, "auth_enabled": True})
    assert chat_auth.check_login(s, "ana", "s3cret pass") == ("negotiator",)
    assert chat_auth.check_login(s, "ana", "s3cret pas") is None
    assert chat_auth.check_login(s, "bo", "plain-pw") == () and chat_auth.check_login(s, "bo", "plain-pW") is None
    assert chat_auth.check_login(s, "nopw", "") is None and chat_auth.check_login(s, "who", "plain-pw") is None
    assert chat_auth.roles_for(s, "ana") == ("negotiator",) and chat_auth.roles_for(s, None) == ()
    off = Settings(**{**s.model_dump(), "auth_enabled": False})
    assert chat_auth.roles_for(off, "ana") == ()  # without login nobody holds a role
    assert chat_auth.verify_password("x", "pbkdf2_sha256$broken") is False


# ---------------------------------------------------------------- feedback


def test_feedback_is_recorded_with_the_answer_it_judges(mini_store, mini_settings: Settings, tmp_path: Path) -> None:
    db = fb.db_path(tmp_path / "data")
    reply = chat.answer_turn(mini_store, "schools and hospitals", mini_settings, chat.Prefs(), (), None)
    fb.record_answer(db, "m1", reply.answer, reply.turn.query, reply.filters, reply.retrieval_ms, "ana", "t1", "r1")
    fid = fb.record_feedback(db, "m1", 0, "wrong paragraph")
    fb.record_feedback(db, "r1", 1)  # thumbs on the run that produced the answer
    bad = fb.feedback_rows(db, bad_only=True)
    assert len(bad) == 1 and bad[0]["id"] == fid and bad[0]["comment"] == "wrong paragraph"
    assert bad[0]["question"] == "schools and hospitals" and bad[0]["user"] == "ana"
    assert bad[0]["citations"][0]["citation"] == reply.answer.citations[0].citation
    assert [x["question"] for x in fb.feedback_rows(db)] == ["schools and hospitals"] * 2
    fb.record_feedback(db, "m1", 1, None, feedback_id=fid)  # changed their mind
    assert fb.feedback_rows(db, bad_only=True) == []
    assert fb.delete_feedback(db, fid) and len(fb.feedback_rows(db)) == 1
    with pytest.raises(ValueError):
        fb.record_feedback(db, "m1", 5)


def test_chainlit_data_layer_stores_thumbs(tmp_path: Path) -> None:
    from chainlit.types import Feedback

    db = tmp_path / "fb.sqlite3"
    layer = fb.data_layer(db)
    fid = asyncio.run(layer.upsert_feedback(Feedback(forId="m9", value=0, comment="missed ¶12")))
    rows = fb.feedback_rows(db)
    assert rows[0]["id"] == fid and rows[0]["value"] == 0 and rows[0]["comment"] == "missed ¶12"
    assert asyncio.run(layer.get_user("ana")) is None
    assert asyncio.run(layer.list_threads(None, None)).data == []


# ---------------------------------------------------------------- the page


def test_page_headers_strip_outside_links_and_serve_the_style() -> None:
    from fastapi import FastAPI
    from fastapi.middleware.gzip import GZipMiddleware
    from fastapi.responses import HTMLResponse
    from fastapi.testclient import TestClient

    from govassist import chat_web

    class Config:
        class ui:
            name = "govassist"
            language = None
            custom_css = None
            logo_file_url = None
            login_page_image = None

        @staticmethod
        def load_translation(language: str) -> dict:
            return {
                "chat": {"watermark": "LLMs can make mistakes."},
                "auth": {"login": {}},
                "common": {"actions": {"reset": "Reset", "cancel": "Cancel"}},
                "lang": language,
            }

    page = (
        '<html><head><link rel="preconnect" href="https://fonts.googleapis.com" />\n<link\n href="https://cdn.'
        'example/k.css"\n rel="stylesheet"\n/><link rel="stylesheet" href="/assets/a.css"></head></html>'
    )
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)  # as in Chainlit: compressed HTML reaches our middleware

    @app.get("/{path:path}")
    async def serve(path: str):
        return HTMLResponse(page)

    chat_web.install(app, Config, max_upload_mb=1)
    client = TestClient(app)
    res = client.get("/")
    assert "https://" not in res.text and '/assets/a.css"' in res.text
    assert "default-src 'self'" in res.headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in res.headers["content-security-policy"]
    assert client.get("/govassist/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/govassist/logo.svg").text.startswith("<svg")
    tr = client.get("/project/translations?language=fr-FR").json()["translation"]
    assert tr["chat"]["watermark"] == chat_web.WATERMARK and tr["lang"] == "fr-FR"
    assert tr["auth"]["login"]["title"] == "Sign in to govassist" and "form" not in tr["auth"]["login"]
    assert tr["common"]["actions"] == {"reset": "Undo edits", "cancel": "Cancel"}  # Chainlit's Reset keeps filters
    assert client.get("/avatars/govassist").text.startswith("<svg") and client.get("/logo").text.startswith("<svg")
    assert Config.ui.custom_css == "/govassist/style.css"
    big = client.post("/project/file", params={"session_id": "x"}, files={"file": ("a.txt", b"x" * (2 * 2**20))})
    assert big.status_code == 413 and "GOVASSIST_MAX_UPLOAD_MB" in big.json()["detail"]
    assert chat_web.upload_refusal("POST", "/project/file", None, 1)[0] == 411
    assert chat_web.upload_refusal("POST", "/project/file", "1000", 1) is None
    assert chat_web.upload_refusal("GET", "/project/file", "99999999", 1) is None


def test_cli_lists_bad_answers_and_hashes_passwords(tmp_path: Path, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from govassist.cli import app

    monkeypatch.setenv("GOVASSIST_DATA_DIR", str(tmp_path))
    fb.record_feedback(fb.db_path(tmp_path), "m1", 0, "wrong text cited")
    fb.record_feedback(fb.db_path(tmp_path), "m2", 1)
    res = CliRunner().invoke(app, ["feedback", "--bad", "--json"])
    assert res.exit_code == 0, res.output
    assert [r["comment"] for r in json.loads(res.output)] == ["wrong text cited"]
    res = CliRunner().invoke(app, ["hash-password"], input="s3cret\n")
    digest = res.output.strip().splitlines()[-1]
    assert res.exit_code == 0 and chat_auth.verify_password("s3cret", digest)


def test_app_startup_does_not_wait_for_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server starts listening while the warm-up (index + model) runs in the background."""
    from govassist import chat_ui

    release, started, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_warm(_s: Settings) -> None:
        started.set()
        release.wait(30)
        finished.set()

    monkeypatch.setattr(chat, "warm", slow_warm)
    asyncio.run(chat_ui.warm())  # returns while the warm-up is still loading
    assert started.wait(10) and not finished.is_set()
    release.set()
    assert finished.wait(10)


def test_a_failed_warm_up_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from govassist import chat_ui

    def broken(_s: Settings) -> None:
        raise IndexMissingError("no index at indexes/current")

    monkeypatch.setattr(chat, "warm", broken)
    asyncio.run(chat_ui.warm())
    for t in [t for t in threading.enumerate() if t.name == "warm-up"]:
        t.join(10)
    assert "warm-up skipped: no index at indexes/current" in caplog.text


def test_warm_up_marks_the_server_ready(mini_store, mini_settings: Settings) -> None:
    chat.READY.clear()
    chat.warm(mini_settings)
    assert chat.READY.is_set()


# ---------------------------------------------------------------- other origins


def test_origin_rule_same_host_port_or_configured() -> None:
    from govassist.chat_web import origin_allowed

    assert origin_allowed(None, "127.0.0.1:8000")  # not a browser script: curl, the page's own navigation
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert origin_allowed("https://chat.example.org", "chat.example.org")  # behind a TLS proxy keeping Host
    assert origin_allowed("http://chat.example.org:80", "chat.example.org")
    assert origin_allowed("https://chat.example.org", "chat.example.org:443")
    assert not origin_allowed("http://chat.example.org:8080", "chat.example.org")
    assert not origin_allowed("https://chat.example.org", "chat.example.org:8000")
    assert not origin_allowed("http://chat.example.org.evil.example", "chat.example.org")
    assert not origin_allowed("http://[::1", "127.0.0.1:8000")  # unparseable
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000")  # another port of the same host
    assert not origin_allowed("http://evil.example.org", "chat.example.org")
    assert not origin_allowed("http://drafts.example.org", "example.org")  # a sibling subdomain
    assert not origin_allowed("null", "127.0.0.1:8000")
    assert not origin_allowed("http://127.0.0.1:8000", None)
    assert origin_allowed("https://chat.example.org/", "10.0.0.5:8000", ["https://Chat.example.org"])
    assert not origin_allowed("https://other.example.org", "10.0.0.5:8000", ["https://chat.example.org"])


def _chainlit_like_app(allowed: list[str]):
    """Chainlit's arrangement: CORS for `config.project.allow_origins` (["*"] by default), a websocket route."""
    from fastapi import FastAPI
    from starlette.middleware.cors import CORSMiddleware

    from govassist import chat_web

    class Config:
        class ui:
            language = custom_css = logo_file_url = login_page_image = None

        class project:
            allow_origins = ["*"]

    app = FastAPI()

    @app.get("/user")
    async def user() -> dict:
        return {"identifier": "nego", "roles": ["negotiator"]}

    async def ws(socket) -> None:
        await socket.accept()
        await socket.send_text("restricted passage")
        await socket.close()

    app.router.add_websocket_route("/ws/socket.io/", ws)

    app.add_middleware(CORSMiddleware, allow_origins=Config.project.allow_origins, allow_credentials=True,
                       allow_methods=["*"], allow_headers=["*"])  # fmt: skip
    chat_web.install(app, Config, allowed_origins=allowed)
    return app


def test_foreign_origins_are_refused_on_http_and_websocket() -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    client = TestClient(_chainlit_like_app([]), base_url="http://127.0.0.1:8000")
    WS = "ws://127.0.0.1:8000/ws/socket.io/?EIO=4&transport=websocket"
    evil = {"Origin": "http://127.0.0.1:9999", "Cookie": "access_token=x"}
    res = client.get("/user", headers=evil)
    assert res.status_code == 403 and "access-control-allow-origin" not in res.headers
    assert "other sites" in res.json()["detail"]
    pre = client.options("/user", headers={**evil, "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(WS, headers=evil):
        pass
    assert refused.value.code == 1008
    same = {"Origin": "http://127.0.0.1:8000"}
    assert client.get("/user", headers=same).json()["identifier"] == "nego"
    assert client.get("/user").status_code == 200  # no Origin: not a page elsewhere
    with client.websocket_connect(WS, headers=same) as socket:
        assert socket.receive_text() == "restricted passage"
    allowed = TestClient(_chainlit_like_app(["https://chat.example.org"]), base_url="http://10.0.0.5:8000")
    res = allowed.get("/user", headers={"Origin": "https://chat.example.org"})
    assert res.status_code == 200 and res.headers["access-control-allow-origin"] == "https://chat.example.org"
    assert allowed.get("/user", headers=evil).status_code == 403


# ---------------------------------------------------------------- unrelated environment variables


def test_the_variables_chainlit_misreads_are_all_of_its_settings_fields() -> None:
    from chainlit.config import ChainlitConfig

    from govassist.chat_web import CHAINLIT_UNPREFIXED, chainlit_env

    assert set(CHAINLIT_UNPREFIXED) == set(ChainlitConfig.model_fields)
    env = chainlit_env({"PROJECT": "/x", "Ui": "y", "PATH": "/bin", "CHAINLIT_AUTH_SECRET": "s", "PROJECT_X": "1"})
    assert env == {"PATH": "/bin", "CHAINLIT_AUTH_SECRET": "s", "PROJECT_X": "1"}


def test_govassist_run_serves_with_unrelated_variables_set(mini_store, mini_settings: Settings, tmp_path) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from urllib.request import urlopen

    from govassist.chat_web import CHAINLIT_UNPREFIXED

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.load_chat import free_port, server_env

    port = free_port()
    env = server_env(mini_settings) | {k.upper(): "/anything" for k in CHAINLIT_UNPREFIXED}
    env["UI"], env["FEATURES"] = "{not json", "[1, 2"
    cmd = [sys.executable, "-c", "from govassist.cli import main; main()", "run", "--port", str(port)]
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready, deadline = None, time.monotonic() + 240
        while ready is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urlopen(f"http://127.0.0.1:{port}/govassist/ready", timeout=2) as res:
                    ready = json.loads(res.read())
            except OSError:
                time.sleep(0.5)
        assert ready == {"ready": True}, (proc.returncode, (tmp_path / "run.log").read_text()[-2000:])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


# ---------------------------------------------------------------- bodies, feedback, PDFs, sessions


def _guarded_app(tmp_path: Path, pdf_source=None, clock=None):
    """Chainlit's routes as far as the guard is concerned: login (401 unless 'right'), logout, feedback, user."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from govassist import chat_web

    class Config:
        class ui:
            language = custom_css = logo_file_url = login_page_image = None

    app = FastAPI()
    stored: list[dict] = []

    async def login(request):
        form = await request.form()
        ok = form.get("password") == "right"
        return JSONResponse({"ok": ok}, status_code=200 if ok else 401)

    async def logout(request):
        return JSONResponse({"success": True})

    async def feedback(request):
        stored.append({"body": await request.body(), "user": chat_auth.REQUEST_USER.get()})
        return JSONResponse({"success": True})

    async def user(request):
        return JSONResponse({"user": chat_auth.REQUEST_USER.get()})

    app.router.add_route("/login", login, methods=["POST"])
    app.router.add_route("/logout", logout, methods=["POST"])
    app.router.add_route("/feedback", feedback, methods=["PUT"])
    app.router.add_route("/user", user, methods=["GET"])
    chat_web.install(app, Config, data_dir=tmp_path, pdf_source=pdf_source)
    return app, stored


def _token(monkeypatch, user: str = "nego") -> str:
    import time

    import jwt

    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "s" * 48)
    claims = {"identifier": user, "metadata": {}, "iat": int(time.time()), "exp": int(time.time()) + 3600}
    return jwt.encode(claims, "s" * 48, algorithm="HS256")


def test_feedback_comments_and_bodies_are_bounded_and_the_user_recorded(tmp_path: Path, monkeypatch) -> None:
    import json

    from fastapi.testclient import TestClient

    from govassist.chat_web import BODY_MAX_BYTES, FEEDBACK_MAX_CHARS

    app, stored = _guarded_app(tmp_path)
    client = TestClient(app)
    client.cookies.set("access_token", _token(monkeypatch))
    fine = {"feedback": {"forId": "m1", "value": 0, "comment": "x" * FEEDBACK_MAX_CHARS}, "sessionId": "s"}
    assert client.put("/feedback", json=fine).status_code == 200
    assert stored[-1]["user"] == "nego" and json.loads(stored[-1]["body"]) == fine
    long = {"feedback": {"forId": "m1", "value": 0, "comment": "x" * (FEEDBACK_MAX_CHARS + 1)}, "sessionId": "s"}
    res = client.put("/feedback", json=long)
    assert res.status_code == 413 and "over the limit of 4000" in res.json()["detail"] and len(stored) == 1
    huge = {"feedback": {"forId": "m1", "value": 0, "comment": "x" * (50 * 2**20)}}
    assert client.put("/feedback", json=huge).status_code == 413 and len(stored) == 1

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(BODY_MAX_BYTES // 1024 + 2):
            yield b"x" * 1024

    assert client.put("/feedback", content=chunked()).status_code == 413 and len(stored) == 1
    with pytest.raises(ValueError, match="over the limit"):  # and the store refuses them too
        fb.record_feedback(fb.db_path(tmp_path), "m1", 0, "x" * (fb.MAX_COMMENT_CHARS + 1))


def test_feedback_rows_record_the_user_and_old_databases_gain_the_columns(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "feedback.sqlite3"
    con = sqlite3.connect(db)  # as an earlier version made it: no user, thread or run columns
    con.executescript(
        "CREATE TABLE answers (message_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, question TEXT NOT NULL, "
        "query TEXT NOT NULL, filters TEXT NOT NULL, mode TEXT NOT NULL, found INTEGER NOT NULL, answer TEXT NOT NULL, "
        "citations TEXT NOT NULL, retrieval_ms REAL);"
        "CREATE TABLE feedback (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, value INTEGER NOT NULL, comment TEXT, "
        "created_at TEXT NOT NULL);"
        "INSERT INTO feedback VALUES ('old', 'm0', 1, 'kept', '2026-01-01T00:00:00+00:00');"
    )
    con.commit()
    con.close()
    fb.record_feedback(db, "m1", 0, "missed it", user="press")
    rows = fb.feedback_rows(db)
    got = [(r["id"] == "old", r["user"], r["comment"]) for r in rows]
    assert got == [(False, "press", "missed it"), (True, None, "kept")]

    from chainlit.types import Feedback

    layer = fb.data_layer(db)
    token = chat_auth.REQUEST_USER.set("nego")
    try:
        asyncio.run(layer.upsert_feedback(Feedback(forId="m2", value=0, comment="by the data layer")))
    finally:
        chat_auth.REQUEST_USER.reset(token)
    assert {r["comment"]: r["user"] for r in fb.feedback_rows(db)}["by the data layer"] == "nego"


def test_cli_feedback_prints_no_control_characters(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from govassist.cli import app

    monkeypatch.setenv("GOVASSIST_DATA_DIR", str(tmp_path))
    fb.record_feedback(fb.db_path(tmp_path), "m1", 0, "bad\x1b[2J\x1b]0;owned\x07\nFORGED LINE\rok", user="a\x1b[31m")
    res = CliRunner().invoke(app, ["feedback"])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\x07" not in res.output and "\r" not in res.output
    assert not any(line.startswith("FORGED") for line in res.output.splitlines())
    assert "FORGED LINE" in res.output


def test_pdfs_are_served_by_id_to_readers_who_may_see_them(tmp_path: Path, monkeypatch, mini_settings) -> None:
    from fastapi.testclient import TestClient

    from govassist.catalog import DocMeta

    pdf = mini_settings.corpus_dir / "synthetic-report.pdf"
    docs = {"syn-report": DocMeta("syn-report", "R", "R", "synthetic-report.pdf", restricted=("negotiator",))}
    seen: list = []

    def source(doc_id: str, user: str | None):
        seen.append((doc_id, user))
        roles = ("negotiator",) if user == "nego" else ()
        visible = {k: d for k, d in docs.items() if not d.restricted or set(d.restricted) & set(roles)}
        return chat.pdf_path(visible, mini_settings, doc_id)

    app, _ = _guarded_app(tmp_path, pdf_source=source)
    client = TestClient(app)
    assert client.get("/govassist/pdf/syn-report").status_code == 404  # not signed in: restricted
    client.cookies.set("access_token", _token(monkeypatch, "press"))
    assert client.get("/govassist/pdf/syn-report").status_code == 404  # signed in without the role
    client.cookies.set("access_token", _token(monkeypatch, "nego"))
    res = client.get("/govassist/pdf/syn-report")
    assert res.status_code == 200 and res.content == pdf.read_bytes()
    assert res.headers["content-type"] == "application/pdf"
    assert client.get("/govassist/pdf/..%2Fcatalog.toml").status_code == 404
    assert seen[:3] == [("syn-report", None), ("syn-report", "press"), ("syn-report", "nego")]
    assert chat.pdf_path({"x": DocMeta("x", "X", "X", "../outside.pdf")}, mini_settings, "x") is None


def test_a_role_removed_in_the_settings_file_is_gone_at_the_next_chat(tmp_path: Path, monkeypatch) -> None:
    import os

    from govassist.settings import load_settings

    toml = tmp_path / "govassist.toml"
    monkeypatch.setenv("GOVASSIST_CONFIG", str(toml))
    toml.write_text('auth_enabled = true\n[users.nego]\npassword = "p"\nroles = ["negotiator"]\n', encoding="utf-8")
    s = load_settings()  # as the server read it at start
    assert chat_auth.roles_for(chat_auth.current(s), "nego") == ("negotiator",)
    toml.write_text('auth_enabled = true\n[users.nego]\npassword = "p"\nroles = []\n', encoding="utf-8")
    st = toml.stat()
    os.utime(toml, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a later edit, whatever the clock's grain
    assert chat_auth.roles_for(chat_auth.current(s), "nego") == ()
    assert chat_auth.check_login(chat_auth.current(s), "nego", "p") == ()
    toml.write_text("this is [not toml", encoding="utf-8")  # a broken edit keeps the last good users
    os.utime(toml, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert chat_auth.current(s).users["nego"]["roles"] == []


def test_logout_revokes_the_token_it_carried(tmp_path: Path, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_guarded_app(tmp_path)[0])
    token = _token(monkeypatch)
    assert client.get("/user", headers={"Cookie": f"access_token={token}"}).json() == {"user": "nego"}
    assert client.post("/logout", headers={"Cookie": f"access_token={token}"}).status_code == 200
    # a copy of the token (the browser forgot its own): not signed in any more
    assert client.get("/user", headers={"Cookie": f"access_token={token}"}).json() == {"user": None}
    assert client.get("/user", headers={"Authorization": f"Bearer {token}"}).json() == {"user": None}
    fresh = TestClient(_guarded_app(tmp_path)[0])  # after a restart too
    assert fresh.get("/user", headers={"Cookie": f"access_token={token}"}).json() == {"user": None}
    other = _token(monkeypatch, "press")
    assert fresh.get("/user", headers={"Cookie": f"access_token={other}"}).json() == {"user": "press"}
    half = len(token) // 2  # Chainlit splits long tokens over several cookies
    parts = f"access_token_0={token[:half]}; access_token_1={token[half:]}; theme=light"
    assert fresh.get("/user", headers={"Cookie": parts}).json() == {"user": None}


def test_failed_sign_ins_are_throttled_per_user_and_address() -> None:
    now = [1000.0]
    t = chat_auth.LoginThrottle(free=5, clock=lambda: now[0])
    for _ in range(4):
        t.failed("Nego", "10.0.0.1")
    assert t.wait_s("nego", "10.0.0.1") == 0
    t.failed("nego", "10.0.0.1")
    assert t.wait_s("nego", "10.0.0.1") == 2.0
    now[0] += 2.0
    t.failed("nego", "10.0.0.1")
    assert t.wait_s("nego", "10.0.0.1") == 4.0  # doubles with each further failure
    assert t.wait_s("nego", "10.0.0.2") == 0 and t.wait_s("press", "10.0.0.1") == 0
    for _ in range(30):
        t.failed("nego", "10.0.0.1")
    assert t.wait_s("nego", "10.0.0.1") == t.cap_s
    t.succeeded("nego", "10.0.0.1")
    assert t.wait_s("nego", "10.0.0.1") == 0


def test_the_login_route_answers_429_while_locked_out(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(_guarded_app(tmp_path)[0])
    codes = [client.post("/login", data={"username": "nego", "password": "wrong"}).status_code for _ in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    res = client.post("/login", data={"username": "nego", "password": "right"})  # even the right one, for now
    assert res.status_code == 429 and int(res.headers["retry-after"]) >= 1
    assert "try again in" in res.json()["detail"]
    assert client.post("/login", data={"username": "press", "password": "right"}).status_code == 200


# ---------------------------------------------------------------- restricted texts stay unnamed


def _family_corpus(s: Settings) -> None:
    """famx: v0 and v2 public, v1 restricted; famy: one public and one restricted member; hidden: all restricted."""
    members = [("famx", 0, ""), ("famx", 1, "negotiator"), ("famx", 2, ""), ("famy", 0, ""), ("famy", 1, "negotiator"),
               ("hiddenfam", 0, "negotiator"), ("hiddenfam", 1, "negotiator")]  # fmt: skip
    extra = ""
    for fam, i, role in members:
        secret = f"SECRET{fam}{i}" if role else f"{fam}{i}"
        word = "shall" if i % 2 == 0 else "should"
        text = f"Version {i} of {fam}.\n\n1. Data flows with trust {word} be promoted.\n\n2. Other text {fam} {i}.\n"
        (s.corpus_dir / f"{fam}{i}.txt").write_text(text, encoding="utf-8")
        extra += (f'\n[[doc]]\nid = "{fam}-v{i}{"-" + secret.lower() if role else ""}"\ntitle = "{secret} title"\n'
                  f'label = "{secret} label"\ncollection = "G7"\ndate = "2024-0{i + 1}-01"\nfamily = "{fam}"\n'
                  f'order = {i}\nfile = "{fam}{i}.txt"\n' + (f'restricted = ["{role}"]\n' if role else ""))  # fmt: skip
    s.catalog_file.write_text(s.catalog_file.read_text(encoding="utf-8") + extra, encoding="utf-8")


def test_compare_of_a_family_names_no_restricted_member(mini_settings: Settings) -> None:
    from govassist.store import build, open_store

    _family_corpus(mini_settings)
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    out = chat.run_command(store, "/compare famx", mini_settings, ()).content
    assert "famx0" in out and "famx2" in out and "SECRET" not in out and "secret" not in out
    with pytest.raises(QueryError) as refused:
        chat.run_command(store, "/compare famy", mini_settings, ())
    assert "secret" not in str(refused.value).lower() and "hiddenfam" not in str(refused.value)
    nego = chat.run_command(store, "/compare famx", mini_settings, ("negotiator",)).content
    assert "SECRETfamx1" in nego  # the role sees it


def test_the_welcome_counts_only_what_the_reader_may_search(mini_settings: Settings) -> None:
    from govassist.store import build, open_store

    _family_corpus(mini_settings)
    build(mini_settings, progress=False)
    store = open_store(mini_settings)
    restricted = {i for i, d in store.docs.items() if d.restricted}
    hidden = sum(1 for c in store.chunks if c.doc_id in restricted)
    assert len(restricted) == 4 and hidden > 0
    texts = len(store.docs)
    anon = chat.index_summary(store, (), mini_settings)
    nego = chat.index_summary(store, ("negotiator",), mini_settings)
    assert f"**{texts - 4} texts**" in anon and f"), {len(store.chunks) - hidden} passages" in anon
    assert f"**{texts} texts**" in nego and f"), {len(store.chunks)} passages" in nego


# ---------------------------------------------------------------- /precedent under load


def test_precedent_in_the_chat_compares_a_bounded_wording_against_bounded_candidates(
    mini_store, mini_settings: Settings, monkeypatch
) -> None:
    from govassist import precedent

    seen: list[tuple[int, int | None, int]] = []
    real = precedent._candidates

    def spy(store, text, s, allowed, depth=None, dense=True):
        out = real(store, text, s, allowed, depth, dense)
        seen.append((len(text.split()), depth, len(out)))
        assert not dense  # no embedding of the wording in the chat
        return out

    monkeypatch.setattr(precedent, "_candidates", spy)
    embedded: list[str] = []
    real_qv, real_dense = precedent.query_vector, type(mini_store).dense
    monkeypatch.setattr(precedent, "query_vector", lambda s, t: embedded.append(t) or real_qv(s, t))
    dense_k: list[int] = []
    monkeypatch.setattr(
        type(mini_store), "dense", lambda self, v, k, a=None: dense_k.append(k) or real_dense(self, v, k, a)
    )
    wording = ("We will connect all schools and hospitals to the Internet by 2030 with trust. " * 30)[:2000]
    reply = chat.run_command(mini_store, "/precedent " + wording, mini_settings, ())
    # the "other words" tier: one embedding of the bounded wording, one dense search of at most SEMANTIC_K
    assert len(embedded) == 1 and len(embedded[0].split()) == chat.PRECEDENT_MAX_WORDS
    assert len(dense_k) == 1 and dense_k[0] <= precedent.SEMANTIC_K
    words, depth, n = seen[-1]
    assert words == chat.PRECEDENT_MAX_WORDS < len(wording.split()) and depth == chat.PRECEDENT_DEPTH
    assert n <= 2 * chat.PRECEDENT_DEPTH  # by words, plus exact containment (none for this wording)
    assert f"first {chat.PRECEDENT_MAX_WORDS} words" in reply.content
    short = chat.run_command(mini_store, "/precedent connect all schools and hospitals", mini_settings, ())
    assert seen[-1][0] == 5 and "Compared the first" not in short.content


def test_heavy_commands_queue_on_their_own_worker_thread(mini_store, monkeypatch) -> None:
    from govassist import chat_ui

    threads: dict[str, str] = {}

    def record(store, text, s, roles, busy=False):
        threads[text] = threading.current_thread().name
        return chat.Reply("ok")

    monkeypatch.setattr(chat, "run_command", record)

    async def both() -> None:
        await asyncio.gather(
            chat_ui._command(mini_store, "/precedent x", ()), chat_ui._command(mini_store, "/docs", ())
        )
        await chat_ui._command(mini_store, "/Compare a b", ())

    asyncio.run(both())
    assert threads["/precedent x"].startswith("govassist-command") and threads["/Compare a b"].startswith("govassist")
    assert not threads["/docs"].startswith("govassist-command")


def test_a_burst_of_heavy_commands_skips_the_tier_that_embeds(mini_store, mini_settings, monkeypatch) -> None:
    from govassist import chat_ui
    from govassist import precedent as prec

    seen: list[bool] = []
    monkeypatch.setattr(chat, "run_command", lambda store, text, s, roles, busy=False: seen.append(busy) or None)
    monkeypatch.setattr(chat_ui, "_waiting", chat_ui.BUSY_AT - 1)
    asyncio.run(chat_ui._command(mini_store, "/precedent x", ()))
    monkeypatch.setattr(chat_ui, "_waiting", chat_ui.BUSY_AT)
    asyncio.run(chat_ui._command(mini_store, "/precedent x", ()))
    assert seen == [False, True] and chat_ui._waiting == chat_ui.BUSY_AT  # the counter is given back

    monkeypatch.undo()
    calls: list[int] = []
    real = prec.find_precedents
    monkeypatch.setattr(prec, "find_precedents", lambda *a, **k: calls.append(k["semantic"]) or real(*a, **k))
    s = mini_settings
    quiet = chat.run_command(mini_store, "/precedent connect schools and hospitals", s, ())
    busy = chat.run_command(mini_store, "/precedent connect schools and hospitals", s, (), busy=True)
    assert calls == [5, 0]
    assert busy.content.startswith(r.PRECEDENT_BUSY) and not quiet.content.startswith(r.PRECEDENT_BUSY)


# ---------------------------------------------------------------- issue 15: follow-ups, filters, notices, highlight

DFFT = "What is the G7 line on data free flow with trust and how should it be put into practice?"


@pytest.mark.parametrize(
    "question, follow",
    [
        (DFFT, False),  # the case: "it", but a topic of its own
        ("Did the G7 back REAIM, and who do they want to sign it?", False),  # a named subject
        ("What was that US-EU workforce initiative and what came of it?", False),
        ("and in 2024?", True),
        ("what about the TTC?", True),
        ("did they commit to it?", True),
        ("was it delivered in 2022?", True),
        ("and on the gender gap specifically?", True),
        ("What did the TTC say?", True),  # no topic word at all
        ("Which texts address internet shutdowns?", False),
    ],
)
def test_a_question_is_a_follow_up_only_when_it_lacks_its_own_topic(question: str, follow: bool) -> None:
    first = qn.understand("What did the G7 say about artificial intelligence in 2021?", None, ALIASES)
    turn = qn.understand(question, first, ALIASES)
    assert turn.followup is follow
    if not follow:  # a standalone question inherits neither the words nor the 2021 filter
        assert turn.query == question and turn.date_from in ("", "2022-01-01") and turn.previous == ""
    else:
        assert turn.previous == first.question and "artificial" in turn.query


def test_the_year_after_moves_the_previous_year() -> None:
    first = qn.understand("What did the TTC agree on the AI roadmap in 2022?", None, ALIASES)
    after = qn.understand("and the year after?", first, ALIASES)
    assert after.followup and (after.date_from, after.date_to) == ("2023-01-01", "2023-12-31")
    before = qn.understand("and the year before?", first, ALIASES)
    assert (before.date_from, before.date_to) == ("2021-01-01", "2021-12-31")


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def test_a_follow_up_is_said_above_the_answer_with_its_filters_and_buttons(mini_store, mini_settings) -> None:
    first = chat.answer_turn(mini_store, "What did the G7 say about data flows in 2023?", mini_settings,
                             chat.Prefs(), (), None)  # fmt: skip
    head = unescaped(first.content).split("\n\n")
    assert head[0] == "**Filtered to:** G7 · 2023 (named in your question: G7, 2023) — clear with the Clear filters "\
                      "button or /clear"  # fmt: skip
    assert first.offers == ("clear_filters",)
    follow = chat.answer_turn(mini_store, "and in 2024?", mini_settings, chat.Prefs(), (), first.turn)
    lines = unescaped(follow.content).split("\n\n")
    assert lines[0] == ("**Read with your previous question:** “What did the G7 say about data flows in 2023?” — "
                        "searched as “and in 2024? data flows”")  # fmt: skip
    assert lines[1].startswith("**Filtered to:** G7 · 2024 (named in your question: 2024; carried from your "
                               "previous question: G7)"), lines[1]  # fmt: skip
    assert follow.offers == ("ask_new", "clear_filters")
    fresh = chat.answer_turn(mini_store, "Which texts address data flows?", mini_settings, chat.Prefs(), (), None)
    assert "Filtered to" not in fresh.content and "Read with" not in fresh.content and fresh.offers == ()
    typed = chat.answer_turn(mini_store, "data flows", mini_settings, chat.Prefs(status="Adopted only"), (), None)
    assert unescaped(typed.content).startswith("**Filtered to:** adopted only — clear with")


def _stub(support: str, text: str, found: bool = True):
    """An Answer carrying the composer's coming `support` field (direct | closest | none)."""
    import dataclasses

    from govassist.answer import Answer, Citation, Sentence

    Stub = dataclasses.make_dataclass("Stub", [("support", str, "direct")], bases=(Answer,), frozen=True)
    c = Citation(1, "c1", "d1", "Doc", "Doc ¶1", "1", None, "d1.txt", "Title", "2023-01-01", "adopted", "",
                 "First sentence here. The quoted one, with (brackets) & stars*. Last.")  # fmt: skip
    sentences = (Sentence("The quoted one, with (brackets) & stars*.", 1),) if found else ()
    return Stub("q", text, sentences, (c,) if found else (), found, support=support), c


def test_the_not_indexed_notice_follows_a_direct_answer_and_opens_any_other() -> None:
    from dataclasses import replace

    notice = "The Declaration for the Future of the Internet (DFI) is catalogued but not indexed here."
    direct, _ = _stub("direct", "The quoted one, with (brackets) & stars*. [Doc ¶1]")
    out = r.answer_markdown(replace(direct, not_indexed=notice), {1: "Doc ¶1" + r.MARK}, {}, {})
    assert out.split("\n\n")[-1].startswith("⚠ **Not in the index.**") and out.count("catalogued") == 1
    assert out.split("\n\n")[0].startswith("“The quoted one")  # the fact sheet's answer first
    closest, _ = _stub("closest", r.CLOSEST + " The quoted one, with (brackets) & stars*. [Doc ¶1]")
    out = r.answer_markdown(replace(closest, not_indexed=notice), {1: "Doc ¶1" + r.MARK}, {}, {})
    assert out.startswith("⚠ **Not in the index.**")


def test_closest_and_none_open_the_answer_with_the_notice_once() -> None:
    a, _ = _stub("closest", r.CLOSEST + "\n“The quoted one…” [1]")
    out = r.answer_markdown(a, {1: "Doc ¶1" + r.MARK}, {}, {}, lead=["**Filtered to\\:** G7"])
    parts = out.split("\n\n")
    assert parts[0] == "**Filtered to\\:** G7"
    assert parts[1] == "⚠ **Not addressed directly.** " + r.inert(r.CLOSEST)
    assert out.count("do not appear to address") == 1
    same_line, _ = _stub("closest", f"{r.CLOSEST} The quoted one, with (brackets) & stars*. [Doc ¶1]")  # extractive
    shown = r.answer_markdown(same_line, {1: "Doc ¶1" + r.MARK}, {}, {}).split("\n\n")
    assert shown[0] == "⚠ **Not addressed directly.** " + r.inert(r.CLOSEST)  # the notice alone, not the answer
    assert shown[1] == "“" + r.inert("The quoted one, with (brackets) & stars*.") + "” Doc ¶1" + r.MARK
    assert "\n\n".join(shown).count("The quoted one") == 1
    none, _ = _stub("none", "I found nothing in the indexed texts that answers this.", found=False)
    shown = r.answer_markdown(none, {}, {}, {})
    assert shown == "⚠ **No answer in the indexed texts.**\n\nI found nothing in the indexed texts that answers this\\."
    said, _ = _stub("none", "The indexed texts do not address this.\nTry other words.", found=False)
    assert r.answer_markdown(said, {}, {}, {}).count("do not address") == 1
    direct, _ = _stub("direct", "x")
    assert "⚠" not in r.answer_markdown(direct, {1: "Doc ¶1" + r.MARK}, {}, {})
    assert_inert(out)


def test_the_quoted_sentence_is_bold_in_the_side_panel() -> None:
    a, c = _stub("direct", "x")
    md = r.passage_markdown(c, None, [a.sentences[0].text])
    out = rendered(md)
    assert visible_text(re.search(r"<strong>(.*?)</strong>", out.split("<blockquote>")[1]).group(1)) == (
        "The quoted one, with (brackets) & stars*."
    )
    assert "First sentence here." in visible_text(out) and "Last." in visible_text(out)
    assert_inert(md)
    wrapped = r.marked("Intro.\nThe quoted\n one. After.", ["The quoted one."])  # across a line break
    assert wrapped == ["Intro\\.", "**The quoted**", "**one\\.** After\\."]
    assert r.marked("No match here.", ["absent"]) == [r.inert("No match here.")]


def test_the_side_panel_names_a_section_only_when_the_label_does_not(mini_store) -> None:
    from dataclasses import replace

    _, c = _stub("direct", "x")
    head = "Statement on Chips"
    plain = replace(c, para="1", section=head)
    first = replace(c, para=f"{head} ¶1", section=head)
    second = replace(c, para=f"{head}, list 2 ¶1", section=head)
    under = replace(c, para=f"{head} ¶4", section="Areas of cooperation")  # a sub-heading after the restart
    assert [("*Section:*" in r.passage_markdown(x, None)) for x in (plain, first, second, under)] == [
        True,
        False,
        False,
        True,
    ]
    assert r.inert("Statement on Chips, list 2, paragraph 1") in r.passage_markdown(second, None)


def test_status_choices_count_texts_and_leave_out_empty_ones(mini_store) -> None:
    docs = chat.visible_docs(mini_store, ())
    choices = chat.status_choices(docs)
    assert choices["Adopted only (1 text)"] == "Adopted only" and "Drafts only (1 text)" in choices
    only_drafts = {i: d for i, d in docs.items() if d.status == "draft"}
    assert not any(v == "Adopted only" for v in chat.status_choices(only_drafts).values())
    assert chat.prefs_from_values({"status": "Adopted only (1 text)"}, Settings(), docs).status == "Adopted only"


def test_starters_and_help_name_only_indexed_texts() -> None:
    from govassist.catalog import DocMeta

    def doc(i: str, fam: str, d: str) -> DocMeta:
        return DocMeta(id=i, title=i, label=i.upper(), collection="GDC", date=d, file=f"{i}.pdf", family=fam)

    made = [doc("gdc-zero-2024", "gdc", "2024-04-01"), doc("gdc-2024", "gdc", "2024-09-22"),
            doc("ttc-2024-04", "", "2024-04-05"), doc("unga-78-265-2024", "", "2024-03-21")]  # fmt: skip
    docs = {d.id: d for d in made}
    starters = dict(chat.starters(docs))
    assert not any("Future of the Internet" in q for q in starters.values())  # dfi-2022 is not indexed
    assert "What did the Trade and Technology Council agree on semiconductor supply chains?" in starters.values()
    assert starters["Compare GDC-ZERO-2024 and GDC-2024"] == "/compare gdc-zero-2024 gdc-2024"
    assert chat.compare_example(docs) == ("gdc-zero-2024", "gdc-2024")
    assert "/compare gdc\\-zero\\-2024 gdc\\-2024" in r.help_markdown(chat.compare_example(docs))
    assert "gdc-rev2" not in r.help_markdown(None)


def test_help_command_uses_an_indexed_pair(mini_store, mini_settings: Settings) -> None:
    reply = chat.run_command(mini_store, "/help", mini_settings, ())
    assert "/clear" in reply.content and "gdc-rev2" not in reply.content


def test_each_server_keeps_its_files_in_its_own_folder(tmp_path: Path) -> None:
    import os

    import chainlit.config
    import chainlit.server

    from govassist import chat_ui

    saved = chainlit.config.FILES_DIRECTORY, chainlit.server.FILES_DIRECTORY
    try:
        own = chat_ui.own_files_dir(tmp_path)
        assert own == tmp_path / ".files" / str(os.getpid()) and own.is_dir()
        assert chainlit.config.FILES_DIRECTORY == own == chainlit.server.FILES_DIRECTORY  # what it removes on exit
    finally:
        chainlit.config.FILES_DIRECTORY, chainlit.server.FILES_DIRECTORY = saved


def test_a_question_naming_a_catalogued_but_unindexed_text_is_told_so_once(mini_store, mini_settings) -> None:
    """The answer package decides (answer.compose -> Answer.not_indexed); the chat shows that notice once, not again
    from the answer's notes or text."""
    with_dfi = mini_settings.catalog_file.read_text(encoding="utf-8") + (
        '\n[[doc]]\nid = "dfi-2022"\ntitle = "A Declaration for the Future of the Internet"\nlabel = "DFI"\n'
        'collection = "DFI"\ndate = "2022-04-28"\nfile = "dfi-2022.pdf"\nurl = "https://www.state.gov/dfi.pdf"\n'
    )
    mini_settings.catalog_file.write_text(with_dfi, encoding="utf-8")
    q = "What does the Declaration for the Future of the Internet say about shutdowns?"
    reply = chat.answer_turn(mini_store, q, mini_settings, chat.Prefs(), (), None)
    said = reply.answer.not_indexed
    assert said.startswith("The Declaration for the Future of the Internet (DFI) is catalogued but not indexed here")
    assert said in reply.answer.notes  # the composer's note too: shown once all the same
    shown = unescaped(reply.content)
    assert shown.startswith("⚠ **Not in the index.** " + said.split(";")[0]), shown
    assert shown.count("is catalogued") == 1 and "`govassist corpus fetch`" in shown, shown  # a code span
    assert_inert(reply.content)
    plain = chat.answer_turn(mini_store, "What did the G7 say about data flows?", mini_settings, chat.Prefs(), (), None)
    assert plain.answer.not_indexed == "" and "catalogued" not in plain.content


def test_the_not_indexed_notice_opens_a_nothing_found_answer_once() -> None:
    from govassist.answer import NOTHING, Answer

    said = "The Global Digital Compact (GDC) is catalogued but not indexed here; `govassist corpus fetch` brings it in."
    a = Answer("q", f"{said} {NOTHING}", (), (), False, notes=(said,), support="none", not_indexed=said)
    out = r.answer_markdown(a, {}, {}, {}, lead=["**Filtered to\\:** G7"])
    assert out.split("\n\n") == [
        "**Filtered to\\:** G7",
        f"{r.NOT_INDEXED} {r.with_code(said)}",
        r.NOTICES[1],
        r.inert(NOTHING),
    ]
    assert out.count("catalogued") == 1 and "`govassist corpus fetch`" in out
    assert r.with_code("a `b` c `d") == r.inert("a `b` c `d")  # an unpaired backtick: no code span
    assert_inert(out)
    assert_inert(r.with_code(f"`{HOSTILE.splitlines()[0]}` and {HOSTILE.splitlines()[0]}"))


def test_the_reset_switch_shows_the_defaults_and_other_edits_send_nothing(mini_store, monkeypatch) -> None:
    """Chainlit's Reset keeps confirmed filters (it restores the panel as opened); "Reset to defaults" switched on
    sends the widgets again, whose values are the defaults, without changing the settings in force."""
    from govassist import chat_ui

    sent: list[dict] = []

    class Recorder:
        def __init__(self, inputs: list) -> None:
            self.inputs = inputs

        async def refresh(self) -> None:
            sent.append({w.id: w.initial for w in self.inputs})

    async def store():
        return mini_store

    monkeypatch.setattr(chat_ui, "_store", store)
    monkeypatch.setattr(chat_ui, "_roles", lambda: ())
    monkeypatch.setattr(chat_ui.cl, "ChatSettings", Recorder)
    asyncio.run(chat_ui.settings_edit({"collections": ["G7"], chat_ui.RESET: False}))
    assert sent == []
    asyncio.run(chat_ui.settings_edit({"collections": ["G7"], chat_ui.RESET: True}))
    assert sent == [{"collections": [], "documents": [], "status": "All texts", chat_ui.RESET: False,
                     "k": chat_ui.S.k, "mode": "extractive"}]  # fmt: skip
