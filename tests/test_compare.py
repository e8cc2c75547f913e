"""Draft comparison: drafts derived here from the real Hiroshima communiqué (so the right alignment is known),
the real spyware joint statement revision 2023 → 2024, JSON shapes, markdown safety, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import MIRROR

from govassist.chunk import parse_units
from govassist.compare import (
    Comparison,
    Para,
    align,
    compare_docs,
    compare_family,
    comparison_markdown,
    escape_md,
    follow,
    history_markdown,
    run_compare,
    word_diff,
)
from govassist.errors import QueryError
from govassist.load import Limits, load_file
from govassist.settings import Settings
from govassist.text import sentences

HIROSHIMA = MIRROR / "g7-hiroshima-leaders-communique-2023.txt"
ADDED = (
    "We launch a G7 working group on the resilience of undersea data cables, to report to Leaders by the end of "
    "next year on shared standards for their protection and timely repair."
)
SENT_39 = (
    "We reiterate the importance of facilitating Data Free Flow with Trust (DFFT) to enable trustworthy cross-border "
    "data flows and invigorate the digital economy as a whole, while preserving governments’ ability to address "
    "legitimate public interest."
)
EDITED_39 = (  # a word swapped (facilitating -> operationalizing) and a clause dropped (while preserving ...)
    "We reiterate the importance of operationalizing Data Free Flow with Trust (DFFT) to enable trustworthy "
    "cross-border data flows and invigorate the digital economy as a whole."
)


def _hiroshima() -> dict[str, str]:
    """Hiroshima ¶36-¶47 (real text), without their numbers."""
    units = parse_units(load_file(HIROSHIMA, Limits()))
    return {u.para: re.sub(r"^\d+\.\s*", "", u.text) for u in units if u.para in {str(n) for n in range(36, 48)}}


def _write(path: Path, paras: list[str]) -> None:
    path.write_text("\n\n".join(f"{i}. {t}" for i, t in enumerate(paras, start=1)) + "\n", encoding="utf-8")


def _drafts() -> tuple[list[str], list[str], list[str]]:
    """v1 = Hiroshima ¶36-47 numbered 1-12; v2 and v3 derived from it by hand-made changes."""
    h = _hiroshima()
    a, b, c, d, e, f, g, hh, i, j, k, el = (h[str(n)] for n in range(36, 48))
    assert SENT_39 in d
    f_sents = sentences(f)
    f1, f2 = " ".join(f_sents[:2]), " ".join(f_sents[2:])
    v1 = [a, b, c, d, e, f, g, hh, i, j, k, el]
    # v2: J moved up to 2; C deleted; D edited; a paragraph added; F split in two; H and I merged; all renumbered
    v2 = [a, j, b, d.replace(SENT_39, EDITED_39), ADDED, e, f1, f2, g, f"{hh} {i}", k, el]
    # v3: the merged paragraph edited once more; the last paragraph deleted
    v3 = [*v2[:9], v2[9].replace("We express our strong concern", "We express our deep concern"), v2[10]]
    return v1, v2, v3


@pytest.fixture
def drafts_settings(mini_settings: Settings, tmp_path: Path) -> Settings:
    """Three derived drafts of one family, indexed with the hashing embedder."""
    from govassist.store import build

    corpus = tmp_path / "drafts"
    corpus.mkdir()
    entries = []
    for n, paras in enumerate(_drafts(), start=1):
        _write(corpus / f"draft-v{n}.txt", paras)
        entries.append(
            f'[[doc]]\nid = "draft-v{n}"\ntitle = "Derived draft {n}"\nlabel = "Draft {n}"\n'
            f'date = "2024-0{n}-01"\nstatus = "draft"\nfamily = "derived"\norder = {n}\nfile = "draft-v{n}.txt"\n'
        )
    entries.append('[[doc]]\nid = "other"\ntitle = "Other"\nlabel = "Other"\ndate = "2020-01-01"\nfile = "other.txt"\n')
    (corpus / "other.txt").write_text("A different text about quantum computing.\n", encoding="utf-8")
    (corpus / "catalog.toml").write_text("\n".join(entries), encoding="utf-8")
    s = mini_settings.model_copy(
        update={"corpus_dir": corpus, "catalog_file": corpus / "catalog.toml", "index_dir": tmp_path / "drafts-idx"}
    )
    build(s, progress=False)
    return s


@pytest.fixture
def drafts_store(drafts_settings: Settings):
    from govassist.store import open_store

    return open_store(drafts_settings)


def _doc_meta(doc_id: str, label: str, date: str):
    from govassist.catalog import DocMeta

    return DocMeta(doc_id, label, label, f"{doc_id}.txt", date=date)


def _by_kind(r: Comparison) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    out: dict[str, list] = {}
    for c in r.changes:
        out.setdefault(c.kind, []).append((c.old, c.new))
    return out


def test_every_derived_change_is_found_and_classified(drafts_store, drafts_settings) -> None:
    r = compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings)
    assert _by_kind(r) == {
        "unchanged": [
            (("1",), ("1",)),
            (("2",), ("3",)),
            (("5",), ("6",)),
            (("7",), ("9",)),
            (("11",), ("11",)),
            (("12",), ("12",)),
        ],
        "moved": [(("10",), ("2",))],
        "deleted": [(("3",), ())],
        "edited": [(("4",), ("4",))],
        "added": [((), ("5",))],
        "split": [(("6",), ("7", "8"))],
        "merged": [(("8", "9"), ("10",))],
    }
    assert r.counts == {
        "unchanged": 6, "edited": 1, "moved": 1, "split": 1, "merged": 1, "reworded": 0, "added": 1, "deleted": 1,
    }  # fmt: skip
    assert r.summary == {"unchanged": 9, "reworded": 1, "added": 1, "dropped": 1}  # split, merged, moved as worded
    assert (r.old_paragraphs, r.new_paragraphs, r.warnings) == (12, 12, ())
    by_old = {c.old: c for c in r.changes}
    assert by_old[("2",)].renumbered and not by_old[("1",)].renumbered
    assert not by_old[("10",)].edited and not by_old[("6",)].edited and not by_old[("8", "9")].edited
    edited = by_old[("4",)]
    assert [s.text for s in edited.words if s.op == "-"] == [
        "facilitating",
        "while preserving governments’ ability to address legitimate public interest.",
    ]  # punctuation is not compared: "whole," -> "whole." is common text
    assert [s.text for s in edited.words if s.op == "+"] == ["operationalizing"]
    assert 90 < edited.similarity < 100


def test_deleted_paragraph_is_listed_where_it_stood(drafts_store, drafts_settings) -> None:
    r = compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings)
    order = [(c.kind, c.old, c.new) for c in r.changes]
    assert order.index(("deleted", ("3",), ())) == order.index(("unchanged", ("2",), ("3",))) + 1


def test_family_walks_the_chain_and_follows_one_paragraph(drafts_store, drafts_settings) -> None:
    chain = compare_family(drafts_store, "derived", drafts_settings)
    assert [(c.old.id, c.new.id) for c in chain] == [("draft-v1", "draft-v2"), ("draft-v2", "draft-v3")]
    assert _by_kind(chain[1])["edited"] == [(("10",), ("10",))]
    assert _by_kind(chain[1])["deleted"] == [(("12",), ())]
    steps = follow(drafts_store, chain, "8")  # Hiroshima ¶43: merged into v2 ¶10, then edited in v3
    assert [(s.doc.id, s.labels, s.change and s.change.kind) for s in steps] == [
        ("draft-v1", ("8",), None),
        ("draft-v2", ("10",), "merged"),
        ("draft-v3", ("10",), "edited"),
    ]
    back = follow(drafts_store, chain, "5", anchor="draft-v2")  # the added paragraph has no earlier version
    assert [(s.doc.id, s.labels) for s in back] == [("draft-v1", ()), ("draft-v2", ("5",)), ("draft-v3", ("5",))]
    md = history_markdown(steps)
    assert "~~strong~~ **deep**" in md and "Draft 2" in md


def test_json_shapes(drafts_store, drafts_settings) -> None:
    data, md, warnings = run_compare(drafts_store, drafts_settings, "draft-v1", "draft-v2")
    json.dumps(data)
    assert set(data) == {"old", "new", "topic", "paragraphs", "counts", "summary", "warnings", "changes"}
    assert data["old"] == {
        "id": "draft-v1",
        "label": "Draft 1",
        "title": "Derived draft 1",
        "date": "2024-01-01",
        "status": "draft",
        "family": "derived",
    }
    change = next(c for c in data["changes"] if c["kind"] == "edited")
    assert set(change) == {
        "kind", "old", "new", "old_text", "new_text", "similarity", "words", "old_page", "new_page", "edited",
        "renumbered", "meaning",
    }  # fmt: skip
    assert ["-", "facilitating"] in change["words"] and change["old"] == ["4"]
    assert warnings == [] and md.startswith("**Draft 1** (2024-01-01) → **Draft 2**")
    fam, _md, _w = run_compare(drafts_store, drafts_settings, family="derived")
    assert [c["new"]["id"] for c in fam] == ["draft-v2", "draft-v3"]
    hist, _md, _w = run_compare(drafts_store, drafts_settings, family="derived", para="6")
    assert [h["labels"] for h in hist] == [["6"], ["7", "8"], ["7", "8"]]
    assert set(hist[1]) == {"doc", "labels", "text", "change"} and hist[1]["change"]["kind"] == "split"


def test_markdown_has_counts_first_labels_and_marks(drafts_store, drafts_settings) -> None:
    md = comparison_markdown(compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings))
    lines = md.splitlines()
    assert lines[2] == "12 → 12 paragraphs: 6 unchanged, 1 edited, 1 moved, 1 split, 1 merged, 1 added, 1 deleted"
    assert "- **edited (similarity" in md and "¶4 → ¶4" in md and "~~facilitating~~ **operationalizing**" in md
    assert "- **split, wording unchanged** ¶6 → ¶7 + ¶8" in md
    assert "- **merged, wording unchanged** ¶8 + ¶9 → ¶10" in md
    assert "- **moved, wording unchanged** ¶10 → ¶2" in md
    assert "- **added** ¶5: **We launch a G7 working group" in md


def test_markdown_limit_caps_the_list_not_the_counts(drafts_store, drafts_settings) -> None:
    md = comparison_markdown(compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings), limit=2)
    assert "1 split, 1 merged, 1 added, 1 deleted" in md
    assert sum(line.startswith("- **") for line in md.splitlines()) == 2
    assert "- … 4 more changes (use --json for all)" in md
    _data, capped, _w = run_compare(drafts_store, drafts_settings, "draft-v1", "draft-v2", limit=1)
    assert "- … 5 more changes (use --json for all)" in capped


def test_topic_keeps_paragraphs_on_the_topic_side_by_side(drafts_store, drafts_settings) -> None:
    r = compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings, topic="outer space debris")
    assert r.topic == "outer space debris"
    assert ("split", ("6",), ("7", "8")) in [(c.kind, c.old, c.new) for c in r.changes]  # ¶41 is on outer space
    assert len(r.changes) < 12
    md = comparison_markdown(r)
    assert not any(line.lstrip().startswith("|") for line in md.splitlines())  # stacked, never a table
    assert "**Unchanged (split)** · Draft 1 ¶6 → Draft 2 ¶7 + ¶8" in md
    assert re.search(
        r"^1 on the topic \(of 12 → 12 paragraphs\): 1 unchanged, 0 reworded, 0 added, 0 dropped$", md, re.M
    )


def _hash_embed(texts: list[str]):
    from govassist.embed import embed_texts, make_embedder

    return embed_texts(make_embedder("hash:256"), texts)


def test_topic_pairs_dropped_and_added_paragraphs_by_meaning_and_wording() -> None:
    from govassist.compare import by_meaning

    old = [
        Para("1", "The partners will cooperate closely on trustworthy AI risk management and shared AI terminology."),
        Para("2", "We note progress on export controls."),
    ]
    new = [
        Para("1", "We note progress on export controls."),
        Para(
            "2",
            "Building on our joint AI roadmap, we advance trustworthy AI through shared terminology and "
            "evaluation of AI risks.",
        ),
        Para("3", "An AI working group on undersea cables is launched."),
    ]
    changes = align(old, new)
    assert sorted(c.kind for c in changes) == ["added", "added", "deleted", "unchanged"]  # wording alone: unpaired
    assert by_meaning(changes, "AI", _hash_embed) == changes  # the hashing embedder's cosines are low
    paired = by_meaning(changes, "AI", _hash_embed, floor=0.5)
    kinds = {c.kind: (c.old, c.new) for c in paired}
    assert kinds["reworded"] == (("1",), ("2",)) and kinds["added"] == ((), ("3",)) and "deleted" not in kinds
    rew = next(c for c in paired if c.kind == "reworded")
    assert rew.meaning is not None and rew.meaning > 0 and rew.edited and rew.similarity >= 50
    assert ("+", "roadmap,") in [(s.op, s.text) for s in rew.words] or any("roadmap" in s.text for s in rew.words)


def test_meaning_pairs_what_wording_alone_would_not() -> None:
    """Two texts with almost no words in common but the same meaning (a stub embedder says so) are paired;
    the same texts with orthogonal meanings are not."""
    import numpy as np

    from govassist.compare import by_meaning

    changes = align([Para("1", "Governments shall refrain from internet shutdowns.")],
                    [Para("1", "States must not cut off connectivity.")])  # fmt: skip
    assert sorted(c.kind for c in changes) == ["added", "deleted"]
    same = by_meaning(changes, "shutdowns", lambda texts: np.ones((len(texts), 1), dtype=np.float32))
    assert [c.kind for c in same] == ["reworded"] and same[0].meaning == 1.0
    apart = by_meaning(changes, "shutdowns", lambda texts: np.eye(len(texts), dtype=np.float32))
    assert sorted(c.kind for c in apart) == ["added", "deleted"]


def test_topic_markdown_stacks_pairs_with_a_plain_summary() -> None:
    import numpy as np

    from govassist.compare import by_meaning

    old = [Para("4", "Governments shall refrain from internet shutdowns on AI grounds."), Para("5", "AI is old.")]
    new = [
        Para("4", "States must not cut off connectivity because of AI."),
        Para("6", "AI is new and " + "long " * 300),
    ]
    changes = by_meaning(align(old, new), "AI", lambda texts: np.ones((len(texts), 1), dtype=np.float32))
    a = _doc_meta("v1", "Draft one", "2024-01-01")
    b = _doc_meta("v2", "Draft two", "2024-02-01")
    r = Comparison(a, b, tuple(changes), 2, 2, "AI")
    md = comparison_markdown(r)
    lines = md.splitlines()
    assert lines[2] == "2 on the topic (of 2 → 2 paragraphs): 0 unchanged, 2 reworded, 0 added, 0 dropped"
    assert any(line.startswith("**Reworded, similar in meaning 1.00** · Draft one ¶") for line in lines)
    assert any(line.startswith("> ") and "~~" in line and "**" in line for line in lines)
    assert not any(line.startswith("|") for line in lines)
    assert max(len(line) for line in lines) < 2000  # long unchanged runs are elided, never one huge cell


def test_word_diff_ignores_case_quotes_and_bullets() -> None:
    assert word_diff("We “welcome” the Pact.", 'we "welcome" the pact.') == (
        word_diff("x", "x")[0].__class__("=", 'we "welcome" the pact.'),
    )
    ops = [(s.op, s.text) for s in word_diff("a b c d", "a x c d e")]
    assert ops == [("=", "a"), ("-", "b"), ("+", "x"), ("=", "c d"), ("+", "e")]


def test_align_on_units_without_a_store() -> None:
    old = [Para("1", "Alpha beta gamma delta epsilon zeta eta."), Para("2", "One two three four five six seven.")]
    new = [Para("1", "One two three four five six seven."), Para("2", "Alpha beta gamma delta epsilon zeta eta.")]
    changes = align(old, new)  # a swap of two: either one may be called the moved one
    assert sorted(c.kind for c in changes) == ["moved", "unchanged"]
    assert {(c.old, c.new) for c in changes} == {(("1",), ("2",)), (("2",), ("1",))}
    assert [c.kind for c in align([], new)] == ["added", "added"]


def test_same_number_pairs_a_principle_with_the_action_that_elaborates_it() -> None:
    principle = "Take appropriate measures to identify, evaluate, and mitigate risks across the AI lifecycle."
    action = (
        "Take appropriate measures to identify, evaluate, and mitigate risks across the AI lifecycle. This includes "
        "employing diverse internal and independent external testing measures, such as red-teaming, and "
        "documenting them in regularly updated technical documentation kept for the life of the system."
    )
    other = "Publicly report advanced AI systems' capabilities and limitations."
    old = [Para("1", principle), Para("2", other)]
    new = [Para("1", action), Para("2", other)]
    changes = align(old, new)
    assert [(c.kind, c.old, c.new) for c in changes] == [("edited", ("1",), ("1",)), ("unchanged", ("2",), ("2",))]
    added = " ".join(s.text for s in changes[0].words if s.op == "+")
    assert added.startswith("This includes employing diverse") and not [s for s in changes[0].words if s.op == "-"]
    unrelated = [Para("1", "Members shall convene a ministerial meeting every two years in a rotating capital.")]
    assert sorted(c.kind for c in align(unrelated, new[:1])) == ["added", "deleted"]


def test_markup_in_documents_cannot_inject() -> None:
    nasty = "<script>alert(1)</script> **bold** [link](http://x) ~~s~~ | pipe\n# heading\n- item"
    out = escape_md(nasty)
    assert "<" not in out and ">" not in out
    assert "**" not in out.replace("\\*\\*", "") and "](" not in out and "~~" not in out.replace("\\~\\~", "")
    assert "\\|" in out and "\n\\# heading" in out and "\n\\- item" in out
    old = [Para("1", "Harmless words before the change here and there.")]
    new = [Para("1", "Harmless words before the <img src=x onerror=alert(1)> change here and there.")]
    md = comparison_markdown(Comparison(_meta("a"), _meta("b"), tuple(align(old, new)), 1, 1))
    assert "<img" not in md and "**&lt;img src=x onerror=alert\\(1\\)&gt;**" in md


def _meta(doc_id: str):
    from govassist.catalog import DocMeta

    return DocMeta(doc_id, doc_id, f"Doc *{doc_id}*", f"{doc_id}.txt", date="2024-01-01")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("draft-v1", "draft-v9"), r"unknown document 'draft-v9' \(did you mean draft-v\d, draft-v\d, draft-v\d\?\)"),
        (("zz-2099", "draft-v2"), "unknown document 'zz-2099': see `govassist corpus list`"),
        (("draft-v1", "draft-v1"), "give two different document ids"),
    ],
)
def test_bad_document_ids_are_clear_errors(drafts_store, drafts_settings, args, message) -> None:
    with pytest.raises(QueryError, match=message):
        compare_docs(drafts_store, *args, drafts_settings)


def test_bad_requests(drafts_store, drafts_settings) -> None:
    with pytest.raises(QueryError, match=r"family 'nope'.*families with versions: derived"):
        compare_family(drafts_store, "nope", drafts_settings)
    with pytest.raises(QueryError, match="not both"):
        run_compare(drafts_store, drafts_settings, "draft-v1", "draft-v2", family="derived")
    with pytest.raises(QueryError, match="give two document ids"):
        run_compare(drafts_store, drafts_settings, "draft-v1")
    with pytest.raises(QueryError, match="no version in this chain has a paragraph labelled '99'"):
        run_compare(drafts_store, drafts_settings, family="derived", para="99")


def test_restricted_documents_look_unknown(drafts_store, drafts_settings) -> None:
    from govassist.retrieve import Filters

    with pytest.raises(QueryError, match="unknown document 'draft-v2'"):
        compare_docs(drafts_store, "draft-v1", "draft-v2", drafts_settings, filters=Filters(doc_ids=("draft-v1",)))


def test_different_families_are_compared_with_a_warning(drafts_store, drafts_settings) -> None:
    r = compare_docs(drafts_store, "draft-v1", "other", drafts_settings)
    assert r.warnings == (
        "draft-v1 and other are not versions of one text (derived and no family): "
        "paragraphs are aligned by wording only",
        "draft-v1 (2024-01-01) is newer than other (2020-01-01): changes read draft-v1 → other",
    )
    assert r.counts["deleted"] == 12 and r.counts["added"] == 1
    assert "> ⚠ draft-v1 and other are not versions of one text" in comparison_markdown(r)


def test_cli_compare_json_and_errors(drafts_settings, monkeypatch, capsys) -> None:
    from govassist.cli import main

    for key, value in drafts_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    monkeypatch.setattr("sys.argv", ["govassist", "compare", "draft-v1", "other", "--json"])
    with pytest.raises(SystemExit) as ok:
        main()
    out = capsys.readouterr()
    assert ok.value.code == 0
    assert json.loads(out.out)["counts"]["added"] == 1
    assert out.err.startswith("warning: draft-v1 and other are not versions of one text")
    monkeypatch.setattr("sys.argv", ["govassist", "compare", "draft-v1", "missing"])
    with pytest.raises(SystemExit) as ex:
        main()
    err = capsys.readouterr().err
    assert ex.value.code == 1 and err.count("\n") == 1 and err.startswith("error: unknown document 'missing'")


# ---------------------------------------------------------------- the real spyware revision


@pytest.mark.integration
def test_spyware_2023_to_2024(real_store, real_settings) -> None:
    """Verified by hand against the two texts (2023 .md, 2024 .pdf):
    - 2024 opens with a NEW paragraph: at the third Summit for Democracy (18 March 2024) Finland, Germany,
      Ireland, Japan, Poland and the Republic of Korea joined; 2023 had no such paragraph -> added ¶[1].
    - the list of governments (2023 ¶[1] -> 2024 ¶[2]) gained exactly those six countries, inserted in two runs
      ("Finland, Germany, Japan," after France; "Poland, Ireland, Republic of Korea," after Norway) -> edited.
    - 2023 ¶[2] (misuse of spyware) and ¶[3] (our national-security interest) are two paragraphs in the 2024
      PDF too: the PDF sets them apart by a wider line space (no blank line in its text) -> unchanged.
    - the commitments list ¶[4] (lead-in + five bullets) and the closing ¶[5] are word for word the same
      -> unchanged (the PDF's page break joins the last two bullets; bullet marks are ignored).
    """
    r = compare_docs(real_store, "spyware-2023", "spyware-2024", real_settings)
    assert _by_kind(r) == {
        "added": [((), ("[1]",))],
        "edited": [(("[1]",), ("[2]",))],
        "unchanged": [(("[2]",), ("[3]",)), (("[3]",), ("[4]",)), (("[4]",), ("[5]",)), (("[5]",), ("[6]",))],
    }
    assert r.warnings == ()
    added = next(c for c in r.changes if c.kind == "added")
    assert added.new_text.startswith("At the third Summit for Democracy on March 18, 2024, Finland, Germany")
    edited = next(c for c in r.changes if c.kind == "edited")
    assert [s.text for s in edited.words if s.op != "="] == [
        "Finland, Germany, Japan,",
        "Poland, Ireland, Republic of Korea,",
    ]
    assert all(s.op == "+" for s in edited.words if s.op != "=")
    md = comparison_markdown(r)
    assert md.splitlines()[2] == "5 → 6 paragraphs: 4 unchanged, 1 edited, 1 added"


@pytest.mark.integration
def test_g7_family_topic_evolution(real_store, real_settings) -> None:
    chain = compare_family(real_store, "g7-leaders-communiques", real_settings, topic="artificial intelligence")
    assert [(c.old.id, c.new.id) for c in chain] == [
        ("g7-carbis-bay-2021", "g7-hiroshima-2023"),
        ("g7-hiroshima-2023", "g7-apulia-2024"),
    ]
    first = chain[0]
    assert ("33",) in [c.old for c in first.changes]  # Carbis Bay ¶33: GPAI and human-centric AI
    assert ("38",) in [c.new for c in first.changes]  # Hiroshima ¶38: the Hiroshima AI process
    md = comparison_markdown(chain)
    assert md.startswith("**History of g7-leaders-communiques**: Carbis Bay Communiqué → Hiroshima Communiqué → ")
    assert "**Carbis Bay Communiqué** (2021-06-13) → **Hiroshima Communiqué** (2023-05-20)" in md
    assert not any(line.startswith("|") for line in md.splitlines())
    assert "Global Partnership for Artificial Intelligence" in md


@pytest.mark.integration
def test_ttc_topic_evolved_language_is_reworded(real_store, real_settings) -> None:
    """TTC Luleå 2023 → Leuven 2024 on AI: by wording alone 10 added and 10 deleted, nothing paired; by meaning
    the AI-roadmap and risk-based-approach paragraphs pair up (checked by hand: ¶[11] → ¶[9], and ¶[14] on the Joint
    Roadmap's expert groups, or ¶[15], the numbered list of those groups that ¶[14] leads in, → ¶[12]; MiniLM pairs
    ¶[14], mpnet the list). Labels of chunker 15, which counts Luleå's paragraphs from the start."""
    r = compare_docs(real_store, "ttc-2023-05", "ttc-2024-04", real_settings, topic="AI")
    pairs = {(c.old, c.new) for c in r.changes if c.kind == "reworded"}
    assert (("[11]",), ("[9]",)) in pairs
    assert {old for old, new in pairs if new == ("[12]",)} & {("[14]",), ("[15]",)}, pairs
    assert r.summary["reworded"] >= 2
    assert not any(line.startswith("|") for line in comparison_markdown(r).splitlines())


def test_a_label_qualified_by_its_heading_is_stripped_and_shown_like_a_plain_one() -> None:
    from govassist.compare import _labels, _strip_number

    assert _strip_number("Statement on AI ¶8", "8. The European Union notes") == "The European Union notes"
    assert _strip_number("8", "8. The European Union notes") == "The European Union notes"
    assert _labels(("Statement on AI ¶8", "9")) == "Statement on AI ¶8 + ¶9"


def test_a_paragraph_asked_by_its_number_or_as_cited_finds_its_qualified_label() -> None:
    from govassist.compare import _label_in

    labels = ["1", "2", "Statement on AI ¶8", "Principles ¶8", "Statement on AI ¶9"]
    assert _label_in("¶2", labels) == "2"
    assert _label_in("Statement on AI ¶8", labels) == "Statement on AI ¶8"
    assert _label_in("9", labels) == "Statement on AI ¶9"  # one heading numbers a 9
    assert _label_in("12", labels) is None
    with pytest.raises(QueryError, match="numbered under several headings: name one of Statement on AI ¶8, Principl"):
        _label_in("8", labels)
