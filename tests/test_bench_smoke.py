"""A tiny run of the benchmark code on the synthetic corpus with the hashing embedder: the results file has the
promised shape (never timings). The embedder and cold-start sections need the real models and are run by
`python -m bench.run`, not here; their relevance judgments are checked directly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from govassist.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside src/, not in the package
from bench.embedders import qrels
from bench.run import app

QUESTIONS = [
    {"qid": "q1", "query": "submarine cables and resilient networks", "type": "factual",
     "judgments": [{"doc_id": "syn-g7", "para": "1", "grade": 2}]},
    {"qid": "q2", "query": "joint research on quantum computing", "type": "factual",
     "judgments": [{"doc_id": "syn-g7", "para": "3", "grade": 2}, {"doc_id": "syn-compact", "para": "4", "grade": 1}]},
    {"qid": "q3", "query": "connect schools and hospitals to the Internet", "type": "factual",
     "judgments": [{"doc_id": "syn-compact", "para": "2(a)", "grade": 1},
                   {"doc_id": "nowhere", "para": "9", "grade": 2}]},
]  # fmt: skip


def test_bench_writes_results_of_the_promised_shape(mini_settings: Settings, tmp_path: Path) -> None:
    qfile = tmp_path / "questions.jsonl"
    qfile.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    out = tmp_path / "results" / "bench.json"
    args = ["--quick", "--inline", "--sections", "ingest,query,scale", "--embed-model", "hash:256",
            "--catalog", str(mini_settings.catalog_file), "--source", str(mini_settings.corpus_dir),
            "--questions", str(qfile), "--judged", str(qfile), "--workdir", str(tmp_path / "work"),
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    runs = json.loads(out.read_text())
    assert len(runs) == 1
    rec = runs[0]
    assert {"cpu", "cores", "ram_gb", "loadavg"} <= rec["machine"].keys() and rec["machine"]["cores"] >= 1
    assert len(rec["git"]["commit"]) == 40
    assert rec["settings"]["embed_model"] == "hash:256" and "llm_api_key" not in rec["settings"]
    assert set(rec["sections"]) == {"ingest", "query", "scale"}

    ingest = rec["sections"]["ingest"]
    assert ingest["full"]["documents"] == 3 and ingest["full"]["chunks"] == 17
    assert {"load_chunk", "embed", "write", "sentences", "total"} <= ingest["full"]["stages_s"].keys()
    assert ingest["unchanged_rebuild"]["changed"] is False
    edits = ingest["one_doc_rebuild"]["docs"]
    assert [d["doc"] for d in edits] == ["syn-g7", "syn-compact"]  # the smallest and the largest text document
    assert all(r["embedded_docs"] == [d["doc"]] for d in edits for r in d["runs"])

    latency = rec["sections"]["query"]["latency_ms"]
    assert set(latency) == {"dense", "bm25", "fused", "default", "embed_query", "ask", "ask_uncached"}
    assert all(v["n"] == 3 and v["p50"] <= v["p95"] <= v["p99"] <= v["max"] for v in latency.values())

    scale = rec["sections"]["scale"]["factors"]
    assert set(scale) == {"1", "2"}
    assert scale["2"]["chunks"] == 2 * scale["1"]["chunks"] == 34
    assert scale["2"]["documents"] == 6
    assert (scale["1"]["jittered_copies"], scale["2"]["jittered_copies"]) == (0, 17)  # the copy's chunks moved apart
    for row in scale.values():
        assert 0.0 <= row["faiss"]["hnsw"]["recall_at_10"] <= 1.0
        assert row["memory"]["store_mb"] >= 0 and row["latency_ms"]["fused"]["n"] == 3

    assert (out.parent / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    latest = (out.parent / "latest.md").read_text()
    assert "| search fused, x1, p50 / p95 / p99 |" in latest and "| x2 | 34 (flat) |" in latest


def test_relevance_is_a_judged_paragraph_among_the_chunk_paragraphs(mini_store) -> None:
    assert qrels(QUESTIONS, mini_store.chunks) == {
        "q1": {"syn-g7#1": 2},
        "q2": {"syn-g7#3": 2, "syn-compact#4": 1},
        "q3": {"syn-compact#2(a)": 1},
    }
