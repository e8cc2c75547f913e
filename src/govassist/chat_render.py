"""Markdown for the chat, built so that nothing from the corpus or the user can become markup.

Every string that comes from a text or a person goes through `inert`, which backslash-escapes all ASCII
punctuation: no HTML, link, image, autolink, heading, list or code syntax survives. Citation labels become
element names through `element_name`, which drops the characters that could change how Chainlit turns a
name into a clickable chip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .answer import CLOSEST_LEAD, DIRECT, Answer, Citation
from .answer.records import quote_text, with_lead
from .catalog import DocMeta
from .chunk import para_words, plain_para
from .text import long_date, without_opening

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp):(?=/)|\bmailto(?=:)|\bwww(?=\.)|(?=@)")
WJ = "\u2060"  # word joiner: invisible, and breaks what GFM would turn into a link (URLs, www., e-mail)
MARK = "\u2063"  # invisible separator: ends every element name, removed from every text (see element_name)
_NAME_DROP = re.compile(r"[\\`*_<>!~$|#{}\"]")


def unlinked(markdown: str) -> str:
    """Markdown (already escaped, e.g. /compare's or /precedent's) in which no bare URL, www. or e-mail address
    becomes a live link, no Chainlit alert box opens and no citation chip can be forged."""
    text = str(markdown).replace("\u200b", "").replace("\r", "").replace(MARK, "")  # U+200B: a typing cursor
    text = text.replace(":::", ": ::")  # ":::type" opens a Chainlit alert box, even when escaped
    return _AUTOLINK.sub(lambda m: m.group(0) + WJ, text)  # GFM links bare URLs after parsing, whatever the escapes


def inert(text: str) -> str:
    """Text that markdown shows literally, on one or more lines (no line can start a block construct,
    no URL or e-mail address becomes a link, nothing reproduces an element name: see `element_name`)."""
    return "\n".join(_PUNCT.sub(r"\\\1", line.strip()) for line in unlinked(text).split("\n"))


def element_name(label: str) -> str:
    """A citation label as a Chainlit element name: shown verbatim in the message, with no markup character.

    Chainlit turns every occurrence of an element's name in the message into a chip, so the name ends with
    MARK, an invisible character that `inert` removes from every text: corpus text quoting "TTC College Park
    2022 ¶PP15" cannot become the chip of that citation. Square brackets are kept only when balanced
    (unnumbered paragraphs are cited as "¶[12]").
    """
    name = _NAME_DROP.sub("", re.sub(r"<[^>]*>", " ", label.replace(MARK, ""))).replace("&", "＆")
    if name.count("[") != name.count("]") or "](" in name:
        name = name.replace("[", "").replace("]", "")
    return (re.sub(r"\s+", " ", name).strip() or "passage") + MARK


def unique_names(labels: Iterable[str]) -> list[str]:
    """Element names for labels, made unique within one message ("… (2)")."""
    out: list[str] = []
    for label in labels:
        name, n = element_name(label), 2
        while name in out:
            name = element_name(f"{label} ({n})")
            n += 1
        out.append(name)
    return out


def _escape(segment: str) -> str:
    """`inert` for a piece of one line, keeping its spaces (the pieces of a line are joined again)."""
    return _PUNCT.sub(r"\\\1", unlinked(segment))


def _spans(text: str, quotes: Iterable[str]) -> list[tuple[int, int]]:
    """Where each quoted sentence stands in the passage (whitespace may differ), as sorted, disjoint spans."""
    found: list[tuple[int, int]] = []
    for q in quotes:
        words = q.split()
        if not words:
            continue
        m = re.search(r"\s+".join(re.escape(w) for w in words), text)
        if m and not any(a < m.end() and m.start() < b for a, b in found):
            found.append(m.span())
    return sorted(found)


def marked(text: str, quotes: Iterable[str] = ()) -> list[str]:
    """The passage as inert markdown lines, each quoted sentence in bold (the highlight of the side panel)."""
    spans = _spans(text, quotes)
    if not spans:
        return inert(text).split("\n")
    out, pos, line = [], 0, ""
    pieces: list[tuple[str, bool]] = []
    for a, b in spans:
        pieces += [(text[pos:a], False), (text[a:b], True)]
        pos = b
    pieces.append((text[pos:], False))
    for piece, bold in pieces:
        for i, part in enumerate(piece.split("\n")):
            if i:
                out.append(line.strip())
                line = ""
            if bold and part.strip():
                lead, core, trail = part[: len(part) - len(part.lstrip())], part.strip(), part[len(part.rstrip()) :]
                line += f"{lead}**{_escape(core)}**{trail}"
            else:
                line += _escape(part)
    out.append(line.strip())
    return out


def passage_markdown(c: Citation, doc: DocMeta | None, quotes: Iterable[str] = ()) -> str:
    """The side panel for one cited passage: where it is from, then the passage verbatim, the sentences the
    answer quotes from it in bold."""
    where = [inert(para_words(c.para))]
    if c.page:
        where.append(f"page {c.page}")
    facts = [inert(long_date(c.date)), inert(c.status)]
    if doc and doc.collection:
        facts.insert(0, inert(doc.collection))
    lines = [
        f"#### {inert(c.citation)}",
        "",
        f"**{inert(c.title)}**",
        "",
        f"{' · '.join(where)} — {' · '.join(facts)}",
    ]
    if c.section and not plain_para(c.para)[0].startswith(c.section):  # a label naming its heading says it already
        lines += ["", f"*Section:* {inert(c.section)}"]
    lines += ["", *(f"> {line}" for line in marked(c.text, quotes))]
    if c.also_in:
        lines += ["", f"*The same text also appears in:* {inert(', '.join(c.also_in))}"]
    return "\n".join(lines)


CLOSEST = CLOSEST_LEAD  # the composer's opening line of a `closest` answer
PRECEDENT_BUSY = (
    "*The server is busy: only the wording tiers were searched (verbatim, near-verbatim); ask again for the same "
    "commitment in other words.*\n\n"
)
NOTICES = ("⚠ **Not addressed directly.**", "⚠ **No answer in the indexed texts.**")  # support notices, not errors
NOT_INDEXED = "⚠ **Not in the index.**"  # opens `Answer.not_indexed`: a text the question names is not indexed


def support_notice(a: Answer) -> tuple[str, str]:
    """The notice that opens an answer the texts do not support directly (`Answer.support`: direct, closest or
    none), and the opening of the composer's text it replaces (so it is not shown twice): a `closest` text opens
    with CLOSEST and goes on with the quotes on the same line; a `none` text may open with its own first line."""
    support = getattr(a, "support", "direct")
    text = without_opening(a.text.strip(), a.not_indexed)
    if support == "closest":
        return f"{NOTICES[0]} {inert(CLOSEST)}", CLOSEST if text.startswith(CLOSEST) else ""
    if support != "none":
        return "", ""
    first = text.split("\n")[0].strip()
    taken = first if first.startswith("The indexed texts") else ""
    return f"{NOTICES[1]} {inert(taken)}".rstrip(), taken


def with_code(text: str) -> str:
    """One line of inert text in which `…` spans (commands, file names) stay code spans."""
    parts = unlinked(text.replace("\n", " ")).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: all of it as text
        return _escape(text.replace("\n", " "))
    return "".join(f"`{x}`" if i % 2 and x.strip() else _escape(x) for i, x in enumerate(parts))


def lead_line(label: str, text: str) -> str:
    """One line above an answer (a follow-up reading, the filters): a bold label, then inert text."""
    return f"**{inert(label)}** {inert(text)}"


def answer_markdown(
    a: Answer,
    names: dict[int, str],
    pdf_names: dict[int, str],
    docs: dict[str, DocMeta],
    notes: Iterable[str] = (),
    lead: Iterable[str] = (),
) -> str:
    """The answer: `lead` lines (markdown: the follow-up reading, filters), the support notice, each sentence with
    its citation chip, then the sources with title, date and status."""
    notice, taken = support_notice(a)
    missing = a.not_indexed  # decided by the answer (answer.compose), shown once: not again from its notes or text
    after = a.found and a.support == DIRECT  # a text about it answers (the DFI fact sheet): the notice comes last
    warning = [f"{NOT_INDEXED} {with_code(missing)}"] if missing else []
    head = [*lead, *([] if after else warning), *([notice] if notice else [])]
    head += [f"*{inert(n)}*" for n in (*notes, *a.notes) if n.strip() not in (taken, missing)]
    if not a.found:
        rest = without_opening(without_opening(a.text.strip(), missing), taken)
        return "\n\n".join([*head, *([inert(rest)] if rest else [])])
    verbatim = a.mode == "extractive"
    body = []
    for s in a.sentences:
        text = f"“{inert(quote_text(s))}”" if verbatim else inert(s.text)
        if verbatim:  # a lead-in in italics, outside the quote: "*… commit to:* […] “engaging …”"
            text = with_lead(s, text, lambda x: f"*{inert(x)}*")
        body.append(f"{text} {names[s.key]}")
    how = (
        "Quoted verbatim from the texts; click a citation to read the passage."
        if verbatim
        else "Written by the language model from the cited passages only; check each passage before relying on it."
    )
    sources = [f"**Sources** — {how}", ""]
    for c in a.citations:
        doc = docs.get(c.doc_id)
        facts = [inert(long_date(c.date)), inert(c.status)]
        if doc and doc.collection:
            facts.insert(0, inert(doc.collection))
        pdf = f" · {pdf_names[c.key]}" if c.key in pdf_names else ""
        sources.append(f"{c.key}\\. {names[c.key]} {inert(c.title)} · {' · '.join(facts)}{pdf}")
        sources.append("")
    return "\n\n".join([*head, *body, "\n".join(sources).rstrip(), *(warning if after else [])])


def retrieval_markdown(query: str, filters: list[str], hits: list[tuple[str, float]], ms: float) -> str:
    """The retrieval step's output: the query searched, filters, timing and the ranked passages."""
    lines = [f"Searched for: {inert(query)}", ""]
    lines.append(f"Filters: {inert('; '.join(filters))}" if filters else "Filters: none (all texts you may read)")
    lines += ["", f"{len(hits)} passages in {ms:.0f} ms:", ""]
    lines += [f"{i}\\. {inert(label)} — score {score:.3f}" for i, (label, score) in enumerate(hits, start=1)]
    return "\n".join(lines)


def welcome_markdown(per_collection: dict[str, int], built_at: str, chunks: int, llm: bool) -> str:
    """The first message: what the index holds, how answers are cited, what can be narrowed, the commands."""
    n = sum(per_collection.values())
    held = ", ".join(f"{inert(k)} {v}" for k, v in sorted(per_collection.items(), key=lambda kv: (-kv[1], kv[0])))
    built = inert(built_at.replace("T", " ")[:16] + " UTC") if built_at else "unknown"
    return "\n".join(
        [
            "### govassist — cited answers from digital-governance texts",
            "",
            f"The index holds **{n} texts** ({held}), {chunks} passages; last built {built}.",
            "",
            "Every sentence of an answer is quoted from a text and carries its citation (text, paragraph, page). "
            "Click a citation to read the passage with its title and date.",
            "",
            "- Narrow the search with the settings button (⚙) beside the message box: collection, documents, "
            "adopted or draft texts, number of passages" + (", answer mode." if llm else "."),
            "- Follow-up questions use the conversation: *and what did the TTC say about it in 2024?*",
            "- `/compare OLD NEW [topic]` compares two versions paragraph by paragraph; "
            "`/precedent WORDING` finds agreed language; `/help` lists the commands.",
        ]
    )


NO_INDEX = "\n".join(
    [
        "### govassist — no index yet",
        "",
        "There is nothing to search until the index is built. On the server, run:",
        "",
        "```",
        "govassist corpus fetch",
        "govassist index build",
        "```",
        "",
        "(or `scripts/run`, which does both and starts this chat), then reload this page.",
    ]
)


def help_markdown(pair: tuple[str, str] | None = None) -> str:
    """The commands and settings; the /compare example names two indexed versions (`chat.compare_example`)."""
    example = f" (e.g. `/compare {inert(pair[0])} {inert(pair[1])}`)" if pair else ""
    return "\n".join(
        [
            "**Questions** — ask in plain words; name a forum (G7, TTC, DFI, WSIS, GDC, Summit for Democracy) or "
            "a year to narrow that question. A short follow-up (*and in 2024?*, *what did the TTC say about it?*) "
            "keeps the topic of the previous question; the answer says so above it, with a button to ask it as "
            "a new question instead.",
            "",
            "**Commands**",
            "",
            f"- `/compare OLD NEW [topic]` — what changed between two versions, by document id{example}; "
            "`/compare FAMILY` walks every version of a family.",
            "- `/precedent WORDING` — where this wording, or nearly this wording, was agreed before.",
            "- `/docs` — the document ids you can use.",
            "- `/clear` — clear the filters (settings and the previous question).",
            "- `/help` — this list.",
            "",
            "**Settings** (⚙ beside the message box) — collection, documents, adopted or draft texts, number of "
            "passages, answer mode; its *Reset to defaults* switch puts every setting back to its default (Confirm to "
            "apply; its *Undo edits* button only undoes changes made since the panel was opened). The filters in force "
            "are named above each answer. Thumbs up or down on an answer is recorded for the evaluators.",
        ]
    )


HELP = help_markdown()
FILTERS_CLEARED = (
    "Filters cleared: the next question searches every text you may read, and is not read with the previous one."
)
NOT_ATTACHED = (
    "⚠ The cited passages could not be attached to this answer (the server's files folder is unavailable), so its "
    "citations do not open. Ask again; if it keeps happening, tell the staff."
)


def docs_markdown(docs: Iterable[DocMeta]) -> str:
    """The documents a user may search, by collection, with the ids the commands take."""
    lines = ["**Documents you can search** (id — label, date, status)", ""]
    for d in sorted(docs, key=lambda d: (d.collection, d.date, d.id)):
        lines.append(f"- {inert(d.collection or 'Other')}: `{d.id}` — {inert(d.label)}, {inert(d.date)}, {d.status}")
    return "\n".join(lines)
