"""The chat end to end: `chainlit run app.py` on loopback over the real corpus, driven in Debian's Chromium.

Every page request to another host is aborted and recorded (none may happen), screenshots and the measured
time from question to complete answer go to test-artifacts/. With GOVASSIST_TEST_SCREENSHOTS=docs/screenshots, the
pictures the README shows are refreshed there too (`keep`).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest

from govassist.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 180_000
WJ = "\u2060"
PAYLOAD = (
    "<script>window.__pwned = 1</script> <img src=http://evil.invalid/pixel.png onerror=window.__pwned=2> "
    "![tracker](http://evil.invalid/md.png) [click me](javascript:window.__pwned=3)"
)
EXTRA_CATALOG = """
[[doc]]
id = "hostile-fixture"
title = "Hostile fixture <img src=http://evil.invalid/title.png> **not bold**"
label = "Hostile <b>fixture</b>"
collection = "Fixtures"
date = "2024-02-02"
file = "hostile-fixture.html"

[[doc]]
id = "restricted-draft"
title = "Restricted negotiating draft (test fixture)"
label = "Restricted draft"
collection = "Fixtures"
date = "2024-03-03"
status = "draft"
restricted = ["negotiator"]
file = "restricted-draft.txt"
"""
HOSTILE_HTML = (  # entities, so the text extracted from the page carries the markup verbatim
    "<html><body><p>Hostile fixture, not an official text.</p><p>1. The quokka protocol on zebra data "
    f"portability {html.escape(PAYLOAD, quote=False)} shall apply to all quokka registries.</p></body></html>"
)
RESTRICTED_TEXT = (
    "Restricted negotiating draft, not an official text.\n\n"
    "1. Delegations shall treat the orbital debris zephyr clause as bracketed text pending consultations.\n"
)
USERS = {
    "nego": {"password": "correct horse", "roles": ["negotiator"]},
    "press": {"password": "pressroom", "roles": []},
}


# ---------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def chat_settings(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real corpus and index, plus a hostile and a restricted text (built incrementally: seconds)."""
    from govassist.store import build

    base = tmp_path_factory.mktemp("chat")
    shutil.copytree(real_settings.corpus_dir, base / "corpus")
    shutil.copytree(real_settings.index_dir, base / "indexes", symlinks=True)
    catalog = base / "corpus" / "catalog.toml"
    catalog.write_text(real_settings.catalog_file.read_text(encoding="utf-8") + EXTRA_CATALOG, encoding="utf-8")
    (base / "corpus" / "hostile-fixture.html").write_text(HOSTILE_HTML, encoding="utf-8")
    (base / "corpus" / "restricted-draft.txt").write_text(RESTRICTED_TEXT, encoding="utf-8")
    s = Settings(
        corpus_dir=base / "corpus",
        catalog_file=catalog,
        index_dir=base / "indexes",
        data_dir=base / "data",
        mirror_dir=real_settings.mirror_dir,
    )
    report = build(s, progress=False)
    assert set(report.embedded_docs) == {"hostile-fixture", "restricted-draft"}, report.embedded_docs
    return s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(s: Settings, workdir: Path, **extra_env: str) -> Iterator[str]:
    """Run the chat as `govassist run` does, on a free loopback port, until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVASSIST_", "CHAINLIT_"))}
    env.update(
        GOVASSIST_CORPUS_DIR=str(s.corpus_dir),
        GOVASSIST_CATALOG_FILE=str(s.catalog_file),
        GOVASSIST_INDEX_DIR=str(s.index_dir),
        GOVASSIST_DATA_DIR=str(s.data_dir),
        GOVASSIST_CONFIG=str(workdir / "no-such.toml"),
        HF_HUB_OFFLINE="1",
        **extra_env,
    )
    log = (workdir / "server.log").open("w")
    cmd = [sys.executable, "-m", "chainlit", "run", str(ROOT / "app.py"), "--headless", "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chat server exited with {proc.returncode}:\n{(workdir / 'server.log').read_text()[-3000:]}"
                )
            try:
                with urlopen(url + "/govassist/ready", timeout=2) as res:  # index open, model loaded
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chat server not up after 300 s:\n{(workdir / 'server.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


SERVER_DIR: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(chat_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    SERVER_DIR["open"] = tmp_path_factory.mktemp("open")
    with serve(chat_settings, SERVER_DIR["open"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---------------------------------------------------------------- a person at the page


class Chat:
    """One browser tab on the chat; records any request to another host (aborted) and any JS dialog."""

    def __init__(self, browser: object, url: str) -> None:
        self.url = url
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 950})
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _guard(self, route: object) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self) -> Chat:
        self.page.goto(self.url)
        self.page.wait_for_selector("#chat-input", timeout=60_000)
        self.page.wait_for_selector("text=The index holds", timeout=60_000)
        return self

    def ask(self, text: str) -> tuple[object, float]:
        """Send a question; return the reply message and the seconds until it was complete on the page."""
        n = self.page.locator(".ai-message").count()
        self.page.fill("#chat-input", text)
        t0 = time.perf_counter()
        self.page.click("#chat-submit")
        self.page.wait_for_function(
            "n => !document.querySelector('#stop-button') && document.querySelectorAll('.ai-message').length > n",
            arg=n,
            timeout=ANSWER_TIMEOUT_MS,
        )
        return self.page.locator(".ai-message").last, time.perf_counter() - t0

    def settings(self, collection: str) -> None:
        self.page.click("#chat-settings-open-modal")
        self.page.locator('#chat-settings input[placeholder="Select..."]').first.click()
        self.page.locator("[cmdk-item]", has_text=collection).first.click()
        self.page.click("#confirm")
        self.page.wait_for_selector("#chat-settings", state="detached")

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"chat-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


def keep(shot: Path, name: str) -> None:
    """Copy a screenshot to the folder GOVASSIST_TEST_SCREENSHOTS names (relative: to the checkout), if set, as a
    256-colour PNG: a page of text stays sharp at a fraction of the size (Pillow comes with matplotlib)."""
    folder = os.environ.get("GOVASSIST_TEST_SCREENSHOTS")
    if not folder:
        return
    from PIL import Image

    out = ROOT / folder  # an absolute folder stays as it is
    out.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as img:
        img.convert("RGB").quantize(colors=256).save(out / name, optimize=True)


def chips(message: object) -> list[str]:
    return [x.strip() for x in message.locator("a.element-link").all_inner_texts()]


def quoted(message: object) -> list[str]:
    """The quotes of an answer, verbatim: without the "…" that marks one starting within a sentence, nor the
    italic lines and lead-ins around them (a lead-in may itself hold a quoted title)."""
    plain = message.evaluate(
        "e => { const c = e.cloneNode(true); c.querySelectorAll('em').forEach(x => x.remove());"
        " document.body.appendChild(c); const t = c.innerText; c.remove(); return t; }"
    )
    return [q.removeprefix("…") for q in re.findall(r"“(.+?)”", plain)]


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- the tests


def test_cited_answer_side_panel_and_follow_up(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    chat.shot("1-welcome")
    msg, seconds = chat.ask("What did the G7 say about semiconductors?")
    cited = chips(msg)
    assert cited, msg.inner_text()
    sentences = quoted(msg)
    assert sentences, msg.inner_text()
    chat.shot("2-answer")
    msg.locator("a.element-link").first.click()
    title = chat.page.locator("#side-view-title")
    title.wait_for(timeout=15_000)
    assert title.inner_text().strip() == cited[0]
    panel = chat.page.locator("#side-view-content")
    panel.locator("blockquote").first.wait_for(timeout=15_000)
    shown = flat(panel.inner_text())
    assert flat(sentences[0]) in shown  # the quoted sentence is in the passage the citation opens
    assert "paragraph" in shown and re.search(r"\d{1,2} \w+ 20\d\d", shown)
    chat.shot("3-side-panel")
    follow, follow_s = chat.ask("and what did the TTC say about it in 2024?")
    labels = chips(follow)
    assert labels and all(x.startswith(("TTC Leuven 2024", "PDF TTC Leuven 2024")) for x in labels), labels
    assert "semiconductors" in follow.inner_text()  # "Follow-up read as: ... semiconductors"
    chat.shot("4-follow-up")
    assert chat.outside == [] and chat.dialogs == []
    timings = {"question_to_answer_s": round(seconds, 2), "follow_up_s": round(follow_s, 2)}
    (ARTIFACTS / "chat-timings.json").write_text(json.dumps(timings, indent=2))
    print(f"\nbrowser: question -> complete answer {seconds:.1f} s, follow-up {follow_s:.1f} s")
    chat.close()


def test_collection_filter_in_settings_limits_citations(server: str, browser: object, chat_settings) -> None:
    from govassist.catalog import load_catalog

    ttc = tuple(d.label for d in load_catalog(chat_settings.catalog_file) if d.collection == "TTC")
    chat = Chat(browser, server).open()
    chat.settings("TTC")
    msg, _ = chat.ask("What was agreed on artificial intelligence?")
    labels = chips(msg)
    assert labels, msg.inner_text()
    assert all(x.removeprefix("PDF ").startswith(ttc) for x in labels), labels
    chat.shot("5-filter-ttc")
    chat.close()


def test_hostile_text_in_corpus_and_question_stays_inert(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    question = f"What does the quokka protocol say about zebra data? {PAYLOAD}"
    msg, _ = chat.ask(question)
    assert any(x.startswith("Hostile") for x in chips(msg)), msg.inner_text()
    assert "<script>window.__pwned = 1</script>" in msg.inner_text()  # shown as text
    assert question in chat.page.locator("body").inner_text()  # the question, as typed
    msg.locator("a.element-link", has_text="Hostile").first.click()
    chat.page.locator("#side-view-content blockquote").first.wait_for(timeout=15_000)
    panel = chat.page.locator("#side-view-content").inner_text().replace(WJ, "")  # invisible joiners unlink URLs
    assert "![tracker](http://evil.invalid/md.png)" in panel
    chat.page.wait_for_timeout(1000)
    chat.shot("6-hostile")
    assert chat.page.evaluate("window.__pwned") is None
    assert chat.page.locator("img[src*='evil'], a[href^='javascript'], a[href*='evil']").count() == 0
    assert chat.page.evaluate("[...document.scripts].filter(s => s.text.includes('__pwned')).length") == 0
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


def test_a_failed_turn_leaves_the_session_usable_and_feedback_is_recorded(
    server: str, browser: object, chat_settings
) -> None:
    from govassist.chat_feedback import db_path, feedback_rows

    chat = Chat(browser, server).open()
    bad, _ = chat.ask("/compare no-such-doc gdc-nowhere")
    assert "⚠" in bad.inner_text() and "unknown document" in bad.inner_text()
    msg, _ = chat.ask("What do the spyware joint statements commit governments to do?")
    assert chips(msg), msg.inner_text()
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    dialog = chat.page.locator("[role=dialog] textarea")
    for _ in range(3):  # under load the message's actions may still be re-rendering when first clicked (CI, once)
        msg.hover()
        chat.page.locator(".negative-feedback-off").last.click()
        try:
            dialog.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:  # click again; a dialog that never opens fails below
            continue
    dialog.fill("missed the 2024 statement")
    chat.page.click("#submit-feedback")
    rows: list[dict] = []
    for _ in range(50):
        rows = feedback_rows(db_path(chat_settings.data_dir), bad_only=True)
        if rows:
            break
        time.sleep(0.2)
    assert rows and rows[0]["comment"] == "missed the 2024 statement"
    assert rows[0]["question"] == "What do the spyware joint statements commit governments to do?"
    assert rows[0]["citations"]
    chat.close()


def test_restricted_text_is_never_shown_without_login(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What about the orbital debris zephyr clause?")
    assert not any(x.startswith("Restricted") for x in chips(msg)), chips(msg)
    assert "zephyr clause as bracketed" not in chat.page.locator("body").inner_text()
    chat.close()


def test_login_and_roles(chat_settings: Settings, browser: object, tmp_path_factory) -> None:
    env = {"GOVASSIST_AUTH_ENABLED": "true", "GOVASSIST_USERS": json.dumps(USERS)}
    with serve(chat_settings, tmp_path_factory.mktemp("auth"), **env) as url:
        anon = Chat(browser, url)
        anon.page.goto(url)
        anon.page.wait_for_selector("#email", timeout=60_000)
        assert anon.page.locator("#chat-input").count() == 0
        anon.page.fill("#email", "nego")
        anon.page.fill("#password", "wrong")
        anon.page.click("button[type=submit]")
        anon.page.wait_for_timeout(1500)
        assert anon.page.locator("#chat-input").count() == 0
        anon.shot("7-login-refused")
        anon.close()
        seen = {}
        for user in ("press", "nego"):
            chat = Chat(browser, url)
            chat.page.goto(url)
            chat.page.fill("#email", user)
            chat.page.fill("#password", USERS[user]["password"])
            chat.page.click("button[type=submit]")
            chat.page.wait_for_selector("text=The index holds", timeout=60_000)
            msg, _ = chat.ask("What about the orbital debris zephyr clause?")
            seen[user] = any(x.startswith("Restricted draft") for x in chips(msg))
            chat.shot(f"8-logged-in-{user}")
            assert chat.outside == []
            chat.close()
        assert seen == {"press": False, "nego": True}


# ---------------------------------------------------------------- another origin (a small index: seconds)

PROBE = """async (base) => {
  const ws = await new Promise(resolve => {
    const out = {opened: false, data: []};
    const s = new WebSocket(base.replace('http', 'ws') + '/ws/socket.io/?EIO=4&transport=websocket');
    s.onopen = () => { out.opened = true; };
    s.onmessage = e => { out.data.push(String(e.data)); };
    s.onclose = () => resolve(out);
    setTimeout(() => { s.close(); resolve(out); }, 4000);
  });
  const get = async path => {
    try {
      const r = await fetch(base + path, {credentials: 'include'});
      return {status: r.status, body: await r.text()};
    } catch (e) { return {error: String(e)}; }
  };
  return {ws, user: await get('/user'), polling: await get('/ws/socket.io/?EIO=4&transport=polling')};
}"""


SMALL_DIR: dict[str, Path] = {}


@pytest.fixture(scope="module")
def small_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The synthetic corpus plus the restricted draft, hashing embedder, login on (its folder: SMALL_DIR)."""
    from conftest import make_mini_corpus

    from govassist.store import build

    base = tmp_path_factory.mktemp("small")
    corpus = make_mini_corpus(base / "corpus")
    restricted = "\n[[doc]]" + EXTRA_CATALOG.split("[[doc]]")[2]
    catalog = corpus / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + restricted, encoding="utf-8")
    (corpus / "restricted-draft.txt").write_text(RESTRICTED_TEXT, encoding="utf-8")
    s = Settings(corpus_dir=corpus, catalog_file=corpus / "catalog.toml", index_dir=base / "indexes",
                 data_dir=base / "data", embed_model="hash:256", mirror_dir=base / "no-mirror")  # fmt: skip
    build(s, progress=False)
    env = {"GOVASSIST_AUTH_ENABLED": "true", "GOVASSIST_USERS": json.dumps(USERS), "GOVASSIST_EMBED_MODEL": "hash:256",
           "GOVASSIST_MIN_RELEVANCE": "0.05"}  # fmt: skip
    SMALL_DIR["server"] = base / "server"
    with serve(s, base / "server", **env) as url:
        yield url


@contextmanager
def other_site() -> Iterator[str]:
    """A page served from another port of the same host (what item 1 of issue 17 used)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><p>another site</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def sign_in(page: object, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#email", user)
    page.fill("#password", USERS[user]["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("text=The index holds", timeout=60_000)


def test_a_page_of_another_origin_cannot_use_a_signed_in_readers_session(small_chat: str, browser: object) -> None:
    context = browser.new_context()
    chat = context.new_page()
    sign_in(chat, small_chat, "nego")
    own = chat.evaluate(PROBE, small_chat)  # the chat's own page: all three work (so the probe can tell)
    assert own["ws"]["opened"] and own["ws"]["data"][0].startswith("0{"), own
    assert own["user"]["status"] == 200 and '"nego"' in own["user"]["body"], own
    assert own["polling"]["status"] == 200 and own["polling"]["body"].startswith("0{"), own
    with other_site() as elsewhere:
        evil = context.new_page()
        evil.goto(elsewhere)
        got = evil.evaluate(PROBE, small_chat)
        print(f"\nother origin {elsewhere} -> {small_chat}: {got}")
        assert got["ws"] == {"opened": False, "data": []}, got
        assert "error" in got["user"] and "error" in got["polling"], got  # no readable answer, cookie or not
        (ARTIFACTS / "other-origin.json").write_text(json.dumps({"own": own, "other": got}, indent=2))
    context.close()
    reader = Chat(browser, small_chat)  # and the chat itself still answers a signed-in negotiator
    sign_in(reader.page, small_chat, "nego")
    msg, _ = reader.ask("What about the orbital debris zephyr clause?")
    assert any(x.startswith("Restricted draft") for x in chips(msg)), msg.inner_text()
    assert reader.outside == []
    reader.close()


def test_the_pdf_side_panel_opens_the_cited_page_served_once_by_id(small_chat: str, browser: object) -> None:
    chat = Chat(browser, small_chat)
    sign_in(chat.page, small_chat, "press")
    fetched: list[str] = []
    chat.page.on("request", lambda r: fetched.append(urlparse(r.url).path))
    msg, _ = chat.ask("critical minerals for batteries and quantum technologies")
    assert "PDF Syn. Report p. 2" in [x.replace("\u2063", "") for x in chips(msg)], chips(msg)
    msg.locator("a.element-link", has_text="PDF Syn. Report").first.click()
    chat.page.locator("#side-view-content .side-pdf").wait_for(timeout=15_000)
    chat.page.wait_for_selector("#side-view-content :text('2 / 2')", timeout=15_000)  # the viewer is at page 2
    chat.shot("9-pdf-page")
    assert "/govassist/pdf/syn-report" in fetched
    copies = [f for f in (SMALL_DIR["server"] / ".files").rglob("*") if f.is_file() and f.read_bytes()[:4] == b"%PDF"]
    assert copies == []  # Chainlit did not copy the PDF for this answer
    assert chat.outside == []
    chat.close()


# ---------------------------------------------------------------- issue 15: the chat a negotiator trusts at a glance

DFFT = "What is the G7 line on data free flow with trust and how should it be put into practice?"


def lead(message: object) -> str:
    """The message's lines before its first quoted sentence (the lines above the answer), as one line."""
    lines = [x.strip() for x in message.inner_text().splitlines() if x.strip()]
    first = next((i for i, x in enumerate(lines) if x.startswith("“")), len(lines))
    return flat(" ".join(lines[:first]))


def test_a_standalone_it_question_is_not_a_follow_up_and_a_short_one_is(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    chat.ask("What did the G7 say about artificial intelligence in 2021?")
    standalone, _ = chat.ask(DFFT)
    assert "Read with your previous question" not in standalone.inner_text()
    assert "2021" not in lead(standalone), lead(standalone)  # the earlier year filter is not inherited
    assert chips(standalone), standalone.inner_text()
    follow, _ = chat.ask("and in 2024?")
    head = lead(follow)
    assert head.startswith("Read with your previous question: “What is the G7 line on data free flow"), head
    assert "Filtered to: G7 · 2024 (named in your question: 2024; carried from your previous question: G7)" in head
    button = chat.page.get_by_role("button", name="Ask as a new question")
    button.last.wait_for(timeout=15_000)
    chat.shot("10-follow-up-line")
    n = chat.page.locator(".ai-message").count()
    button.last.click()
    chat.page.wait_for_function(
        "n => !document.querySelector('#stop-button') && document.querySelectorAll('.ai-message').length > n",
        arg=n,
        timeout=ANSWER_TIMEOUT_MS,
    )
    again = chat.page.locator(".ai-message").last
    assert "Read with your previous question" not in again.inner_text()
    assert "carried from your previous question" not in again.inner_text()
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


def test_filters_line_and_clearing_them(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    chat.settings("TTC")
    msg, _ = chat.ask("What was agreed on quantum?")
    assert lead(msg).startswith("Filtered to: TTC — clear with the Clear filters button or /clear"), lead(msg)
    msg.evaluate("e => e.scrollIntoView({block: 'start'})")  # the line at the top of the answer, in the picture
    chat.shot("11-filters-line")
    chat.page.get_by_role("button", name="Clear filters").last.click()
    chat.page.wait_for_selector("text=Filters cleared", timeout=30_000)
    chat.page.click("#chat-settings-open-modal")
    chat.page.wait_for_selector("#chat-settings", timeout=15_000)
    assert "TTC (" not in chat.page.locator("#chat-settings").inner_text()  # no collection chosen any more
    chat.page.keyboard.press("Escape")
    chat.page.wait_for_selector("#chat-settings", state="detached")
    after, _ = chat.ask("What was agreed on quantum?")
    assert "Filtered to" not in after.inner_text(), after.inner_text()
    named, _ = chat.ask("What did the G7 say about artificial intelligence in 2023?")
    assert "Filtered to: G7 · 2023 (named in your question: G7, 2023)" in lead(named), lead(named)
    chat.page.click("#chat-settings-open-modal")
    chat.page.wait_for_selector("#chat-settings", timeout=15_000)
    assert re.search(r"All texts \(\d+ texts\)", chat.page.locator("#chat-settings").inner_text())  # counted
    chat.page.keyboard.press("Escape")
    chat.close()


def test_reset_to_defaults_in_the_settings_panel(server: str, browser: object) -> None:
    """Chainlit's own Reset puts back the values the panel had when opened (so it keeps confirmed filters): it is
    labelled "Undo edits"; the panel's "Reset to defaults" switch shows the defaults, and Confirm applies them."""
    chat = Chat(browser, server).open()
    chat.settings("TTC")
    chat.page.click("#chat-settings-open-modal")
    chat.page.locator("#chat-settings #status").click()
    chat.page.get_by_role("option", name="Non-binding only").click()
    chat.page.click("#confirm")
    chat.page.wait_for_selector("#chat-settings", state="detached")
    panel = chat.page.locator("#chat-settings")
    chat.page.click("#chat-settings-open-modal")
    assert chat.page.get_by_role("button", name="Reset", exact=True).count() == 0  # named for what it does:
    chat.page.get_by_role("button", name="Undo edits", exact=True).click()  # Chainlit's Reset, the values at opening
    assert "TTC (" in panel.inner_text() and "Non-binding only (" in panel.inner_text()
    chat.page.click("#chat-settings #reset_all")
    chat.page.wait_for_function("() => !document.querySelector('#chat-settings').innerText.includes('TTC (')")
    assert re.search(r"All texts \(\d+ texts\)", panel.inner_text()), panel.inner_text()
    chat.page.get_by_role("button", name="Cancel").click()  # Cancel keeps the filters in force
    chat.page.wait_for_selector("#chat-settings", state="detached")
    kept, _ = chat.ask("What was agreed on quantum?")
    assert lead(kept).startswith("Filtered to: TTC · non-binding only — clear with"), lead(kept)
    chat.page.click("#chat-settings-open-modal")
    chat.page.click("#chat-settings #reset_all")
    chat.page.wait_for_function("() => !document.querySelector('#chat-settings').innerText.includes('TTC (')")
    chat.shot("13-reset-to-defaults")
    chat.page.click("#confirm")
    chat.page.wait_for_selector("#chat-settings", state="detached")
    # a question only non-TTC texts answer: under the old filters its citations would all be TTC ones
    after, _ = chat.ask("What do the texts say about the risks of frontier AI?")
    assert "Filtered to" not in after.inner_text() and chips(after), after.inner_text()
    assert not all(x.removeprefix("PDF ").startswith("TTC") for x in chips(after)), chips(after)  # all texts again
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


def test_nothing_found_is_said_plainly(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What did the TTC say about quantum in 2005?")  # no TTC text is that old
    text = flat(msg.inner_text())
    assert text.startswith("Filtered to: TTC · 2005 (named in your question: TTC, 2005)"), text
    assert "found nothing" in text and not chips(msg), text  # with Answer.support: the notice opens it (fast test)
    chat.close()


def test_closest_passages_are_announced_and_still_cited(server: str, browser: object) -> None:
    """No indexed text is of the G20 (`govassist ask --json`: support "closest"): the answer opens with the notice,
    and the closest passages are quoted with citations that open."""
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What did the G20 say about artificial intelligence?")
    text = flat(msg.inner_text())
    notice = "The indexed texts do not appear to address this directly; the closest passages are:"
    assert lead(msg) == f"⚠ Not addressed directly. {notice}", text[:300]  # the notice, then the quotes
    assert text.count("do not appear to address") == 1, text
    labels, sentences = chips(msg), quoted(msg)
    assert labels and sentences, text
    msg.evaluate("e => e.scrollIntoView({block: 'start'})")
    chat.shot("14-closest")
    msg.locator("a.element-link").first.click()
    chat.page.locator("#side-view-content blockquote").first.wait_for(timeout=15_000)
    assert chat.page.locator("#side-view-title").inner_text().strip() == labels[0]
    assert chat.outside == [] and chat.dialogs == []
    chat.close()


def test_a_catalogued_text_not_indexed_is_named_once(server: str, browser: object) -> None:
    """The GDC is catalogued, not indexed: the answer says so once (the answer package's notice), then what the
    indexed texts hold."""
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What does the Global Digital Compact say about AI governance?")
    text = flat(msg.inner_text())
    assert text.startswith("⚠ Not in the index. The Global Digital Compact (GDC)"), text[:300]
    assert text.count("is catalogued but not indexed here") == 1 and text.count("catalogued") == 1, text
    assert "Global Digital Compact" not in " ".join(chips(msg)) and chips(msg), text  # cited: indexed texts only
    assert chat.page.locator(".ai-message").last.locator("code", has_text="govassist corpus fetch").count() == 1
    chat.close()


def test_the_quoted_sentence_is_highlighted_in_the_side_panel(server: str, browser: object) -> None:
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What do the spyware joint statements commit governments to do?")
    first = quoted(msg)[0]
    msg.locator("a.element-link").first.click()
    strong = chat.page.locator("#side-view-content blockquote span.font-bold")  # Chainlit's **bold**
    strong.first.wait_for(timeout=15_000)
    # every sentence quoted from the paragraph is in bold (a paragraph cut in two is one passage: its first bold
    # sentence may be another quote, from the paragraph's first part)
    assert flat(first) in [flat(t) for t in strong.all_inner_texts()]
    chat.page.wait_for_timeout(500)  # the panel done sliding in, for the picture
    keep(chat.shot("12-highlight"), "answer-side-panel.png")
    chat.close()


def test_a_second_server_in_the_same_folder_leaves_the_first_ones_citations_working(
    server: str, browser: object, chat_settings: Settings
) -> None:
    chat = Chat(browser, server).open()
    msg, _ = chat.ask("What did the TTC say about semiconductors?")
    label = chips(msg)[0]
    files = {f for f in (SERVER_DIR["open"] / ".files").rglob("*") if f.is_file()}
    assert files  # the passages of this answer
    with serve(chat_settings, SERVER_DIR["open"]) as second:  # same folder, then stopped (it removes its files)
        assert second != server
    assert all(f.is_file() for f in files)  # the second server removed only its own folder
    msg.locator("a.element-link").first.click()
    panel = chat.page.locator("#side-view-content blockquote")
    panel.first.wait_for(timeout=15_000)
    assert flat(panel.first.inner_text()), label
    assert chat.page.locator("#side-view-title").inner_text().strip() == label
    later, _ = chat.ask("What did the G7 say about quantum?")
    later.locator("a.element-link").first.click()
    chat.page.locator("#side-view-content blockquote").first.wait_for(timeout=15_000)
    assert (SERVER_DIR["open"] / ".files").is_dir()
    chat.close()
