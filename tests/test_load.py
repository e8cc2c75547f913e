"""Loaders: structure, page numbers, furniture removal and bad input, on small fixture files."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfmaker import make_pdf

from govassist.blocks import join_lines
from govassist.errors import LoadError
from govassist.load import BULLET, HEADING, PARA, Limits, load_file, text_blocks


def test_pdf_keeps_pages_and_drops_running_header_and_footer(tmp_path: Path) -> None:
    pages = [
        ["1. We affirm the first commitment on connectivity for all", "schools and hospitals by 2030."],
        ["2. We support open standards for digital public", "infrastructure and interoperability."],
        ["3. We will review progress annually at ministerial level."],
    ]
    pdf = make_pdf(tmp_path / "doc.pdf", pages, header="Synthetic Ministerial Statement, Rome 2024")
    blocks = load_file(pdf)
    texts = [b.text for b in blocks]
    assert [b.page for b in blocks] == [1, 2, 3]
    assert texts[0] == "1. We affirm the first commitment on connectivity for all schools and hospitals by 2030."
    assert not any("Synthetic Ministerial Statement" in t or "Page " in t for t in texts)


def test_pdf_headings_detected(tmp_path: Path) -> None:
    from conftest import REPORT_PAGES

    pdf = make_pdf(tmp_path / "r.pdf", REPORT_PAGES, header="Synthetic Joint Statement, April 2024")
    blocks = load_file(pdf)
    assert [(b.kind, b.text, b.page) for b in blocks if b.kind == HEADING] == [
        (HEADING, "I. Introduction", 1),
        (HEADING, "II. Critical minerals", 2),
    ]


def test_markdown_structure_bold_headings_bullets_and_wrapped_numbers() -> None:
    md = (
        "**HEALTH**  \n\n"
        "1.  We commit to vaccinate the world by getting as many safe vaccines\n"
        "    to as many people as possible.\n\n"
        "**We are taking concrete steps to:**\n\n"
        "-   support Ukraine for as long as it takes;\n"
        "-   strengthen disarmament and non-proliferation efforts\n\n"
        "24.We welcome the adoption of the Kunming-Montreal framework.\n"
        "11, We are determined to take on a leading role.\n"
    )
    blocks = text_blocks(md)
    assert [(b.kind, b.text[:22]) for b in blocks] == [
        (HEADING, "HEALTH"),
        (PARA, "1. We commit to vaccin"),
        (PARA, "We are taking concrete"),
        (BULLET, "support Ukraine for as"),
        (BULLET, "strengthen disarmament"),
        (PARA, "24.We welcome the adop"),
        (PARA, "11, We are determined "),
    ]


def test_the_next_paragraph_number_opens_a_paragraph_after_one_without_a_full_stop() -> None:
    # the TTC's 2021 statement: ¶4 ends "… adopted by the OECD Council in May 2009" and ¶5 was read as its tail
    md = (
        "4.  Furthermore, regimes should be guided by the OECD Guidelines, adopted by the\n"
        "    OECD Council in May 2009\n"
        "5.  The United States and the European Union envisage to meet\n"
        "    periodically.\n\n"
        "18. Support the next generation of ASEAN leaders in the technology and\n"
        "    digital sectors by providing scholarships; and\n"
        "19. Cooperate with the private sector.\n\n"
        "through three expert groups which focus on:\n\n"
        "1.  AI terminology and taxonomy,\n"
        "2.  Cooperation on AI standards, and\n"
        "3.  Monitoring AI risks.\n\n"
        "1. Technology standards\n"
        "2. Climate and clean tech\n"
        "3. Secure supply chains\n\n"
        "The deadline is 30 June\n"
        "2025. Members report yearly.\n"
    )
    assert [b.text[:12] for b in text_blocks(md)] == [
        "4. Furthermo",
        "5. The Unite",
        "18. Support ",
        "19. Cooperat",
        "through thre",
        "1. AI termin",  # items of one sentence (each ends in a comma or "and") stay one paragraph
        "1. Technolog",  # and so do short items of a list
        "The deadline",  # a year opening a line is no paragraph number
    ]


def test_markdown_links_and_tags_are_reduced_to_text() -> None:
    blocks = text_blocks("See the [official interventions](https://example.org/x) <span>here</span>.\n")
    assert blocks[0].text == "See the official interventions here."


def test_markdown_link_over_lines_shows_its_text_only() -> None:
    md = (
        "The groups have (i) i[ssued a list of 65 key AI terms essential to\n"
        "understanding risk-based approaches](https://www.nist.gov/system/files/x%20(HRDs)%20y\n"
        "%20z.pdf) and (ii) more.\n"
    )
    assert text_blocks(md)[0].text == (
        "The groups have (i) issued a list of 65 key AI terms essential to understanding risk-based approaches "
        "and (ii) more."
    )


def test_html_blocks_skip_scripts_and_navigation(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><title>T</title><script>alert(1)</script></head><body><nav>Home | About</nav>"
        "<h2>Our commitments</h2><p>1. We, the representatives, declare our common desire.</p>"
        "<ul><li>an inclusive information society</li></ul><footer>Copyright</footer></body></html>",
        encoding="utf-8",
    )
    blocks = load_file(page)
    assert [(b.kind, b.text) for b in blocks] == [
        (HEADING, "Our commitments"),
        (PARA, "1. We, the representatives, declare our common desire."),
        (BULLET, "an inclusive information society"),
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("binary.txt", bytes(range(256)) * 10, "binary data"),
        ("undetectable.txt", bytes(range(128, 256)) * 3, "not valid UTF-8 (byte 0x80 on line 1, offset 0) and no"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<", "corrupt or truncated PDF"),
        ("cut.pdf", b"%PDF-1.4\n1 0 obj <<", "(`govassist corpus fetch --replace <its id>`"),
        ("fake.pdf", b"hello, I am text", "not a PDF"),
        ("notes.docx", b"PK\x03\x04", "unsupported file type"),
        ("page.txt", b"\n<!DOCTYPE html><html><body><p>Hi</p><script>x=1</script>", "HTML page, not plain text"),
        ("page.md", b"<html lang='en'><p>Hi</p></html>", "rename it to page.html"),
    ],
)
def test_bad_input_gets_a_reason_naming_the_file(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError) as err:
        load_file(path)
    assert str(err.value).startswith(f"{name}: ")
    assert reason in str(err.value)


def test_encrypted_and_textless_pdfs_are_refused(tmp_path: Path) -> None:
    import pypdf

    src = make_pdf(tmp_path / "plain.pdf", [["1. Some text to protect."]])
    writer = pypdf.PdfWriter(clone_from=str(src))
    writer.encrypt("secret")
    enc = tmp_path / "locked.pdf"
    with enc.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(LoadError, match="locked.pdf: encrypted PDF"):
        load_file(enc)
    blank = make_pdf(tmp_path / "scan.pdf", [[], []], footer=False)
    with pytest.raises(LoadError, match="scan.pdf: PDF has no extractable text"):
        load_file(blank)


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 3000)
    with pytest.raises(LoadError, match="over the limit"):
        load_file(big, Limits(max_bytes=1000))


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    p = tmp_path / "u16.txt"
    p.write_bytes("1. We affirm the Tunis Agenda.\n".encode("utf-16"))
    assert load_file(p)[0].text == "1. We affirm the Tunis Agenda."


def test_pdf_bullet_after_an_item_ending_in_and_starts_a_new_item_across_pages(tmp_path: Path) -> None:
    pages = [
        ["To advance these interests, we commit to:", "- working with industry partners to inform our approach; and"],
        [
            "- engaging additional partner governments around the world, as well as other appropriate",
            "stakeholders, to better align our policies.",
            "Our efforts will continue next year.",
        ],
    ]
    blocks = load_file(make_pdf(tmp_path / "list.pdf", pages, header="Synthetic Joint Statement (2024)"))
    assert [(b.kind, b.text, b.page) for b in blocks] == [
        (PARA, "To advance these interests, we commit to:", 1),
        (BULLET, "working with industry partners to inform our approach; and", 1),
        (
            BULLET,
            "engaging additional partner governments around the world, as well as other appropriate "
            "stakeholders, to better align our policies.",
            2,
        ),
        (PARA, "Our efforts will continue next year.", 2),
    ]


# --- legacy encodings (issue 17, item 10) -------------------------------------------------------------------

WIN1252 = (
    "1. We welcome the “café” society – and the naïve hopes of all nations, including Côte d’Ivoire.\n\n"
    "2. Die Grüße aus Köln für die Straße.\n"
)


@pytest.mark.parametrize(
    ("encoding", "text", "name"),
    [
        ("cp1252", WIN1252, "windows-1252"),
        ("cp1250", "1. Zażółć gęślą jaźń w Łodzi. Wszystkie państwa członkowskie.\n", "windows-1250"),
        ("cp1251", "1. Все государства-члены поддерживают открытый и безопасный интернет.\n", "windows-1251"),
    ],
)
def test_legacy_encodings_are_decoded_with_a_note_naming_them(
    tmp_path: Path, encoding: str, text: str, name: str
) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    notes: list[str] = []
    blocks = load_file(path, notes=notes)
    assert "\n\n".join(b.text for b in blocks) == text.strip()
    assert notes == [f"legacy.txt: decoded as {name} (not UTF-8); re-save it as UTF-8 to be sure"]


def test_utf8_files_get_no_encoding_note(tmp_path: Path) -> None:
    path = tmp_path / "fine.txt"
    path.write_text(WIN1252, encoding="utf-8")
    notes: list[str] = []
    load_file(path, notes=notes)
    assert notes == []


def test_the_build_reports_the_encoding_it_decoded(mini_settings) -> None:
    from govassist.store import build, open_store

    (mini_settings.corpus_dir / "staff-note.txt").write_bytes(WIN1252.encode("cp1252"))
    r = build(mini_settings, progress=False)
    assert "staff-note.txt: decoded as windows-1252 (not UTF-8); re-save it as UTF-8 to be sure" in r.notes
    assert "staff-note.txt" not in r.skipped
    assert any("naïve hopes" in c.text for c in open_store(mini_settings).chunks)


# --- joining a paragraph's lines (blocks.join_lines, shared by the text and PDF loaders) -------------------------


def _join_lines_quadratic(lines: list[str], vocab: dict[str, int], spaced_hyphens: bool) -> str:
    """pdflayout's former joiner (it rescanned the whole text at each line), the reference join_lines must match."""
    import re

    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if spaced_hyphens and out.endswith(" -") and line[:1].islower():
            out = out[:-2] + "-"
        if out.endswith("-") and not out.endswith(" -") and line[:1].islower():
            head = re.search(r"([A-Za-z]+)-$", out)
            tail = re.match(r"[a-z]+", line)
            whole = head and tail and vocab.get((head.group(1) + tail.group(0)).lower(), 0) > 0
            out = (out[:-1] if whole else out) + line
        else:
            out = f"{out} {line}" if out else line
    return re.sub(r"[ \t\u00a0]+", " ", out).strip()


VOCAB = {"development": 3, "coop": 1, "copyrightprotected": 1, "ab": 1, "amenta": 1}
PIECES = ["a", "b", "ment", "develop", "co", "op", "X", "é", "2", "-", " -", " ", "\t", "\u00a0", "\n"]


@given(
    st.lists(st.lists(st.sampled_from(PIECES), max_size=5).map("".join), max_size=8),
    st.booleans(),
)
@settings(max_examples=2000, deadline=None)
def test_join_lines_matches_the_former_pdf_joiner(lines: list[str], spaced: bool) -> None:
    assert join_lines(lines, lambda w: VOCAB.get(w.lower(), 0) > 0, spaced) == _join_lines_quadratic(
        lines, VOCAB, spaced
    )


def test_join_lines_rejoins_words_hyphenated_at_a_line_end() -> None:
    def whole(w: str) -> bool:
        return VOCAB.get(w.lower(), 0) > 0

    assert join_lines(["sustainable develop-", "ment  goals"], whole) == "sustainable development goals"
    assert join_lines(["evidence-", "based policy"], whole) == "evidence-based policy"
    assert join_lines(["sustainable develop-", "ment"]) == "sustainable develop-ment"  # no vocabulary: kept
    assert join_lines(["copyright -", "protected"], whole, spaced_hyphens=True) == "copyrightprotected"
    assert join_lines(["copyright -", "protected"], whole) == "copyright - protected"
    assert join_lines(["", " A\u00a0 text\t", "  ", "Goes on. "]) == "A text Goes on."
    # a line that is only a dash is a dash, not the hyphen of a word (the text loader used to glue "-b")
    assert join_lines(["a", "-", "b"]) == "a - b"
