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
