"""The evaluation suite: hand-computed metric values, the converter and validator, gates, report files, and the
real question set on the real corpus."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from govassist import evaluate as ev
from govassist.errors import EvalError

ROOT = Path(__file__).resolve().parents[1]

# Three queries with known relevance and rankings; expected values computed by hand below.
QRELS = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}, "q3": {"d4": 2, "d5": 2}}
RANKING = {
    "q1": ["x", "d1", "y", "d2"],  # grade 2 at rank 2, grade 1 at rank 4
    "q2": ["d3", "z"],  # the only relevant passage first
    "q3": ["n1", "n2", "n3", "n4", "n5", "n6", "d4"],  # one of two relevant at rank 7
}


def _run(ranking: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    return {q: {d: 1.0 / r for r, d in enumerate(docs, start=1)} for q, docs in ranking.items()}


def test_metrics_match_hand_computed_values() -> None:
    pq = ev.per_query(QRELS, _run(RANKING))
    # nDCG with linear gains: DCG = sum(rel / log2(rank + 1)); IDCG from the ideal order.
    ndcg_q1 = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3))
    ndcg_q3 = (2 / math.log2(8)) / (2 + 2 / math.log2(3))
    assert pq["ndcg@10"]["q1"] == pytest.approx(ndcg_q1)  # 0.6433
    assert pq["ndcg@10"]["q2"] == pytest.approx(1.0)
    assert pq["ndcg@10"]["q3"] == pytest.approx(ndcg_q3)  # 0.2044
    assert pq["recall@5"] == pytest.approx({"q1": 1.0, "q2": 1.0, "q3": 0.0})
    assert pq["recall@10"] == pytest.approx({"q1": 1.0, "q2": 1.0, "q3": 0.5})
    assert pq["mrr@10"] == pytest.approx({"q1": 0.5, "q2": 1.0, "q3": 1 / 7})
    assert pq["hit@1"] == pytest.approx({"q1": 0.0, "q2": 1.0, "q3": 0.0})


def test_empty_result_list_scores_zero() -> None:
    pq = ev.per_query({"q": {"d": 1}, "r": {"e": 1}}, {"q": {}, "r": {"e": 1.0}})
    assert pq["ndcg@10"] == pytest.approx({"q": 0.0, "r": 1.0})


def _config_run(name: str, ranking: dict[str, list[str]]) -> ev.ConfigRun:
    hits = {
        q: tuple(ev.RankedHit(r, d, d, (), d, "", QRELS[q].get(d, 0)) for r, d in enumerate(docs, start=1))
        for q, docs in ranking.items()
    }
    return ev.ConfigRun(ev.EvalConfig(name, "default"), hits, (10.0, 20.0, 30.0))


def _questions() -> list[ev.Question]:
    types = {"q1": "factual", "q2": "factual", "q3": "paraphrase"}
    return [ev.Question(q, f"query {q}", types[q], ("G7",), (ev.Judgment("doc", "1", 1),)) for q in QRELS]


def test_scores_split_by_type_and_latency_percentiles() -> None:
    sc = ev.score(_questions(), QRELS, _config_run("default", RANKING))
    assert sc.by_type["paraphrase"]["mrr@10"] == pytest.approx(1 / 7)
    assert sc.by_type["factual"]["mrr@10"] == pytest.approx(0.75)
    assert sc.by_collection["G7"]["recall@10"] == pytest.approx(2.5 / 3)
    assert sc.latency_p50_ms == pytest.approx(20.0)


def test_gate_fails_on_a_worse_run_and_passes_on_a_good_one() -> None:
    worse = {q: [d for d in docs if d not in QRELS[q]] for q, docs in RANKING.items()}  # no relevant passage
    good = {q: sorted(QRELS[q], key=lambda d: -QRELS[q][d]) for q in QRELS}  # the ideal order
    gates = ev.parse_gates(["ndcg@10=0.5", "recall@5=0.5"])
    failures = ev.check_gates(ev.score(_questions(), QRELS, _config_run("default", worse)), gates)
    assert failures == ("default ndcg@10 = 0.000 < 0.500", "default recall@5 = 0.000 < 0.500")
    assert ev.check_gates(ev.score(_questions(), QRELS, _config_run("default", good)), gates) == ()


@pytest.mark.parametrize("spec", ["ndcg=0.5", "ndcg@10=high", "map@10=0.3"])
def test_bad_gate_specs_are_rejected(spec: str) -> None:
    with pytest.raises(EvalError, match="--fail-under"):
        ev.parse_gates([spec])


def test_paired_test_finds_a_clear_difference() -> None:
    qrels = {f"q{i}": {"rel": 1} for i in range(12)}
    good = {q: {"rel": 1.0, "x": 0.5} for q in qrels}
    bad = {q: {"x": 1.0, "y": 0.5, "rel": 0.2} if i % 2 else {"x": 1.0, "rel": 0.5} for i, q in enumerate(qrels)}
    c = ev.compare_runs(qrels, {"good": good, "bad": bad})
    assert c["good"]["scores"]["mrr@10"] == pytest.approx(1.0)
    assert c["bad"]["scores"]["mrr@10"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert c["good"]["comparisons"]["bad"]["mrr@10"] < 0.05
    same = ev.compare_runs(qrels, {"a": good, "b": dict(good)})
    assert same["a"]["comparisons"]["b"]["mrr@10"] == 1.0  # identical runs: no evidence, not NaN


# ---- question set on the synthetic corpus ----------------------------------------------------------------

RAW = [
    {
        "qid": "m1",
        "query": "Which panel on artificial intelligence will be established?",
        "type": "factual",
        "judgments": [
            {"doc_id": "syn-compact", "quote": "establish an independent international scientific panel", "grade": 2}
        ],
    },
    {
        "qid": "m2",
        "query": "connect schools and hospitals",
        "type": "paraphrase",
        "judgments": [
            {"doc_id": "syn-compact", "quote": "Connect all schools and hospitals to the Internet by 2030", "grade": 2},
            {"doc_id": "syn-compact", "quote": "We will pursue the following actions", "grade": 1},
        ],
    },
    {
        "qid": "m3",
        "query": "Which texts mention quantum or semiconductors?",
        "type": "cross-document",
        "judgments": [
            {"doc_id": "syn-g7", "quote": "We welcome joint research on **quantum computing**", "grade": 2},
            {"doc_id": "syn-g7", "quote": "cooperate on semiconductors supply chains", "grade": 1},
        ],
    },
]


def _write_raw(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def mini_questions(mini_settings, tmp_path: Path) -> Path:
    out = tmp_path / "questions.jsonl"
    ev.convert(_write_raw(tmp_path / "raw.jsonl", RAW), out, mini_settings)
    return out


def test_convert_maps_quotes_to_parser_labels(mini_questions: Path) -> None:
    qs = {q.qid: q for q in ev.load_questions(mini_questions)}
    assert qs["m1"].judgments == (ev.Judgment("syn-compact", "4", 2),)
    assert qs["m2"].judgments == (ev.Judgment("syn-compact", "2(a)", 2), ev.Judgment("syn-compact", "2", 1))
    assert [j.para for j in qs["m3"].judgments] == ["3", "2"]  # markdown ** stripped before matching
    assert qs["m3"].collections == ("G7",)


def test_convert_rejects_a_quote_found_nowhere(mini_settings, tmp_path: Path) -> None:
    bad = [{**RAW[0], "judgments": [{"doc_id": "syn-compact", "quote": "a panel on quantum cats", "grade": 2}]}]
    with pytest.raises(EvalError, match=r"m1: quote not found in syn-compact \(closest ¶"):
        ev.convert(_write_raw(tmp_path / "raw.jsonl", bad), tmp_path / "out.jsonl", mini_settings)
    assert not (tmp_path / "out.jsonl").exists()


def test_validator_rejects_paragraphs_the_index_lacks(mini_store, mini_questions: Path, tmp_path: Path) -> None:
    qs = ev.load_questions(mini_questions)
    ev.validate(qs, mini_store)
    bad = [*qs, ev.Question("m9", "q", "factual", (), (ev.Judgment("syn-g7", "7", 2), ev.Judgment("nodoc", "1", 1)))]
    with pytest.raises(EvalError, match=r"2 judgment\(s\) .* \(m9: syn-g7 ¶7; m9: nodoc ¶1\).*eval convert"):
        ev.validate(bad, mini_store)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "trivia"}, "unknown type 'trivia'"),
        ({"qid": "m2"}, "duplicate qid 'm2'"),
        ({"judgments": [{"doc_id": "syn-g7", "para": "1", "grade": 3}]}, "grade 3"),
    ],
)
def test_validator_rejects_bad_questions(mini_questions: Path, tmp_path: Path, change: dict, message: str) -> None:
    rows = [json.loads(x) for x in mini_questions.read_text().splitlines()]
    rows[0].update(change)
    with pytest.raises(EvalError, match=message):
        ev.load_questions(_write_raw(tmp_path / "bad.jsonl", rows))


def test_relevance_of_a_passage_is_the_max_grade_of_its_paragraphs(mini_store, mini_questions: Path) -> None:
    qrels = ev.build_qrels(ev.load_questions(mini_questions), mini_store)
    assert qrels["m1"] == {"syn-compact#4": 2}
    assert qrels["m2"] == {"syn-compact#2(a)": 2, "syn-compact#2": 1}


def test_eval_writes_report_files(mini_store, mini_settings, mini_questions: Path, tmp_path: Path) -> None:
    from govassist.eval_report import write_report

    r = ev.run_eval(mini_settings, mini_questions, ["bm25", "default"], k=5, gates=ev.parse_gates(["ndcg@10=0.1"]))
    assert r.gate_failures == ()
    assert r.answers is not None and r.answers.questions == 3
    folder = write_report(r, tmp_path / "reports")
    names = {"report.md", "results.json", "per_question.csv", "per_question.md"}
    assert names | {"metrics_by_config.png", "ndcg_by_type.png"} <= {p.name for p in folder.iterdir()}
    assert (folder / "metrics_by_config.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((folder / "results.json").read_text())
    assert set(data["scores"]) == {"bm25", "default"}
    assert set(data["scores"]["default"]["per_query"]["ndcg@10"]) == {"m1", "m2", "m3"}
    assert len((folder / "per_question.csv").read_text().splitlines()) == 1 + 3 * 2
    md = (folder / "report.md").read_text()
    assert "## Headline" in md and "| default |" in md and "Weakest question types" in md
    assert "| bm25 |" in (tmp_path / "reports" / "latest.md").read_text()

    again = ev.run_eval(mini_settings, mini_questions, ["default"], k=5, baseline_file=folder / "results.json")
    assert again.baseline["default"]["default"]["comparisons"]["baseline:default"]["ndcg@10"] == 1.0


def _cli(monkeypatch: pytest.MonkeyPatch, settings, *args: str) -> int:
    from govassist import cli

    for key in ("corpus_dir", "catalog_file", "index_dir", "embed_model", "min_relevance"):
        monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(getattr(settings, key)))
    monkeypatch.setattr(sys, "argv", ["govassist", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code


def test_cli_gate_exit_codes(mini_store, mini_settings, mini_questions: Path, tmp_path: Path, monkeypatch) -> None:
    common = ["eval", "--questions", str(mini_questions), "--out", str(tmp_path / "r"), "--k", "5", "--no-answers"]
    assert _cli(monkeypatch, mini_settings, *common, "--config", "default", "--fail-under", "ndcg@10=0.05") == 0
    assert _cli(monkeypatch, mini_settings, *common, "--config", "default", "--fail-under", "ndcg@10=1.01") == 1
    assert _cli(monkeypatch, mini_settings, *common, "--config", "bm25", "--fail-under", "ndcg@10=0.1") == 1


@pytest.mark.integration
def test_real_question_set_validates_and_default_scores_above_floor(real_store, real_settings) -> None:
    qs = ev.load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(qs) >= 120 and {q.type for q in qs} == set(ev.TYPES)
    ev.validate(qs, real_store)
    qrels = ev.build_qrels(qs, real_store)
    run = ev.run_config(real_store, real_settings, qs, ev.EvalConfig("default", "default"), 20, qrels)
    sc = ev.score(qs, qrels, run)
    assert sc.mean["ndcg@10"] > 0.72, sc.mean  # regression gate: measured 0.767 (eval/reports/latest.md)
    assert sc.mean["recall@20"] > 0.88, sc.mean  # measured 0.923
