"""The chat's logic, free of Chainlit: settings -> filters, follow-up rewriting, commands, one turn -> a reply,
login checks, and the per-process store. `chat_ui` sends what these functions return."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import chat_render as r
from .answer import Answer, cite_label
from .answer import compose as compose_answer
from .catalog import DocMeta, inside
from .chat_auth import check_login as check_login  # re-exported: callers use chat.roles_for etc.
from .chat_auth import hash_password as hash_password
from .chat_auth import roles_for as roles_for
from .chat_auth import verify_password as verify_password
from .errors import GovassistError, QueryError
from .question import Turn, reading, scoped, search_turn, sides
from .retrieve import Filters, visible_docs
from .settings import Settings
from .store import Store, open_store

log = logging.getLogger("govassist.chat")

STATUS_CHOICES: dict[str, tuple[str, ...]] = {
    "All texts": (),
    "Adopted only": ("adopted",),
    "Drafts only": ("draft",),
    "Non-binding only": ("non-binding",),
    "Exclude drafts": ("adopted", "non-binding"),
}
COMPARE_LIMIT = 40  # changes listed per comparison in a chat message
PRECEDENT_MAX_WORDS = 40  # of a /precedent wording compared in the chat: the cost grows with its length...
PRECEDENT_DEPTH = 20  # ...and with the passages scored (this many by words, plus exact containment; no embedding)
HEAVY_COMMANDS = ("/precedent", "/compare")  # run one at a time, apart from questions (chat_ui)


@dataclass(frozen=True)
class Prefs:
    """What the user chose in the chat settings. Empty tuples mean everything."""

    collections: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    status: str = "All texts"
    k: int = 8
    mode: str = "extractive"


@dataclass(frozen=True)
class SidePassage:
    name: str
    markdown: str


@dataclass(frozen=True)
class PdfPage:
    """A PDF viewer for one cited page; the PDF itself is served by /govassist/pdf/DOC_ID (see `pdf_path`)."""

    name: str
    doc_id: str
    page: int | None

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"/govassist/pdf/{quote(self.doc_id, safe='')}#page={self.page or 1}"


@dataclass(frozen=True)
class Reply:
    """Everything one turn shows: the message, its side elements, and the retrieval step."""

    content: str
    passages: tuple[SidePassage, ...] = ()
    pdfs: tuple[PdfPage, ...] = ()
    step: str = ""
    retrieval_ms: float | None = None
    turn: Turn | None = None
    answer: Answer | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    error: bool = False
    offers: tuple[str, ...] = ()  # buttons under the answer: "ask_new" (a follow-up), "clear_filters"


# ---------------------------------------------------------------- the store, shared by every session


_store_lock = threading.Lock()
_stores: dict[tuple[str, str], Store] = {}


def current_store(s: Settings) -> Store:
    """The current index, opened once per process and reopened when a build switches `indexes/current`."""
    target = s.current_index.resolve()
    key = (str(s.index_dir.resolve()), str(target))
    with _store_lock:
        if key not in _stores:
            store = open_store(s)
            for old in [k for k in _stores if k[0] == key[0]]:
                del _stores[old]
            _stores[key] = store
        return _stores[key]


READY = threading.Event()  # set by `warm` once the index is open and the model loaded (GET /govassist/ready)


def warm(s: Settings) -> None:
    """Open the index and embed one query, so the model is loaded before the first person asks (then READY), and
    read or fill the quotable-sentence cache. Slow: the chat runs it in a background thread (`chat_ui.warm`)."""
    from .retrieve import query_vector
    from .sentvec import warm as warm_sentences

    store = current_store(s)
    query_vector(s, "digital cooperation")
    READY.set()
    try:  # usually read from the build's cache; anything missing is embedded now
        warm_sentences(s, [c.text for d in store.docs for c in store.doc_chunks(d)])
    except Exception as exc:  # a cache: answers embed their sentences on first use instead
        log.warning("quotable-sentence cache not filled: %s", exc)


def index_summary(store: Store, roles: tuple[str, ...], s: Settings) -> str:
    """The welcome message, counting only the texts and passages this reader may search."""
    per: dict[str, int] = {}
    docs = visible_docs(store, roles)
    for d in docs.values():
        per[d.collection or "Other"] = per.get(d.collection or "Other", 0) + 1
    passages = sum(len(store.doc_chunks(d)) for d in docs)
    return r.welcome_markdown(per, store.manifest.get("built_at", ""), passages, bool(s.llm_base_url))


# ---------------------------------------------------------------- settings -> prefs -> filters


def prefs_from_values(values: dict[str, Any], s: Settings, docs: dict[str, DocMeta]) -> Prefs:
    """Validate the chat settings the browser sent; anything out of range is a QueryError naming the range."""
    collections = {d.collection for d in docs.values()}
    cols = tuple(c for c in values.get("collections") or () if c in collections)
    ids = tuple(i for i in values.get("documents") or () if i in docs)
    status = values.get("status") or "All texts"
    status = status.split(" (")[0]  # a label with its count, from an older settings panel
    if status not in STATUS_CHOICES:
        raise QueryError(f"unknown status choice {status!r}: use one of {', '.join(STATUS_CHOICES)}")
    try:
        k = int(values.get("k", s.k))
    except (TypeError, ValueError) as exc:
        raise QueryError(f"the number of passages must be a whole number, got {values.get('k')!r}") from exc
    if not 1 <= k <= s.k_max:
        raise QueryError(f"the number of passages must be between 1 and {s.k_max} (GOVASSIST_K_MAX), got {k}")
    mode = values.get("mode") or "extractive"
    if mode not in answer_modes(s):
        raise QueryError(f"answer mode {mode!r} is not available: set GOVASSIST_LLM_BASE_URL to use the LLM")
    return Prefs(cols, ids, status, k, mode)


def status_choices(docs: dict[str, DocMeta]) -> dict[str, str]:
    """The status choices the settings offer, labelled with how many texts each keeps ("Adopted only (6 texts)");
    a choice that would keep no text is left out."""
    out = {}
    for name, statuses in STATUS_CHOICES.items():
        n = sum(1 for d in docs.values() if not statuses or d.status in statuses)
        if n:
            out[f"{name} ({n} text{'s' * (n != 1)})"] = name
    return out


STARTER_QUESTIONS = (  # (label, question, documents any one of which must be indexed for it to be offered)
    ("AI governance, G7", "What did the G7 leaders say about governing artificial intelligence?",
     ("g7-hiroshima-2023", "g7-hiroshima-ai-2023", "g7-apulia-2024")),
    ("Semiconductors, TTC", "What did the Trade and Technology Council agree on semiconductor supply chains?",
     ("ttc-2021-09", "ttc-2022-12", "ttc-2023-05", "ttc-2024-04")),
    ("Commercial spyware", "What do the spyware joint statements commit governments to do?",
     ("spyware-2023", "spyware-2024")),
    ("Internet shutdowns, DFI", "What does the Declaration for the Future of the Internet say about shutdowns?",
     ("dfi-2022",)),
    ("Frontier AI risks, Bletchley", "What did the Bletchley declaration say about frontier AI risks?",
     ("bletchley-declaration-2023",)),
    ("AI and human rights, UN", "What does the UN General Assembly resolution on AI say about human rights?",
     ("unga-78-265-2024",)),
)  # fmt: skip


def compare_example(docs: dict[str, DocMeta]) -> tuple[str, str] | None:
    """The two most recent indexed versions of the family with the most indexed versions (an example to compare)."""
    families: dict[str, list[DocMeta]] = {}
    for d in docs.values():
        if d.family:
            families.setdefault(d.family, []).append(d)
    best = max(families.values(), key=lambda m: (len(m), max(x.date for x in m)), default=[])
    if len(best) < 2:
        return None
    old, new = sorted(best, key=lambda d: (d.date, d.id))[-2:]
    return old.id, new.id


def starters(docs: dict[str, DocMeta]) -> list[tuple[str, str]]:
    """The starter questions and commands, offered only where the index holds the texts they ask about."""
    out = [(label, q) for label, q, needs in STARTER_QUESTIONS if any(i in docs for i in needs)][:4]
    pair = compare_example(docs)
    if pair:
        out.append((f"Compare {docs[pair[0]].label} and {docs[pair[1]].label}", f"/compare {pair[0]} {pair[1]}"))
    out.append(("Precedent: data free flow", "/precedent data free flow with trust"))
    return out


def answer_modes(s: Settings) -> tuple[str, ...]:
    return ("extractive", "llm") if s.llm_base_url else ("extractive",)


def filters_for(prefs: Prefs, turn: Turn, roles: tuple[str, ...]) -> tuple[Filters, list[str]]:
    """The filters of one turn and their description. A forum named in the question wins over the collection
    setting for that turn (said in the notes), unless documents were chosen."""
    notes: list[str] = []
    f = scoped(turn, Filters(prefs.collections, prefs.doc_ids, STATUS_CHOICES[prefs.status], roles=roles))
    cols = f.collections
    if prefs.collections and set(cols) != set(prefs.collections):
        notes.append(f"the question names {', '.join(turn.collections)}, so the collection setting is set aside")
    desc = []
    if cols:
        desc.append("collection " + ", ".join(cols))
    if prefs.doc_ids:
        desc.append("documents " + ", ".join(prefs.doc_ids))
    if f.statuses:
        desc.append(prefs.status.lower())
    if turn.date_from or turn.date_to:
        desc.append(f"dated {turn.date_from or '…'} to {turn.date_to or '…'}")
    return f, desc + notes


# ---------------------------------------------------------------- one turn


def pdf_pages(a: Answer, docs: dict[str, DocMeta], s: Settings) -> tuple[dict[int, str], tuple[PdfPage, ...]]:
    """For citations of PDF sources: the name of the PDF element each cites, and one element per page."""
    names: dict[int, str] = {}
    pages: dict[str, PdfPage] = {}
    for c in a.citations:
        if c.doc_id in docs and pdf_path(docs, s, c.doc_id) is not None:
            name = r.element_name(f"PDF {docs[c.doc_id].label} p. {c.page or 1}")
            names[c.key] = name
            pages.setdefault(name, PdfPage(name, c.doc_id, c.page))
    return names, tuple(pages.values())


def pdf_path(docs: dict[str, DocMeta], s: Settings, doc_id: str) -> Path | None:
    """The PDF file of a document among `docs` (those the reader may see), or None."""
    doc = docs.get(doc_id)
    if doc is None or not doc.file.lower().endswith(".pdf"):
        return None
    path = s.corpus_dir / doc.file
    return path if path.is_file() and not path.is_symlink() and inside(path, s.corpus_dir) else None


def answer_turn(store: Store, question: str, s: Settings, prefs: Prefs, roles: tuple[str, ...], prev: Turn | None):
    """Understand, retrieve, answer and render one question, all from one index version. Errors propagate (see
    `error_reply`)."""
    with store.pinned():
        return _answer_turn(store, question, s, prefs, roles, prev)


def _answer_turn(store: Store, question: str, s: Settings, prefs: Prefs, roles: tuple[str, ...], prev: Turn | None):
    docs = visible_docs(store, roles)
    turn = reading(question, prev, docs)
    f, desc = filters_for(prefs, turn, roles)
    t0 = time.perf_counter()
    hits = search_turn(store, turn, f, s, k=prefs.k)
    ms = (time.perf_counter() - t0) * 1000
    # the answer decides its support flag and whether the query names a catalogued text the index lacks (not_indexed)
    a = compose_answer(
        turn.query, hits, s, prefs.mode, indexed=store.docs, doc_chunks=store.doc_chunks, sides=sides(turn, f)
    )
    # named by their citations: a paragraph indexed in parts is one citation showing it whole (answer.by_paragraph)
    names = dict(zip([c.key for c in a.citations], r.unique_names(c.citation for c in a.citations)))
    pdf_names, pdfs = pdf_pages(a, docs, s)
    notes = ["Nothing matched within these filters: " + "; ".join(desc)] if not a.found and _filtered(f) else []
    content = r.answer_markdown(a, names, pdf_names, docs, notes, lead_lines(prefs, turn, f, docs))
    quotes = {c.key: [x.text for x in a.sentences if x.key == c.key] for c in a.citations}
    side = tuple(
        SidePassage(names[c.key], r.passage_markdown(c, docs.get(c.doc_id), quotes[c.key])) for c in a.citations
    )
    step = r.retrieval_markdown(turn.query, desc, [(cite_label(h.doc, h.chunk), h.score) for h in hits], ms)
    record = {k: v for k, v in f.__dict__.items() if v}
    offers = (("ask_new",) if turn.followup else ()) + (("clear_filters",) if _filtered(f) else ())
    return Reply(content, side, pdfs, step, ms, turn, a, record, offers=offers)


def _filtered(f: Filters) -> bool:
    return bool(f.collections or f.doc_ids or f.statuses or f.date_from or f.date_to)


def _years_of(start: str, end: str) -> str:
    a, b = start[:4], end[:4]
    if a and b:
        return a if a == b else f"{a}–{b}"
    return f"from {a}" if a else (f"until {b}" if b else "")


def lead_lines(prefs: Prefs, turn: Turn, f: Filters, docs: dict[str, DocMeta]) -> list[str]:
    """The lines above an answer: how a follow-up was read, and the filters in force with where each came
    from (the settings, the question, or the previous question) and how to clear them."""
    lines = []
    if turn.followup:
        lines.append(
            r.lead_line("Read with your previous question:", f"“{turn.previous}” — searched as “{turn.query}”")
        )
    if not _filtered(f):
        return lines
    parts = [*f.collections, *(docs[i].label if i in docs else i for i in f.doc_ids)]
    years = _years_of(f.date_from, f.date_to)
    parts += [years] if years else []
    parts += [prefs.status.lower()] if f.statuses else []
    texts = [docs[i].label for i in turn.texts if i in docs and i in f.doc_ids]  # named alone, or carried
    named = [x for x in turn.named if x in f.collections or x in years] + ([] if turn.followup else texts)
    carried = [x for x in parts if turn.followup and x not in named and x not in prefs.collections]
    carried = [x for x in carried if x in turn.collections or x == years or x in texts]
    where = []
    if named:
        where.append("named in your question: " + ", ".join(named))
    if carried:
        where.append("carried from your previous question: " + ", ".join(carried))
    text = " · ".join(parts) + (f" ({'; '.join(where)})" if where else "")
    return [*lines, r.lead_line("Filtered to:", f"{text} — clear with the Clear filters button or /clear")]


def precedent_wording(text: str) -> tuple[str, bool]:
    """The wording /precedent compares in the chat (at most PRECEDENT_MAX_WORDS words) and whether it was cut."""
    words = text.split()
    return (" ".join(words[:PRECEDENT_MAX_WORDS]), True) if len(words) > PRECEDENT_MAX_WORDS else (text, False)


def error_reply(exc: BaseException) -> Reply:
    """A turn that failed: our own errors say what to do; anything else is logged and named, never fatal."""
    if isinstance(exc, GovassistError):
        return Reply(f"⚠ {r.inert(str(exc))}", error=True)
    log.exception("chat turn failed", exc_info=exc)
    return Reply(
        f"⚠ This turn failed ({type(exc).__name__}); the conversation is still open. Try again or rephrase, "
        "and tell the staff if it keeps happening (the server log has the details).",
        error=True,
    )


# ---------------------------------------------------------------- commands


def run_command(store: Store, text: str, s: Settings, roles: tuple[str, ...], busy: bool = False) -> Reply | None:
    """`/compare`, `/precedent`, `/docs`, `/help`; None when the text is not a command. `busy` (many commands
    waiting): /precedent skips its by-meaning tier, the one part that embeds, and says so."""
    if not text.startswith("/"):
        return None
    name, _, rest = text[1:].strip().partition(" ")
    name, rest = name.lower(), rest.strip()
    limit = Filters(roles=roles)
    if name == "help":
        return Reply(r.help_markdown(compare_example(visible_docs(store, roles))))
    if name == "docs":
        return Reply(r.docs_markdown(visible_docs(store, roles).values()))
    if name == "compare":
        args = rest.split()
        try:
            from .compare import run_compare
        except ImportError:
            return Reply("⚠ `/compare` is not available in this installation (govassist.compare is missing).")
        families = {d.family for d in visible_docs(store, roles).values() if d.family}
        if len(args) == 1 and args[0] in families:
            _, md, _w = run_compare(store, s, family=args[0], filters=limit, limit=COMPARE_LIMIT)
        elif len(args) >= 2:
            topic = " ".join(args[2:]) or None
            _, md, _w = run_compare(store, s, args[0], args[1], topic=topic, filters=limit, limit=COMPARE_LIMIT)
        else:
            raise QueryError("give two document ids and an optional topic: /compare OLD NEW [topic] (see /docs)")
        return Reply(r.unlinked(md))  # corpus text: escaped by compare, but URLs would still become links
    if name == "precedent":
        try:
            from .precedent import find_precedents, precedents_markdown
        except ImportError:
            return Reply("⚠ `/precedent` is not available in this installation (govassist.precedent is missing).")
        wording, cut = precedent_wording(rest)
        found = find_precedents(
            store,
            wording,
            s,
            k=min(10, s.k_max),
            filters=limit,
            depth=PRECEDENT_DEPTH,
            dense=False,
            semantic=0 if busy else 5,
        )
        note = f"*Compared the first {PRECEDENT_MAX_WORDS} words of your wording (the CLI compares all).*\n\n"
        notes = (note if cut else "") + (r.PRECEDENT_BUSY if busy else "")
        return Reply(notes + r.unlinked(precedents_markdown(found, wording)))
    raise QueryError(f"unknown command /{name}: the commands are /compare, /precedent, /docs, /clear and /help")
