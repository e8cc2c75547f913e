"""Resource bounds come from the settings and say so: question length, k, file size, PDF pages, load time and
upload size, in the library, on the command line (one line, exit 1) and in the running chat."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import pytest
from conftest import make_mini_corpus
from typer.testing import CliRunner

from govassist import chat
from govassist.answer import ask
from govassist.cli import app, main
from govassist.errors import QueryError
from govassist.load import Limits, limits_for
from govassist.retrieve import search
from govassist.settings import Settings
from govassist.store import build

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside src/, not in the package
from bench.load_chat import _step, chat_server, run_load


def with_(s: Settings, **changes) -> Settings:
    return Settings(**{**s.model_dump(), **changes})


def test_question_length_bound_is_the_setting_everywhere(mini_store, mini_settings: Settings) -> None:
    s = with_(mini_settings, max_question_chars=40)
    ok, long = ("submarine cables " * 3)[:40], "submarine cables " * 3
    assert len(ok) == 40 and len(long.strip()) == 50
    assert search(mini_store, ok, s, k=3)
    message = r"the question is 50 characters, over the limit of 40 \(GOVASSIST_MAX_QUESTION_CHARS\): shorten it"
    for attempt in (
        lambda: search(mini_store, long, s, k=3),
        lambda: ask(mini_store, long, s),
        lambda: chat.answer_turn(mini_store, long, s, chat.Prefs(k=3), (), None),
    ):
        with pytest.raises(QueryError, match=message):
            attempt()


def test_k_bound_is_the_setting_everywhere(mini_store, mini_settings: Settings) -> None:
    s = with_(mini_settings, k_max=5)
    assert len(search(mini_store, "digital cooperation", s, k=5)) == 5
    for attempt in (
        lambda: search(mini_store, "digital cooperation", s, k=6),
        lambda: ask(mini_store, "digital cooperation", s, k=6),
        lambda: chat.answer_turn(mini_store, "digital cooperation", s, chat.Prefs(k=6), (), None),
    ):
        with pytest.raises(QueryError, match=r"between 1 and 5 \(GOVASSIST_K_MAX\), got 6"):
            attempt()


def test_loader_limits_come_from_the_settings(mini_settings: Settings) -> None:
    s = with_(mini_settings, max_file_mb=2.5, max_pdf_pages=7, load_timeout_s=9)
    assert limits_for(s) == Limits(
        max_bytes=2_621_440, max_pdf_pages=7, max_text_chars=2_621_440, timeout_s=9.0, folder=s.corpus_dir
    )


def test_build_applies_file_size_and_page_bounds_from_settings(mini_settings: Settings) -> None:
    big = mini_settings.corpus_dir / "big.md"
    big.write_text("1. We affirm the commitment to open networks.\n" * 14_000)  # 0.6 MB
    s = with_(mini_settings, max_file_mb=0.5, max_pdf_pages=1)
    r = build(s, progress=False)
    assert r.skipped["big.md"] == "big.md: 0.6 MB, over the limit of 0.5 MB (GOVASSIST_MAX_FILE_MB)"
    assert r.skipped["synthetic-report.pdf"] == (
        "synthetic-report.pdf: declares 2 pages, over the limit of 1 (GOVASSIST_MAX_PDF_PAGES)"
    )
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7"]


@pytest.fixture
def env(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    CliRunner().invoke(app, ["index", "build", "--no-progress"], catch_exceptions=False)
    return mini_settings


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (("ask", "x" * 2001), {}, "the question is 2001 characters, over the limit of 2000"),
        (("search", "y" * 31), {"GOVASSIST_MAX_QUESTION_CHARS": "30"}, "over the limit of 30"),
        (("ask", "quantum", "-k", "51"), {}, "k must be between 1 and 50 (GOVASSIST_K_MAX), got 51"),
        (("search", "quantum", "-k", "9"), {"GOVASSIST_K_MAX": "8"}, "k must be between 1 and 8"),
        (("ask", "quantum", "-k", "0"), {}, "k must be between 1 and 50"),
    ],
)
def test_cli_bounds_are_one_line_and_exit_1(env, capsys, monkeypatch, args, extra_env, message) -> None:
    for key, value in extra_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.argv", ["govassist", *args])
    with pytest.raises(SystemExit) as ex:
        main()
    err = capsys.readouterr().err
    assert ex.value.code == 1 and err.startswith("error: ") and message in err and err.count("\n") == 1


# --- the same bounds in the running chat -------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("bounds-chat")
    corpus = make_mini_corpus(base / "corpus")
    s = Settings(
        corpus_dir=corpus,
        catalog_file=corpus / "catalog.toml",
        index_dir=base / "indexes",
        data_dir=base / "data",
        embed_model="hash:256",
        min_relevance=0.05,
        mirror_dir=base / "no-mirror",
        max_upload_mb=1.0,
    )
    build(s, progress=False)
    with chat_server(s, base / "server") as url:
        yield s, url


def test_chat_refuses_an_overlong_question_with_the_limit_and_stays_usable(served) -> None:
    _s, url = served
    report = run_load(url, ["q" * 2001, "Is there joint research on quantum computing?"], sessions=1, per_session=2)
    too_long, fine = report.turns
    shown = too_long.answer.replace("\\", "")  # the chat shows it as inert (escaped) markdown
    assert shown.startswith("⚠ the question is 2001 characters, over the limit of 2000 (GOVASSIST_MAX_QUESTION_CHARS)")
    assert not fine.error and "Syn. G7 Ministerial ¶3" in fine.answer.replace("\\", "")


async def _send_raw(url: str, text: str) -> bool:
    """Send one message of `text`; whether the server kept the connection open afterwards."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    auth = {"sessionId": str(uuid.uuid4()), "clientType": "webapp", "userEnv": "{}"}
    await sio.connect(url, socketio_path="/ws/socket.io", transports=["websocket"], auth=auth)
    await sio.emit("connection_successful")
    await sio.emit("client_message", {"message": _step(text), "fileReferences": None})
    for _ in range(100):
        if not sio.connected:
            return False
        await asyncio.sleep(0.05)
    await sio.disconnect()
    return True


def test_chat_drops_a_message_over_the_transport_limit_and_serves_others(served) -> None:
    _s, url = served
    assert asyncio.run(_send_raw(url, "z" * 2_000_000)) is False  # engine.io: 1 MB per message
    report = run_load(url, ["Who will connect schools and hospitals?"], sessions=3, per_session=1)
    assert (report.errors, report.answered) == (0, 3)


def test_chat_refuses_an_upload_over_max_upload_mb_before_reading_it(served) -> None:
    import httpx

    _s, url = served
    body = b"x" * (2 * 2**20)  # the fixture sets max_upload_mb = 1
    r = httpx.post(f"{url}/project/file", params={"session_id": "any"}, files={"file": ("a.txt", body)}, timeout=60)
    assert r.status_code == 413 and "GOVASSIST_MAX_UPLOAD_MB" in r.text
