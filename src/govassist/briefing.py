"""A briefing note to take away: one answer with its citations, each cited passage verbatim with document,
paragraph, page, date and status, the filters used, the index version and the time. Markdown or .docx
(python-docx). The note renders what the Answer holds; it never asks the store again."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .answer import Answer, Citation
from .catalog import DocMeta
from .chunk import para_words
from .retrieve import Filters
from .text import without_opening

FORMATS = ("md", "docx")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FACETS = {  # Filters field -> how a note names it (roles are who asked, not a filter of the question)
    "collections": "collection",
    "doc_ids": "documents",
    "statuses": "status",
    "families": "family",
    "date_from": "dated from",
    "date_to": "dated to",
}


@dataclass(frozen=True)
class Passage:
    """One cited passage as the note shows it."""

    key: int
    citation: str
    title: str
    document: str
    para: str
    page: int | None
    date: str
    status: str
    text: str


@dataclass(frozen=True)
class Note:
    """Everything a briefing note says, in the order it says it."""

    question: str
    answer: str
    found: bool
    notes: tuple[str, ...]
    passages: tuple[Passage, ...]
    filters: tuple[str, ...]
    index: str
    time: str


def describe_filters(filters: Filters | Mapping[str, Any] | None) -> tuple[str, ...]:
    """The filters in force as lines ("collection: TTC"); none means every text the reader may read."""
    if filters is None:
        return ()
    values = asdict(filters) if isinstance(filters, Filters) else dict(filters)
    out = []
    for field, name in FACETS.items():
        v = values.get(field)
        if v:
            out.append(f"{name}: {', '.join(v) if isinstance(v, list | tuple) else v}")
    return tuple(out)


def index_version(manifest: Mapping[str, Any]) -> str:
    """The index a note was answered from: when it was built, with which embedder, how many texts."""
    built = str(manifest.get("built_at") or "unknown time")
    counts = manifest.get("counts") or {}
    docs = f", {counts['documents']} documents" if "documents" in counts else ""
    return f"built {built}, embedder {manifest.get('embedder') or 'unknown'}{docs}"


def _passage(c: Citation, docs: Mapping[str, DocMeta]) -> Passage:
    d = docs.get(c.doc_id)
    document = d.title if d else c.title
    return Passage(c.key, c.citation, c.title, document, c.para, c.page, c.date, c.status, c.text)


def make_note(
    a: Answer,
    docs: Mapping[str, DocMeta],
    manifest: Mapping[str, Any],
    filters: Filters | Mapping[str, Any] | None = None,
    when: datetime | None = None,
) -> Note:
    """The note for one answer (`when` defaults to now, UTC)."""
    when = when or datetime.now(UTC)
    text = a.text
    for x in a.notes:  # the answer's text opens with its notes (the not-indexed notice): the note shows them once
        text = without_opening(text, x)
    return Note(
        a.question,
        text,
        a.found,
        a.notes,
        tuple(_passage(c, docs) for c in a.citations),
        describe_filters(filters),
        index_version(manifest),
        when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _where(p: Passage) -> str:
    return ", ".join(x for x in (para_words(p.para), f"page {p.page}" if p.page else "") if x)


def _quote(text: str) -> str:
    """A passage verbatim as a markdown quote (markup characters escaped, so it reads as written)."""
    text = re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))


def note_markdown(n: Note) -> str:
    """The note as markdown."""
    lines = ["# Briefing note", "", f"**Question:** {n.question}", ""]
    lines += [f"*{x}*" for x in n.notes] + ([""] if n.notes else [])
    lines += ["## Answer", "", n.answer, ""]
    if n.passages:
        lines += ["## Cited passages", ""]
        for p in n.passages:
            lines += [
                f"### [{p.key}] {p.citation}",
                "",
                f"{p.document} — {_where(p)} — {p.date} — {p.status}",
                "",
                _quote(p.text),
                "",
            ]
    lines += ["## About this note", ""]
    lines.append(f"- Filters: {'; '.join(n.filters) if n.filters else 'none (every text you may read)'}")
    lines.append(f"- Index: {n.index}")
    lines.append(f"- Written: {n.time}")
    return "\n".join(lines) + "\n"


def note_docx(n: Note) -> bytes:
    """The note as a Word document (python-docx)."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = f"Briefing note: {n.question}"[:255]
    doc.add_heading("Briefing note", level=0)
    q = doc.add_paragraph()
    q.add_run("Question: ").bold = True
    q.add_run(n.question)
    for x in n.notes:
        doc.add_paragraph().add_run(x).italic = True
    doc.add_heading("Answer", level=1)
    for para in n.answer.split("\n"):
        if para.strip():
            doc.add_paragraph(para)
    if n.passages:
        doc.add_heading("Cited passages", level=1)
        for p in n.passages:
            doc.add_heading(f"[{p.key}] {p.citation}", level=2)
            doc.add_paragraph(f"{p.document} — {_where(p)} — {p.date} — {p.status}").runs[0].italic = True
            doc.add_paragraph(p.text, style="Quote")
    doc.add_heading("About this note", level=1)
    doc.add_paragraph(
        f"Filters: {'; '.join(n.filters) if n.filters else 'none (every text you may read)'}", style="List Bullet"
    )
    doc.add_paragraph(f"Index: {n.index}", style="List Bullet")
    doc.add_paragraph(f"Written: {n.time}", style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def file_name(when: datetime | None, fmt: str) -> str:
    """briefing-YYYYMMDD-HHMMSS.md|docx."""
    return f"briefing-{(when or datetime.now(UTC)).astimezone(UTC).strftime('%Y%m%d-%H%M%S')}.{fmt}"
