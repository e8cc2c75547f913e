"""A printed PDF page as a reader sees it: lines with their position and type size, turned into blocks.

The rules read the print, not the file name: lines repeated at the edges of most pages and small type outside
the body of a page are furniture (running heads, job numbers, page numbers, footnotes); a footnote's number is
taken out of the text it is glued to; a wider line spacing ends a paragraph; larger type is a heading; pieces
printed on the same row (a drop cap, a word split in two by the PDF) are one line. Two print layouts have a
rule of their own, recognised by what is printed: the UN's (title block before the resolution's title) and a
GOV.UK page printed to PDF (cover page, licence page).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise

from .blocks import (
    BARE_NUMBER_RE,
    BULLET,
    ENDS_LIST_ITEM_RE,
    ENDS_SENTENCE_RE,
    HEADING,
    INLINE_BULLET_RE,
    LINK_RE,
    NUMBER_RE,
    PAGE_NUM_RE,
    PARA,
    SUB_ITEM_RE,
    TAG_RE,
    Block,
    clean_inline,
    join_lines,
    join_unfinished,
)

BULLET_MARK_RE = re.compile(r"^\s*(?:[-*•·▪◦●>\x7f]|\u2013)\s+")
SEPARATOR_LINE_RE = re.compile(r"^\s*[_\-–—]{5,}\s*$")
FOOTNOTE_RE = re.compile(r"^\s*(\d{1,3})\s+\S")
WORD_RE = re.compile(r"[A-Za-z][a-z]+")
UN_SYMBOL_BLOCK_RE = re.compile(r"\bDistr\.:\s*(?:General|Limited|Restricted)\b")
OPEN_TAG_RE = re.compile(r"<[a-zA-Z][^<>]{0,200}$")  # a tag the line break cut: "…Steps</span><span" + "style=…>"
UNDERLINED_HEAD_RE = (
    re.compile(  # "IV. <span style="text-decoration: underline">Conclusion and Next Steps</span> Since"
        r"^\s*(?:(?:[IVXL]+|[A-Z]|\d{1,2})\.\s*)?(?:<span[^<>]{0,200}underline[^<>]{0,200}>[^<]{0,300}</span>\s*)+"
    )
)
UN_TITLE_RE = re.compile(r"^\s*\d{1,3}/\d{1,4}\.\s+\S")  # "78/265. Seizing the opportunities ..."
UN_ENACTING_RE = re.compile(
    r"^\s*The (?:General Assembly|Security Council|Human Rights Council|Economic and Social Council),\s*$"
)
UN_MEETING_RE = re.compile(r"^\s*\d{1,3}(?:st|nd|rd|th) plenary meeting\b")
DATE_LINE_RE = re.compile(r"^\s*\d{1,2} [A-Z][a-z]+ \d{4}\s*$")
GOVUK_RIGHTS_RE = re.compile(r"© Crown copyright|Open Government Licence")
# a heading run into its paragraph: "Artificial Intelligence, Science, and Innovation Artificial Intelligence can"
GLUED_HEADING_RE = re.compile(
    r"^((?:[A-Z][\w’'-]*(?: [A-Z][\w’'-]*)*, )+(?:and )?[A-Z][\w’'-]*?(?: [A-Z][\w’'-]*?)*?) "
    r"(?=[A-Z][a-z]+(?: [A-Z][a-z]+){0,2} [a-z])"
)
HEADING_LABEL_RE = re.compile(r"^\s*(?:[IVXL]+|[A-Z]|\d{1,2})[.)]\s")  # "II. ", "A. ", "3) "
STYLED_FONT_RE = re.compile(r"Bold|Black|Heavy|Semibold|Demi|Italic|Oblique", re.I)
DROP_CAP_RE = re.compile(r"^([A-Z]) ([a-z]{2,})\b")


@dataclass(frozen=True)
class Line:
    """One printed line: its text as extracted, where it starts on the page and its type size (None if unknown)."""

    text: str
    x: float | None = None
    y: float | None = None
    size: float | None = None
    styled: bool = False  # set in bold or italic
    heading: bool = False

    @property
    def placed(self) -> bool:
        return self.y is not None and self.size is not None


def page_lines(page: object) -> list[Line]:
    """The page's text, line by line as pypdf extracts it, each with where it starts, and the type size, height
    and style of most of its characters (a drop cap or a footnote mark does not set them)."""
    rows: list[list] = [["", None, Counter()]]

    def visit(text: str, cm: list, tm: list, font: object, size: float) -> None:
        for k, part in enumerate(text.split("\n")):
            if k:
                rows.append(["", None, Counter()])
            row = rows[-1]
            if part.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                scaled = abs(size * (tm[3] * cm[3] + tm[1] * cm[2])) or size
                name = str(font.get("/BaseFont", "")) if isinstance(font, dict) else ""
                row[1] = x if row[1] is None else row[1]
                row[2][(round(scaled, 2), round(y, 1), STYLED_FONT_RE.search(name) is not None)] += len(part.strip())
            row[0] += part

    page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    out = []
    for text, x, looks in rows:
        if looks:
            (size, y, styled), _n = looks.most_common(1)[0]
            out.append(Line(text, x, y, size, styled))
        else:
            out.append(Line(text))
    return out


def _same_row(pages: list[list[Line]]) -> list[list[Line]]:
    """Join pieces printed on one row (a drop cap and its word, a word the PDF split) and drop empty lines."""
    out = []
    for lines in pages:
        kept: list[Line] = []
        for ln in lines:
            if not ln.text.strip():
                continue
            prev = kept[-1] if kept else None
            if (
                prev
                and prev.placed
                and ln.placed
                and abs(prev.y - ln.y) < 0.3 * ln.size  # type: ignore[operator]
                and ln.x > prev.x  # type: ignore[operator]
            ):
                size = prev.size if len(prev.text.strip()) >= len(ln.text.strip()) else ln.size
                kept[-1] = replace(prev, text=prev.text + ln.text, size=size)
            else:
                kept.append(ln)
        out.append(kept)
    return out


def _mode(values: Counter) -> float | None:
    return values.most_common(1)[0][0] if values else None


def _body_size(pages: list[list[Line]]) -> float | None:
    sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            if ln.placed:
                sizes[round(ln.size * 2) / 2] += len(ln.text.strip())  # type: ignore[operator]
    return _mode(sizes)


def _is_body(ln: Line, body: float | None) -> bool:
    return body is None or not ln.placed or ln.size >= 0.92 * body  # type: ignore[operator]


def _un_print(pages: list[list[Line]]) -> list[list[Line]]:
    """UN print: the title block before the resolution's title is not text; the title is the heading; the
    enacting line ("The General Assembly,") and the closing meeting line and date are dropped."""
    first = pages[0]
    title = next((i for i, ln in enumerate(first) if UN_TITLE_RE.match(ln.text)), None)
    if title is None:
        return pages
    head = [replace(first[title], heading=True)]
    for ln in first[title + 1 :]:
        if ln.size != head[0].size or UN_ENACTING_RE.match(ln.text):
            break
        head.append(replace(ln, heading=True))
    rest = first[title + len(head) :]
    out = [head + rest, *pages[1:]]
    out = [[ln for ln in lines if not UN_ENACTING_RE.match(ln.text)] for lines in out]
    last = out[-1]
    for i, ln in enumerate(last):
        if UN_MEETING_RE.match(ln.text):
            tail = last[i + 1 : i + 2]
            out[-1] = last[:i] + ([] if tail and DATE_LINE_RE.match(tail[0].text) else tail) + last[i + 2 :]
            break
    return out


def _govuk_print(pages: list[list[Line]]) -> list[list[Line]]:
    """A GOV.UK page printed to PDF: the cover and the licence page ("© Crown copyright ...") come before the
    text; the licence line at the end goes too."""
    start = next(
        (i + 1 for i, lines in enumerate(pages) if lines and lines[0].text.strip().startswith("© Crown copyright")), 0
    )
    kept = [[ln for ln in lines if not GOVUK_RIGHTS_RE.search(ln.text)] for lines in pages[start:]]
    return [[] for _ in pages[:start]] + kept


def _print_layout(pages: list[list[Line]]) -> list[list[Line]]:
    if pages and any(UN_SYMBOL_BLOCK_RE.search(ln.text) for ln in pages[0]):
        return _un_print(pages)
    if any(lines and lines[0].text.strip().startswith("© Crown copyright") for lines in pages[:3]):
        return _govuk_print(pages)
    return pages


def _key(text: str) -> tuple[str, ...]:
    return tuple(sorted(re.sub(r"\d+", "#", text).split()))


def _repeated_keys(pages: list[list[Line]]) -> set[tuple[str, ...]]:
    """Lines found at the top or bottom of most pages, in any word order ("24-05969 2/8" and "3/8 24-05969")."""
    n = len(pages)
    count: Counter[tuple[str, ...]] = Counter()
    for lines in pages:
        count.update({_key(ln.text) for ln in [*lines[:4], *lines[-4:]]})
    return {k for k, c in count.items() if n >= 2 and c >= max(2, n * 0.5) and 0 < len(" ".join(k)) < 150}


def _is_repeated(text: str, repeated: set[tuple[str, ...]]) -> bool:
    """A repeated line, or two repeated lines printed as one ("... sustainable development A/RES/78/265")."""
    if _key(text) in repeated:
        return True
    words = text.split()
    return any(_key(" ".join(words[:i])) in repeated and _key(" ".join(words[i:])) in repeated
               for i in range(1, len(words)))  # fmt: skip


def _strip_marker(lines: list[str], number: str, start: tuple[int, int]) -> tuple[int, int]:
    """Take footnote `number` out of the first place after `start` where it is glued to a word or follows
    punctuation ("Commitment4", "Society,5", "2021, 6 its"); returns where the search may go on."""
    glued = re.compile(rf"(?<=[A-Za-z)\]”’\",.;:]){number}(?=[\s,.;:)”’]|$)")
    spaced = re.compile(rf"(?<=[,.;:”’\"]) {number}(?=\s+[a-z]|\s*$)")
    after_year = re.compile(rf"(?<=\b(?:19|20)\d\d){number}(?=[\s,.;:)]|$)")  # "1-2 November 20234,"
    li, pos = start
    for i in range(li, len(lines)):
        text = lines[i]
        for rx in (glued, spaced, after_year):
            m = rx.search(text, pos if i == li else 0)
            if m:
                lines[i] = text[: m.start()] + text[m.end() :]
                return i, m.start()
    return start


def _strip_page(lines: list[Line], body: float | None, repeated: set[tuple[str, ...]]) -> list[Line]:
    """Drop the page's furniture and footnotes; take the footnote numbers out of the text they mark."""
    body_ys = [ln.y for ln in lines if ln.placed and _is_body(ln, body)]
    top, bottom = (max(body_ys), min(body_ys)) if body_ys else (None, None)
    kept: list[Line] = []
    notes: list[str] = []
    n = len(lines)
    for i, ln in enumerate(lines):
        at_edge = (i < 4 or i >= n - 4) and not ln.heading  # a title line may read like the running head
        if at_edge and (_is_repeated(ln.text, repeated) or PAGE_NUM_RE.match(ln.text)):
            continue
        if SEPARATOR_LINE_RE.match(ln.text):
            continue
        outside = top is not None and ln.placed and (ln.y > top or ln.y < bottom)  # type: ignore[operator]
        if outside and not _is_body(ln, body):
            if ln.y < bottom and (m := FOOTNOTE_RE.match(ln.text)):  # type: ignore[operator]
                notes.append(m.group(1))
            continue
        kept.append(ln)
    if notes:
        texts = [ln.text for ln in kept]
        where = (0, 0)
        for number in notes:
            where = _strip_marker(texts, number, where)
        kept = [replace(ln, text=t) for ln, t in zip(kept, texts)]
    return kept


def _pitch(pages: list[list[Line]], body: float | None) -> float | None:
    """The distance from one line of a paragraph to the next: the smallest usual step between body lines (the
    most common one is the paragraph spacing when most paragraphs are one line long)."""
    steps: Counter[float] = Counter()
    for lines in pages:
        for a, b in pairwise(lines):
            if a.placed and b.placed and _is_body(a, body) and a.size == b.size:
                dy = a.y - b.y  # type: ignore[operator]
                if 0.6 * a.size < dy < 3 * a.size:  # type: ignore[operator]
                    steps[round(dy * 2) / 2] += 1
    total = sum(steps.values())
    return next((dy for dy in sorted(steps) if steps[dy] >= max(2, 0.15 * total)), _mode(steps))


def _vocabulary(pages: list[list[Line]]) -> Counter[str]:
    """How often each word occurs in the document (a word split by the PDF occurs once, in pieces)."""
    words: Counter[str] = Counter(w.lower() for lines in pages for ln in lines for w in WORD_RE.findall(ln.text))
    words.update({"a": 99, "i": 99})
    return words


def _mend_words(text: str, vocab: Counter[str]) -> str:
    """Undo spaces the PDF put inside words: "red -teaming", "non- discrimination", and "privat e", "a nd"
    (joined when a piece is rare in the document and the whole word is used: real words recur; when both
    pieces are rare, or one is a lone letter other than "a" or "I", one other use of the whole word is enough)."""
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"(?<=[a-z]) -(?=[a-z])", "-", text)
    text = re.sub(r"(?<=[a-z])- (?!(?:and|or|to|nor)\b)(?=[a-z])", "-", text)
    words, out, i = text.split(" "), [], 0
    while i < len(words):
        a, b = words[i], words[i + 1] if i + 1 < len(words) else ""
        ma, mb = re.search(r"(?:^|[^A-Za-z])([A-Za-z][a-z]*)$", a), re.fullmatch(r"([a-z]+)\W*", b)
        if ma and mb:
            x, y = ma.group(1).lower(), mb.group(1)
            # "privat e", "c limate", "ex ample": no such words; "a part": two words, joined only on more evidence
            pieces = (min(len(x), len(y)) == 1 and "a" != x != "i") or max(vocab[x], vocab[y]) <= 1
            if len(x + y) >= 3 and vocab[x + y] >= (1 if pieces else 2) and min(vocab[x], vocab[y]) <= 1:
                out.append(a + b)
                i += 2
                continue
        out.append(a)
        i += 1
    return " ".join(out)


def _drop_cap(text: str, vocab: Counter[str]) -> str:
    """ "M eeting at Bletchley" -> "Meeting at Bletchley": a lone capital before a lower-case word begins a
    paragraph. "A" and "I" are words, so they join only to make a word the document uses."""
    m = DROP_CAP_RE.match(text)
    if not m:
        return text
    whole = (m.group(1) + m.group(2)).lower()
    if m.group(1) in "AI" and (not vocab[whole] or vocab[m.group(2)] > 1):
        return text
    return m.group(1) + text[2:]


@dataclass
class _Para:
    kind: str
    lines: list[Line]
    page: int


def _opens(text: str) -> str | None:
    """What a line opens: a bullet item, a numbered item, or nothing."""
    if BULLET_MARK_RE.match(text):
        return BULLET
    if NUMBER_RE.match(text) or BARE_NUMBER_RE.match(text):
        return "number"
    return None


def _paragraphs(pages: list[list[Line]], body: float | None, pitch: float | None, left: float | None) -> list[_Para]:
    """Group lines into paragraphs: at a wider gap, a change of type size, a bullet or number after a finished
    sentence, or (in a PDF without paragraph spacing) after a short line ending a sentence."""
    widths = sorted(len(ln.text.strip()) for lines in pages for ln in lines)
    full = widths[int(len(widths) * 0.9)] if widths else 80
    spaced = pitch is not None
    paras: list[_Para] = []
    for pno, lines in enumerate(pages, start=1):
        prev: Line | None = None
        following = [ln.text.strip() for ln in lines[1:]] + [""]
        closed = False  # the previous line was a title line: what follows starts anew
        for ln, nxt in zip(lines, following):
            text = ln.text.strip()
            cur = paras[-1] if paras else None
            last = cur.lines[-1].text.strip() if cur else ""
            ended = ENDS_SENTENCE_RE.search(last) is not None
            opens = _opens(text)
            title = _title_line(text, nxt, full) and (cur is None or ended or closed)
            if cur is None or title or closed or ln.heading != cur.lines[-1].heading:
                new = True
            elif prev is None:  # first line of a page: a paragraph goes on unless it ended and this one starts anew
                moved = ln.placed and cur.lines[-1].placed and abs(ln.x - cur.lines[-1].x) > 2  # type: ignore[operator]
                short = len(last) < full * 0.5 and not last.endswith((",", "-", "–", "—"))  # a list item, or an end
                new = bool(opens) or moved or ((ended or short) and not text[:1].islower())
            else:
                new = bool(opens) and (ended or ENDS_LIST_ITEM_RE.search(last) is not None or text[0] in "•●>")
                if spaced and ln.placed and prev.placed:
                    new = new or _apart(prev, ln, pitch, body)  # type: ignore[arg-type]
                elif not spaced:
                    new = new or (ended and len(last) < full * 0.85)
            if new:
                paras.append(_Para(BULLET if opens == BULLET else PARA, [ln], pno))
            else:
                cur.lines.append(ln)  # type: ignore[union-attr]
            prev, closed = ln, title
    _classify(paras, body, left, full)
    return paras


def _apart(prev: Line, ln: Line, pitch: float, body: float | None) -> bool:
    """Whether a placed line is set apart from the placed line before it: a step down wider than the line pitch
    (scaled up for larger type), a step back up, or another type size."""
    dy = prev.y - ln.y  # type: ignore[operator]
    scale = (ln.size / body) if body else 1.0  # type: ignore[operator]
    wide = dy > 1.35 * pitch * max(1.0, scale) or dy < -0.5 * ln.size  # type: ignore[operator]
    return wide or (body is not None and abs(ln.size - prev.size) > 0.1 * body)  # type: ignore[operator]


def _title_line(text: str, nxt: str, full: int) -> bool:
    """A short line without closing punctuation, before a line that starts with a capital, reads as a title."""
    return (
        len(text) < full * 0.7
        and not ENDS_SENTENCE_RE.search(text)
        and text[:1].isupper()
        and nxt[:1].isupper()
        and not _opens(text)
    )


def _classify(paras: list[_Para], body: float | None, left: float | None, full: int) -> None:
    """Headings (larger type, capitals, or a short title line before a capitalised paragraph) and list items
    set in from the margin after a lead-in ending with a colon."""
    for i, p in enumerate(paras):
        text = " ".join(ln.text.strip() for ln in p.lines)
        nxt = " ".join(ln.text.strip() for ln in paras[i + 1].lines) if i + 1 < len(paras) else ""
        big = body is not None and all(ln.placed and ln.size >= 1.08 * body for ln in p.lines)  # type: ignore[operator]
        caps = len(text) < 120 and sum(c.isalpha() for c in text) >= 4 and not any(c.islower() for c in text)
        short = len(p.lines) == 1 and _title_line(text, nxt, full)
        indented = left is not None and all(ln.placed and ln.x > left + 5 for ln in p.lines)  # type: ignore[operator]
        prev = paras[i - 1] if i else None
        after_colon = prev is not None and (
            prev.lines[-1].text.strip().endswith(":") or (prev.kind == BULLET and prev.lines[0].x == p.lines[0].x)
        )
        styled = len(p.lines) <= 2 and all(ln.styled for ln in p.lines) and not ENDS_SENTENCE_RE.search(text)
        if p.lines[0].heading or (p.kind == PARA and (big or caps or styled) and len(text) < 300 and not _opens(text)):
            p.kind = HEADING
        elif p.kind == PARA and indented and after_colon and not SUB_ITEM_RE.match(text) and not _opens(text):
            p.kind = BULLET
        elif p.kind == PARA and short and not indented:
            p.kind = HEADING


def _left_margin(pages: list[list[Line]], body: float | None) -> float | None:
    xs: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            if ln.placed and _is_body(ln, body):
                xs[round(ln.x)] += len(ln.text)  # type: ignore[arg-type]
    return _mode(xs)


def _block_texts(p: _Para, vocab: Counter[str], spaced_hyphens: bool) -> list[Block]:
    lines = join_unfinished((ln.text for ln in p.lines), OPEN_TAG_RE)  # a tag a line break cut: dropped whole
    head = _underlined_head(" ".join(lines)) if p.kind == PARA and "<span" in lines[0] else ""
    raw = [clean_inline(t).replace("\x7f", "•") for t in lines]
    if p.kind == BULLET:
        raw[0] = BULLET_MARK_RE.sub("", raw[0], count=1)
    text = _mend_words(join_lines(raw, lambda w: vocab[w.lower()] > 0, spaced_hyphens), vocab).strip()
    if "](" in text:  # a markdown link typeset as it was, over lines: its text only
        text = LINK_RE.sub(r"\1", text)
    if p.kind == HEADING:
        return [Block(HEADING, text, p.page)] if re.search(r"\w", text) else []
    text = _drop_cap(text, vocab)
    out: list[Block] = []
    if head and (m := re.match(r"\s*".join(map(re.escape, head.split())) + r"\s*", text)):
        out.append(Block(HEADING, head, p.page))
        text = text[m.end() :]
    elif p.kind == PARA and (m := GLUED_HEADING_RE.match(text)):
        out.append(Block(HEADING, m.group(1), p.page))
        text = text[m.end() :]
    for i, piece in enumerate(INLINE_BULLET_RE.split(text)):
        if piece and re.search(r"\w", piece):
            out.append(Block(p.kind if i == 0 else BULLET, piece, p.page))
    return out


def _underlined_head(text: str) -> str:
    """The heading a paragraph opens with where leaked HTML marks it underlined ("IV. <span style="text-decoration:
    underline">Conclusion and Next Steps</span> Since its …"), its tags dropped; "" where there is none."""
    m = UNDERLINED_HEAD_RE.match(text)
    return " ".join(TAG_RE.sub(" ", m.group(0)).split()) if m else ""


def _wrapped_headings(paras: list[_Para], pitch: float | None, body: float | None) -> list[_Para]:
    """A heading the print wrapped over two lines, joined: the second line set in the same type at the next line's
    distance, not opening with a label of its own ("Transatlantic Cooperation on Standards for Critical and
    Emerging" / "Technologies and Clean Energy Transition")."""
    out: list[_Para] = []
    for p in paras:
        last = out[-1] if out else None
        if last is not None and last.kind == p.kind == HEADING and last.page == p.page and _wraps(last, p, pitch, body):
            last.lines.extend(p.lines)
        else:
            out.append(p)
    return out


def _wraps(a: _Para, b: _Para, pitch: float | None, body: float | None) -> bool:
    """Whether heading `b` goes on heading `a`: the next line down, not set apart (`_apart`), in the same style and
    case, not ending a sentence before it nor opening with a label of its own."""
    x, y = a.lines[-1], b.lines[0]
    if not (x.placed and y.placed and pitch) or HEADING_LABEL_RE.match(y.text) or ENDS_SENTENCE_RE.search(x.text):
        return False
    below = x.y > y.y  # type: ignore[operator]
    return below and not _apart(x, y, pitch, body) and x.styled == y.styled and x.text.isupper() == y.text.isupper()


def layout_blocks(pages: list[list[Line]]) -> list[Block]:
    """Blocks (headings, paragraphs, bullets) of a PDF from its placed lines, print furniture removed."""
    pages = _print_layout(_same_row(pages))
    body = _body_size(pages)
    repeated = _repeated_keys(pages)
    pages = [_strip_page(lines, body, repeated) for lines in pages]
    pitch = _pitch(pages, body)
    gaps = pitch is not None and _has_gaps(pages, body, pitch)
    vocab = _vocabulary(pages)
    paras = _paragraphs(pages, body, pitch if gaps else None, _left_margin(pages, body))
    paras = _wrapped_headings(paras, pitch, body)
    texts = [ln.text for lines in pages for ln in lines]
    dashes = any(" – " in t or " — " in t for t in texts) and not any(" - " in t for t in texts)
    return [b for p in paras for b in _block_texts(p, vocab, dashes)]


def _has_gaps(pages: list[list[Line]], body: float | None, pitch: float) -> bool:
    """Whether paragraphs are set apart by extra space (else line lengths and punctuation must tell): wider
    steps between body lines are common enough to be paragraph spacing, not only space around headings."""
    dys = [
        a.y - b.y  # type: ignore[operator]
        for lines in pages
        for a, b in pairwise(lines)
        if a.placed and b.placed and _is_body(a, body) and _is_body(b, body)
    ]
    wide = sum(1 for dy in dys if 1.35 * pitch < dy < 4 * pitch)
    return wide >= max(1, 0.05 * len(dys))
