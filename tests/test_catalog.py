"""The catalog, `corpus fetch` from a mirror and by URL (against a loopback HTTP server), and `corpus add`."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pdfmaker import make_pdf

from govassist import catalog
from govassist.errors import ConfigError, LoadError

ROOT = Path(__file__).resolve().parents[1]


def test_project_catalog_lists_mirror_and_online_texts() -> None:
    docs = {d.id: d for d in catalog.load_catalog(ROOT / "corpus" / "catalog.toml")}
    assert len(docs) == 35
    for doc_id in ("g7-hiroshima-2023", "spyware-2024", "ttc-2024-04", "gdc-rev2-2024", "wsis-tunis-agenda-2005"):
        assert doc_id in docs
    assert docs["gdc-rev2-2024"].status == "draft" and docs["gdc-rev2-2024"].label == "GDC Rev.2"
    assert [d.id for d in sorted(docs.values(), key=lambda d: d.order) if d.family == "spyware-joint-statement"] == [
        "spyware-2023",
        "spyware-2024",
    ]
    assert all(d.url.startswith("https://") for d in docs.values())


def test_project_catalog_has_the_issuers_pdfs_with_families() -> None:
    docs = {d.id: d for d in catalog.load_catalog(ROOT / "corpus" / "catalog.toml")}
    un = docs["unga-78-265-2024"]
    assert (un.label, un.collection, un.forum, un.status, un.type) == (
        "A/RES/78/265", "UN", "UN General Assembly", "adopted", "resolution"
    )  # fmt: skip

    def family(name: str) -> list[tuple[str, str]]:
        return [(d.id, d.label) for d in sorted(docs.values(), key=lambda d: d.order) if d.family == name]

    assert family("hiroshima-process") == [
        ("g7-hiroshima-guiding-principles-2023", "Guiding Principles"),
        ("g7-hiroshima-code-of-conduct-2023", "Code of Conduct"),
    ]
    assert family("bletchley") == [
        ("bletchley-declaration-2023", "Bletchley Declaration"),
        ("bletchley-chair-statement-2023", "Bletchley Chair's Statement"),
        ("bletchley-safety-testing-2023", "Bletchley Safety Testing Statement"),
    ]
    assert {docs[i].collection for i in ("bletchley-declaration-2023", "bletchley-safety-testing-2023")} == {
        "AI Safety Summit"
    }
    assert all(docs[i].file.endswith(".pdf") for i, _ in family("bletchley") + family("hiroshima-process"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\n', "lacks file"),
        ('[[doc]]\nid = "A B"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\n', "must be lowercase"),
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\nstatus = "final"\n', "status must be"),
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\nauthor = "x"\n', "unknown field"),
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\n' * 2, "duplicate id"),
        ("[[doc]\n", "not valid TOML"),
        # a misspelt table or an entry's fields above the first [[doc]]: entries, and their restrictions, lost unseen
        ('[[docs]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\nrestricted = ["negotiator"]\n', "docs"),
        ('id = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\n\n[[doc]]\nid = "b"\n', "unknown top-level key"),
        ('[doc]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\n', r"\[\[doc\]\] table"),
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\ndate = "June 2024"\n', "is not a date"),
        ('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\ndate = "2024-02-30"\n', "is not a date"),
    ],
)
def test_invalid_catalogs_are_rejected(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        catalog.load_catalog(path)


def test_a_catalog_may_be_empty_and_give_a_year_or_month_as_a_date(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text("# no texts yet\n")
    assert catalog.load_catalog(path) == []
    path.write_text('[[doc]]\nid = "a"\ntitle = "T"\nlabel = "L"\nfile = "a.txt"\ndate = "2024-06"\n')
    assert catalog.load_catalog(path)[0].date == "2024-06"


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    pdf = make_pdf(tmp_path / "src.pdf", [["1. A downloaded official text."]]).read_bytes()
    _Handler.routes = {
        "/doc.pdf": (200, "application/pdf", pdf),
        "/page.html": (200, "text/html", b"<html><body><p>72. We ask the Secretary-General.</p></body></html>"),
        "/landing.pdf": (200, "text/html", b"<html>landing page</html>"),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _doc(doc_id: str, file: str, url: str = "") -> catalog.DocMeta:
    return catalog.DocMeta(id=doc_id, title=doc_id, label=doc_id, file=file, url=url)


def test_fetch_from_mirror_and_by_url_reports_failures(tmp_path: Path, http_server: str) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "m.txt").write_text("1. Mirrored.\n")
    docs = [
        _doc("m", "m.txt"),
        _doc("pdf", "doc.pdf", f"{http_server}/doc.pdf"),
        _doc("html", "page.html", f"{http_server}/page.html"),
        _doc("gone", "gone.pdf", f"{http_server}/missing.pdf"),
        _doc("landing", "landing.pdf", f"{http_server}/landing.pdf"),
        _doc("offline", "o.txt"),
    ]
    dest = tmp_path / "corpus"
    r = catalog.fetch(docs, dest, mirror)
    assert r.copied == ["m"] and r.downloaded == ["pdf", "html"]
    assert r.failed["gone"].endswith("HTTP 404")
    assert "not a PDF" in r.failed["landing"]
    assert r.failed["offline"] == "not in the mirror and no url"
    assert (dest / "doc.pdf").read_bytes().startswith(b"%PDF")
    assert not (dest / "gone.pdf").exists() and not list(dest.glob(".*part"))
    again = catalog.fetch(docs[:3], dest, mirror)
    assert again.present == ["m", "pdf", "html"]

    # a damaged copy is kept by a plain fetch and replaced when named; a failed replacement leaves it as it was
    (dest / "doc.pdf").write_bytes(b"%PDF-1.4 trunc")
    (dest / "m.txt").write_text("damaged")
    assert catalog.fetch(docs[:3], dest, mirror).present == ["m", "pdf", "html"]
    fixed = catalog.fetch(docs[:3], dest, mirror, replace=["pdf", "m"])
    assert (fixed.copied, fixed.downloaded, fixed.present) == (["m"], ["pdf"], ["html"])
    assert (dest / "doc.pdf").read_bytes() == (tmp_path / "src.pdf").read_bytes()
    assert (dest / "m.txt").read_text() == "1. Mirrored.\n"
    (dest / "gone.pdf").write_bytes(b"%PDF-1.4 trunc")
    failed = catalog.fetch(docs, dest, mirror, replace=["gone"])
    assert failed.failed["gone"].endswith("HTTP 404") and (dest / "gone.pdf").read_bytes() == b"%PDF-1.4 trunc"
    with pytest.raises(ConfigError, match="no catalog entry nope"):
        catalog.fetch(docs, dest, mirror, replace=["nope"])
    (mirror / "m.txt").write_text("damaged")  # the mirror holds the same damaged copy: not "copied" again
    (dest / "m.txt").write_text("damaged")
    same = catalog.fetch(docs[:1], dest, mirror, replace=["m"])
    assert same.copied == [] and same.failed["m"] == "the mirror holds the same copy and no url"


def test_add_registers_a_local_file_and_a_url(tmp_path: Path, http_server: str) -> None:
    cat_file = tmp_path / "catalog.toml"
    cat_file.write_text("")
    src = tmp_path / "new text.md"
    src.write_text("1. A new text.\n")
    corpus = tmp_path / "corpus"
    entry = catalog.add(
        cat_file, corpus, str(src), {"id": "new-2025", "title": 'New "quoted" text', "date": "2025-01-02"}
    )
    assert entry.label == 'New "quoted" text' and (corpus / "new text.md").exists()
    catalog.add(cat_file, corpus, f"{http_server}/page.html", {"id": "tunis", "title": "Tunis", "status": "adopted"})
    docs = {d.id: d for d in catalog.load_catalog(cat_file)}
    assert docs["new-2025"].title == 'New "quoted" text' and docs["tunis"].file == "page.html"
    with pytest.raises(ConfigError, match="already has id"):
        catalog.add(cat_file, corpus, str(src), {"id": "tunis", "title": "again"})
    # the same text under another name: refused, since every build would skip it as a duplicate; nothing left behind
    twin = tmp_path / "COPY.MD"
    twin.write_text("1. A new text.\n")
    with pytest.raises(ConfigError, match=r"same content as new text.md \(catalogued as new-2025\)"):
        catalog.add(cat_file, corpus, str(twin), {"id": "copy", "title": "Copy"})
    assert not (corpus / "COPY.MD").exists() and "copy" not in {d.id for d in catalog.load_catalog(cat_file)}


def test_uncatalogued_files_get_inferred_metadata(tmp_path: Path) -> None:
    (tmp_path / "GDC Rev.3 2024.pdf").write_bytes(b"%PDF")
    pairs, notes = catalog.corpus_documents([], tmp_path)
    meta = pairs[0][0]
    assert (meta.id, meta.date, meta.in_catalog) == ("gdc-rev.3-2024", "2024-01-01", False)
    assert "not in the catalog" in notes[0]


def test_the_projects_own_files_in_the_corpus_folder_are_not_texts(tmp_path: Path) -> None:
    for name in ("catalog.toml", "README.md", "glossary.tsv"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    pairs, notes = catalog.corpus_documents([], tmp_path)
    assert [p.name for _, p in pairs] == ["notes.docx"] and len(notes) == 1


def test_remove_keeps_the_rest_of_the_catalog_verbatim(tmp_path: Path) -> None:
    cat_file = tmp_path / "catalog.toml"
    head = '# Our catalog\n\n[[doc]]\nid = "a"\ntitle = "A"\nlabel = "A"\nfile = "a.txt"  # kept\n\n'
    middle = '[[doc]]\nid = "b"\ntitle = "B [draft]"\nlabel = "B"\nfile = "b.txt"\nrestricted = ["staff"]\n\n'
    tail = '[[doc]]\nid = "c"\ntitle = "C"\nlabel = "C"\nfile = "c.txt"\n'
    cat_file.write_text(head + middle + tail)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "b.txt").write_text("1. B.\n")
    entry, deleted = catalog.remove(cat_file, corpus, "b")
    assert (entry.id, deleted) == ("b", True) and not (corpus / "b.txt").exists()
    assert cat_file.read_text() == head + tail
    entry, deleted = catalog.remove(cat_file, corpus, "c")
    assert deleted is False and cat_file.read_text() == head
    with pytest.raises(ConfigError, match="no catalog entry with id 'zz'"):
        catalog.remove(cat_file, corpus, "zz")
    corpus.mkdir(exist_ok=True)
    (corpus / "Kiwi Note.md").write_text("1. Dropped in.\n")  # indexed as "kiwi-note" with metadata from its name
    with pytest.raises(ConfigError, match=r"kiwi-note is not catalogued: it is the file Kiwi Note.md .*delete that"):
        catalog.remove(cat_file, corpus, "kiwi-note")


def test_fetch_copies_without_following_a_link_planted_at_the_temporary_name(tmp_path: Path) -> None:
    mirror, corpus, outside = tmp_path / "mirror", tmp_path / "corpus", tmp_path / "outside.txt"
    mirror.mkdir()
    corpus.mkdir()
    (mirror / "a.txt").write_text("1. A.\n")
    outside.write_text("KEEP")
    (corpus / ".a.txt.part").symlink_to(outside)
    r = catalog.fetch([_doc("a", "a.txt")], corpus, mirror, download=False)
    assert r.copied == ["a"] and (corpus / "a.txt").read_text() == "1. A.\n" and outside.read_text() == "KEEP"


def test_add_refuses_a_file_name_that_is_not_utf8_before_copying(tmp_path: Path) -> None:
    import os

    cat_file = tmp_path / "catalog.toml"
    cat_file.write_text("")
    src = tmp_path / os.fsdecode(b"r\xe9sum\xe9.txt")
    src.write_text("1. A text.\n")
    with pytest.raises(ConfigError, match="the file name is not valid UTF-8: rename the file, or pass --file"):
        catalog.add(cat_file, tmp_path / "corpus", str(src), {"id": "resume", "title": "Resume"})
    assert not (tmp_path / "corpus").exists() or not any((tmp_path / "corpus").iterdir())
    assert cat_file.read_text() == ""


def test_add_takes_back_the_file_it_brought_in_when_a_later_step_fails(tmp_path: Path, monkeypatch) -> None:
    import os

    cat_file = tmp_path / "catalog.toml"
    cat_file.write_text("")
    src = tmp_path / "src.txt"
    src.write_text("1. A text.\n")
    corpus = tmp_path / "corpus"
    with pytest.raises(ConfigError, match="--title is not valid UTF-8"):
        catalog.add(cat_file, corpus, str(src), {"id": "a", "title": os.fsdecode(b"R\xe9sum\xe9")})

    def refuse(_entry, _path) -> None:
        raise LoadError("src.txt: no paragraphs of text found")

    with pytest.raises(LoadError):
        catalog.add(cat_file, corpus, str(src), {"id": "a", "title": "A"}, check=refuse)
    assert not (corpus / "src.txt").exists() and cat_file.read_text() == ""

    def disk_full(_v: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog, "_toml_value", disk_full)  # writing the entry fails after the copy
    with pytest.raises(OSError):
        catalog.add(cat_file, corpus, str(src), {"id": "a", "title": "A"})
    assert not (corpus / "src.txt").exists()
    monkeypatch.undo()
    assert catalog.add(cat_file, corpus, str(src), {"id": "a", "title": "A"}).id == "a"  # a retry is not blocked
