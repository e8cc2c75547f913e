"""Chainlit glue: per-session state, settings widgets, starters, sending replies with their side elements and
retrieval step, login, the feedback data layer, and the page's security headers. Imported only by app.py;
the logic it calls lives in `chat`, `chat_render` and `chat_feedback`."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.input_widget import MultiSelect, Select, Slider, Switch

from . import chat, chat_auth, chat_web
from . import chat_feedback as fb
from . import chat_render as r
from .errors import IndexMissingError
from .settings import load_settings

S = load_settings()
BRIEFINGS_KEPT = 50  # answers per session whose briefing note the button can still make
# The panel's own Reset button (Chainlit 2.12) puts back the values the panel had when it was opened, so after
# confirmed filters it keeps them: components/ChatSettings/index.tsx, handleReset = restoreSnapshot, which sets the
# values snapshotted at opening and sends the server nothing. This switch is the panel's way back to the defaults.
RESET = "reset_all"
RESET_TIP = (
    "Switch on to put every setting back to its default (no filters), then Confirm to apply it or Cancel to keep "
    "your current settings. The Undo edits button only undoes changes made since you opened this panel."
)


def _roles() -> tuple[str, ...]:
    """The user's roles as govassist.toml says now (re-read when it changed): asked at each chat and message."""
    user = cl.user_session.get("user")
    return chat_auth.roles_for(chat_auth.current(S), getattr(user, "identifier", None))


def _prefs() -> chat.Prefs:
    return cl.user_session.get("prefs") or chat.Prefs(k=S.k)


async def _store():
    return await asyncio.to_thread(chat.current_store, S)


def _widgets(docs: dict[str, Any]) -> list[Any]:
    count: dict[str, int] = {}
    for d in docs.values():
        if d.collection:
            count[d.collection] = count.get(d.collection, 0) + 1
    by_date = sorted(docs.values(), key=lambda d: (d.collection, d.date, d.id))
    items = {f"{d.label} ({d.date[:4] or 'undated'}, {d.status})": d.id for d in by_date}
    modes = chat.answer_modes(S)
    k_max = min(max(20, S.k), S.k_max)
    return [
        MultiSelect(id="collections", label="Collections", items={f"{c} ({n})": c for c, n in sorted(count.items())},
                    initial=[],
                    description="Search only these forums (none chosen: all)."),
        MultiSelect(id="documents", label="Documents", items=items, initial=[],
                    description="Search only these texts (none chosen: all)."),
        Select(id="status", label="Status", items=chat.status_choices(docs), initial_value="All texts",
               description="Texts counted among those you may search; a choice that keeps none is not offered."),
        Switch(id=RESET, label="Reset to defaults", initial=False, description=RESET_TIP),
        Slider(id="k", label="Passages retrieved", initial=S.k, min=1, max=k_max, step=1),
        Select(id="mode", label="Answer mode", values=list(modes), initial_value="extractive",
               description="extractive quotes the texts; llm rephrases (only when a model is configured)."),
    ]  # fmt: skip


async def starters(user: Any = None, language: str | None = None) -> list[cl.Starter]:
    """Starters about texts the index holds (`chat.starters`)."""
    try:
        roles = chat_auth.roles_for(chat_auth.current(S), getattr(user, "identifier", None))
        docs = chat.visible_docs(await _store(), roles)
    except Exception:
        return []
    return [cl.Starter(label=label, message=text) for label, text in chat.starters(docs)]


async def start() -> None:
    cl.user_session.set("prefs", chat.Prefs(k=S.k))
    try:
        store = await _store()
    except IndexMissingError:
        await cl.Message(r.NO_INDEX, type="system_message").send()
        return
    except Exception as exc:
        await _send(chat.error_reply(exc))
        return
    roles = _roles()
    await cl.ChatSettings(_widgets(chat.visible_docs(store, roles))).send()
    await cl.Message(chat.index_summary(store, roles, S), type="system_message").send()


async def settings_edit(values: dict[str, Any]) -> None:
    """A field changed in the open panel: "Reset to defaults" switched on shows every field at its default there
    (the widgets sent again, so their values are the defaults); Confirm applies them, Cancel keeps the settings."""
    if values.get(RESET):
        try:
            docs = chat.visible_docs(await _store(), _roles())
            await cl.ChatSettings(_widgets(docs)).refresh()  # the settings in force change only on Confirm
        except Exception as exc:
            await _send(chat.error_reply(exc))


async def settings_update(values: dict[str, Any]) -> None:
    if values.get(RESET):  # confirmed before the panel showed the defaults: the same, at once
        await clear_filters()
        return
    try:
        docs = chat.visible_docs(await _store(), _roles())
        cl.user_session.set("prefs", chat.prefs_from_values(values, S, docs))
    except Exception as exc:
        await _send(chat.error_reply(exc))


_COMMANDS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govassist-command")
BUSY_AT = 4  # heavy commands already waiting from which /precedent skips its by-meaning tier (one embedding each)
_waiting = 0  # heavy commands submitted and not finished (event-loop thread only)


async def _command(store: Any, text: str, roles: tuple[str, ...]) -> chat.Reply | None:
    """A command's reply. /precedent and /compare (costly) queue for their own worker thread, one at a time, so
    questions asked meanwhile keep the threads they use and the event loop is never held; with BUSY_AT or more
    waiting, /precedent skips the tier that embeds (a burst then costs what the wording tiers cost)."""
    if text.lower().startswith(chat.HEAVY_COMMANDS):
        global _waiting
        busy = _waiting >= BUSY_AT
        _waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                _COMMANDS, chat.run_command, store, text, S, roles, busy
            )
        finally:
            _waiting -= 1
    return await asyncio.to_thread(chat.run_command, store, text, S, roles)


async def message(msg: cl.Message) -> None:
    """One turn. Whatever goes wrong becomes a message; the session stays usable."""
    if msg.content.strip().lower() == "/clear":
        await clear_filters()
        return
    await _turn(msg.content)


async def _turn(text: str, new_question: bool = False) -> None:
    roles, prefs = _roles(), _prefs()
    try:
        store = await _store()
        reply = None if new_question else await _command(store, text.strip(), roles)
        if reply is None:
            reply = await _answer(store, text, prefs, roles, new_question)
    except Exception as exc:
        reply = chat.error_reply(exc)
    await _send(reply)


async def ask_new(action: cl.Action) -> None:
    """The "Ask as a new question" button under a follow-up: the same words, without the previous question."""
    question = str(action.payload.get("question", ""))[
        : chat_web.BODY_MAX_BYTES
    ]  # the payload comes back from the page
    if question:
        await _turn(question, new_question=True)


async def clear_filters(action: Any = None) -> None:
    """/clear and the "Clear filters" button: the settings back to their defaults (the panel shows them) and the
    previous question forgotten, so nothing carries into the next answer."""
    cl.user_session.set("prefs", chat.Prefs(k=S.k))
    cl.user_session.set("turn", None)
    try:
        await cl.ChatSettings(_widgets(chat.visible_docs(await _store(), _roles()))).send()
    except Exception as exc:
        await _send(chat.error_reply(exc))
        return
    await cl.Message(r.FILTERS_CLEARED).send()


async def _answer(
    store: Any, question: str, prefs: chat.Prefs, roles: tuple[str, ...], new_question: bool = False
) -> chat.Reply:
    prev = None if new_question else cl.user_session.get("turn")
    async with cl.Step(name="Retrieval", type="retrieval", show_input=False) as step:
        try:
            reply = await asyncio.to_thread(chat.answer_turn, store, question, S, prefs, roles, prev)
            step.output = reply.step
        except Exception as exc:
            reply = chat.error_reply(exc)
            step.output, step.is_error = "Retrieval failed; see the message below.", True
    if reply.turn is not None:
        cl.user_session.set("turn", reply.turn)
    return reply


OFFERS = {
    "ask_new": ("Ask as a new question", "Answer these words alone, without the previous question", "rotate-ccw"),
    "clear_filters": ("Clear filters", "Search every text you may read: settings back to their defaults", "x"),
}


def _actions(reply: chat.Reply) -> list[cl.Action]:
    out = []
    for name in reply.offers:
        label, tip, icon = OFFERS[name]
        payload = {"question": reply.turn.question} if name == "ask_new" and reply.turn else {}
        out.append(cl.Action(name=name, payload=payload, label=label, tooltip=tip, icon=icon))
    return out


async def _send(reply: chat.Reply) -> None:
    texts = [cl.Text(name=p.name, content=p.markdown, display="side") for p in reply.passages]
    pdfs = [cl.Pdf(name=p.name, url=p.url, page=p.page, display="side") for p in reply.pdfs]
    elements = [*texts, *pdfs] if texts or pdfs else []
    if texts and not _files_dir_ready():
        elements, texts = [*pdfs], []
    actions = _actions(reply)
    if reply.answer is not None:
        note = cl.Action(name="briefing", payload={}, label="Briefing note", tooltip="Download as .docx and .md")
        actions.append(note)
    out = cl.Message(content=reply.content, elements=elements, actions=actions)
    try:
        await out.send()
    except OSError as exc:  # the files folder vanished while sending: say so rather than show dead citations
        chat.log.warning("could not attach the cited passages: %s", exc)
        texts = []
    if reply.passages and not texts:
        await cl.Message(r.NOT_ATTACHED, type="system_message").send()
    if reply.answer is not None:
        kept = cl.user_session.get("briefings") or {}
        kept = {**dict(list(kept.items())[-(BRIEFINGS_KEPT - 1) :]), out.id: (reply.answer, reply.filters)}
        cl.user_session.set("briefings", kept)
    if texts:
        await _show_passages(texts, out.id)
    if reply.answer is not None and reply.turn is not None:
        user = getattr(cl.user_session.get("user"), "identifier", None)
        args = (out.id, reply.answer, reply.turn.query, reply.filters, reply.retrieval_ms, user, out.thread_id)
        args += (out.parent_id,)
        try:
            await asyncio.to_thread(fb.record_answer, fb.db_path(S.data_dir), *args)
        except Exception as exc:  # the answer is shown; losing its review record must not end the turn
            chat.log.warning("could not record the answer for review: %s", exc)


async def briefing(action: cl.Action) -> None:
    """The "Briefing note" button: the answer it sits under as a .docx and a .md file to download."""
    from . import briefing as b

    kept = (cl.user_session.get("briefings") or {}).get(action.forId)
    if kept is None:
        await cl.Message(content="This answer is no longer held in this session: ask the question again.").send()
        return
    answer, filters = kept
    store = await _store()
    note = await asyncio.to_thread(b.make_note, answer, store.docs, store.manifest, filters)
    docx = await asyncio.to_thread(b.note_docx, note)
    files = [
        cl.File(name=b.file_name(None, "docx"), content=docx, display="inline", mime=b.DOCX_MIME),
        cl.File(
            name=b.file_name(None, "md"), content=b.note_markdown(note).encode(), display="inline", mime="text/markdown"
        ),
    ]
    await cl.Message(content=f"Briefing note for “{r.inert(answer.question)}”:", elements=files).send()


async def _show_passages(texts: list[cl.Text], key: str) -> None:
    """Open the side panel on this answer's passages. Chainlit itself opens it on every side element of the
    conversation (PDFs included) as soon as new ones arrive; this replaces that once the page has them."""
    from chainlit.context import context

    await asyncio.sleep(0.3)
    await context.emitter.emit("set_sidebar_elements", {"elements": [t.to_dict() for t in texts], "key": key})
    await context.emitter.emit("set_sidebar_title", "Passages cited in this answer")


async def login(username: str, password: str) -> cl.User | None:
    roles = await asyncio.to_thread(chat_auth.check_login, chat_auth.current(S), username, password)
    return None if roles is None else cl.User(identifier=username, metadata={"roles": list(roles)})


def data_layer() -> Any:
    return fb.data_layer(fb.db_path(S.data_dir))


def _auth_secret() -> None:
    """Chainlit signs login tokens with CHAINLIT_AUTH_SECRET; without one, keep a generated one in data_dir."""
    if os.environ.get("CHAINLIT_AUTH_SECRET"):
        return
    path = S.data_dir / "chainlit_auth_secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    os.environ["CHAINLIT_AUTH_SECRET"] = path.read_text().strip()


def _files_dir_ready() -> bool:
    """Whether this session's files folder (where Chainlit keeps the side passages) exists or can be made."""
    try:
        from chainlit.context import context

        context.session.files_dir.mkdir(parents=True, exist_ok=True)
        return True
    except OSError as exc:
        chat.log.warning("the files folder cannot be written: %s", exc)
        return False


def own_files_dir(app_root: Path) -> Path:
    """A files folder for this server alone (`.files/<pid>`): Chainlit deletes its files folder when it stops,
    which, shared, would take another server's citation passages with it (`chainlit.config.FILES_DIRECTORY`)."""
    import chainlit.config
    import chainlit.server

    own = app_root / ".files" / str(os.getpid())
    own.mkdir(parents=True, exist_ok=True)
    chainlit.config.FILES_DIRECTORY = own  # read by each session (session.files_dir)...
    chainlit.server.FILES_DIRECTORY = own  # ...and removed by the server when it stops
    return own


def configure(app_root: Path) -> None:
    """Chainlit's page settings for govassist, the readme, and security headers on every response."""
    from chainlit.config import config

    own_files_dir(app_root)
    from chainlit.markdown import DEFAULT_MARKDOWN_STR
    from chainlit.server import app

    config.ui.name = "govassist"
    config.ui.description = "Cited answers from digital-governance texts"
    config.ui.default_theme = "light"
    config.ui.cot = "full"
    config.ui.default_sidebar_state = "hidden"
    config.features.unsafe_allow_html = False
    config.features.latex = False
    config.features.user_message_markdown = False  # a question is shown as typed, never as markup
    config.features.edit_message = False
    if config.features.spontaneous_file_upload is not None:
        config.features.spontaneous_file_upload.enabled = False
    readme = app_root / "chainlit.md"
    if not readme.exists() or readme.read_text(encoding="utf-8") == DEFAULT_MARKDOWN_STR:
        readme.write_text(r.HELP + "\n", encoding="utf-8")
    if S.auth_enabled:
        _auth_secret()
    chat_web.install(app, config, S.max_upload_mb, S.allowed_origins, S.data_dir, _pdf_for)


def _pdf_for(doc_id: str, user: str | None) -> Path | None:
    """The PDF /govassist/pdf/DOC_ID serves to this reader: only a document their roles allow."""
    try:
        store = chat.current_store(S)
    except Exception:
        return None
    roles = chat_auth.roles_for(chat_auth.current(S), user)
    return chat.pdf_path(chat.visible_docs(store, roles), S, doc_id)


async def warm() -> None:
    """Open the index and load the embedding model in the background: the page is served at once, and a question
    asked meanwhile waits for the model (seconds) instead of the whole server waiting before it listens."""

    def run() -> None:
        try:
            chat.warm(S)
        except Exception as exc:  # no index yet, or a broken one: the chat says so when a session starts
            chat.log.warning("warm-up skipped: %s", exc)

    threading.Thread(target=run, name="warm-up", daemon=True).start()
