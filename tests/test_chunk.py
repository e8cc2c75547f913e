"""Paragraph parsing on real excerpts of the corpus's numbering styles and on synthetic UN layouts."""

from pathlib import Path

import pytest

from govassist.chunk import chunk_blocks, para_mark, para_words, parse_units, plain_para
from govassist.load import load_file, text_blocks

FIXTURES = Path(__file__).parent / "fixtures" / "mini"

HIROSHIMA_EXCERPT = """**Preamble**

1.  We, the Leaders of the Group of Seven (G7), met in Hiroshima for our
    annual Summit on May 19-21, 2023.

**We are taking concrete steps to:**

-   support Ukraine for as long as it takes in the face of Russia's
    illegal war of aggression;
-   deliver our goal of mobilizing $600 billion in financing

as outlined in the reference documents of this Communique.

2.  We will champion international principles and shared values by:

-   upholding and reinforcing the free and open international order;
-   reinforcing our cooperation to strengthen democracy.

11, We are determined to take on a leading role in reversing the setback.

24.We welcome the adoption of the historic Kunming-Montreal Global
Biodiversity Framework.
"""

ANNEX4_EXCERPT = """G7 Digital and Tech Track Annex 4

1. We resolve to work together to identify priority fora for the joint promotion of the DFI.
2. We are committed to promoting multi-stakeholder engagement in relevant Internet governance bodies.
3. We collaborate in regard to the promotion and development of the open Internet.
"""


def test_hiroshima_style_numbers_bullets_and_typos() -> None:
    units = parse_units(text_blocks(HIROSHIMA_EXCERPT))
    assert [u.para for u in units] == ["1", "[1]", "2", "11", "24"]
    lead_in = units[1]
    assert lead_in.lead == "We are taking concrete steps to:"
    assert len(lead_in.items) == 2
    assert lead_in.items[1].endswith("as outlined in the reference documents of this Communique.")
    assert units[2].items[0].startswith("upholding")
    assert all(u.section == "Preamble" for u in units[:2])


def test_numbered_lines_without_blank_lines() -> None:
    units = parse_units(text_blocks(ANNEX4_EXCERPT))
    assert [u.para for u in units] == ["1", "2", "3"]
    assert units[0].section == "G7 Digital and Tech Track Annex 4"


def test_a_short_numbered_list_inside_an_unnumbered_text_does_not_number_the_text() -> None:
    """TTC Luleå 2023: fourteen unnumbered paragraphs, a list "1. … 2. … 3. …", then sixty more. Its numbers are
    the list's: every paragraph is counted from the start, so ¶[16] is the sixteenth (not "PP14", "1", then "[1]")."""
    before = [f"We note point {n} of our shared agenda in these talks." for n in range(1, 15)]
    listed = ["1. AI terminology and taxonomy,", "2. Cooperation on standards,", "3. Monitoring of risks."]
    after = [f"We will keep working on item {n} of the roadmap together." for n in range(1, 8)]
    units = parse_units(text_blocks("\n\n".join([*before, *listed, *after])))
    assert [u.para for u in units] == [f"[{n}]" for n in range(1, 25)]
    assert units[15].text == "2. Cooperation on standards," and units[17].text.startswith(
        "We will keep working on item 1"
    )
    numbered = parse_units(text_blocks("\n\n".join([*before[:3], *listed, "We close here."])))
    assert [u.para for u in numbered] == ["PP1", "PP2", "PP3", "1", "2", "3", "[1]"]  # a numbered text keeps numbers
    annexed = parse_units(text_blocks("\n\n".join([*before[:2], *listed, "## Annex", *after])))
    assert [u.para for u in annexed][:5] == ["PP1", "PP2", "1", "2", "3"]  # a long annex after its numbers: still


def test_synthetic_un_layout_preamble_operative_and_lettered_subitems() -> None:
    blocks = load_file(FIXTURES / "synthetic-un-compact.txt")
    chunks = chunk_blocks("syn", blocks, max_chars=1200, min_chars=10)
    paras = [c.para for c in chunks]
    assert paras == ["PP1", "PP2", "PP3", "1", "2", "2(a)", "2(b)", "2(c)", "2(d)", "3", "4"]
    sub = next(c for c in chunks if c.para == "2(d)")
    assert sub.text == "(d) Strengthen capacity building for open source software and open data."
    assert sub.context.startswith("2. We will pursue the following actions:")
    assert sub.id == "syn#2(d)"
    assert next(c for c in chunks if c.para == "4").section == "Artificial intelligence"


def test_roman_subitems_nest_under_letters() -> None:
    text = (
        "4. We note progress.\n5. We will:\n(a) build capacity, including:\n(i) training;\n(ii) exchanges;\n"
        "(b) report back.\n6. We conclude.\n"
    )
    paras = [u.para for u in parse_units(text_blocks(text))]
    assert paras == ["4", "5", "5(a)", "5(a)(i)", "5(a)(ii)", "5(b)", "6"]


def test_long_paragraph_split_at_sentences_with_stable_ids() -> None:
    sentence = "We reaffirm our commitment to an open, free, global, interoperable, reliable and secure Internet. "
    blocks = text_blocks(sentence * 30)
    a = chunk_blocks("d", blocks, max_chars=500)
    b = chunk_blocks("d", blocks, max_chars=500)
    assert len(a) > 1 and all(len(c.text) <= 500 for c in a)
    assert [c.id for c in a] == [c.id for c in b] == [f"d#[1]~p{i}" for i in range(1, len(a) + 1)]
    assert all(c.para == "[1]" for c in a)
    assert " ".join(c.text for c in a) == blocks[0].text


def test_short_unnumbered_paragraphs_merge_and_record_each_label() -> None:
    blocks = text_blocks(
        "Washington, D.C.\n\nFor immediate release.\n\n" + "A long enough paragraph of real content. " * 10
    )
    chunks = chunk_blocks("d", blocks, max_chars=1200, min_chars=200)
    assert chunks[0].para == "[1]–[3]"
    assert chunks[0].paras == ("[1]", "[2]", "[3]")


def test_restarted_numbering_gets_distinct_ids() -> None:
    text = "**Section 1**\n\n1. First statement text here.\n\n**Section 2**\n\n1. Second statement text here.\n"
    blocks = text_blocks(text)
    ids = [c.id for c in chunk_blocks("t", blocks, min_chars=5)]
    assert len(ids) == len(set(ids)) == 2


def test_numbering_restarting_under_headings_is_labelled_with_the_heading() -> None:
    # the TTC's 2021 statement: annexed statements each numbered 1, 2, …; "¶1" alone would name several paragraphs
    text = (
        "1. The Council met for the first time.\n\n2. We support growth.\n\n"
        "**Statement on Investment Screening**\n\n1. Openness to investment is essential.\n\n"
        "2. Screening regimes should rest on law:\n\n(a) with enforcement.\n\n"
        "**Statement on AI**\n\n1. AI brings benefits.\n\n2. AI brings risks.\n"
    )
    units = parse_units(text_blocks(text))
    assert [u.para for u in units] == [
        "1",
        "2",
        "Statement on Investment Screening ¶1",
        "Statement on Investment Screening ¶2",
        "Statement on Investment Screening ¶2(a)",
        "Statement on AI ¶1",
        "Statement on AI ¶2",
    ]
    assert [plain_para(u.para) for u in units[4:6]] == [
        ("Statement on Investment Screening", "2(a)"),
        ("Statement on AI", "1"),
    ]
    assert [para_words(units[0].para), para_words(units[5].para)] == ["paragraph 1", "Statement on AI, paragraph 1"]
    assert [para_mark(units[0].para), para_mark(units[5].para)] == ["¶1", "Statement on AI ¶1"]
    chunks = chunk_blocks("ttc", text_blocks(text), min_chars=5)
    assert len({(c.doc_id, c.para) for c in chunks}) == len(chunks) == 7


def test_numbering_running_on_across_headings_keeps_plain_labels_and_only_a_restart_is_qualified() -> None:
    body = "**Part I**\n\n1. First point.\n\n2. Second point.\n\n**Part II**\n\n3. Third point.\n\n4. Fourth point.\n"
    assert [u.para for u in parse_units(text_blocks(body))] == ["1", "2", "3", "4"]
    annexed = body + "\n**Annex**\n\n1. Annexed point.\n\n2. Another annexed point.\n"
    labels = [u.para for u in parse_units(text_blocks(annexed))]
    assert labels == ["1", "2", "3", "4", "Annex ¶1", "Annex ¶2"]  # the body's labels (and chunk ids) do not move


def test_numbering_restarting_again_under_one_heading_names_each_run() -> None:
    # the TTC's 2021 semiconductor annex: 1–6, a break, then 1–3 under the same heading; and a text with no headings
    text = (
        "1. The Council met.\n\n2. We support growth.\n\n**Statement on Chips**\n\n1. Chips matter.\n\n"
        "2. Supply chains matter.\n\n- a bullet breaking the list\n\n1. No subsidy race.\n\n2. Joint investment.\n"
    )
    labels = [u.para for u in parse_units(text_blocks(text)) if u.numbered]
    assert labels == [
        "1",
        "2",
        "Statement on Chips ¶1",
        "Statement on Chips ¶2",
        "Statement on Chips, list 2 ¶1",
        "Statement on Chips, list 2 ¶2",
    ]
    assert plain_para(labels[4]) == ("Statement on Chips, list 2", "1")
    bare = "1. First point made here.\n\n2. Second point made here.\n\n1. A new list starts.\n"
    assert [u.para for u in parse_units(text_blocks(bare))] == ["1", "2", "list 2 ¶1"]


def test_sub_items_continuing_under_a_new_heading_are_no_restart() -> None:
    text = (
        "**Part A**\n\n1. First.\n\n2. Second.\n\n3. As follows:\n\n**Part B**\n\n(a) one item;\n\n(b) another item.\n"
    )
    assert [u.para for u in parse_units(text_blocks(text))] == ["1", "2", "3", "3(a)", "3(b)"]


# --- linear work and the hard cut (issue 17, item 2) --------------------------------------------------------


def _lines_run(make_text) -> int:
    """Python lines executed in load.py and chunk.py while parsing and chunking `make_text()`: work, not time."""
    import sys

    import govassist.chunk
    import govassist.load

    files = {govassist.load.__file__, govassist.chunk.__file__}
    text, count = make_text(), 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename in files:
            count += event == "line"
            return tracer
        return None

    sys.settrace(tracer)
    try:
        chunk_blocks("d", text_blocks(text))
    finally:
        sys.settrace(None)
    return count


REPEATED = {
    "same numbered paragraph": lambda n: "1. Same paragraph.\n\n" * n,
    "same lettered sub-item": lambda n: "1. First.\n\n2. Second.\n\n3. Lead-in:\n\n" + "(a) Same sub-item.\n\n" * n,
    "bullet closing words": lambda n: "1. A.\n\n2. B.\n\n3. Lead:\n\n- item\n\n" + "closing words.\n\n" * n,
}


@pytest.mark.parametrize("name", REPEATED)
def test_parsing_and_chunking_work_grows_linearly_with_the_line_count(name: str) -> None:
    small, large = (_lines_run(lambda n=n: REPEATED[name](n)) for n in (1000, 4000))
    assert large / small < 4.5, (name, small, large)  # quadratic work would be ~16 times


def test_a_huge_single_line_is_cut_at_the_chunk_bound_on_whitespace() -> None:
    words = [f"word{i}" for i in range(400_000)]  # 3.7 MB on one line, no sentence end
    text = " ".join(words)
    chunks = chunk_blocks("d", text_blocks(text), max_chars=1200)
    assert len(text) > 3_500_000 and len(chunks) > 3000
    assert max(len(c.text) for c in chunks) <= 1200
    assert " ".join(c.text for c in chunks) == text  # every cut fell on a space: no word split, nothing lost
    assert len({c.id for c in chunks}) == len(chunks)


def test_text_without_whitespace_is_cut_mid_word_into_even_pieces() -> None:
    chunks = chunk_blocks("d", text_blocks("x" * 5000), max_chars=1200)
    assert [len(c.text) for c in chunks] == [1000, 1000, 1000, 1000, 1000]  # the fewest pieces, of equal length


def test_a_long_sentence_in_a_bullet_is_cut_and_short_sentences_are_not() -> None:
    long_item = "- " + " ".join(["clause"] * 600) + ".\n"
    text = "1. We resolve to:\n" + long_item + "- keep short items whole.\n\n2. Second.\n\n3. Third.\n"
    chunks = chunk_blocks("d", text_blocks(text), max_chars=500)
    assert max(len(c.text) for c in chunks) <= 500
    assert any(c.text.endswith("• keep short items whole.") or "• keep short items whole." in c.text for c in chunks)


def test_chunks_stay_far_below_the_postgresql_tsvector_limit() -> None:
    from govassist.chunk import MAX_CHUNK_CHARS
    from govassist.errors import ConfigError

    text = ("ü" * 300_000 + " ") * 4
    chunks = chunk_blocks("d", text_blocks(text), max_chars=MAX_CHUNK_CHARS)
    worst = max(len(c.embed_text.encode("utf-8")) for c in chunks)
    assert worst <= 4 * MAX_CHUNK_CHARS + 2_000 < 2**20 // 2  # tsvector refuses 1 MB; a chunk is under half
    with pytest.raises(ConfigError, match="GOVASSIST_CHUNK_MAX_CHARS"):
        chunk_blocks("d", text_blocks("1. Text."), max_chars=MAX_CHUNK_CHARS + 1)


def test_a_paragraph_number_kept_with_an_over_long_sentence_stays_within_the_bound() -> None:
    from govassist.chunk import _windows

    text = "8. We " + "x" * 700 + "."  # no whitespace: the sentence is cut exactly at the bound
    parts = _windows(text, 300)
    assert parts[0].startswith("8. We xx") and all(len(p) <= 300 for p in parts)


def test_a_sentence_over_the_bound_is_cut_at_a_clause_end_into_even_pieces() -> None:
    """UN operative paragraphs are one sentence of clauses; a cut at the last space before the bound left
    "marketplace, through critical investment, especially for developing countries;" as a passage of its own."""
    clauses = [f"clause {i} on the synthetic matter of item {i}, with its qualifier {i}" for i in range(20)]
    text = "9. Encourages Member States " + "; ".join(clauses) + ", especially for developing countries;"
    assert 1200 < len(text) < 2400
    chunks = chunk_blocks("d", text_blocks(text), max_chars=1200)
    assert len(chunks) == 2 and all(len(c.text) <= 1200 for c in chunks)
    assert chunks[0].text.endswith(";") and abs(len(chunks[0].text) - len(chunks[1].text)) < 300
    assert " ".join(c.text for c in chunks) == text


def test_a_run_of_short_paragraphs_splits_into_its_paragraphs_for_citing() -> None:
    from govassist.chunk import Chunk, para_pieces, piece_of

    run = Chunk(
        "d#[12]–[13]", "d", "[12]–[13]", ("[12]", "[13]"), "", 6, "New Zealand joined.\nReferences include bodies."
    )
    assert para_pieces(run) == [("[12]", "New Zealand joined."), ("[13]", "References include bodies.")]
    assert piece_of(run, "References include bodies.") == ("[13]", "References include bodies.")
    assert piece_of(run, "Not a sentence of it.") == ("[12]–[13]", run.text)  # no paragraph holds it: the run
    odd = Chunk("d#[1]–[2]", "d", "[1]–[2]", ("[1]", "[2]"), "", None, "One line only.")  # lines do not match labels
    assert para_pieces(odd) == [("[1]–[2]", "One line only.")]
    one = Chunk("d#4", "d", "4", ("4",), "", None, "4. A paragraph.\n• with a bullet")
    assert para_pieces(one) == [("4", one.text)] and piece_of(one, "with a bullet") == ("4", one.text)
    blocks = text_blocks("Washington, D.C.\n\nFor immediate release.\n\n" + "A long enough paragraph. " * 12)
    merged = chunk_blocks("d", blocks, max_chars=1200, min_chars=200)[0]
    assert [p for p, _ in para_pieces(merged)] == ["[1]", "[2]", "[3]"]  # the chunker's runs are one line each


def test_a_run_of_short_paragraphs_stays_on_one_page() -> None:
    from govassist.blocks import PARA, Block

    long = "A long enough paragraph of real content that stands alone. " * 5
    blocks = [
        Block(PARA, "Short one.", 1),
        Block(PARA, "Short two.", 1),
        Block(PARA, "Short three.", 2),
        Block(PARA, long, 2),
    ]
    chunks = chunk_blocks("d", blocks, max_chars=1200, min_chars=200)
    assert [(c.para, c.page) for c in chunks] == [("[1]–[2]", 1), ("[3]–[4]", 2)]  # each paragraph cited on its page
