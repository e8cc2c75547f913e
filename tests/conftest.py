"""Shared fixtures: an isolated environment, a tiny synthetic corpus with a hashing embedder, and (for
integration tests) the real mirror corpus indexed once per session with the packaged model."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from pdfmaker import make_pdf

from govassist.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
MIRROR = Path(os.environ.get("GOVASSIST_TEST_MIRROR", ROOT.parent / "shared" / "corpus"))

REPORT_PAGES = [
    [
        "I. Introduction",
        "The Council met in Leuven to advance cooperation on semiconductors and",
        "artificial intelligence between both partners, building on earlier work.",
        "We intend to deepen our work on trustworthy AI and measurement tools.",
    ],
    [
        "II. Critical minerals",
        "We will diversify supply chains for critical minerals used in batteries",
        "and in quantum technologies, with transparent standards.",
    ],
]


# The fast tier (`pytest -m "not slow"`) leaves out the integration, browser and PostgreSQL tests and these, each
# a few seconds or more here (`pytest --durations=30`): ranx metrics (numba compiles them on first use),
# concurrent and killed builds, the bench, chat sessions under load.
SLOW = {
    "test_evaluate.py::test_metrics_match_hand_computed_values",
    "test_evaluate.py::test_empty_result_list_scores_zero",
    "test_evaluate.py::test_eval_writes_report_files",
    "test_evaluate.py::test_paired_test_finds_a_clear_difference",
    "test_crash_safety.py::test_two_builds_started_at_once_one_refuses",
    "test_crash_safety.py::test_with_wait_the_second_build_takes_its_turn",
    "test_crash_safety.py::test_sigkill_in_each_phase_keeps_the_previous_index_serving",
    "test_crash_safety.py::test_after_kills_a_full_rebuild_serves_the_same_results",
    "test_bench_smoke.py::test_bench_writes_results_of_the_promised_shape",
    "test_chat_load.py::test_ten_simultaneous_sessions_each_get_their_own_answers",
    "test_hostile_input.py::test_build_skips_every_hostile_file_reports_it_and_indexes_the_rest",
    "test_evaluate.py::test_scores_split_by_type_and_latency_percentiles",
    "test_evaluate.py::test_cli_gate_exit_codes",
    "test_chat_load.py::test_a_second_wave_after_the_first_is_served_too",
    "test_bounds.py::test_chat_refuses_an_overlong_question_with_the_limit_and_stays_usable",
    "test_chat.py::test_chainlit_data_layer_stores_thumbs",
    "test_evaluate.py::test_gate_fails_on_a_worse_run_and_passes_on_a_good_one",
    "test_bounds.py::test_chat_drops_a_message_over_the_transport_limit_and_serves_others",
}
SLOW_MARKERS = ("integration", "browser", "pg")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` every test that needs the real corpus, a browser or PostgreSQL, and those listed in SLOW."""
    for item in items:
        key = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        if key in SLOW or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's govassist.toml or GOVASSIST_* variables, or reaches a model hub."""
    for key in list(os.environ):
        if key.startswith("GOVASSIST_") and key not in ("GOVASSIST_TEST_MIRROR", "GOVASSIST_TEST_SCREENSHOTS"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GOVASSIST_CONFIG", str(tmp_path / "no-such-govassist.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def record_embedded(monkeypatch: pytest.MonkeyPatch, module: object) -> list[str]:
    """The texts `module.embed_texts` embeds from now on (still embedded for real)."""
    seen: list[str] = []
    real = module.embed_texts  # type: ignore[attr-defined]

    def spy(model: object, texts: list[str], progress: bool = False) -> object:
        seen.extend(texts)
        return real(model, texts, progress=progress)

    monkeypatch.setattr(module, "embed_texts", spy)
    return seen


def make_mini_corpus(dest: Path) -> Path:
    """Copy the synthetic fixture corpus and make its PDF (with running header and page footer)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in (FIXTURES / "mini").iterdir():
        shutil.copy(f, dest / f.name)
    make_pdf(dest / "synthetic-report.pdf", REPORT_PAGES, header="Synthetic Joint Statement, April 2024")
    return dest


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    corpus = make_mini_corpus(tmp_path / "corpus")
    return Settings(
        corpus_dir=corpus,
        catalog_file=corpus / "catalog.toml",
        index_dir=tmp_path / "indexes",
        data_dir=tmp_path / "data",
        embed_model="hash:256",
        min_relevance=0.05,
        mirror_dir=tmp_path / "no-mirror",
        glossary_file=tmp_path / "no-glossary.tsv",  # the glossary's own tests give theirs
    )


@pytest.fixture
def mini_store(mini_settings: Settings):
    from govassist.store import build, open_store

    build(mini_settings, progress=False)
    return open_store(mini_settings)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The mirror corpus indexed with the packaged default embedder, once per test session."""
    if not MIRROR.is_dir():
        pytest.fail(f"integration tests need the corpus mirror at {MIRROR} (set GOVASSIST_TEST_MIRROR)")
    from govassist import catalog
    from govassist.store import build

    base = tmp_path_factory.mktemp("real")
    s = Settings(
        corpus_dir=base / "corpus",
        catalog_file=ROOT / "corpus" / "catalog.toml",
        glossary_file=ROOT / "corpus" / "glossary.tsv",
        index_dir=base / "indexes",
        data_dir=base / "data",
        mirror_dir=MIRROR,
    )
    catalog.fetch(catalog.load_catalog(s.catalog_file), s.corpus_dir, MIRROR, download=False)
    build(s, progress=False)
    return s


@pytest.fixture(scope="session")
def real_store(real_settings: Settings):
    from govassist.store import open_store

    return open_store(real_settings)


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL per session (pgserver). Its folder is outside pytest's private temp root: under root, pgserver
    runs PostgreSQL as an unprivileged user that must be able to reach the folder."""
    from govassist.store import pgserver

    base = Path(tempfile.mkdtemp(prefix="govassist-pg-"))
    state = pgserver.start(base / "data")
    yield state
    pgserver.stop(base / "data")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test on the session's server."""
    import psycopg

    from govassist.store import pgserver

    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name.lower())[:55]
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pgserver.url_for(pg_server.url, name)


@pytest.fixture
def pg_settings(mini_settings: Settings, pg_url: str) -> Settings:
    """The mini corpus with GOVASSIST_DATABASE_URL set to a fresh database."""
    return mini_settings.model_copy(update={"database_url": pg_url})
