"""What an answer is: its sentences, each citing a passage it was given, and the citations with everything needed
to show a passage verbatim and find it in its source. Citations are data; `cite_label` is their one label."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from ..chunk import para_mark, plain_para

if TYPE_CHECKING:
    from ..catalog import DocMeta
    from ..chunk import Chunk
    from ..retrieve import Hit

NOTHING = "I found nothing in the indexed texts that answers this. Try other words, or widen the filters."


@dataclass(frozen=True)
class Citation:
    """A passage an answer cites, with everything needed to show it verbatim and find it in the source."""

    key: int
    chunk_id: str
    doc_id: str
    label: str
    citation: str
    para: str
    page: int | None
    source: str
    title: str
    date: str
    status: str
    section: str
    text: str
    also_in: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["also_in"] = list(self.also_in)
        return d


@dataclass(frozen=True)
class Sentence:
    """A quoted sentence and the key of the citation it quotes. `lead`: the words that introduce it when it is a
    bullet or a lettered sub-paragraph ("… commit to:", "Calls upon Member States … including by:"), verbatim but
    for a long one's middle; `gap`: whether text between the lead-in and the sentence is left out, or, without a
    lead-in, between the sentence quoted before and this one (the sub-paragraphs of a paragraph asked for by number:
    "(a) … […] (e) …")."""

    text: str
    key: int
    lead: str = ""
    gap: bool = False


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    found: bool
    mode: str = "extractive"
    notes: tuple[str, ...] = field(default=())
    support: str = "direct"  # direct | closest | none: how strongly the passages answer (answer.support)
    not_indexed: str = ""  # the notice naming catalogued texts the question names that the index lacks (compose)

    def with_notes(self, *notes: str, mode: str | None = None) -> Answer:
        """The same answer with more notes (and, when given, another mode)."""
        return replace(self, notes=(*self.notes, *notes), mode=mode or self.mode)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "support": self.support,
            "not_indexed": self.not_indexed,
            "mode": self.mode,
            "sentences": [asdict(x) for x in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "notes": list(self.notes),
        }


def with_lead(s: Sentence, quoted: str, mark: Callable[[str], str] = str) -> str:
    """A sentence as shown (`quoted`: its text as the caller shows it), after its lead-in (as `mark` shows it) when
    it has one: "To advance these interests, we … commit to: […] engaging additional partner governments …"; after
    "[…]" when text before it is left out."""
    if not s.lead:
        return f"[…] {quoted}" if s.gap else quoted
    return f"{mark(s.lead)}{' […]' if s.gap else ''} {quoted}"


def quote_text(s: Sentence) -> str:
    """A sentence's text as quoted: marked as continuing (`as_quoted`) unless its lead-in is shown before it."""
    return s.text if s.lead else as_quoted(s.text)


def as_quoted(text: str) -> str:
    """A quote as shown: one that starts within a sentence ("and recognizing also …", the second part of a long
    paragraph) is marked as continuing ("…and recognizing also …"), so it does not read as the sentence's start."""
    return f"…{text}" if text[:1].islower() else text


def cite_label(doc: DocMeta, chunk: Chunk, page: bool = True, para: str = "") -> str:
    """The human citation: 'Hiroshima Communiqué ¶38', with ', p. 7' where the source has pages (unless
    `page` is False); a paragraph of numbering that restarts under a heading names the heading. `para`: one
    paragraph of a run of short ones the passage holds (`chunk.para_pieces`), cited in place of the run."""
    para = para or chunk.para
    where = f", p. {chunk.page}" if page and chunk.page else ""
    joint = ", " if plain_para(para)[0] else " "  # "TTC Pittsburgh 2021, Statement on AI ¶8"
    return f"{doc.label}{joint}{para_mark(para)}{where}"


def to_citation(key: int, hit: Hit, piece: tuple[str, str] | None = None) -> Citation:
    """The citation of a hit's passage; of `piece` only, (label, text) of one of its paragraphs, when given: a quote
    from a run of short paragraphs ("[12]–[13]") cites the paragraph that holds it and shows that paragraph."""
    c, d = hit.chunk, hit.doc
    para, text = piece or (c.para, c.text)
    return Citation(
        key,
        c.id,
        d.id,
        d.label,
        cite_label(d, c, para=para),
        para,
        c.page,
        d.file,
        d.title,
        d.date,
        d.status,
        c.section,
        text,
        hit.also_in,
    )
