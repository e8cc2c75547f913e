"""The evaluation suite: hand-computed metric values, the converter and validator, gates, report files, and the
real question set on the real corpus."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from govassist import evaluate as ev
from govassist import question as qn
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


def test_metrics_that_disagree_with_the_ranking_stop_the_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    # once, under load, ranx gave most questions another question's scores; a wrong table must not be written
    import ranx

    real = ranx.evaluate

    def scrambled(qrels, run, metrics, **kwargs):
        real(qrels, run, metrics, **kwargs)
        ids = list(run.scores["mrr@10"])
        run.scores["mrr@10"] = dict(zip(ids, [run.scores["mrr@10"][q] for q in ids[1:] + ids[:1]]))

    monkeypatch.setattr(ranx, "evaluate", scrambled)
    with pytest.raises(RuntimeError, match="disagrees with the ranked passages for 3 questions"):
        ev.per_query(QRELS, _run(RANKING))


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
    from govassist.eval_report import _baseline, write_report

    gates = ev.parse_gates(["ndcg@10=0.1"])
    r = ev.run_eval(mini_settings, mini_questions, ["bm25", "default"], k=5, gates=gates, splits=["legacy"])
    assert r.gate_failures == ()
    assert r.answers is not None and len(r.answers) == 3
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

    again = ev.run_eval(
        mini_settings, mini_questions, ["default"], k=5, baseline_file=folder / "results.json", splits=["all"]
    )
    assert again.baseline["default"]["default"]["comparisons"]["baseline:default"]["ndcg@10"] == 1.0

    # a baseline that lacks some of this run's questions (another split, newer questions) is compared on the
    # questions both answered: the missing ones are counted and left out, not scored 0 for the baseline
    data["runs"] = {name: {q: run[q] for q in run if q == "m1"} for name, run in data["runs"].items()}
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(data))
    vs = ev.run_eval(mini_settings, mini_questions, ["default"], k=5, baseline_file=partial, splits=["legacy"])
    rep = vs.baseline["default"]
    assert (rep["shared_questions"], rep["left_out"]) == (1, 2)
    assert rep["baseline:default"]["comparisons"]["default"]["ndcg@10"] == 1.0  # the same run: no difference
    assert "2 of this run's questions are not in the baseline" in _baseline(vs)
    data["runs"] = {name: {} for name in data["runs"]}
    partial.write_text(json.dumps(data))
    none = ev.run_eval(mini_settings, mini_questions, ["default"], k=5, baseline_file=partial, splits=["legacy"])
    assert "shares no question with this run" in _baseline(none)
    with pytest.raises(EvalError, match="no such baseline file"):  # said before the runs, not after them
        ev.run_eval(mini_settings, mini_questions, ["default"], k=5, baseline_file=tmp_path / "nope.json")


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
    common += ["--split", "legacy"]
    assert _cli(monkeypatch, mini_settings, *common, "--config", "default", "--fail-under", "ndcg@10=0.05") == 0
    assert _cli(monkeypatch, mini_settings, *common, "--config", "default", "--fail-under", "ndcg@10=1.01") == 1
    assert _cli(monkeypatch, mini_settings, *common, "--config", "bm25", "--fail-under", "ndcg@10=0.1") == 1


# ---- overlap, splits, gate message, answer-level metrics, conversations -----------------------------------


def test_content_words_and_overlap_follow_the_stated_definition() -> None:
    # "g7", "ai", "6g" and "2023" are no alphabetic 3+ letter tokens; "what", "the", "on", "and", "in" are stop words
    assert ev.content_words("What did the G7 say on AI, quantum and 6G in 2023?") == {"did", "say", "quantum"}
    # query content words {did, leaders, launch, quantum, network}; overlap is against the union of the passages
    passages = ["A quantum research network.", "Leaders met."]
    assert ev.overlap("Did leaders launch a quantum network?", passages[:1]) == pytest.approx(2 / 5)
    assert ev.overlap("Did leaders launch a quantum network?", passages) == pytest.approx(3 / 5)
    assert ev.overlap("and in 2024?", passages) == 0.0  # no content word at all


def _q(qid: str, type_: str, split: str = "test", **kw) -> ev.Question:
    js = () if type_ == "unanswerable" else (ev.Judgment("syn-g7", "2", 2),)
    return ev.Question(qid, f"query {qid}", type_, (), js, split, **kw)


def test_splits_are_stratified_by_type_deterministic_and_selectable() -> None:
    new = [_q(f"f{i}", "factual", "new") for i in range(6)] + [_q(f"u{i}", "unanswerable", "new") for i in range(4)]
    splits = ev.assign_splits([*new, _q("old", "factual", "legacy")])
    assert "old" not in splits
    assert splits == ev.assign_splits(list(reversed(new)))  # the order of the file does not matter
    for prefix, n in (("f", 6), ("u", 4)):
        assert sorted(v for k, v in splits.items() if k.startswith(prefix)) == ["dev"] * (n // 2) + ["test"] * (n // 2)
    qs = [_q("a", "factual", "dev"), _q("b", "factual", "test"), _q("c", "factual", "legacy")]
    assert [q.qid for q in ev.select_split(qs, ["test"])] == ["b"]
    assert [q.qid for q in ev.select_split(qs, ["all"])] == ["a", "b", "c"]
    with pytest.raises(EvalError, match="unknown split"):
        ev.select_split(qs, ["train"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"split": "train"}, "split 'train'"),
        ({"judgments": []}, "no judgments"),
        ({"type": "unanswerable"}, "unanswerable question has judgments"),
        ({"follow_up": True}, "follow_up given without history"),
    ],
)
def test_new_fields_are_checked(mini_questions: Path, tmp_path: Path, change: dict, message: str) -> None:
    rows = [json.loads(x) for x in mini_questions.read_text().splitlines()]
    rows[0].update(change)
    with pytest.raises(EvalError, match=message):
        ev.load_questions(_write_raw(tmp_path / "bad.jsonl", rows))


CONVERSATION = [
    {"qid": "u1", "query": "What fines does the AI Act impose?", "type": "unanswerable", "judgments": []},
    {
        "qid": "t1",
        "query": "and on semiconductors?",
        "type": "follow-up",
        "history": ["What will the ministers do on quantum computing research?"],
        "follow_up": True,
        "judgments": [{"doc_id": "syn-g7", "para": "2", "grade": 2}],
    },
    {
        "qid": "p1",
        "query": "Which panel on artificial intelligence will they establish?",
        "type": "standalone-pronoun",
        "history": ["What do the ministers say about submarine cables?"],
        "follow_up": False,
        "judgments": [{"doc_id": "syn-compact", "para": "4", "grade": 2}],
    },
    {
        "qid": "f1",
        "query": "Which panel on artificial intelligence will be established?",
        "type": "factual",
        "split": "legacy",
        "judgments": [{"doc_id": "syn-compact", "para": "4", "grade": 2}],
    },
    {
        "qid": "x1",
        "query": "Is there a scientific panel?",
        "type": "paraphrase",
        "judgments": [{"doc_id": "syn-later", "para": "1", "grade": 2}],
    },
]


@pytest.fixture
def conversation_file(mini_store, tmp_path: Path) -> Path:
    path = _write_raw(tmp_path / "questions.jsonl", CONVERSATION)
    ev.prepare(path, mini_store)
    return path


def test_prepare_stores_splits_and_overlap(conversation_file: Path) -> None:
    qs = {q.qid: q for q in ev.load_questions(conversation_file)}
    assert qs["f1"].split == "legacy" and {qs[q].split for q in ("u1", "t1", "p1", "x1")} <= {"dev", "test"}
    # "panel artificial intelligence established" against ¶4: all but "established" ("establish" in the text)
    assert qs["f1"].overlap == pytest.approx(0.75)
    assert qs["u1"].overlap is None and qs["x1"].overlap is None  # no grade-2 gold / gold not indexed


def test_validate_warns_about_catalogued_documents_not_indexed_and_high_overlap(
    mini_store, conversation_file: Path
) -> None:
    qs = ev.load_questions(conversation_file)
    with pytest.raises(EvalError, match="x1: syn-later"):
        ev.validate(qs, mini_store)  # not in the catalog either: an error, as before
    warnings = ev.validate(qs, mini_store, ["syn-compact", "syn-g7", "syn-later"])
    assert warnings[0].startswith("1 judgment(s) on catalogued documents not in the index, not checked: syn-later")
    assert not any("f1:" in w for w in warnings)  # legacy questions are not warned about
    assert any(w.startswith("p1: overlap 1.00 > 0.35") for w in warnings)  # panel artificial intelligence establish


def test_gate_message_in_both_states() -> None:
    qs = _questions()
    sc = ev.score(qs, QRELS, _config_run("default", RANKING))
    r = ev.EvalResult("t", 10, {}, tuple(qs), QRELS, {}, {"default": sc}, {}, splits=("test",))
    assert ev.gate_state(r) == "no gate set"
    gated = ev.EvalResult(
        "t", 10, {}, tuple(qs), QRELS, {}, {"default": sc}, {}, splits=("test",), gates={"mrr@10": 0.5, "hit@1": 0.5}
    )
    assert ev.gate_state(gated) == "gate mrr@10 ≥ 0.5 on test: passed, 0.548; gate hit@1 ≥ 0.5 on test: FAILED, 0.333"


def _row(qid: str, type_: str, grades: tuple[int, ...], golds: int = 1, cited: int = 0, **kw) -> ev.AnswerRow:
    base = dict(answerable=golds > 0, follow_up=None, abstained=not grades, support=None, read_as_follow_up=None)
    base.update(kw)
    return ev.AnswerRow(
        qid, type_, "test", grades=grades, golds_cited=cited, golds=golds, first_quote="", query_read="", **base
    )


def test_answer_level_metrics_on_known_rows() -> None:
    rows = [
        _row("a", "factual", (2, 0), golds=2, cited=1),  # first citation grade 2; precision 1/2; recall 1/2
        _row("b", "factual", (1, 2, 2), golds=2, cited=2),  # first citation grade 1; precision 1; recall 1
        _row("c", "factual", ()),  # abstained on an answerable question
        _row("d", "unanswerable", (0,), golds=0),  # answered an unanswerable one
        _row("e", "unanswerable", (), golds=0),  # abstained correctly
        _row("f", "follow-up", (2,), cited=1, follow_up=True, read_as_follow_up=True),
        _row("g", "standalone-pronoun", (0,), follow_up=False, read_as_follow_up=True),
        _row("h", "standalone-pronoun", (2,), cited=1, follow_up=False, read_as_follow_up=False),
    ]
    m = ev.answer_metrics(rows)
    assert m["first-citation accuracy"] == pytest.approx((2 / 5, 5))  # a, h of a b c g h
    assert m["citation precision"] == pytest.approx(((0.5 + 1 + 1 + 0 + 1) / 5, 5))
    assert m["citation recall"] == pytest.approx(((0.5 + 1 + 0 + 1 + 0 + 1) / 6, 6))
    assert m["unanswerable answered"] == pytest.approx((0.5, 2))
    assert m["wrong abstention"] == pytest.approx((1 / 6, 6))
    assert m["second-turn first-citation accuracy"] == pytest.approx((1.0, 1))
    assert m["pronoun misread as follow-up"] == pytest.approx((0.5, 2))


def test_abstention_uses_the_support_flag_when_the_answer_has_one() -> None:
    from types import SimpleNamespace

    assert ev.abstained(SimpleNamespace(citations=())) == (True, None)
    assert ev.abstained(SimpleNamespace(citations=("c",))) == (False, None)
    assert ev.abstained(SimpleNamespace(citations=("c",), support="none")) == (True, "none")
    assert ev.abstained(SimpleNamespace(citations=(), support="closest")) == (False, "closest")


def test_conversations_go_through_the_chat_follow_up_path(mini_store, mini_settings, conversation_file: Path) -> None:
    from govassist import chat

    qs = [q for q in ev.load_questions(conversation_file) if q.qid != "x1"]
    qrels = ev.build_qrels(qs, mini_store)
    rows = {r.qid: r for r in ev.check_answers(mini_store, mini_settings, qs, qrels)}
    two = rows["t1"]
    assert two.read_as_follow_up is True and "quantum" in two.query_read  # the history's topic carried over
    aliases = qn.aliases_for(chat.visible_docs(mini_store, ()))
    prev = qn.understand(CONVERSATION[1]["history"][0], None, aliases)
    assert two.query_read == qn.understand("and on semiconductors?", prev, aliases).query
    assert rows["p1"].read_as_follow_up is False  # "they" after an unrelated question, with its own topic
    assert rows["u1"].answerable is False and rows["u1"].read_as_follow_up is None
    assert rows["f1"].query_read == CONVERSATION[3]["query"]
    m = ev.answer_metrics(rows.values())
    assert m["pronoun misread as follow-up"] == (0.0, 1)
    assert m["unanswerable answered"] == (float(not rows["u1"].abstained), 1)
    # retrieval of a follow-up searches the chat's reading of it
    assert ev.conversation_query(mini_store, next(q for q in qs if q.qid == "t1")) == two.query_read


def test_eval_on_a_split_reports_definitions_gate_and_answers(
    mini_store, mini_settings, conversation_file: Path, tmp_path: Path, monkeypatch
) -> None:
    from govassist.eval_report import write_report

    rows = [json.loads(x) for x in conversation_file.read_text().splitlines() if '"x1"' not in x]
    for r in rows:
        r["split"] = "legacy" if r["qid"] == "f1" else "test"
    path = _write_raw(tmp_path / "q.jsonl", rows)
    r = ev.run_eval(mini_settings, path, ["default"], k=5, gates=ev.parse_gates(["mrr@10=0.0"]))
    assert r.splits == ("test",) and {q.qid for q in r.questions} == {"t1", "p1"}
    assert [q.qid for q in r.unscored] == ["u1"] and {a.qid for a in r.answers} == {"u1", "t1", "p1"}
    folder = write_report(r, tmp_path / "reports")
    md = (folder / "report.md").read_text()
    assert md.startswith("# Evaluation on the test split")
    assert "- **first-citation accuracy**:" in md and "- **overlap**:" in md
    assert "gate mrr@10 ≥ 0 on test: passed" in md
    assert "| overlap bucket |" in md and "answer's first quote" in md
    assert (folder / "answer_metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((folder / "results.json").read_text())["answer_metrics"]["pronoun misread as follow-up"]["n"] == 1


@pytest.mark.integration
def test_real_question_set_validates_and_default_scores_above_floor_on_test(real_store, real_settings) -> None:
    from govassist import catalog

    ids = {d.id for d in catalog.load_catalog(real_settings.catalog_file)}
    every = ev.load_questions(ROOT / "eval" / "questions.jsonl")
    assert len(every) >= 260 and {q.type for q in every} == set(ev.TYPES)
    # questions on texts the catalog does not list yet are left out (none once the issuers' PDFs are catalogued)
    qs = [q for q in every if all(j.doc_id in ids for j in q.judgments)]
    ev.validate(qs, real_store, ids)
    test = ev.select_split(qs, ["test"])
    assert len([q for q in every if q.split == "test"]) >= 60
    qrels = ev.build_qrels(test, real_store)
    scored = [q for q in test if qrels[q.qid]]
    run = ev.run_config(real_store, real_settings, scored, ev.EvalConfig("default", "default"), 20, qrels)
    sc = ev.score(scored, {q.qid: qrels[q.qid] for q in scored}, run)
    # regression gate on the test split: measured mrr@10 0.664 and hit@5 0.812 over 48 questions (all-mpnet-base-v2,
    # forum header, sentence max-sim, convex fusion, questions read as ask reads them, long sentences cut at clause
    # ends; 2026-12-03); the floors leave one to two questions' slack
    assert sc.mean["mrr@10"] > 0.62, sc.mean
    assert sc.mean["hit@5"] > 0.75, sc.mean
    # the answers: measured first-citation accuracy 0.475 (40 questions), unanswerable flagged 10 of 13, answerable
    # flagged 0.104 (48)
    rows = ev.check_answers(real_store, real_settings, test, ev.build_qrels(test, real_store))
    m = ev.answer_metrics(rows)
    assert m["first-citation accuracy"][0] > 0.42, m
    assert m["unanswerable flagged"][0] >= 0.69, m
    assert m["answerable flagged"][0] <= 0.15, m
    # and the legacy split: measured mrr@10 0.862 over 140 questions (the floor: 0.721)
    legacy = ev.select_split(qs, ["legacy"])
    lrels = ev.build_qrels(legacy, real_store)
    scored = [q for q in legacy if lrels[q.qid]]
    run = ev.run_config(real_store, real_settings, scored, ev.EvalConfig("default", "default"), 20, lrels)
    assert ev.score(scored, {q.qid: lrels[q.qid] for q in scored}, run).mean["mrr@10"] > 0.82


def test_judgments_added_by_a_later_assessment_are_kept_counted_and_can_be_left_out(
    mini_store, mini_settings, conversation_file: Path, tmp_path: Path
) -> None:
    from govassist.eval_report import write_report

    rows = [json.loads(x) for x in conversation_file.read_text().splitlines() if '"x1"' not in x]
    for r in rows:
        if r["qid"] == "f1":  # a pooled assessment adds ¶2 as a second answer, and a related ¶1
            r["judgments"] += [
                {"doc_id": "syn-g7", "para": "2", "grade": 2, "by": "pool-x"},
                {"doc_id": "syn-g7", "para": "1", "grade": 1, "by": "pool-x"},
            ]
    path = _write_raw(tmp_path / "q.jsonl", rows)
    ev.prepare(path, mini_store)  # the file is rewritten: the provenance survives, and the overlap ignores it
    f1 = {q.qid: q for q in ev.load_questions(path)}["f1"]
    assert [j.by for j in f1.judgments] == ["", "pool-x", "pool-x"]
    assert f1.overlap == pytest.approx(0.75)
    written = json.loads(next(x for x in path.read_text().splitlines() if '"f1"' in x))
    assert "by" not in written["judgments"][0] and written["judgments"][1]["by"] == "pool-x"

    everything = ev.run_eval(mini_settings, path, ["default"], k=5, answers=False, splits=["legacy"])
    original = ev.run_eval(
        mini_settings, path, ["default"], k=5, answers=False, splits=["legacy"], original_judgments=True
    )
    assert set(everything.qrels["f1"]) == {"syn-compact#4", "syn-g7#2", "syn-g7#1"}
    assert set(original.qrels["f1"]) == {"syn-compact#4"}
    assert "judgments: with those added later (2 by pool-x; --original-judgments leaves them out)" in everything.notes
    assert "judgments: original only (2 by pool-x left out)" in original.notes
    assert "k = 5: ndcg@10, recall@10, recall@20, mrr@10 see only the first 5 hits" in original.notes[-1]
    write_report(original, tmp_path / "reports")
    assert "Judgments: original only (2 by pool-x left out)." in (tmp_path / "reports" / "latest.md").read_text()


def test_a_citation_of_one_paragraph_of_a_run_is_graded_by_that_paragraph() -> None:
    from types import SimpleNamespace

    q = ev.Question("r", "who joined?", "detail", (), (ev.Judgment("d", "[12]", 2),))
    rel = {"d#[12]–[13]": 2}  # build_qrels: a passage takes the best grade of its paragraphs
    passages = {"d#[12]–[13]": "d#[12]–[13]"}

    def row(*paras: str) -> ev.AnswerRow:
        cites = [SimpleNamespace(doc_id="d", para=p, chunk_id="d#[12]–[13]") for p in paras]
        return ev.answer_row(q, SimpleNamespace(citations=cites, support="direct", sentences=()), rel, None, passages)

    assert (row("[12]").grades, row("[12]").golds_cited) == ((2,), 1)
    assert (row("[13]").grades, row("[13]").golds_cited) == ((0,), 0)  # the run's other paragraph answers nothing
    assert (row("[13]", "[12]").grades, row("[13]", "[12]").golds_cited) == ((0, 2), 1)
    assert row("[12]–[13]").grades == (2,)  # the run cited whole (the LLM path) keeps the passage's grade
