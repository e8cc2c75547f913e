"""Turn a file (txt, md, html, pdf) into text blocks (headings, paragraphs, bullets) with page numbers.

Every failure is a LoadError naming the file and the reason; nothing else escapes.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .errors import LoadError

HEADING, PARA, BULLET = "heading", "para", "bullet"
BULLET_RE = re.compile(r"^\s*(?:[-*•·▪◦\x7f]|\u2013)\s+")
NUMBER_RE = re.compile(
    r"^\s*(?:\d{1,3}(?:\.\d{1,2})*(?:\.\s*|,\s+)(?=[A-Z(\"“‘])|\(?[a-z]\)\s+\S|\(?[ivx]{1,5}\)\s+\S)"
)
ROMAN_HEADING_RE = re.compile(r"^\s*(?:[IVX]{1,5}|[A-H])\.\s+\S")
PAGE_NUM_RE = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
INLINE_BULLET_RE = re.compile(r"(?<=[.;:])\s+[-•]\s+(?=\w)")
ENDS_SENTENCE_RE = re.compile(r"[.:;!?)\]\"”’]\s*$")
SUPERSCRIPTS = str.maketrans("", "", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Block:
    """A run of text the source sets apart: a heading, a paragraph or a bullet item."""

    kind: str
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds on what a loader will take on."""

    max_bytes: int = 20 * 2**20
    max_pdf_pages: int = 2000


def _fail(path: Path, reason: str) -> LoadError:
    return LoadError(f"{path.name}: {reason}")


def _clean_inline(text: str) -> str:
    """Drop markdown/HTML residue inside a line: bold marks, link targets, tags, escapes."""
    text = re.sub(r"<!--.*?-->", " ", text)
    text = re.sub(r"</?[a-zA-Z][^<>]{0,200}>", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("**", "").replace("__", "")
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!$])", r"\1", text)
    return text.translate(SUPERSCRIPTS)


def _join(lines: list[str]) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out.endswith("-") and not out.endswith(" -") and line[:1].islower():
            out += line
        else:
            out = f"{out} {line}" if out else line
    return re.sub(r"[ \t\u00a0]+", " ", out).strip()


def _is_heading_line(raw: str) -> bool:
    s = raw.strip()
    if re.fullmatch(r"#{1,6}\s+.+", s):
        return True
    bold = re.fullmatch(r"\*\*[^*].*\*\*", s) or re.fullmatch(r"(\*\*[^*]+\*\*\s*)+", s)
    return bool(bold) and not s.replace("*", "").rstrip().endswith((":", ".", ";"))


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise _fail(path, "empty file: nothing to index")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _fail(path, f"starts with a UTF-16 mark but does not decode: {exc.reason}") from exc
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > len(sample) * 0.01:
        raise _fail(path, "binary data, not text (is it a PDF, image or archive with a text extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save it as UTF-8"
        ) from exc


def text_blocks(text: str, page: int | None = None) -> list[Block]:
    """Split plain or markdown text into blocks: blank lines, bullets, numbered items and headings."""
    blocks: list[Block] = []
    kind, buf = PARA, []

    def flush() -> None:
        nonlocal buf, kind
        joined = _join([_clean_inline(x) for x in buf])
        if joined and re.search(r"\w", joined):
            if kind == PARA and len(buf) == 1 and _short_title(joined):
                kind = HEADING
            blocks.append(Block(kind, joined, page))
        buf, kind = [], PARA

    prev = ""
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip() or re.fullmatch(r"\s*(<!--.*?-->|#{3,}|\*{3,}|-{3,}|_{3,})\s*", line):
            flush()
            prev = ""
            continue
        after_stop = not prev or ENDS_SENTENCE_RE.search(_clean_inline(prev)) is not None
        if _is_heading_line(line) and not buf:
            blocks.append(Block(HEADING, _join([_clean_inline(line.lstrip("# "))]), page))
            prev = ""
            continue
        if BULLET_RE.match(line) and (after_stop or not buf or line[:1] != " "):
            flush()
            kind = BULLET
            line = BULLET_RE.sub("", line, count=1)
        elif NUMBER_RE.match(_clean_inline(line)) and (after_stop or not buf):
            flush()
        buf.append(line)
        prev = line
    flush()
    return blocks


def _short_title(s: str) -> bool:
    """A lone short line with no closing punctuation reads as a heading."""
    if ROMAN_HEADING_RE.match(s) and len(s) < 100 and not s.endswith("."):
        return True
    return len(s) < 90 and not ENDS_SENTENCE_RE.search(s) and s[:1].isupper() and not NUMBER_RE.match(s)


def load_text(path: Path, data: bytes) -> list[Block]:
    return text_blocks(_decode(path, data))


class _HTMLText(HTMLParser):
    """Collects block-level text from HTML, skipping scripts, styles and page chrome."""

    SKIP = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template", "head", "svg", "form"})
    BREAK = frozenset({"p", "div", "br", "tr", "table", "section", "article", "blockquote", "dd", "dt", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.kind = PARA
        self.buf: list[str] = []
        self.skip = 0

    def flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.buf)).strip()
        if text and re.search(r"\w", text):
            self.blocks.append(Block(self.kind, text.translate(SUPERSCRIPTS)))
        self.buf, self.kind = [], PARA

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BREAK or tag == "li" or re.fullmatch(r"h[1-6]", tag):
            self.flush()
            if tag == "li":
                self.kind = BULLET
            elif tag.startswith("h") and tag != "head":
                self.kind = HEADING

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BREAK or tag == "li" or re.fullmatch(r"h[1-6]", tag):
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.buf.append(data)


def load_html(path: Path, data: bytes) -> list[Block]:
    text = _decode(path, data)
    parser = _HTMLText()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # HTMLParser is lenient; anything it raises is a malformed file
        raise _fail(path, f"malformed HTML: {exc}") from exc
    parser.flush()
    blocks = [Block(b.kind, html.unescape(b.text), None) for b in parser.blocks]
    if not blocks:
        raise _fail(path, "HTML page has no text")
    return blocks


def _strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers/footers (lines repeated at the top or bottom of most pages) and page numbers."""
    n = len(pages)
    edge: Counter[str] = Counter()
    for lines in pages:
        for line in {*lines[:2], *lines[-2:]}:
            edge[re.sub(r"\d+", "#", line.strip())] += 1
    repeated = {k for k, c in edge.items() if n >= 2 and c >= max(2, n * 0.5) and len(k) < 150}
    out = []
    for lines in pages:
        kept = []
        for i, line in enumerate(lines):
            at_edge = i < 3 or i >= len(lines) - 3
            key = re.sub(r"\d+", "#", line.strip())
            if at_edge and (key in repeated or PAGE_NUM_RE.match(line)):
                continue
            kept.append(line)
        out.append(kept)
    return out


def _pdf_blocks(pages: list[list[str]]) -> list[Block]:
    widths = sorted(len(x.strip()) for lines in pages for x in lines if x.strip())
    full = widths[int(len(widths) * 0.9)] if widths else 80
    blocks: list[Block] = []
    buf: list[str] = []
    kind, start_page = PARA, 1

    def flush() -> None:
        nonlocal buf, kind
        text = _join(buf)
        # bullets that the PDF's text layer ran together: "... sentence. - next item"
        for i, piece in enumerate(INLINE_BULLET_RE.split(text)):
            if piece and re.search(r"\w", piece):
                blocks.append(Block(kind if i == 0 else BULLET, piece, start_page))
        buf, kind = [], PARA

    for pno, lines in enumerate(pages, start=1):
        for i, raw in enumerate(lines):
            line = _clean_inline(raw).replace("\x7f", "•").strip()
            if not line:
                continue
            nxt = next((_clean_inline(x).strip() for x in lines[i + 1 :] if x.strip()), "")
            prev = buf[-1] if buf else ""
            prev_ended = not buf or (len(prev) < full * 0.85 and ENDS_SENTENCE_RE.search(prev) is not None)
            heading_like = (
                len(line) < full * 0.7
                and not ENDS_SENTENCE_RE.search(line)
                and line[:1].isupper()
                and nxt[:1].isupper()
                and not NUMBER_RE.match(line)
            )
            if heading_like and not BULLET_RE.match(line) and (not buf or ENDS_SENTENCE_RE.search(buf[-1])):
                flush()
                blocks.append(Block(HEADING, line, pno))
                continue
            if BULLET_RE.match(line) and (prev_ended or ENDS_SENTENCE_RE.search(prev)):
                flush()
                kind, start_page = BULLET, pno
                line = BULLET_RE.sub("", line, count=1)
            elif (NUMBER_RE.match(line) and (prev_ended or ENDS_SENTENCE_RE.search(prev))) or (prev_ended and buf):
                flush()
                start_page = pno
            elif not buf:
                start_page = pno
            buf.append(line)
    flush()
    return blocks


def load_pdf(path: Path, data: bytes, limits: Limits) -> list[Block]:
    import io
    import logging

    import pypdf
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not data:
        raise _fail(path, "empty file: nothing to index")
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise _fail(path, "not a PDF (no %PDF header): the file is corrupt or misnamed")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:
                raise _fail(path, f"encrypted PDF that cannot be opened without a password ({exc})") from exc
            if not ok:
                raise _fail(path, "encrypted PDF: it needs a password; save an unprotected copy")
        n = len(reader.pages)
        if n > limits.max_pdf_pages:
            raise _fail(path, f"{n} pages, over the limit of {limits.max_pdf_pages} (GOVASSIST_MAX_PDF_PAGES)")
        pages, total = [], 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > limits.max_bytes * 4:
                raise _fail(path, "extracted text exceeds the size limit (a PDF bomb?)")
            pages.append([x for x in text.splitlines()])
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise _fail(path, f"corrupt or truncated PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    except Exception as exc:
        raise _fail(path, f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if n == 0:
        raise _fail(path, "PDF has no pages")
    if not any(line.strip() for lines in pages for line in lines):
        raise _fail(path, "PDF has no extractable text (scanned images?): run OCR and add the text version")
    return _pdf_blocks(_strip_furniture(pages))


def load_file(path: Path, limits: Limits | None = None) -> list[Block]:
    """Read one corpus file into blocks, or raise LoadError with the file name and a reason."""
    limits = limits or Limits()
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".md", ".markdown", ".html", ".htm", ".pdf"):
        raise _fail(path, f"unsupported file type {suffix or '(none)'}: use PDF, TXT, MD or HTML")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc
    if size > limits.max_bytes:
        raise _fail(
            path,
            f"{size / 2**20:.1f} MB, over the limit of {limits.max_bytes / 2**20:.0f} MB (GOVASSIST_MAX_FILE_MB)",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc
    if suffix == ".pdf":
        blocks = load_pdf(path, data, limits)
    elif suffix in (".html", ".htm"):
        blocks = load_html(path, data)
    else:
        blocks = load_text(path, data)
    if not any(b.kind != HEADING for b in blocks):
        raise _fail(path, "no paragraphs of text found")
    return blocks
