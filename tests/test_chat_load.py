"""The chat under concurrent users (the CI version of `python -m bench.load_chat`): ten sessions connect to the
real Chainlit app over socket.io at once and ask two questions each; every one gets its own answer, none fails.
Timings are reported by the bench, not asserted here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import make_mini_corpus

from govassist import chat
from govassist.settings import Settings
from govassist.store import build, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside src/, not in the package
from bench.load_chat import chat_server, run_load

QUESTIONS = [
    "Who will connect schools and hospitals to the Internet by 2030?",
    "Which panel on artificial intelligence will be established?",
    "What did ministers affirm on submarine cables and resilient networks?",
    "Is there joint research on quantum computing?",
    "How will they cooperate on semiconductors supply chains?",
    "What is said about critical minerals used in batteries?",
    "What about cross-border data flows and data governance?",
    "Which actions promote multilingual content online?",
    "Where did the Council meet on trustworthy AI and measurement tools?",
    "Will researchers be exchanged between partners?",
]


def mini(base: Path) -> Settings:
    corpus = make_mini_corpus(base / "corpus")
    return Settings(
        corpus_dir=corpus,
        catalog_file=corpus / "catalog.toml",
        index_dir=base / "indexes",
        data_dir=base / "data",
        embed_model="hash:256",
        min_relevance=0.05,
        mirror_dir=base / "no-mirror",
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    s = mini(tmp_path_factory.mktemp("chat-load"))
    build(s, progress=False)
    with chat_server(s, s.data_dir.parent / "server") as url:
        yield s, url


def expected_replies(s: Settings, pair: list[str]) -> list[str]:
    """What one session should be shown for its two questions, computed in-process with the same settings."""
    store, prev, out = open_store(s), None, []
    for q in pair:
        reply = chat.answer_turn(store, q, s, chat.Prefs(k=s.k), chat.roles_for(s, None), prev)
        out.append(reply.content)
        prev = reply.turn
    return out


def test_ten_simultaneous_sessions_each_get_their_own_answers(served) -> None:
    s, url = served
    report = run_load(url, QUESTIONS, sessions=10, per_session=2, timeout_s=120)
    assert (report.errors, report.connect_errors, report.answered) == (0, 0, 20), report.error_samples
    by_session: dict[int, list[tuple[str, str]]] = {}
    for t in report.turns:
        by_session.setdefault(t.session, []).append((t.question, t.answer))
    assert len(by_session) == 10
    for n, turns in by_session.items():
        asked = [q for q, _a in turns]
        assert asked == [QUESTIONS[(2 * n) % 10], QUESTIONS[(2 * n + 1) % 10]]
        assert [a for _q, a in turns] == expected_replies(s, asked), f"session {n} got someone else's answer"
    assert all("¶" in t.answer for t in report.turns)  # every answer carries its citations
    assert len({t.answer for t in report.turns}) >= 8  # and they differ, so a mix-up would show


def test_a_second_wave_after_the_first_is_served_too(served) -> None:
    """Sessions that ended (disconnected) leave the server able to serve a new burst."""
    _s, url = served
    report = run_load(url, QUESTIONS[::-1], sessions=10, per_session=1, timeout_s=120)
    assert (report.errors, report.answered) == (0, 10), report.error_samples
