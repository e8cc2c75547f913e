"""The six issuers' PDFs of the mirror (UN resolution, Hiroshima Process texts, Bletchley texts), indexed as their
readers cite them; compare and precedent on them. Integration: the real mirror, built once per session."""

import re

import pypdf
import pytest

from govassist.compare import compare_docs, comparison_markdown
from govassist.precedent import find_precedents
from govassist.retrieve import search
from govassist.text import normalise

pytestmark = pytest.mark.integration

NEW = (
    "unga-78-265-2024",
    "g7-hiroshima-guiding-principles-2023",
    "g7-hiroshima-code-of-conduct-2023",
    "bletchley-declaration-2023",
    "bletchley-chair-statement-2023",
    "bletchley-safety-testing-2023",
)
UN = "unga-78-265-2024"
GP, COC = "g7-hiroshima-guiding-principles-2023", "g7-hiroshima-code-of-conduct-2023"
# where the print glued a footnote number to a word (UN resolution, Bletchley Chair's Statement)
GLUED = ("Commitment4", "Society,5", "2021, 6 ", "Framework,7", "2011;8", "cooperation”, 9", "Development, 10 ",
         "Rights, 1", "Principles,2", "Action,3", "September1", "October7", "20234", "countries,1")  # fmt: skip
FURNITURE = ("24-05969", "Crown copyright", "Policy paper", "Open Government Licence", "M eeting", "](http")
# print furniture of the new texts' own layouts (other texts may cite the resolution or mention a meeting)
OWN_FURNITURE = ("A/RES/78/265", "Distr.:", "Agenda item", "plenary meeting", "www.gov.uk", "Updated 13 February")


def _labels(store, doc_id: str) -> list[str]:
    seen: list[str] = []
    for c in store.doc_chunks(doc_id):
        seen += [p for p in c.paras if p not in seen]
    return seen


def test_the_six_texts_are_indexed(real_store) -> None:
    for doc_id in NEW:
        assert real_store.doc_chunks(doc_id), doc_id
        assert all(c.page for c in real_store.doc_chunks(doc_id))
    assert real_store.docs[UN].label == "A/RES/78/265" and real_store.docs[UN].status == "adopted"


def test_un_resolution_labels_as_cited(real_settings, real_store) -> None:
    labels = _labels(real_store, UN)
    operative = [str(n) for n in range(1, 14)]
    subs = [f"4({x})" for x in "abcdefg"] + [f"6({x})" for x in "abcdefghijklmnopq"]
    assert [x for x in labels if not x.startswith("PP")] == sorted(operative + subs, key=labels.index)
    assert set(operative + subs) <= set(labels)
    # preambular paragraphs, counted in the print independently of the parser: indented lines opening with a
    # participle, before operative paragraph 1
    text = "\n".join(
        p.extract_text() for p in pypdf.PdfReader(real_settings.mirror_dir / real_store.docs[UN].file).pages
    )
    preamble = text[text.index("The General Assembly,") : text.index(" 1. Resolves")]
    opening = (
        r"^ (?:Reaffirming|Recalling|Taking note|Recognizing|Noting|Welcoming|Acknowledging|Emphasizing|Stressing)"
    )
    count = len(re.findall(opening, preamble, flags=re.M))
    assert count == 9
    assert [x for x in labels if x.startswith("PP")] == [f"PP{n}" for n in range(1, count + 1)]
    by_para = {c.para: c for c in real_store.doc_chunks(UN)}
    assert by_para["PP1"].text.startswith("Reaffirming international law")
    assert by_para["6(c)"].text.startswith("(c) Encouraging the incorporation of feedback mechanisms")
    assert "evidence-based discovery" in by_para["6(c)"].text
    assert {by_para[x].section for x in ("PP1", "6(c)", "13")} == {
        "78/265. Seizing the opportunities of safe, secure and trustworthy artificial intelligence systems for "
        "sustainable development"
    }
    assert [(x, by_para[x].page) for x in ("PP1", "PP4", "4", "4(a)", "6(c)", "6(i)", "13")] == [
        ("PP1", 1), ("PP4", 2), ("4", 3), ("4(a)", 4), ("6(c)", 5), ("6(i)", 6), ("13", 8)
    ]  # fmt: skip


def test_hiroshima_principles_and_actions_1_to_11(real_store) -> None:
    eleven = [str(n) for n in range(1, 12)]
    for doc_id in (GP, COC):
        assert [x for x in _labels(real_store, doc_id) if not x.startswith("PP")] == eleven
    coc = {c.id: c for c in real_store.doc_chunks(COC)}
    assert coc[f"{COC}#1"].text.startswith("1 Take appropriate measures throughout the development")
    assert coc[f"{COC}#10"].page == 8
    gp = {c.id: c for c in real_store.doc_chunks(GP)}
    assert gp[f"{GP}#1"].page == 2 and "This includes employing diverse internal" in gp[f"{GP}#1"].text


def test_bletchley_texts_paragraphs_and_drop_cap(real_settings, real_store) -> None:
    decl = {c.para: c for c in real_store.doc_chunks("bletchley-declaration-2023")}
    assert _labels(real_store, "bletchley-declaration-2023")[:10] == [f"[{n}]" for n in range(1, 11)]
    assert decl["[1]"].page == 3 and decl["[1]"].text.startswith("Artificial Intelligence (AI) presents enormous")
    assert decl["[10]"].text.endswith("We look forward to meeting again in 2024.") and decl["[10]"].page == 5
    assert decl["[8]"].text.endswith("• building respective risk-based policies across our countries to ensure "
                                     "safety in light of such risks, collaborating as appropriate while recognising "
                                     "our approaches may differ based on national circumstances and applicable legal "
                                     "frameworks. This includes, alongside increased transparency by private actors "
                                     "developing frontier AI capabilities, appropriate evaluation metrics, tools for "
                                     "safety testing, and developing relevant public sector capability and scientific "
                                     "research.")  # fmt: skip
    # a list item that ends one page is not joined to the one that opens the next ("• Italy Japan" on pp. 5-6)
    assert "• Italy\n• Japan\n" in decl["[11]"].text
    testing = real_store.doc_chunks("bletchley-safety-testing-2023")
    assert testing[0].text.startswith("Meeting at Bletchley Park today, 2 November 2023")
    found = real_store.phrase([normalise("Meeting at Bletchley Park today")])
    assert [c.id for c in found] == [testing[0].id]
    hits = search(real_store, '"Meeting at Bletchley Park today"', real_settings, k=5)  # a quoted phrase
    assert hits[0].chunk.id == testing[0].id
    chair = {c.section for c in real_store.doc_chunks("bletchley-chair-statement-2023")}
    assert {"Introduction", "A time for action", "A shared challenge"} <= chair


def test_no_passage_carries_print_furniture_or_glued_footnote_numbers(real_store) -> None:
    for c in real_store.chunks:
        for bad in (*GLUED, *FURNITURE, *(OWN_FURNITURE if c.doc_id in NEW else ())):
            assert bad not in c.text, (c.id, bad)


def test_no_passage_carries_markup_or_a_remnant_of_a_cut_sentence(real_store) -> None:
    """The TTC's 2024 PDF leaks its web page's <span> tags; UN paragraphs are single sentences over the chunk bound,
    once cut at the last space before it ("marketplace, through critical investment, …;" alone)."""
    for c in real_store.chunks:
        assert not re.search(r"</?span|style=", c.text), c.id
        if re.search(r"~p[2-9]$", c.id) and c.text[:1].islower():  # a part that opens mid-sentence
            assert len(c.text) > 250, (c.id, c.text)
    ttc = {c.section for c in real_store.doc_chunks("ttc-2024-04")}
    assert "IV. Conclusion and Next Steps" in ttc  # underlined in leaked markup
    assert (
        "Transatlantic Cooperation on Standards for Critical and Emerging Technologies and Clean Energy Transition"
        in ttc
    )
    assert "Technologies and Clean Energy Transition" not in ttc  # a heading wrapped over two lines is one


def test_compare_aligns_principle_n_with_action_n(real_store, real_settings) -> None:
    r = compare_docs(real_store, GP, COC, real_settings)
    numbered = [(c.old, c.new, c.kind) for c in r.changes if any(x.isdigit() for x in (*c.old, *c.new))]
    assert [(o, n) for o, n, _k in numbered] == [((str(i),), (str(i),)) for i in range(1, 12)]
    assert r.warnings == ()
    one = next(c for c in r.changes if c.new == ("1",))
    added = " ".join(s.text for s in one.words if s.op == "+")
    assert "These measures should be documented" in added  # what the code adds to principle 1
    line = next(x for x in comparison_markdown(r).splitlines() if "¶1 → ¶1" in x)
    assert line.startswith("- **edited") and "**These measures should be documented" in line
    assert "**1**" not in line and not added.startswith("1")  # the action's number is not an addition


def _citations(found) -> list[str]:
    return [p.citation for p in found]


def test_precedent_finds_shared_language_across_g7_un_and_bletchley(real_store, real_settings) -> None:
    found = find_precedents(real_store, "safe, secure, and trustworthy AI", real_settings, k=10)
    docs = {p.doc_id for p in found}
    assert {UN, "g7-apulia-2024", "bletchley-chair-statement-2023"} <= docs and docs & {GP, COC}
    assert found[0].doc_id == UN  # adopted text first among equally close ones
    found = find_precedents(real_store, "human-centric", real_settings, k=10)
    cites = _citations(found)
    assert "A/RES/78/265 ¶PP6, p. 2" in cites
    assert {"Guiding Principles ¶9, p. 4", "Code of Conduct ¶9, p. 7", "Bletchley Declaration ¶[1], p. 3"} <= set(cites)


def test_the_chat_side_panel_opens_each_new_pdf_at_the_cited_page(real_settings, real_store) -> None:
    """A citation of any passage of the six PDFs gets a PDF viewer element on its own page, served by id."""
    from govassist.answer import Answer, to_citation
    from govassist.chat import pdf_pages
    from govassist.retrieve import Hit

    for doc_id in NEW:
        chunks = real_store.doc_chunks(doc_id)
        last = chunks[-1]  # the last passage: its page is past the first for every multi-page text
        hits = [Hit(c, real_store.docs[doc_id], 1.0, i) for i, c in enumerate((chunks[0], last), start=1)]
        a = Answer("q", "a", (), tuple(to_citation(i, h) for i, h in enumerate(hits, start=1)), True)
        names, pages = pdf_pages(a, real_store.docs, real_settings)
        assert set(names) == {1, 2}, doc_id
        viewer = {p.name: p for p in pages}[names[2]]
        assert last.page and viewer.page == last.page, (doc_id, last.page, viewer)
        assert viewer.url == f"/govassist/pdf/{doc_id}#page={last.page}"
        assert f"p. {last.page}" in names[2]
    assert {real_store.doc_chunks(d)[-1].page for d in NEW} != {1}  # pages really vary


def test_which_countries_signed_quotes_the_list_of_names(real_store, real_settings) -> None:
    from govassist.answer import ask

    a = ask(real_store, "Which countries signed the Bletchley Declaration?", real_settings)
    listed = [x for x in a.sentences if x.text.startswith("The countries represented were: • Australia • Brazil")]
    assert listed and "• Italy • Japan •" in listed[0].text
    cited = next(c for c in a.citations if c.key == listed[0].key)
    assert (cited.doc_id, cited.para, cited.page) == ("bletchley-declaration-2023", "[11]", 5)
