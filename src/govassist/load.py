"""Turn a file (txt, md, html, pdf) into text blocks (headings, paragraphs, bullets) with page numbers.

Every failure is a LoadError naming the file and the reason; nothing else escapes.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from .blocks import (
    BULLET,
    ENDS_SENTENCE_RE,
    HEADING,
    LINK_RE,
    NUMBER_RE,
    PARA,
    SUPERSCRIPTS,
    Block,
    clean_inline,
    join_lines,
)
from .errors import LoadError
from .text import safe_line

if TYPE_CHECKING:
    from .settings import Settings

SUFFIXES = (".pdf", ".txt", ".md", ".markdown", ".html", ".htm")  # what the loaders read (corpus add checks it)
SUPPORTED = "PDF, TXT, MD or HTML"
PARAGRAPH_MIN_CHARS = 80  # a numbered text this long is a paragraph, not an item of a list (_next_paragraph)
PARA_NUMBER_RE = re.compile(r"^\s*(\d{1,3})\.\s+(?=[A-Z(\"“‘])")  # "5. The United States …"
BULLET_RE = re.compile(r"^\s*(?:[-*•·▪◦\x7f]|\u2013)\s+")
ROMAN_HEADING_RE = re.compile(r"^\s*(?:[IVX]{1,5}|[A-H])\.\s+\S")
SEPARATOR_RE = re.compile(r"\s*(<!--.*?-->|#{3,}|\*{3,}|-{3,}|_{3,})\s*")
# multi-byte UTF-8 sequences: a file holding some of these and an invalid byte mixes encodings
UTF8_MULTI_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
MAGIC = (
    (b"%PDF", "a PDF", ".pdf"),
    (b"PK\x03\x04", "a ZIP archive or Office document (DOCX/XLSX/ODT)", None),
    (b"\xd0\xcf\x11\xe0", "an old Office document (DOC/XLS)", None),
    (b"\x89PNG", "a PNG image", None),
    (b"\xff\xd8\xff", "a JPEG image", None),
    (b"GIF8", "a GIF image", None),
    (b"\x1f\x8b", "a gzip archive", None),
    (b"{\\rtf", "an RTF document", None),
)
PDF_TOKENS_PER_PAGE = 100_000  # pypdf parsing budget per content stream; real pages use under 5,000
PDF_STREAM_BYTES = 16 * 2**20  # largest decompressed stream pypdf may produce (a bomb stops here)
LINES_PER_CHECK = 2048  # text and HTML loaders look at the clock this often


@dataclass(frozen=True)
class Limits:
    """Bounds on what a loader will take on."""

    max_bytes: int = 20 * 2**20
    max_pdf_pages: int = 2000
    max_text_chars: int = 20 * 2**20  # text extracted from one PDF (its streams are compressed)
    timeout_s: float = 60.0  # wall-clock budget for reading one file, any format
    max_pdf_stream_bytes: int = 100 * 2**20  # page content decompressed from one PDF, all pages together
    folder: Path | None = None  # the corpus folder: no symbolic link between it and a file is followed


def limits_for(s: Settings) -> Limits:
    """The loader bounds the settings ask for."""
    max_bytes = int(s.max_file_mb * 2**20)
    return Limits(
        max_bytes, s.max_pdf_pages, max_text_chars=max_bytes, timeout_s=s.load_timeout_s,
        max_pdf_stream_bytes=max(100 * 2**20, 5 * max_bytes), folder=s.corpus_dir,
    )  # fmt: skip


def _fail(path: Path, reason: str) -> LoadError:
    return LoadError(f"{safe_line(path.name)}: {reason}")


def linked_part(path: Path, folder: Path) -> Path | None:
    """The first symbolic link on the way from `folder` (which may itself be one) down to `path`, or None.
    A path outside `folder` counts as its own link."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return path
    cur = folder
    for part in parts:
        cur = cur / part
        if cur.is_symlink():
            return cur
    return None


def _is_heading_line(raw: str) -> bool:
    s = raw.strip()
    if not s.startswith(("#", "**")):
        return False
    if re.fullmatch(r"#{1,6}\s+.+", s):
        return True
    bold = re.fullmatch(r"\*\*[^*].*\*\*", s) or re.fullmatch(r"(\*\*[^*]+\*\*\s*)+", s)
    return bool(bold) and not s.replace("*", "").rstrip().endswith((":", ".", ";"))


def _decode(path: Path, data: bytes, notes: list[str] | None = None) -> str:
    """Text from bytes: UTF-8, UTF-16/32 with a byte-order mark, or a legacy encoding detected from the bytes
    (noted in `notes`); binary data, mixed encodings and undetectable bytes are refused with the reason."""
    if not data.strip():
        raise _fail(path, "empty file: nothing to index")
    for mark, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                        (b"\xfe\xff", "utf-16")):  # fmt: skip
        if data.startswith(mark):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise _fail(path, f"starts with a {codec.upper()} mark but does not decode: {exc.reason}") from exc
    head = data.lstrip()[:8]
    for magic, what, suffix in MAGIC:
        if head.startswith(magic):
            fix = f"rename it to {safe_line(path.stem)}{suffix}" if suffix else "convert it to PDF, TXT, MD or HTML"
            raise _fail(path, f"this is {what}, not text: {fix}")
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > len(sample) * 0.01:
        raise _fail(path, "binary data, not text (is it a PDF, image or archive with a text extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad, line = data[exc.start], data.count(b"\n", 0, exc.start) + 1
        where = f"byte 0x{bad:02x} on line {line}, offset {exc.start}"
        if UTF8_MULTI_RE.search(data):
            reason = f"mixed encodings: UTF-8 text with a stray non-UTF-8 byte ({where}); fix it and re-save as UTF-8"
            raise _fail(path, reason) from exc
        text, encoding = _detect(data)
        if text is None:
            raise _fail(path, f"not valid UTF-8 ({where}) and no other encoding fits: re-save it as UTF-8") from exc
        if notes is not None:
            notes.append(f"{safe_line(path.name)}: decoded as {encoding} (not UTF-8); re-save it as UTF-8 to be sure")
        return text


def _detect(data: bytes) -> tuple[str | None, str]:
    """The text and encoding charset-normalizer finds for bytes that are not UTF-8, or (None, "").

    Windows-1252, the usual legacy encoding of office documents, wins whenever it reads the bytes as cleanly as
    the best guess (short texts fit several code pages equally: 'naïve' in Windows-1252 is 'naďve' in 1250)."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None, ""
    if best.encoding != "cp1252":
        alt = from_bytes(data, cp_isolation=["cp1252"]).best()
        if alt is not None and alt.chaos <= best.chaos + 0.01 and alt.coherence >= best.coherence - 0.01:
            best = alt
    name = {"latin_1": "iso-8859-1"}.get(best.encoding, best.encoding.replace("_", "-"))
    return str(best), name.replace("cp125", "windows-125")


def text_blocks(text: str, page: int | None = None, deadline: float | None = None) -> list[Block]:
    """Split plain or markdown text into blocks: blank lines, bullets, numbered items and headings.

    Raises TimeoutError once time.monotonic() passes `deadline`."""
    blocks: list[Block] = []
    kind, buf = PARA, []

    def flush() -> None:
        nonlocal buf, kind
        joined = join_lines(buf)
        if "](" in joined:  # a markdown link that runs over lines: its text only
            joined = LINK_RE.sub(r"\1", joined)
        if joined and re.search(r"\w", joined):
            if kind == PARA and len(buf) == 1 and _short_title(joined):
                kind = HEADING
            blocks.append(Block(kind, joined, page))
        buf, kind = [], PARA

    prev = ""  # the previous line, cleaned; buf holds cleaned lines
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if deadline is not None and n % LINES_PER_CHECK == 0 and time.monotonic() > deadline:
            raise TimeoutError(f"stopped at line {n + 1}")
        line = raw.rstrip()
        if not line.strip() or SEPARATOR_RE.fullmatch(line):
            flush()
            prev = ""
            continue
        after_stop = not prev or ENDS_SENTENCE_RE.search(prev) is not None
        if _is_heading_line(line) and not buf:
            heading = join_lines([clean_inline(line.lstrip("# "))])
            if re.search(r"\w", heading):
                blocks.append(Block(HEADING, heading, page))
            prev = ""
            continue
        clean = clean_inline(line)
        if BULLET_RE.match(line) and (after_stop or not buf or line[:1] != " "):
            flush()
            kind = BULLET
            clean = clean_inline(BULLET_RE.sub("", line, count=1))
        elif NUMBER_RE.match(clean) and (after_stop or not buf or _next_paragraph(buf, clean)):
            flush()
        buf.append(clean)
        prev = clean
    flush()
    return blocks


def _next_paragraph(buf: list[str], line: str) -> bool:
    """Whether `line` opens the paragraph numbered after the one `buf` holds ("4. …" then "5. …"): a new paragraph
    even when the one before ends without a full stop ("… adopted by the OECD Council in May 2009", "…; and"). Not
    after a short item ("1. Technology standards") or one ending in a comma: those are items of one list or
    sentence ("1. AI terminology and taxonomy, 2. …")."""
    a, b = PARA_NUMBER_RE.match(buf[0]), PARA_NUMBER_RE.match(line)
    whole = sum(len(x) for x in buf) >= PARAGRAPH_MIN_CHARS and not buf[-1].endswith(",")
    return bool(a and b and whole and int(b.group(1)) == int(a.group(1)) + 1)


def _short_title(s: str) -> bool:
    """A lone short line with no closing punctuation reads as a heading."""
    if ROMAN_HEADING_RE.match(s) and len(s) < 100 and not s.endswith("."):
        return True
    return len(s) < 90 and not ENDS_SENTENCE_RE.search(s) and s[:1].isupper() and not NUMBER_RE.match(s)


HTML_START_RE = re.compile(r"\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)


def load_text(path: Path, data: bytes, deadline: float | None = None, notes: list[str] | None = None) -> list[Block]:
    text = _decode(path, data, notes)
    if HTML_START_RE.match(text[:1024]):  # a saved web page: read as text, its markup and scripts would be indexed
        raise _fail(path, f"this is an HTML page, not plain text: rename it to {safe_line(path.stem)}.html")
    return text_blocks(text, deadline=deadline)


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


def _defuse_html(text: str) -> str:
    """The page as HTMLParser reads it, minus what makes that parser quadratic: a '<' whose tag is not closed
    before the next '<' becomes '&lt;' (text), and an unclosed comment ends the page (as browsers read it).
    CPython's parser rescans the rest of the input for each such '<'."""
    out: list[str] = []
    pos, gt = 0, -2  # gt: the first '>' after the current '<' (-1: none left), -2: not looked up yet
    i = text.find("<")
    while i >= 0:
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                out.append(text[pos:i])
                return "".join(out)
            i = text.find("<", end + 3)
            continue
        nxt = text.find("<", i + 1)
        if gt != -1 and gt <= i:
            gt = text.find(">", i + 1)
        if gt == -1 or 0 <= nxt < gt:
            out += [text[pos:i], "&lt;"]
            pos = i + 1
        i = nxt
    out.append(text[pos:])
    return "".join(out)


def load_html(path: Path, data: bytes, deadline: float | None = None, notes: list[str] | None = None) -> list[Block]:
    text = _defuse_html(_decode(path, data, notes))
    parser = _HTMLText()
    step = LINES_PER_CHECK * 128  # characters fed between looks at the clock
    try:
        for start in range(0, len(text), step):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"stopped at character {start:,}")
            parser.feed(text[start : start + step])
        parser.close()
    except TimeoutError:
        raise
    except Exception as exc:  # HTMLParser is lenient; anything it raises is a malformed file
        raise _fail(path, f"malformed HTML: {exc}") from exc
    parser.flush()
    blocks = parser.blocks  # character references are already converted (convert_charrefs)
    if not blocks:
        raise _fail(path, "HTML page has no text")
    return blocks


def _declared_pages(reader: object) -> int:
    """The page count the document's page tree claims (0 if unreadable): a cheap first check for bombs."""
    try:
        count = reader.trailer["/Root"]["/Pages"]["/Count"]  # type: ignore[attr-defined]
        return int(count) if isinstance(count, int) else 0
    except Exception:
        return 0


def _content_bytes(page: object) -> int:
    """Decompressed size of a page's content streams and of the forms it draws (what text extraction reads)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    def deref(x: object) -> object:
        return x.get_object() if x is not None else None  # type: ignore[attr-defined]

    contents = deref(page.get("/Contents"))  # type: ignore[attr-defined]
    streams = list(contents) if isinstance(contents, ArrayObject) else [contents] if contents is not None else []
    resources = deref(page.get("/Resources"))  # type: ignore[attr-defined]
    xobjects = deref(resources.get("/XObject")) if isinstance(resources, DictionaryObject) else None
    if isinstance(xobjects, DictionaryObject):
        streams += [x for x in xobjects.values() if deref(x).get("/Subtype") == "/Form"]  # type: ignore[union-attr]
    return sum(len(deref(x).get_data()) for x in streams)  # type: ignore[union-attr]


def load_pdf(path: Path, data: bytes, limits: Limits) -> list[Block]:
    """Text of each page, bounded in pages, decompressed stream size (each and in all), extracted text and time."""
    import io
    import logging

    import pypdf
    from pypdf.errors import LimitReachedError, PdfReadError

    from .pdflayout import layout_blocks, page_lines

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not data:
        raise _fail(path, "empty file: nothing to index")
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise _fail(path, "not a PDF (no %PDF header): the file is corrupt or misnamed")
    over_pages = f"over the limit of {limits.max_pdf_pages} (GOVASSIST_MAX_PDF_PAGES)"
    deadline = time.monotonic() + limits.timeout_s
    bounds = {
        "stream_parsing_work_maximum_count": PDF_TOKENS_PER_PAGE,
        "zlib_maximum_output_length": PDF_STREAM_BYTES,
        "lzw_maximum_output_length": PDF_STREAM_BYTES,
        "run_length_maximum_output_length": PDF_STREAM_BYTES,
        "brotli_maximum_output_length": PDF_STREAM_BYTES,
        "array_based_stream_maximum_output_length": PDF_STREAM_BYTES,
        "page_tree_maximum_entries": max(1000, limits.max_pdf_pages * 2),
    }
    try:
        with pypdf.apply_configuration(**bounds):
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:
                    raise _fail(path, f"encrypted PDF that cannot be opened without a password ({exc})") from exc
                if not ok:
                    raise _fail(path, "encrypted PDF: it needs a password; save an unprotected copy")
            if _declared_pages(reader) > limits.max_pdf_pages:
                raise _fail(path, f"declares {_declared_pages(reader)} pages, {over_pages}")
            n = len(reader.pages)
            if n > limits.max_pdf_pages:
                raise _fail(path, f"{n} pages, {over_pages}")
            streamed = 0  # decompressing is fast, parsing it for text is not: all pages are measured first
            for pno, page in enumerate(reader.pages, start=1):
                streamed += _content_bytes(page)
                if streamed > limits.max_pdf_stream_bytes:
                    raise _fail(
                        path,
                        f"page content decompresses to over {limits.max_pdf_stream_bytes / 2**20:g} MB by page "
                        f"{pno} of {n} (a PDF bomb?); split the document or save a simpler copy",
                    )
            pages, total = [], 0
            for pno, page in enumerate(reader.pages, start=1):
                if time.monotonic() > deadline:
                    raise _fail(
                        path,
                        f"reading took over {limits.timeout_s:g} s (stopped at page {pno} of {n}; "
                        "GOVASSIST_LOAD_TIMEOUT_S): a PDF bomb, or save a simpler copy",
                    )
                lines = page_lines(page)
                total += sum(len(line.text) for line in lines)
                if total > limits.max_text_chars:
                    raise _fail(
                        path,
                        f"extracted text passes {limits.max_text_chars:,} characters by page {pno} of {n} "
                        "(a PDF bomb?); split the document",
                    )
                pages.append(lines)
    except LoadError:
        raise
    except LimitReachedError as exc:
        raise _fail(path, f"rejected as a PDF bomb: {str(exc)[:120]}") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise _fail(
            path,
            f"corrupt or truncated PDF ({type(exc).__name__}: {str(exc)[:120]}): fetch it again from its source "
            "(`govassist corpus fetch --replace <its id>` for a catalogued text) or replace the file",
        ) from exc
    except Exception as exc:
        raise _fail(path, f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if n == 0:
        raise _fail(path, "PDF has no pages")
    if not any(line.text.strip() for lines in pages for line in lines):
        raise _fail(path, "PDF has no extractable text (scanned images?): run OCR and add the text version")
    return layout_blocks(pages)


def check_file(path: Path, limits: Limits) -> int:
    """Reject a file by type, size or a symbolic link on its way before reading it; returns its size in bytes."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(path, f"unsupported file type {suffix or '(none)'}: use {SUPPORTED}")
    link = path if path.is_symlink() else linked_part(path, limits.folder) if limits.folder else None
    if link is not None:
        where = "it" if link == path else f"its folder {safe_line(link.name)}"
        raise _fail(path, f"{where} is a symbolic link (not followed): copy the file into the corpus folder instead")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc
    if size > limits.max_bytes:
        raise _fail(
            path,
            f"{size / 2**20:.1f} MB, over the limit of {limits.max_bytes / 2**20:g} MB (GOVASSIST_MAX_FILE_MB)",
        )
    return size


def load_file(path: Path, limits: Limits | None = None, notes: list[str] | None = None) -> list[Block]:
    """Read one corpus file into blocks, or raise LoadError with the file name and a reason.

    What a reader should know (a legacy encoding decoded) is appended to `notes`."""
    limits = limits or Limits()
    check_file(path, limits)
    suffix = path.suffix.lower()
    try:
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as fh:
            data = fh.read(limits.max_bytes + 1)  # the file may have grown (or become a link) since its check
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from exc
    if len(data) > limits.max_bytes:
        raise _fail(path, f"grew past the limit of {limits.max_bytes / 2**20:g} MB while being read")
    deadline = time.monotonic() + limits.timeout_s
    try:
        if suffix == ".pdf":
            blocks = load_pdf(path, data, limits)
        elif suffix in (".html", ".htm"):
            blocks = load_html(path, data, deadline, notes)
        else:
            blocks = load_text(path, data, deadline, notes)
    except TimeoutError as exc:
        raise _fail(path, f"reading took over {limits.timeout_s:g} s ({exc}; GOVASSIST_LOAD_TIMEOUT_S)") from exc
    if not any(b.kind != HEADING for b in blocks):
        raise _fail(path, "no paragraphs of text found")
    return blocks
