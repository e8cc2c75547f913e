"""The CLI's machine interface and its one-line errors, run in-process on the synthetic corpus."""

import json

import pytest
from typer.testing import CliRunner

from govassist.cli import app, main
from govassist.settings import Settings


@pytest.fixture
def env(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    return mini_settings


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def run_main(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["govassist", *args])
    with pytest.raises(SystemExit) as ex:
        main()
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


def test_build_exit_code_2_when_files_were_skipped(env: Settings) -> None:
    r = run("index", "build", "--no-progress")
    assert r.exit_code == 2
    assert "skipped: empty-file.txt: empty file" in r.output


def test_search_json_shape(env: Settings) -> None:
    run("index", "build", "--no-progress")
    r = run("search", "scientific panel on artificial intelligence", "--k", "3", "--json")
    data = json.loads(r.output)
    assert data["query"] == "scientific panel on artificial intelligence"
    hit = data["hits"][0]
    assert {"rank", "score", "chunk_id", "doc_id", "label", "para", "page", "source", "text"} <= set(hit)
    assert (hit["rank"], hit["chunk_id"], hit["source"]) == (1, "syn-compact#4", "synthetic-un-compact.txt")


def test_search_batch_prints_one_line_per_query(env: Settings, tmp_path) -> None:
    run("index", "build", "--no-progress")
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"qid": "a", "query": "quantum computing"}\n{"qid": "b", "query": "submarine cables"}\n')
    r = run("search", "--batch", str(batch), "--k", "2", "--json")
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert [x["qid"] for x in lines] == ["a", "b"] and all(len(x["hits"]) == 2 for x in lines)


def test_ask_json_carries_answer_and_citations(env: Settings) -> None:
    run("index", "build", "--no-progress")
    data = json.loads(run("ask", "Who will connect schools and hospitals?", "--json").output)
    assert data["answer"] and data["citations"]
    assert {"chunk_id", "doc_id", "label", "para", "page", "source", "text"} <= set(data["citations"][0])
    assert data["support"] == "direct"


def test_ask_says_how_strong_the_support_is(env: Settings) -> None:
    from govassist.answer import CLOSEST_LEAD

    run("index", "build", "--no-progress")
    data = json.loads(run("ask", "What did the Kananaskis summit say about schools and hospitals?", "--json").output)
    assert data["support"] == "closest" and data["answer"].startswith(CLOSEST_LEAD) and data["citations"]
    plain = run("ask", "What did the Kananaskis summit say about schools and hospitals?").output
    assert plain.startswith(CLOSEST_LEAD) and "support: closest" in plain
    with env.catalog_file.open("a", encoding="utf-8") as fh:
        fh.write('\n[[doc]]\nid = "syn-pact"\ntitle = "Synthetic Digital Pact"\nlabel = "SDP"\nfile = "pact.pdf"\n')
    out = run("ask", "What does the SDP say about schools?").output
    assert out.startswith("The Synthetic Digital Pact (SDP) is catalogued but not indexed here;")
    assert out.count("catalogued but not indexed") == 1  # said once, not again as a note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", ""), "the question is empty"),
        (("search", "x", "--k", "0"), "k must be between 1 and 50"),
        (("ask", "   "), "the question is empty"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(env: Settings, capsys, monkeypatch, args, message) -> None:
    run("index", "build", "--no-progress")
    code, _out, err = run_main(capsys, monkeypatch, *args)
    assert code == 1 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_missing_index_is_a_clear_message(env: Settings, capsys, monkeypatch) -> None:
    code, _out, err = run_main(capsys, monkeypatch, "search", "anything")
    assert code == 1 and "no index at" in err and "govassist index build" in err


def test_settings_hides_secrets(env: Settings, monkeypatch) -> None:
    monkeypatch.setenv("GOVASSIST_LLM_API_KEY", "sekrit")
    data = json.loads(run("settings", "--json").output)
    assert data["llm_api_key"] == "***" and data["embed_model"] == "hash:256"


def test_toml_file_is_read_and_env_wins(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text('k = 5\nembed_model = "from-toml"\n')
    monkeypatch.setenv("GOVASSIST_CONFIG", str(cfg))
    monkeypatch.setenv("GOVASSIST_EMBED_MODEL", "from-env")
    s = Settings()
    assert (s.k, s.embed_model) == (5, "from-env")


def test_run_starts_the_chainlit_app_found_through_the_package(mini_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    from pathlib import Path

    import govassist
    from govassist.cli import chat_app_path

    for key in ("corpus_dir", "catalog_file", "index_dir", "data_dir", "embed_model", "mirror_dir"):
        monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(getattr(mini_settings, key)))
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda argv: calls.append(argv) or 0)
    res = CliRunner().invoke(app, ["run", "--port", "8123"])
    assert res.exit_code == 0, res.output
    app_py = Path(govassist.__file__).parent / "chat_app.py"
    assert chat_app_path() == app_py and app_py.is_file()
    assert calls == [
        [sys.executable, "-m", "chainlit", "run", str(app_py), "--headless", "--host", "127.0.0.1", "--port", "8123"]
    ]
