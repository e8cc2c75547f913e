"""Paragraph-aware chunking: numbered paragraphs, lettered sub-items, bullets kept with their lead-in.

Paragraph labels are what diplomats cite: "29", "29(d)", "PP3" (preambular paragraph of a text with
numbered operative paragraphs), and "[12]" for the 12th paragraph of text that carries no number.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .blocks import BARE_NUMBER_RE, BULLET, HEADING, SUB_ITEM_RE, Block, join_unfinished
from .errors import ConfigError

NUM_RE = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,2})*)(?:\.\s*|,\s+)(?=[A-Z(\"“‘])")
SENT_RE = re.compile(r"(?<=[.;!?])[\"”’)]?\s+(?=[A-Z(\"“‘])")
LABEL_ONLY_RE = re.compile(r"^\s*\d{1,3}(?:\.\d{1,2})*\.$")
PART_RE = re.compile(r"~p\d+(?=(?:~\d+)?$)")  # "doc#9~p2": the second part of ¶9 (a repeated label adds "~2" after)
QUALIFIER = "¶"  # between a heading and a paragraph number its numbering restarts under
MAX_CHUNK_CHARS = 100_000  # largest chunk_max_chars accepted: far below PostgreSQL's 1 MB tsvector limit


@dataclass(frozen=True)
class Chunk:
    """A citable passage: one paragraph, sub-item, run of short paragraphs, or part of a long one."""

    id: str
    doc_id: str
    para: str
    paras: tuple[str, ...]
    section: str
    page: int | None
    text: str
    context: str = ""
    order: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["paras"] = list(self.paras)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Chunk:
        return cls(**{**d, "paras": tuple(d.get("paras", ()))})

    @property
    def embed_text(self) -> str:
        """What the retrievers see: the passage with its lead-in and section for context."""
        head = f"{self.section}. " if self.section else ""
        return f"{head}{self.context} {self.text}".strip() if self.context else f"{head}{self.text}"


@dataclass
class _Unit:
    para: str
    section: str
    page: int | None
    lead: str
    items: list[str] = field(default_factory=list)
    item_pages: list[int | None] = field(default_factory=list)
    numbered: bool = False
    context: str = ""
    follows: bool = False  # a further paragraph of the numbered item before it (same label)

    @property
    def text(self) -> str:
        return "\n".join([self.lead, *(f"• {i}" for i in self.items)]) if self.items else self.lead


def _roman(s: str) -> bool:
    return bool(re.fullmatch(r"[ivx]+", s))


def _bare_numbers(blocks: list[Block]) -> dict[int, str]:
    """Blocks opening with a bare number ("1 Take ..."), by index, when those numbers run 1, 2, 3... in order."""
    found, expected = {}, 1
    for i, b in enumerate(blocks):
        m = BARE_NUMBER_RE.match(b.text) if b.kind != HEADING and not NUM_RE.match(b.text) else None
        if m and int(m.group(1)) == expected:
            found[i] = m.group(1)
            expected += 1
    return found if expected > 3 else {}


def _elaborated(blocks: list[Block], numbered: set[int]) -> bool:
    """Whether numbered items are each followed by paragraphs that elaborate them (principles, actions)."""
    followed, following = 0, None  # following: index of the next block that is not a bullet
    nxt_at: dict[int, int | None] = {}
    for i in range(len(blocks) - 1, -1, -1):  # one pass from the end: linear in the blocks
        nxt_at[i] = following
        if blocks[i].kind != BULLET:
            following = i
    for i in numbered:
        j = nxt_at[i]
        nxt = blocks[j] if j is not None else None
        if nxt and nxt.kind != HEADING and j not in numbered and not SUB_ITEM_RE.match(nxt.text):
            followed += 1
    return followed >= max(3, 0.6 * len(numbered))


def _embedded_list(blocks: list[Block], numbered: set[int]) -> bool:
    """Whether the numbered blocks are a short list inside an unnumbered text (a joint statement's "1. AI terminology
    and taxonomy, 2. …" halfway through): more plain paragraphs (not numbered, not sub-items) come before the first
    number, and more after it, than there are numbers. A numbered text opens with a short preamble, or has more numbers
    than the paragraphs of its annex or closing."""
    first = min(numbered)

    def plain(i: int, b: Block) -> bool:
        return i not in numbered and b.kind not in (HEADING, BULLET) and not SUB_ITEM_RE.match(b.text)

    before = sum(1 for i, b in enumerate(blocks[:first]) if plain(i, b))
    after = sum(1 for i, b in enumerate(blocks) if i > first and plain(i, b))
    return len(numbered) < min(before, after)


def parse_units(blocks: list[Block]) -> list[_Unit]:
    """Assign paragraph labels and group bullets and sub-items with their lead-in."""
    units: list[_Unit] = []
    section = ""
    number: str | None = None
    letter: str | None = None
    bare = _bare_numbers(blocks)
    numbered_at = {i for i, b in enumerate(blocks) if NUM_RE.match(b.text)} | set(bare)
    numbered_total = len(numbered_at)
    uses_numbers = numbered_total >= 3
    elaborated = uses_numbers and _elaborated(blocks, numbered_at)
    if uses_numbers and not elaborated and _embedded_list(blocks, numbered_at):
        # its numbers are a list's, not the text's: paragraphs are counted [1], [2], … from the start
        uses_numbers = False
    item: _Unit | None = None  # the numbered item further paragraphs belong to (elaborated texts)
    pp = plain = 0
    last_kind = HEADING
    parent: _Unit | None = None  # the unit of the current paragraph number: lead-in of its sub-items
    tail: list[str] = []  # closing words of the last unit's last bullet, joined once (linear in their number)
    for i, b in enumerate(blocks):
        if b.kind == HEADING:
            section = b.text[:160]
            last_kind = HEADING
            item = None
            continue
        text = b.text
        m_num = (NUM_RE.match(text) or (BARE_NUMBER_RE.match(text) if i in bare else None)) if uses_numbers else None
        m_sub = SUB_ITEM_RE.match(text) if number else None
        cur = units[-1] if units else None
        if cur and cur.items and last_kind == BULLET and text[:1].islower() and b.kind != BULLET:
            tail.append(text)  # closing words of a bulleted sentence
            continue
        if tail and cur:
            cur.items[-1], tail = " ".join([cur.items[-1], *tail]), []
        if b.kind == BULLET:
            if cur and last_kind != HEADING and (cur.items or cur.lead.rstrip().endswith(":") or cur.numbered):
                cur.items.append(text)
                cur.item_pages.append(b.page)
            else:
                plain += 1
                units.append(_Unit(f"[{plain}]", section, b.page, text, context=section))
            last_kind = BULLET
            continue
        if m_num:
            number, letter = m_num.group(1), None
            parent = _Unit(number, section, b.page, text, numbered=True)
            units.append(parent)
            item = parent if elaborated else None
        elif m_sub and number:
            tag = m_sub.group(1)
            if _roman(tag) and letter and not (tag == "i" and letter == "h"):
                label = f"{number}({letter})({tag})"
            else:
                letter, label = tag, f"{number}({tag})"
            lead = parent.lead if parent else ""
            units.append(_Unit(label, section, b.page, text, numbered=True, context=lead[:300]))
        elif item is not None:
            units.append(_Unit(item.para, section, b.page, text, numbered=True, context=item.lead[:300], follows=True))
        elif uses_numbers and number is None:
            pp += 1
            units.append(_Unit(f"PP{pp}", section, b.page, text))
        else:
            plain += 1
            units.append(_Unit(f"[{plain}]", section, b.page, text))
        last_kind = b.kind
    if tail and units:
        units[-1].items[-1] = " ".join([units[-1].items[-1], *tail])
    return _qualify_restarts(units)


def _qualify_restarts(units: list[_Unit]) -> list[_Unit]:
    """Numbering that starts again at 1 under a heading (a joint statement's annexed statements, each numbered 1, 2,
    …) would give two paragraphs one label: from each restart on, numbered paragraphs are labelled with the heading
    they restart under ("Statement on AI ¶8", cited "TTC Pittsburgh 2021, Statement on AI ¶8"). The first run of
    numbers keeps its plain labels, across headings too, so an annex added later relabels nothing before it.
    Sub-items and further paragraphs of an item take their number's label. A heading whose numbering restarts again
    (the same statement's semiconductor annex: 1–6, then 1–3 after a break; two headings both "Annex") names its
    later runs by their order: "Statement on Semiconductor Supply Chains, list 2 ¶1"."""
    last, qualifier = 0, ""
    runs: dict[str, int] = {}
    for u in units:
        if u.numbered and not u.follows and "(" not in u.para:
            n = int(u.para.split(".")[0])  # a number's label: "8", or "8.1" (NUM_RE)
            if n == 1 and last:
                runs[u.section] = runs.get(u.section, 0) + 1
                k = runs[u.section] + (not u.section)  # no heading: the first run is list 1
                qualifier = u.section if k == 1 else f"{u.section}, list {k}".lstrip(", ")
            last = n
        if u.numbered and qualifier:
            u.para = f"{qualifier} {QUALIFIER}{u.para}"
    return units


def para_pieces(c: Chunk) -> list[tuple[str, str]]:
    """A passage's paragraphs as (label, text): a run of short paragraphs ("[12]–[13]", one per line) split into
    its paragraphs, each under its own label; any other passage whole, under its label."""
    lines = c.text.split("\n")
    return list(zip(c.paras, lines)) if len(c.paras) > 1 and len(lines) == len(c.paras) else [(c.para, c.text)]


def piece_of(c: Chunk, sentence: str) -> tuple[str, str]:
    """The paragraph of a passage that holds this sentence of it, as (label, text) (`para_pieces`); the passage
    whole when no single paragraph holds it."""
    pieces = para_pieces(c)
    return next((p for p in pieces if sentence.strip() in p[1]), (c.para, c.text)) if len(pieces) > 1 else pieces[0]


def plain_para(para: str) -> tuple[str, str]:
    """A label as (heading, number): ("Statement on AI", "8") for a qualified label, ("", "8") for a plain one."""
    head, sep, number = para.rpartition(f" {QUALIFIER}")
    return (head, number) if sep else ("", para)


def para_words(para: str) -> str:
    """A label in words: "paragraph 8", or "Statement on AI, paragraph 8"."""
    head, number = plain_para(para)
    return f"{head}, paragraph {number}" if head else f"paragraph {number}"


def para_mark(para: str) -> str:
    """A label as cited: "¶8", or "Statement on AI ¶8"."""
    head, number = plain_para(para)
    return f"{head} {QUALIFIER}{number}" if head else f"{QUALIFIER}{number}"


def _cut(text: str, max_chars: int) -> list[str]:
    """A text longer than max_chars in the fewest pieces of at most max_chars, of near-equal length: each cut after
    the clause end nearest its share of the text (";" or ":", else ","), else at whitespace, mid-word only where a
    piece has none. No remnant of a few words is left on its own ("marketplace, through critical investment")."""
    pieces, start = [], 0
    while len(text) - start > max_chars:
        rest = len(text) - start
        parts = -(-rest // max_chars)
        target = start + -(-rest // parts)
        hi = start + max_chars
        lo = max(start + 1, target - max_chars // 4, start + rest - (parts - 1) * max_chars)
        cut = _clause_end(text, lo, min(hi, target + max_chars // 4), target)
        if cut is None:
            ws = max(text.rfind(c, start + max_chars // 2, hi + 1) for c in " \n\t\u00a0")
            cut = ws if ws > start else target
        pieces.append(text[start:cut].strip())
        start = cut
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _clause_end(text: str, lo: int, hi: int, target: int) -> int | None:
    """The cut in [lo, hi] nearest `target` after the strongest clause end there: "; " or ": ", else ", ", else
    whitespace. None when the window has no whitespace."""
    for marks in (("; ", ": "), (", ",), (" ", "\n", "\t", "\u00a0")):
        shift = len(marks[0]) - 1  # a punctuation mark stays with the piece it ends
        found = [
            p + shift
            for m in marks
            for p in (text.rfind(m, lo - shift, target - shift + len(m)), text.find(m, target - shift, hi - shift))
            if p >= 0 and lo <= p + shift <= hi
        ]
        if found:
            return min(found, key=lambda p: (abs(p - target), p))
    return None


def _windows(text: str, max_chars: int) -> list[str]:
    """Split a long text at sentence ends into pieces of at most max_chars; a sentence longer than that is cut
    (`_cut`)."""
    # a paragraph number ("8.") is not a sentence: it stays with the sentence it opens
    opened = join_unfinished((s for s in SENT_RE.split(text) if s.strip()), LABEL_ONLY_RE)
    sentences = [p for s in opened for p in _cut(s, max_chars)]
    parts, cur = [], ""
    for s in sentences:
        if cur and len(cur) + 1 + len(s) > max_chars:
            parts.append(cur)
            cur = s
        else:
            cur = f"{cur} {s}" if cur else s
    if cur:
        parts.append(cur)
    return parts


def _split_unit(u: _Unit, max_chars: int) -> list[tuple[str, int | None]]:
    """The unit's text in parts of at most max_chars, each with the page it starts on."""
    if len(u.text) <= max_chars:
        return [(u.text, u.page)]
    if not u.items:
        return [(w, u.page) for w in _windows(u.lead, max_chars)]
    parts: list[tuple[str, int | None]] = []
    cur, cur_page = (u.lead, u.page) if len(u.lead) <= max_chars else ("", u.page)
    if not cur:
        parts.extend((w, u.page) for w in _windows(u.lead, max_chars))
    pages = u.item_pages or [u.page] * len(u.items)
    pieces = [(w, pg) for item, pg in zip(u.items, pages) for w in _windows(f"• {item}", max_chars)]
    for piece, pg in pieces:
        if cur and len(cur) + 1 + len(piece) > max_chars:
            parts.append((cur, cur_page))
            cur, cur_page = piece, pg
        else:
            cur, cur_page = (f"{cur}\n{piece}", cur_page) if cur else (piece, pg)
    if cur:
        parts.append((cur, cur_page))
    return parts


def chunk_blocks(doc_id: str, blocks: list[Block], max_chars: int = 1200, min_chars: int = 200) -> list[Chunk]:
    """Chunks for one document, with ids stable across rebuilds (doc id + paragraph label).

    Each chunk's text is at most max_chars (itself at most MAX_CHUNK_CHARS) long."""
    if max_chars > MAX_CHUNK_CHARS:
        raise ConfigError(f"chunk_max_chars {max_chars} is over {MAX_CHUNK_CHARS}: set GOVASSIST_CHUNK_MAX_CHARS lower")
    units = parse_units(blocks)
    merged: list[tuple[_Unit, list[str]]] = []
    for u in units:
        prev = merged[-1] if merged else None
        if (
            prev
            and u.follows
            and prev[0].para == u.para
            and not prev[0].items
            and not u.items
            and len(prev[0].lead) + len(u.lead) < max_chars
        ):
            prev[0].lead = f"{prev[0].lead}\n{u.lead}"
            continue
        if (
            prev
            and not u.numbered
            and not prev[0].numbered
            and not u.para.startswith("PP")
            and not prev[0].para.startswith("PP")
            and not prev[0].items
            and not u.items
            and prev[0].section == u.section
            and prev[0].page == u.page  # a run stays on one page: each paragraph is cited with the run's page
            and (len(prev[0].lead) < min_chars or len(u.lead) < min_chars)
            and len(prev[0].lead) + len(u.lead) < max_chars
        ):
            prev[0].lead = f"{prev[0].lead}\n{u.lead}"
            prev[1].append(u.para)
            continue
        merged.append((u, [u.para]))
    chunks: list[Chunk] = []
    used: set[str] = set()
    next_n: dict[str, int] = {}  # per base id, the suffix to try next: repeated labels stay linear
    for u, paras in merged:
        label = paras[0] if len(paras) == 1 else f"{paras[0]}–{paras[-1]}"
        parts = _split_unit(u, max_chars)
        for i, (text, page) in enumerate(parts, start=1):
            base = f"{doc_id}#{label}" + (f"~p{i}" if len(parts) > 1 else "")
            cid, n = base, next_n.get(base, 2)
            while cid in used:
                cid, n = f"{base}~{n}", n + 1
            used.add(cid)
            next_n[base] = n
            context = u.context if i == 1 else (u.lead[:300] if u.items else u.context)
            chunks.append(Chunk(cid, doc_id, label, tuple(paras), u.section, page, text, context, len(chunks)))
    return chunks
