"""Hostile and broken input: every loader refuses bad files with a reason naming them, the build goes on
without them, and fuzzed bytes or text never raise anything but LoadError nor run past a time bound."""

from __future__ import annotations

import io
import random
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfmaker import make_pdf
from typer.testing import CliRunner

from govassist import catalog
from govassist.chunk import chunk_blocks
from govassist.cli import app
from govassist.errors import ConfigError, LoadError
from govassist.load import BULLET, HEADING, PARA, Block, Limits, load_file, load_html, load_pdf, load_text, text_blocks
from govassist.retrieve import search
from govassist.settings import Settings
from govassist.store import build, open_store

PAGES = [
    ["1. We affirm the first commitment on connectivity for all", "schools and hospitals by 2030."],
    ["2. We support open standards for digital public", "infrastructure and interoperability."],
]
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources %s >>"


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1 = catalog, 2 = page tree), with a correct xref table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


def one_page_pdf(content: bytes, resources: bytes = b"<< /Font << /F1 5 0 R >> >>", fifth: bytes = FONT) -> bytes:
    kids = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", kids, PAGE % resources, stream(content), fifth])


def pages_pdf(kids: int, count: int) -> bytes:
    """A page tree listing one small page `kids` times and declaring `count` pages."""
    tree = b"<< /Type /Pages /Kids [" + b" ".join([b"3 0 R"] * kids) + b"] /Count %d >>" % count
    text = stream(b"BT /F1 10 Tf 50 800 Td (1. We affirm the commitment of all members.) Tj ET")
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", tree, PAGE % b"<< /Font << /F1 5 0 R >> >>", text, FONT])


def image_only_pdf() -> bytes:
    image = b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8"
    image += b" /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    return one_page_pdf(b"q 500 0 0 700 40 60 cm /Im1 Do Q", b"<< /XObject << /Im1 5 0 R >> >>", image)


def encrypted(src: Path, user: str) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(src))
    writer.encrypt(user_password=user, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def good_pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "good.pdf", PAGES, header="Synthetic Ministerial Statement, Rome 2024")


def hostile_files(good: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected reason): one entry per kind of broken input, for every loader."""
    pdf = good.read_bytes()
    utf8 = "1. We welcome the Déclaration on trustworthy AI.\n".encode()
    return {
        "truncated.pdf": (pdf[: len(pdf) // 2], "corrupt or truncated PDF"),
        "header-only.pdf": (pdf[:9], "corrupt or truncated PDF"),
        "encrypted.pdf": (encrypted(good, "s3cret"), "encrypted PDF: it needs a password"),
        "scanned.pdf": (image_only_pdf(), "no extractable text (scanned images?): run OCR"),
        "blank page.pdf": (one_page_pdf(b""), "no extractable text"),
        "zip-bomb.pdf": (one_page_pdf(b"BT (1. x) Tj ET " + b" " * 40_000_000), "rejected as a PDF bomb"),
        "token-bomb.pdf": (one_page_pdf(b"BT [" + b"1 " * 150_000 + b"] TJ ET"), "rejected as a PDF bomb"),
        "many-pages.pdf": (pages_pdf(2500, 2500), "declares 2500 pages, over the limit of 2000"),
        "lying-count.pdf": (pages_pdf(2500, 1), "2500 pages, over the limit of 2000"),
        "billion-pages.pdf": (pages_pdf(1, 10**9), "declares 1000000000 pages"),
        "text-named.pdf": (b"1. Plain text with a PDF name.\n", "not a PDF (no %PDF header)"),
        "empty.pdf": (b"", "empty file"),
        "noise.txt": (random.Random(8).randbytes(4096), "binary data, not text"),
        "image.md": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "this is a PNG image, not text"),
        "report.html": (pdf, "this is a PDF, not text: rename it to report.pdf"),
        "archive.txt": (b"PK\x03\x04" + bytes(200), "a ZIP archive or Office document"),
        "nul-bytes.md": (b"1. Text\x00with\x00nulls " * 20, "binary data, not text"),
        "stray-latin1.txt": (
            utf8 + b"2. Caf\xe9 au lait.\n",
            "mixed encodings: UTF-8 text with a stray non-UTF-8 byte",
        ),
        "undetectable.txt": (b"1. Text.\n" + bytes(range(128, 256)) * 3, "not valid UTF-8 (byte 0x80 on line 2"),
        "bad-utf16.txt": (b"\xff\xfe" + "1. Text".encode("utf-16-le") + b"\x00\xd8", "UTF-16 mark but does not decode"),
        "empty.txt": (b"", "empty file"),
        "blank.md": (b" \n\t\n  ", "empty file"),
        "empty.html": (b"", "empty file"),
        "chrome-only.html": (
            b"<html><head><script>alert(1)</script></head><nav>Home</nav></html>",
            "HTML page has no text",
        ),
        "headings-only.md": (b"# Title\n\n## Another title\n", "no paragraphs of text found"),
        "notes.docx": (b"PK\x03\x04", "unsupported file type .docx"),
    }


def test_every_hostile_file_is_refused_with_a_reason_naming_it(tmp_path: Path, good_pdf: Path) -> None:
    for name, (data, reason) in hostile_files(good_pdf).items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(LoadError) as err:
            load_file(path)
        assert str(err.value).startswith(f"{name}: "), name
        assert reason in str(err.value), (name, str(err.value))


@pytest.mark.parametrize(
    ("name", "data", "text"),
    [
        ("bom16.txt", "1. We welcome the café society of all nations.\n".encode("utf-16"), "café society"),
        ("bom16be.md", b"\xfe\xff" + "1. We welcome the naïve hope.\n".encode("utf-16-be"), "naïve hope"),
        ("bom8.txt", b"\xef\xbb\xbf1. We welcome the UTF-8 mark.\n", "1. We welcome the UTF-8 mark."),
        ("crlf.md", b"1. We welcome line\r\nendings of every kind.\r\n", "line endings of every kind"),
    ],
)
def test_text_encodings_that_declare_themselves_are_read(tmp_path: Path, name: str, data: bytes, text: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    blocks = load_file(path)
    assert text in blocks[0].text and not blocks[0].text.startswith("\ufeff")


def test_pdf_with_empty_user_password_is_read(tmp_path: Path, good_pdf: Path) -> None:
    path = tmp_path / "protected.pdf"
    path.write_bytes(encrypted(good_pdf, ""))
    assert [b.text for b in load_file(path)] == [b.text for b in load_file(good_pdf)]


def test_pdf_bounds_come_from_limits(tmp_path: Path, good_pdf: Path) -> None:
    with pytest.raises(LoadError, match=r"good.pdf: extracted text passes 50 characters by page 1 of 2"):
        load_file(good_pdf, Limits(max_text_chars=50))
    with pytest.raises(LoadError, match=r"good.pdf: reading took over 0 s .*GOVASSIST_LOAD_TIMEOUT_S"):
        load_file(good_pdf, Limits(timeout_s=0.0))
    with pytest.raises(LoadError, match=r"good.pdf: declares 2 pages, over the limit of 1 \(GOVASSIST_MAX_PDF_PAGES\)"):
        load_file(good_pdf, Limits(max_pdf_pages=1))


def test_oversized_text_is_refused_by_size_without_being_read(tmp_path: Path, monkeypatch) -> None:
    big = tmp_path / "huge.txt"
    with big.open("wb") as fh:
        fh.truncate(50 * 2**20)  # sparse: 50 MB on paper
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the file was opened"))
    monkeypatch.setattr(Path, "read_bytes", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(LoadError, match=r"huge.txt: 50.0 MB, over the limit of 20 MB \(GOVASSIST_MAX_FILE_MB\)"):
        load_file(big)


def test_build_skips_every_hostile_file_reports_it_and_indexes_the_rest(
    mini_settings: Settings, good_pdf: Path, monkeypatch
) -> None:
    corpus = mini_settings.corpus_dir
    bad = hostile_files(good_pdf)
    for name, (data, _reason) in bad.items():
        (corpus / name).write_bytes(data)
    with (corpus / "huge.txt").open("wb") as fh:
        fh.truncate(50 * 2**20)
    import govassist.store.plan as plan

    hashed: list[str] = []
    real_sha = plan.sha256
    monkeypatch.setattr(plan, "sha256", lambda p: hashed.append(p.name) or real_sha(p))
    r = build(mini_settings, progress=False)
    expected = {*bad, "huge.txt", "empty-file.txt"}
    assert set(r.skipped) == expected
    for name, (_data, reason) in bad.items():
        assert r.skipped[name].startswith(f"{name}: ") and reason in r.skipped[name]
    assert "huge.txt" not in hashed and "notes.docx" not in hashed
    assert sorted(r.embedded_docs) == ["syn-compact", "syn-g7", "syn-report"]
    assert open_store(mini_settings).manifest["skipped"] == r.skipped


def test_cli_build_exits_2_and_lists_each_skipped_file(mini_settings: Settings, monkeypatch) -> None:
    for key, value in mini_settings.model_dump().items():
        if value is not None and not isinstance(value, dict):
            monkeypatch.setenv(f"GOVASSIST_{key.upper()}", str(value))
    (mini_settings.corpus_dir / "scanned.pdf").write_bytes(image_only_pdf())
    (mini_settings.corpus_dir / "noise.txt").write_bytes(bytes(range(256)) * 4)
    r = CliRunner().invoke(app, ["index", "build", "--no-progress"], catch_exceptions=False)
    assert r.exit_code == 2
    skipped = sorted(line for line in r.output.splitlines() if line.startswith("  skipped: "))
    assert [line.split(":")[1].strip() for line in skipped] == ["empty-file.txt", "noise.txt", "scanned.pdf"]
    assert "3 documents" in r.output


def test_file_names_with_spaces_and_unicode_are_indexed_and_cited(mini_settings: Settings) -> None:
    corpus = mini_settings.corpus_dir
    (corpus / "G7 Communiqué (final) 2024.md").write_text(
        "1. Leaders welcome the Ōsaka framework on submarine cable resilience.\n", encoding="utf-8"
    )
    (corpus / "Заявление 2023.txt").write_text("1. Ministers endorse quantum-safe cryptography.\n", encoding="utf-8")
    (corpus / "声明.txt").write_text("1. Ministers endorse the Lusaka accord on seabed sensors.\n", encoding="utf-8")
    r = build(mini_settings, progress=False)
    assert {"g7-communique-final-2024", "2023", "document"} <= set(r.embedded_docs)
    store = open_store(mini_settings)
    hit = search(store, "submarine cable resilience", mini_settings, k=1)[0]
    assert (hit.chunk.id, hit.doc.file) == ("g7-communique-final-2024#[1]", "G7 Communiqué (final) 2024.md")
    assert search(store, "Lusaka seabed sensors", mini_settings, k=1)[0].doc.file == "声明.txt"


@pytest.mark.parametrize("bad", ["../outside.txt", "sub/../../outside.txt", "/etc/hostname", "..\\outside.txt"])
def test_catalog_paths_cannot_leave_the_corpus_folder(tmp_path: Path, bad: str) -> None:
    cat_file = tmp_path / "corpus" / "catalog.toml"
    cat_file.parent.mkdir()
    cat_file.write_text(f'[[doc]]\nid = "x"\ntitle = "X"\nlabel = "X"\nfile = {bad!r}\n'.replace("'", '"'))
    with pytest.raises(ConfigError, match="must be a path inside the corpus folder"):
        catalog.load_catalog(cat_file)


def test_corpus_add_refuses_a_name_that_escapes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    cat_file = corpus / "catalog.toml"
    cat_file.write_text("")
    src = tmp_path / "new text.txt"
    src.write_text("1. Text.\n")
    meta = {"id": "new-text", "title": "New", "file": "../escaped.txt"}
    with pytest.raises(ConfigError, match="inside the corpus folder"):
        catalog.add(cat_file, corpus, str(src), meta)
    assert not (tmp_path / "escaped.txt").exists() and cat_file.read_text() == ""
    entry = catalog.add(cat_file, corpus, str(src), {"id": "new-text", "title": "New"})
    assert entry.file == "new text.txt" and (corpus / "new text.txt").read_text() == "1. Text.\n"


def test_symlink_out_of_the_corpus_is_not_followed(mini_settings: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("1. A private note that must never reach the index.\n")
    (mini_settings.corpus_dir / "link.txt").symlink_to(secret)
    r = build(mini_settings, progress=False)
    assert r.skipped["link.txt"] == (
        "link.txt: it is a symbolic link (not followed): copy the file into the corpus folder instead"
    )
    assert not any("private note" in c.text for c in open_store(mini_settings).chunks)


def test_uncatalogued_names_that_collapse_to_one_id_stay_distinct(tmp_path: Path) -> None:
    for i, name in enumerate(["ж.txt", "ф.txt", "щ.md"]):
        (tmp_path / name).write_text(f"{i}. Text.\n")
    pairs, _notes = catalog.corpus_documents([], tmp_path)
    assert sorted(m.id for m, _ in pairs) == ["document", "document-2", "document-3"]


# --- fuzzing: only LoadError may escape, within a time bound (hypothesis deadline) -----------------------

MARKUP = [
    "\n",
    "\n\n",
    "1. ",
    "29. ",
    "(a) ",
    "(iv) ",
    "- ",
    "• ",
    "**",
    "# ",
    "### ",
    "<!--",
    "-->",
    "[",
    "](",
    ")",
    "<b>",
    "</p>",
    "&amp;",
    "\\*",
    "We affirm ",
    "the G7.",
    ";",
    ":",
    "¹",
    "\r",
    "\t",
    "\x7f",
    "é",
    "PP3",
]
markup_text = st.lists(st.sampled_from(MARKUP) | st.text(max_size=20), max_size=80).map("".join)
FUZZ = settings(max_examples=150, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=markup_text | st.text(max_size=400))
def test_fuzz_text_blocks_never_crash(text: str) -> None:
    blocks = text_blocks(text)
    assert all(b.kind in (HEADING, PARA, BULLET) and b.text.strip() for b in blocks)


@FUZZ
@given(data=st.binary(max_size=600) | markup_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzz_text_and_html_loaders_raise_only_load_error(data: bytes) -> None:
    for loader in (load_text, load_html):
        try:
            loader(Path("fuzz.txt"), data)
        except LoadError as exc:
            assert str(exc).startswith("fuzz.txt: ")


def _mutate(seed: bytes, ops: list[tuple[int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, pos, chunk in ops:
        at = pos % (len(data) + 1)
        if kind == 0:
            data[at : at + len(chunk)] = chunk  # overwrite
        elif kind == 1:
            data[at:at] = chunk  # insert
        elif kind == 2:
            del data[at : at + len(chunk) * 8]  # delete a run
        else:
            data = data[:at]  # truncate
    return bytes(data)


SEED_PDF = b""


def _seed_pdf(tmp: Path) -> bytes:
    global SEED_PDF
    if not SEED_PDF:
        SEED_PDF = make_pdf(tmp / "seed.pdf", PAGES, header="Synthetic Ministerial Statement").read_bytes()
    return SEED_PDF


PDF_TOKENS = [
    b"obj",
    b"endobj",
    b"stream",
    b"endstream",
    b"/Count 99999",
    b"/Length 999999",
    b"<<",
    b">>",
    b"[",
    b"]",
    b"R",
    b"0",
    b"/Filter /FlateDecode",
    b"xref",
    b"trailer",
    b"%%EOF",
    b"(",
    b")",
    b"\\",
    b"\x00",
]
mutation = st.tuples(
    st.integers(0, 3), st.integers(0, 4000), st.sampled_from(PDF_TOKENS) | st.binary(min_size=1, max_size=8)
)


@settings(max_examples=200, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(mutation, min_size=1, max_size=6))
def test_fuzz_pdf_loader_on_mutated_real_pdf_raises_only_load_error(tmp_path_factory, ops) -> None:
    data = _mutate(_seed_pdf(tmp_path_factory.getbasetemp()), ops)
    try:
        blocks = load_pdf(Path("fuzz.pdf"), data, Limits(timeout_s=5.0))
    except LoadError as exc:
        assert str(exc).startswith("fuzz.pdf: ")
    else:
        assert all(isinstance(b, Block) for b in blocks)


block = st.builds(
    Block,
    kind=st.sampled_from([HEADING, PARA, BULLET]),
    text=markup_text.filter(lambda t: t.strip()),
    page=st.none() | st.integers(1, 40),
)


@FUZZ
@given(blocks=st.lists(block, max_size=40), max_chars=st.integers(20, 1500))
def test_fuzz_chunker_gives_unique_stable_ids(blocks: list[Block], max_chars: int) -> None:
    chunks = chunk_blocks("doc", blocks, max_chars=max_chars, min_chars=max_chars // 4)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)) and all(i.startswith("doc#") for i in ids)
    assert [c.order for c in chunks] == list(range(len(chunks)))
    assert chunk_blocks("doc", blocks, max_chars=max_chars, min_chars=max_chars // 4) == chunks


# --- time and size bounds for every format (issue 17, item 2) ----------------------------------------------


@pytest.fixture()
def slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """time.monotonic in the loader advances one second per reading: a deadline is met after a few checks."""
    import govassist.load as load

    ticks = iter(range(10**9))
    monkeypatch.setattr(load.time, "monotonic", lambda: float(next(ticks)))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("long.txt", b"1. Same paragraph.\n\n" * 20_000),
        ("long.md", b"- item one.\n" * 40_000),
        ("long.html", b"<p>Same paragraph.</p>\n" * 200_000),
    ],
)
def test_text_and_html_loads_stop_at_the_timeout(tmp_path: Path, slow_clock, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=rf"^{name}: reading took over 5 s \(stopped at .*GOVASSIST_LOAD_TIMEOUT_S\)"):
        load_file(path, Limits(timeout_s=5))


def test_html_that_makes_the_stdlib_parser_quadratic_is_defused() -> None:
    from govassist.load import _defuse_html

    assert _defuse_html("a <b c <d>e</d> f") == "a &lt;b c <d>e</d> f"
    assert _defuse_html("<p>x</p><!-- open comment <p>hidden") == "<p>x</p>"
    assert _defuse_html("<p>1 < 2</p> <!-- c --> <p>y</p>") == "<p>1 &lt; 2</p> <!-- c --> <p>y</p>"
    assert _defuse_html("x" + "<a" * 50_000).count("&lt;") == 50_000  # a lone '<' each: text, no rescan
    blocks = load_html(Path("odd.html"), b"<p>Kept <a</p><p>and this.</p><!-- <p>unclosed")
    assert [b.text for b in blocks] == ["Kept <a", "and this."]


def _big_stream_pdf(pages: int, stream_mb: int) -> bytes:
    """`pages` pages, each a content stream that decompresses to `stream_mb` MB (text, then spaces)."""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages)).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
    font = 3 + 2 * pages
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font)
        )
        words = PAGES[i % 2][0].split()[3 + i % 3 :]  # every page's text differs: none is a running header
        body = b"BT /F1 10 Tf 50 800 Td (%d. We affirm %s.) Tj ET " % (i + 1, " ".join(words).encode())
        objects.append(stream(body + b" " * (stream_mb * 2**20 - len(body))))
    return raw_pdf([*objects, FONT])


def test_pdf_streams_are_bounded_in_total_before_their_text_is_extracted(tmp_path: Path, monkeypatch) -> None:
    import pypdf

    path = tmp_path / "streams.pdf"
    path.write_bytes(_big_stream_pdf(pages=6, stream_mb=3))
    extracted: list[int] = []
    real = pypdf.PageObject.extract_text
    monkeypatch.setattr(pypdf.PageObject, "extract_text", lambda p, *a, **k: extracted.append(1) or real(p, *a, **k))
    with pytest.raises(LoadError, match=r"^streams.pdf: page content decompresses to over 10 MB by page 4 of 6"):
        load_file(path, Limits(max_pdf_stream_bytes=10 * 2**20))
    assert extracted == []  # refused before any text was parsed
    assert len(load_file(path, Limits(max_pdf_stream_bytes=20 * 2**20))) == 6
