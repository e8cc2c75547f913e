"""Write small real PDFs for tests: one text line per row, optional running header and 'Page N' footer."""

from __future__ import annotations

from pathlib import Path


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _write(path: Path, streams: list[bytes], fonts: list[bytes]) -> Path:
    """A PDF with one page per content stream, the fonts as /F0, /F1, … in every page's resources."""
    n_pages = len(streams)
    first_font = 3 + 2 * n_pages
    font_refs = " ".join(f"/F{k} {first_font + k} 0 R" for k in range(len(fonts)))
    objs: list[bytes] = []
    kids = []
    for i, stream in enumerate(streams):
        page_id, content_id = 3 + 2 * i, 4 + 2 * i
        kids.append(page_id)
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R "
            f"/Resources << /Font << {font_refs} >> >> >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {n_pages} >>".encode(),
    ]
    all_objs = [*head, *objs, *fonts]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(all_objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(all_objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(all_objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def make_pdf(path: Path, pages: list[list[str]], header: str | None = None, footer: bool = True) -> Path:
    """A PDF with one page per list of lines (Helvetica, latin-1 text), as official PDFs are typeset."""
    streams = []
    for i, lines in enumerate(pages, start=1):
        rows = ([header] if header else []) + lines + ([f"Page {i}"] if footer else [])
        parts = ["BT /F0 10 Tf 12 TL 50 800 Td", *(f"({_esc(row)}) Tj T*" for row in rows), "ET"]
        streams.append("\n".join(parts).encode("latin-1"))
    return _write(path, streams, [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


FONTS = {"": "Helvetica", "bold": "Helvetica-Bold", "italic": "Helvetica-Oblique"}


def make_placed_pdf(path: Path, pages: list[list[tuple]]) -> Path:
    """A PDF whose lines are placed by hand, as a print layout sets them: each row is (x, y, size, text) or
    (x, y, size, text, style) with style "", "bold" or "italic" (Windows-1252 text: "–", "©", "•").
    Rows at one y are pieces of one printed line."""
    font_names = list(FONTS)
    streams = []
    for rows in pages:
        parts = []
        for row in rows:
            x, y, size, text, style = (*row, "")[:5]
            parts.append(f"BT /F{font_names.index(style)} {size} Tf 1 0 0 1 {x} {y} Tm ({_esc(text)}) Tj ET")
        streams.append("\n".join(parts).encode("cp1252"))
    fonts = [
        f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS[k]} /Encoding /WinAnsiEncoding >>".encode()
        for k in font_names
    ]
    return _write(path, streams, fonts)


def column(lines: list[str], top: float = 760, pitch: float = 12, size: float = 10, x: float = 72) -> list[tuple]:
    """Rows for a column of body text: "" leaves a paragraph space (one and a half lines)."""
    rows, y = [], top
    for line in lines:
        if line == "":
            y -= pitch / 2
            continue
        rows.append((x, y, size, line))
        y -= pitch
    return rows
