"""Text helpers shared by the stages."""

from govassist.text import safe_line


def test_safe_line_neutralises_newlines_and_escapes() -> None:
    assert safe_line("evil\nOK: forged line\x1b[2J") == "evil OK: forged line [2J"


def test_safe_line_strips_bidi_and_line_separators() -> None:
    assert safe_line("a\u2028b\u202ec") == "a b c"


def test_safe_line_bounds_length() -> None:
    assert safe_line("x" * 600, limit=10) == "x" * 9 + "…"


def test_british_spellings_in_american_form() -> None:
    from govassist.text import american

    assert american("data localisation and recognised labour programmes") == (
        "data localization and recognized labor programs"
    )
    assert american("localise, prioritising, defence") == "localize, prioritizing, defense"
    assert (
        american("the promise of enterprise exercise, otherwise wise")
        == "the promise of enterprise exercise, otherwise wise"
    )
    assert american("Operationalising DFFT, G7") == "Operationalising DFFT, G7"  # unknown forms stay as written


def test_a_list_run_into_a_sentence_is_one_sentence() -> None:
    from govassist.text import sentences

    listed = "focus on:\n1. AI terminology and taxonomy, 2. Cooperation on standards, and 3. Monitoring AI risks."
    assert sentences(listed) == [
        "focus on:",
        "1. AI terminology and taxonomy, 2. Cooperation on standards, and 3. Monitoring AI risks.",
    ]
    assert sentences("Groups on: 1. Terms, 2. Tools; 3. Risks.") == ["Groups on: 1. Terms, 2. Tools; 3. Risks."]
    # a paragraph's own number, a year and a paragraph cited by number still end where they did
    assert sentences("12. Looks to the review. It notes.") == ["12.", "Looks to the review.", "It notes."]
    assert sentences("We met in 2025. The text follows.") == ["We met in 2025.", "The text follows."]
    assert sentences("As in paragraph 12. We agree.") == ["As in paragraph 12.", "We agree."]
    assert sentences("We recall SDGs 9 and 17. We act.") == ["We recall SDGs 9 and 17.", "We act."]  # no list
    assert sentences("Articles 3, 4 and 5. The parties agree.") == ["Articles 3, 4 and 5.", "The parties agree."]
    spaced = sentences("on:\n1.  AI terms, 2. Tools, and 3. Risks.")  # kept verbatim: not joined over two spaces
    assert spaced == ["on:", "1.", "AI terms, 2. Tools, and 3. Risks."]


def test_markdown_residue_is_dropped_from_a_line() -> None:
    from govassist.blocks import clean_inline

    assert clean_inline("on computing technologies*.* We also task") == "on computing technologies. We also task"
    assert clean_inline("**Bold** words, a [link](https://x.org) and <b>tags</b>") == "Bold words, a link and tags"
    assert clean_inline("a * b * c, and *emphasis*") == "a * b * c, and *emphasis*"  # not a mark of its own
    assert clean_inline("*AI*,*data*") == "*AI*,*data*"  # two emphasised words, not an emphasised comma
