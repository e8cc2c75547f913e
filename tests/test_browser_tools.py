"""The chat's tools in Chromium on the real corpus: a topic /compare that fits the message column, the
/precedent paraphrase tier, and the briefing note downloaded from the button under an answer. Screenshots and
the measured widths go to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from test_browser import ARTIFACTS, Chat, browser, flat, keep, serve  # noqa: F401  (browser: the shared fixture)

from govassist.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BLOCKS = "p, blockquote, div, table, pre, ul, ol, li, h1, h2, h3, h4"


@pytest.fixture(scope="module")
def tools_server(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(real_settings, tmp_path_factory.mktemp("tools")) as url:
        yield url


def _layout(msg: object) -> dict:
    """Widths of the message, of the column it sits in (its content box), and how far any block inside reaches."""
    return msg.evaluate(
        """(m, blocks) => {
            const col = m.closest('.mx-auto');
            const cs = getComputedStyle(col);
            const box = m.getBoundingClientRect(), c = col.getBoundingClientRect();
            const inner = [...m.querySelectorAll(blocks)].map(e => e.getBoundingClientRect());
            return {
                message: box.width,
                column: c.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
                column_left: c.left + parseFloat(cs.paddingLeft), message_left: box.left,
                widest_block_right: Math.max(...inner.map(r => r.right)), message_right: box.right,
                tables: m.querySelectorAll('table').length,
                overflowing: [...m.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1
                    && getComputedStyle(e).overflowX !== 'visible').length,
            };
        }""",
        BLOCKS,
    )


def test_topic_compare_is_no_wider_than_the_message_column(tools_server: str, browser: object) -> None:  # noqa: F811
    chat = Chat(browser, tools_server).open()
    msg, _s = chat.ask("/compare ttc-2023-05 ttc-2024-04 AI")
    text = msg.inner_text()
    assert "TTC Luleå 2023" in text and "TTC Leuven 2024" in text, text[:500]
    assert "reworded" in text and "Reworded, similar in meaning" in text  # evolved language paired by meaning
    assert " unchanged, " in text and " added, " in text and " dropped" in text  # the plain summary line
    m = _layout(msg)
    assert m["tables"] == 0
    assert m["message"] <= m["column"] + 1 and m["message_left"] >= m["column_left"] - 1, m
    assert m["widest_block_right"] <= m["message_right"] + 1, m
    assert m["overflowing"] == 0, m
    (ARTIFACTS / "chat-tools-compare-width.json").write_text(json.dumps(m, indent=2))
    msg.scroll_into_view_if_needed()
    chat.page.evaluate("m => m.scrollIntoView({block: 'start'})", msg.element_handle())
    keep(chat.shot("tools-topic-compare"), "topic-compare.png")
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


def test_precedent_paraphrase_tier(tools_server: str, browser: object) -> None:  # noqa: F811
    chat = Chat(browser, tools_server).open()
    msg, _s = chat.ask("/precedent human rights must be protected online just as they are offline")
    text = flat(msg.inner_text())
    assert "Same commitment in other words" in text, text[:800]
    assert "ASEAN-U.S. Digital Statement ¶PP8" in text and "similarity 0." in text
    chat.page.evaluate("m => m.scrollIntoView({block: 'start'})", msg.element_handle())
    chat.shot("tools-precedent-paraphrase")
    dfft, _s = chat.ask("/precedent free flow of data with trust")
    found = flat(dfft.inner_text())
    assert "Near-verbatim" in found and "Same commitment in other words" in found
    assert found.count("Communiqué") >= 2  # more than one hit
    chat.close()


def test_briefing_note_downloads_from_the_answer(tools_server: str, browser: object) -> None:  # noqa: F811
    from docx import Document

    chat = Chat(browser, tools_server).open()
    msg, _s = chat.ask("Which countries joined the spyware statement in 2024?")
    button = msg.get_by_role("button", name="Briefing note")
    button.wait_for(timeout=15_000)
    n = chat.page.locator(".ai-message").count()
    button.click()
    chat.page.wait_for_function("n => document.querySelectorAll('.ai-message').length > n", arg=n, timeout=60_000)
    note = chat.page.locator(".ai-message").last
    link = note.locator("a", has_text=".docx").first
    link.wait_for(timeout=30_000)
    chat.shot("tools-briefing-note")
    with chat.page.expect_download() as dl:
        link.click()
    path = ARTIFACTS / "chat-tools-briefing-note.docx"
    dl.value.save_as(path)
    assert dl.value.suggested_filename.startswith("briefing-") and dl.value.suggested_filename.endswith(".docx")
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "Question: Which countries joined the spyware statement in 2024?" in text
    assert "Finland" in text and "Spyware Joint Statement 2024 ¶[1]" in text
    with chat.page.expect_download() as dl:
        note.locator("a", has_text=".md").first.click()
    md = Path(dl.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# Briefing note") and "Finland" in md
    page = chat.context.new_page()  # the note as a reader would print it: its markdown as a plain page
    page.set_content(NOTE_PAGE.format(body=MarkdownIt("commonmark", {"html": False}).render(md)))
    assert "Spyware Joint Statement 2024 ¶[1]" in page.inner_text("body")
    shot = ARTIFACTS / "chat-tools-briefing-note-page.png"
    page.set_viewport_size({"width": 900, "height": 1000})
    page.screenshot(path=str(shot), full_page=True)
    keep(shot, "briefing-note.png")
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


NOTE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font: 15px/1.5 sans-serif; max-width: 820px; margin: 24px auto; padding: 0 16px; color: #222; }}
blockquote {{ border-left: 3px solid #bbb; margin: 8px 0; padding: 2px 12px; color: #333; }}
h1 {{ font-size: 24px; }} h2 {{ font-size: 19px; margin-top: 22px; }} h3 {{ font-size: 16px; }}
</style></head><body>{body}</body></html>"""
