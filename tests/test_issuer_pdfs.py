"""Issuers' print layouts, one rule at a time, on small synthetic PDFs (tests/pdfmaker.py places each line):
footnotes, running heads, the UN title block, a GOV.UK print, drop caps, hyphens, paragraph spacing, headings."""

from pathlib import Path

from pdfmaker import column, make_placed_pdf

from govassist.chunk import chunk_blocks
from govassist.load import BULLET, HEADING, PARA, Block, load_file
from govassist.text import sentences


def _texts(pdf: Path) -> list[tuple[str, str, int | None]]:
    return [(b.kind, b.text, b.page) for b in load_file(pdf)]


def test_footnote_numbers_leave_the_text_and_footnotes_leave_the_page(tmp_path: Path) -> None:
    body = column(
        [
            "Recalling the outcomes of the synthetic summit, including the Geneva Declaration,2 the",
            "Tunis Commitment4 and the Tunis Agenda for the Information Society,5 and the Recommendation",
            "of 23 November 2021, 6 its implementation plan, and all 17 Sustainable Development Goals,",
        ]
    )
    notes = [(72, 120, 8, "__________________"), (80, 110, 6, "2 See A/C.2/59/3, annex."),
             (80, 100, 6, "4 See A/60/687."), (80, 90, 6, "5 Ibid."), (80, 80, 6, "6 Records of the Conference,"),
             (72, 72, 8, "vol. 1, annex VII.")]  # fmt: skip
    pdf = make_placed_pdf(tmp_path / "synthetic-footnotes.pdf", [body + notes])
    (kind, text, page), *rest = _texts(pdf)
    assert rest == [] and (kind, page) == (PARA, 1)
    assert "the Geneva Declaration, the Tunis Commitment and the Tunis Agenda for the Information Society, and" in text
    assert "of 23 November 2021, its implementation plan, and all 17 Sustainable Development Goals," in text


def test_running_heads_in_either_order_and_small_print_outside_the_body_are_dropped(tmp_path: Path) -> None:
    pages = []
    for n in range(1, 5):
        even = n % 2 == 0
        heads = [(60, 800, 8, "A/RES/99/1" if even else "Synthetic resolution title A/RES/99/1")]
        heads.append((300, 30, 7, f"24-00001 {n}/4" if even else f"{n}/4 24-00001"))
        if even:
            heads.insert(1, (300, 810, 8, "Synthetic resolution title"))
        words = ["first", "second", "third", "fourth"][n - 1]
        pages.append(heads + column([f"Paragraph text of the {words} page, in the body.", f"More of the {words}."]))
    pdf = make_placed_pdf(tmp_path / "synthetic-heads.pdf", pages)
    texts = _texts(pdf)
    assert [t for _k, t, _p in texts] == [
        f"Paragraph text of the {w} page, in the body. More of the {w}." for w in ("first", "second", "third", "fourth")
    ]


def _un_resolution(tmp_path: Path) -> Path:
    title_block = [
        (123, 734, 14, "United Nations A/RES/99/1"),
        (123, 705, 20, "General Assembly"),
        (396, 705, 10, "Distr.: General"),
        (396, 693, 10, "1 April 2099"),
        (65, 44, 10, "99-00001 (E) 050499"),
        (60, 570, 10, "Ninety-ninth session"),
        (60, 558, 10, "Agenda item 13"),
        (123, 489, 14, "Resolution adopted by the General Assembly on 1 March 2099"),
        (72, 424, 12, "99/1. Synthetic resolution on digital cooperation"),
        (147, 386, 10, "The General Assembly,"),
    ]
    body = column(
        [
            "   Recalling its earlier synthetic resolutions on digital cooperation and the outcomes",
            "of the synthetic summit,",
            "",
            "   Recognizing also that digital divides persist between and within countries and",
            "regions,",
            "",
            "   1. Decides to convene a synthetic dialogue on digital cooperation;",
            "",
            "   2. Calls upon Member States to take action, including by:",
            "",
            "   (a) Expanding participation of all countries in digital transformation;",
            "",
            "   (b) Enhancing digital infrastructure connectivity;",
            "",
            "   3. Decides to remain seized of the matter.",
            "",
            "63rd plenary meeting",
            "1 March 2099",
        ],
        top=368,
    )
    return make_placed_pdf(tmp_path / "synthetic-un-resolution.pdf", [title_block + body])


def test_un_title_block_is_not_text_and_the_title_is_the_section(tmp_path: Path) -> None:
    chunks = chunk_blocks("syn", load_file(_un_resolution(tmp_path)))
    assert [c.para for c in chunks] == ["PP1", "PP2", "1", "2", "2(a)", "2(b)", "3"]
    assert {c.section for c in chunks} == {"99/1. Synthetic resolution on digital cooperation"}
    text = " ".join(c.text for c in chunks)
    for furniture in ("Distr.", "Agenda item", "99-00001", "The General Assembly,", "plenary meeting", "1 April"):
        assert furniture not in text
    assert chunks[-1].text == "3. Decides to remain seized of the matter."


def test_govuk_print_cover_and_licence_pages_are_dropped(tmp_path: Path) -> None:
    cover = [(51, 520, 18, "Policy paper"), (51, 482, 32, "The Synthetic Declaration"),
             (51, 349, 14, "Updated 13 February 2099"), (58, 690, 14, "Department for Synthetic Affairs")]  # fmt: skip
    licence = column(
        [
            "© Crown copyright 2099",
            "This publication is licensed under the terms of the Open Government Licence v3.0.",
            "This publication is available at https://www.gov.uk/government/publications/synthetic",
        ]
    )
    body = column(
        [
            "Synthetic countries affirm that technology should be designed and used safely.",
            "",
            "All content is available under the Open Government Licence v3.0, except where otherwise stated "
            "© Crown copyright",
        ]
    )
    texts = _texts(make_placed_pdf(tmp_path / "synthetic-govuk.pdf", [cover, licence, body]))
    assert texts == [(PARA, "Synthetic countries affirm that technology should be designed and used safely.", 3)]


def test_drop_caps_are_joined_in_print_and_in_text(tmp_path: Path) -> None:
    printed = [(72, 700, 30, "M"), (95, 700, 10, "eeting at the synthetic park today, leaders agreed"),
               (72, 688, 10, "on testing.")]  # fmt: skip
    typed = column(["M eeting again, they noted that A number of partners", "joined.", "",
                    "A number of partners joined the synthetic", "statement."], top=670)  # fmt: skip
    texts = [t for _k, t, _p in _texts(make_placed_pdf(tmp_path / "synthetic-dropcap.pdf", [printed + typed]))]
    assert texts == [
        "Meeting at the synthetic park today, leaders agreed on testing.",
        "Meeting again, they noted that A number of partners joined.",
        "A number of partners joined the synthetic statement.",
    ]


def test_hyphens_at_line_ends(tmp_path: Path) -> None:
    rows = column(
        [
            "Sustainable develop-",
            "ment needs evidence-",
            "based policies and copyright -",
            "protected content – as agreed – on sustainable development.",
        ]
    )
    [(_k, text, _p)] = _texts(make_placed_pdf(tmp_path / "synthetic-hyphens.pdf", [rows]))
    assert text == (
        "Sustainable development needs evidence-based policies and copyright-protected content – as agreed – "
        "on sustainable development."
    )


def test_pdf_spacing_inside_words_is_mended_only_into_words_the_text_uses(tmp_path: Path) -> None:
    rows = column(["Entities from the privat e sector, red -teaming and", "non- discrimination; the private",
                   "sector a nd academia set a part the budget, and all the parts apart."])  # fmt: skip
    [(_k, text, _p)] = _texts(make_placed_pdf(tmp_path / "synthetic-spaces.pdf", [rows]))
    assert text == (
        "Entities from the private sector, red-teaming and non-discrimination; the private sector and academia "
        "set a part the budget, and all the parts apart."
    )


def test_wider_line_space_ends_a_paragraph_not_a_short_line(tmp_path: Path) -> None:
    rows = column(
        [
            "Synthetic opportunities arise: it has the potential to transform human wellbeing.",
            "Frontier risks.",
            "To realise this, we affirm that the good of all matters to everyone here today.",
            "",
            "A second paragraph begins after a wider line space, as issuers print them.",
            "",
            "A third one follows it.",
        ]
    )
    texts = [t for _k, t, _p in _texts(make_placed_pdf(tmp_path / "synthetic-spacing.pdf", [rows]))]
    assert texts == [
        "Synthetic opportunities arise: it has the potential to transform human wellbeing. Frontier risks. "
        "To realise this, we affirm that the good of all matters to everyone here today.",
        "A second paragraph begins after a wider line space, as issuers print them.",
        "A third one follows it.",
    ]


def test_headings_by_type_size_style_and_capitals_become_the_section(tmp_path: Path) -> None:
    rows = [
        (72, 780, 11, "SYNTHETIC SAFETY STATEMENT"),
        (72, 750, 16, "Synthetic Summary of the Summit"),
        *column(["The summit met for two days and agreed on next steps for testing.", "",
                 "• Participants welcomed the initiative.", "• They agreed to meet again next year."], top=720),
        (72, 640, 10, "A time for action", "italic"),
        *column(["The world stands at an inflection point, participants noted."], top=620),
    ]  # fmt: skip
    blocks = load_file(make_placed_pdf(tmp_path / "synthetic-headings.pdf", [rows]))
    assert [(b.kind, b.text) for b in blocks] == [
        (HEADING, "SYNTHETIC SAFETY STATEMENT"),
        (HEADING, "Synthetic Summary of the Summit"),
        (PARA, "The summit met for two days and agreed on next steps for testing."),
        (BULLET, "Participants welcomed the initiative."),
        (BULLET, "They agreed to meet again next year."),
        (HEADING, "A time for action"),
        (PARA, "The world stands at an inflection point, participants noted."),
    ]
    chunks = chunk_blocks("syn", blocks)
    assert chunks[-1].section == "A time for action"


def test_list_set_in_after_a_colon_is_a_list(tmp_path: Path) -> None:
    rows = column(["Many risks arising from technology are international in nature, and so are best addressed",
                   "through international cooperation, and we resolve to work together in an inclusive manner.", "",
                   "In the context of our cooperation, our agenda", "will focus on:", "",
                   "identifying risks of shared concern, and building", "a shared understanding of them.", "",
                   "building risk-based policies across our", "countries.", "", "The countries represented were:", "",
                   "Australia", "", "Brazil"], x=51)  # fmt: skip
    set_in = ("identifying", "a shared", "building", "countries.", "Australia", "Brazil")
    items = [(r[0] + 15, *r[1:]) if r[3].startswith(set_in) else r for r in rows]
    blocks = load_file(make_placed_pdf(tmp_path / "synthetic-list.pdf", [items]))
    assert [(b.kind, b.text) for b in blocks][1:] == [
        (PARA, "In the context of our cooperation, our agenda will focus on:"),
        (BULLET, "identifying risks of shared concern, and building a shared understanding of them."),
        (BULLET, "building risk-based policies across our countries."),
        (PARA, "The countries represented were:"),
        (BULLET, "Australia"),
        (BULLET, "Brazil"),
    ]


def test_heading_run_into_its_paragraph_is_set_apart(tmp_path: Path) -> None:
    rows = column(["Artificial Intelligence, Science, Technology, and Innovation Artificial Intelligence can play",
                   "a crucial role in our synthetic societies."])  # fmt: skip
    texts = _texts(make_placed_pdf(tmp_path / "synthetic-glued.pdf", [rows]))
    assert [(k, t) for k, t, _p in texts] == [
        (HEADING, "Artificial Intelligence, Science, Technology, and Innovation"),
        (PARA, "Artificial Intelligence can play a crucial role in our synthetic societies."),
    ]


def test_chunk_pages_follow_the_pdf(tmp_path: Path) -> None:
    pages = [
        column(["1. Decides to convene a synthetic dialogue on digital cooperation", "and on data governance;"]),
        column(
            [
                "2. Requests a synthetic report on",
                "the progress made;",
                "",
                "(a) on connectivity;",
                "",
                "3. Decides to remain seized of the matter.",
            ]
        ),
    ]
    chunks = chunk_blocks("syn", load_file(make_placed_pdf(tmp_path / "synthetic-pages.pdf", pages)))
    assert [(c.para, c.page) for c in chunks] == [("1", 1), ("2", 2), ("2(a)", 2), ("3", 2)]


def test_bare_numbered_items_and_their_elaboration_keep_the_number() -> None:
    blocks = [
        Block(PARA, "Organizations should follow these actions.", 1),
        Block(PARA, "1 Take appropriate measures to identify risks.", 1),
        Block(PARA, "This includes diverse testing measures.", 1),
        Block(PARA, "2 Identify and mitigate vulnerabilities.", 2),
        Block(PARA, "Organizations should monitor for vulnerabilities.", 2),
        Block(PARA, "This further includes reporting.", 3),
        Block(PARA, "3 Publicly report capabilities.", 3),
        Block(PARA, "This should include transparency reports.", 3),
    ]
    chunks = chunk_blocks("syn", blocks)
    assert [(c.id, c.para, c.page) for c in chunks] == [
        ("syn#PP1", "PP1", 1),
        ("syn#1", "1", 1),
        ("syn#2", "2", 2),
        ("syn#3", "3", 3),
    ]
    assert chunks[2].text == (
        "2 Identify and mitigate vulnerabilities.\nOrganizations should monitor for vulnerabilities.\n"
        "This further includes reporting."
    )


def test_bare_numbers_out_of_sequence_are_text() -> None:
    blocks = [Block(PARA, "17 Sustainable Development Goals are the frame.", 1), Block(PARA, "Other text.", 1)]
    assert [c.para for c in chunk_blocks("syn", blocks)] == ["[1]–[2]"]


def test_paragraph_number_is_not_a_window_of_its_own() -> None:
    long = "8. Acknowledges " + "the importance of continuing the discussion, " * 40 + "and stresses it. Next."
    chunks = chunk_blocks("syn", [Block(PARA, "1. First.", 1), Block(PARA, "2. Second.", 1), Block(PARA, long, 1)])
    assert chunks[2].text.startswith("8. Acknowledges the importance")


def test_initials_do_not_end_a_sentence() -> None:
    assert sentences("15. Enhance collaboration with the ASEAN-U.S. Digital Policy Forum. Then more.") == [
        "15.",
        "Enhance collaboration with the ASEAN-U.S. Digital Policy Forum.",
        "Then more.",
    ]


def test_html_leaked_into_a_pdf_is_dropped_and_its_underlined_heading_set_apart(tmp_path: Path) -> None:
    """The TTC's 2024 PDF carries its web page's markup as text, one tag cut by a line break
    ("…Steps</span><span" / "style=…> </span> Since …"): no tag may reach a passage, and the underlined
    heading it opens with is the section, not the paragraph's first words."""
    rows = column(['IV. <span style="text-decoration: underline">Conclusion and Next Steps</span><span',
                   'style="text-decoration: underline"> </span> Since its inaugural meeting the council has',
                   "realized substantial progress across all of its synthetic workstreams."])  # fmt: skip
    texts = _texts(make_placed_pdf(tmp_path / "synthetic-markup.pdf", [rows]))
    assert [(k, t) for k, t, _p in texts] == [
        (HEADING, "IV. Conclusion and Next Steps"),
        (PARA, "Since its inaugural meeting the council has realized substantial progress across all of its synthetic "
         "workstreams."),
    ]  # fmt: skip
    chunks = chunk_blocks("d", load_file(tmp_path / "synthetic-markup.pdf"))
    assert chunks[0].section == "IV. Conclusion and Next Steps" and "<" not in chunks[0].text


def test_a_heading_wrapped_over_two_lines_is_one_heading(tmp_path: Path) -> None:
    """The TTC's 2024 print wraps "Transatlantic Cooperation on Standards for Critical and Emerging" /
    "Technologies and Clean Energy Transition": one section, not two. A labelled heading on the next line
    ("A. …") and one in capitals after a mixed-case one stay apart."""
    long = "the partners agreed to coordinate their synthetic standards work closely and to report on it in"
    rows = [
        (72, 780, 10, "Synthetic Cooperation on Standards for Critical and Emerging", "bold"),
        (72, 768, 10, "Technologies and the Clean Transition", "bold"),
        *column([f"First, {long}", f"full, {long}", "the next meeting."], top=748),
        (72, 700, 10, "Regional Synthetic Issues", "bold"),
        (72, 688, 10, "ATLANTIS", "bold"),
        *column([f"Second, {long}", "the next meeting."], top=668),
        (72, 632, 10, "Synthetic Trade and Labor in the Transition", "bold"),
        (72, 620, 10, "A. Advancing Synthetic Leadership", "bold"),
        *column([f"Third, {long}", "the next meeting."], top=600),
    ]  # fmt: skip
    blocks = load_file(make_placed_pdf(tmp_path / "synthetic-wrapped.pdf", [rows]))
    assert [b.text for b in blocks if b.kind == HEADING] == [
        "Synthetic Cooperation on Standards for Critical and Emerging Technologies and the Clean Transition",
        "Regional Synthetic Issues",
        "ATLANTIS",
        "Synthetic Trade and Labor in the Transition",
        "A. Advancing Synthetic Leadership",
    ]
    assert chunk_blocks("syn", blocks)[0].section.endswith("Technologies and the Clean Transition")
