"""The corpus catalog (corpus/catalog.toml): what each text is, and bringing its file in."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tomllib
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from .errors import ConfigError, DiskFullError, FetchError
from .load import SUFFIXES, SUPPORTED, linked_part
from .text import safe_line, utf8

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
CATALOG_DATE_RE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")  # a hand-edited entry may give a year or a month

STATUSES = ("adopted", "draft", "non-binding")
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,80}$")


@dataclass(frozen=True)
class DocMeta:
    """One catalog entry."""

    id: str
    title: str
    label: str
    file: str
    forum: str = ""
    collection: str = ""
    date: str = ""
    type: str = ""
    status: str = "non-binding"
    family: str = ""
    order: int = 0
    url: str = ""
    restricted: tuple[str, ...] = ()
    in_catalog: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FetchReport:
    """What `corpus fetch` brought in, left alone, or could not get."""

    copied: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # a symbolic link where a file would be read or written


def _entry(raw: dict, source: Path) -> DocMeta:
    missing = [k for k in ("id", "title", "label", "file") if not raw.get(k)]
    if missing:
        raise ConfigError(f"{source}: entry {raw.get('id', '?')!r} lacks {', '.join(missing)}")
    if not ID_RE.match(raw["id"]):
        raise ConfigError(f"{source}: id {raw['id']!r} must be lowercase letters, digits, '.' or '-'")
    if raw.get("status", "non-binding") not in STATUSES:
        raise ConfigError(f"{source}: {raw['id']}: status must be one of {', '.join(STATUSES)}")
    if not safe_name(str(raw["file"])):
        raise ConfigError(
            f"{source}: {raw['id']}: file {raw['file']!r} must be a path inside the corpus folder "
            "(relative, no '..', no control characters)"
        )
    known = {f for f in DocMeta.__dataclass_fields__ if f != "in_catalog"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{source}: {raw['id']}: unknown field(s) {', '.join(sorted(unknown))}")
    values = dict(raw)
    values["restricted"] = tuple(raw.get("restricted", ()))
    values["date"] = str(raw.get("date", ""))
    if values["date"] and not _catalog_date(values["date"]):
        raise ConfigError(
            f"{source}: {raw['id']}: date {safe_line(values['date'])!r} is not a date: use YYYY-MM-DD (or YYYY-MM, "
            "YYYY); dates scope searches and order versions"
        )
    return DocMeta(**values)


def _catalog_date(text: str) -> bool:
    if not CATALOG_DATE_RE.fullmatch(text):
        return False
    try:
        date.fromisoformat((text + "-01-01")[:10])
    except ValueError:
        return False
    return True


def load_catalog(path: Path) -> list[DocMeta]:
    """Parse the catalog; duplicate ids or files are a ConfigError."""
    if not path.exists():
        raise ConfigError(f"catalog {path} not found: create it or set GOVASSIST_CATALOG_FILE")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalog {path} is not valid TOML: {exc}") from exc
    stray = sorted(set(data) - {"doc"})
    if stray:  # "[[docs]]", or an entry's fields above the first "[[doc]]": its entries would be lost unseen
        raise ConfigError(
            f"catalog {path}: unknown top-level key(s) {', '.join(map(safe_line, stray))}: each text is a "
            "[[doc]] table (a misspelt [[doc]] line, or fields above the first [[doc]], drop entries and their "
            "access restrictions)"
        )
    if not isinstance(data.get("doc", []), list):
        raise ConfigError(f"catalog {path}: write each text as a [[doc]] table (two brackets), not [doc]")
    docs = [_entry(raw, path) for raw in data.get("doc", [])]
    for attr in ("id", "file"):
        seen: set[str] = set()
        for d in docs:
            value = getattr(d, attr)
            if value in seen:
                raise ConfigError(f"catalog {path}: duplicate {attr} {value!r}")
            seen.add(value)
    return docs


def safe_name(name: str) -> bool:
    """A relative path that cannot leave the folder it is joined to (symlinks are checked by `inside`)."""
    parts = name.replace("\\", "/").split("/")
    return (
        bool(name.strip())
        and not name.startswith(("/", "~"))
        and not re.match(r"^[A-Za-z]:", name)
        and ".." not in parts
        and not any(ord(ch) < 32 for ch in name)
    )


def inside(path: Path, folder: Path) -> bool:
    """Whether path, with symlinks resolved, lies inside folder."""
    return path.resolve().is_relative_to(folder.resolve())


def infer_meta(path: Path) -> DocMeta:
    """Metadata for a file in the corpus folder that the catalog does not list, inferred from its name."""
    stem = path.stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    doc_id = re.sub(r"[^a-z0-9.-]+", "-", ascii_stem.lower()).strip("-.") or "document"
    year = re.search(r"(19|20)\d\d", stem)
    title = re.sub(r"[-_]+", " ", stem).strip().title() or path.name
    return DocMeta(
        id=doc_id,
        title=title,
        label=title,
        file=path.name,
        date=f"{year.group(0)}-01-01" if year else "",
        collection="Uncatalogued",
        type="uncatalogued",
        in_catalog=False,
    )


PROJECT_FILES = ("catalog.toml", "README.md", "glossary.tsv")  # the project's own files in corpus/, not texts


def corpus_documents(docs: list[DocMeta], corpus_dir: Path) -> tuple[list[tuple[DocMeta, Path]], list[str]]:
    """Catalogued documents whose file is present, plus uncatalogued files found in the folder.

    Returns the pairs and the notes to report (uncatalogued files, catalogued files missing).
    Symbolic links are paired too (a dangling one included): the build's file check refuses them, so they are
    listed as skipped with the reason.
    """
    notes: list[str] = []
    pairs: list[tuple[DocMeta, Path]] = []
    listed = {d.file for d in docs}
    ids = {d.id for d in docs}
    for d in docs:
        p = corpus_dir / d.file
        if p.is_file() or linked_part(p, corpus_dir):
            pairs.append((d, p))
    for p in sorted(corpus_dir.iterdir()) if corpus_dir.is_dir() else []:
        if p.name in listed or p.name.startswith(".") or p.name in PROJECT_FILES:
            continue
        if p.is_dir() or not (p.is_file() or p.is_symlink()):
            continue
        meta = infer_meta(p)
        base, n = meta.id, 2
        while meta.id in ids:
            meta = DocMeta(**{**meta.to_dict(), "id": f"{base}-{n}"})
            n += 1
        ids.add(meta.id)
        if not p.is_symlink():
            name = safe_line(p.name)
            notes.append(f"{name}: not in the catalog; ingested as {meta.id!r} with metadata from its name")
        pairs.append((meta, p))
    return pairs, notes


def _download(url: str, dest: Path, timeout: float = 30.0, max_bytes: int = 50 * 2**20) -> None:
    import httpx

    url = safe_line(url)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                raise FetchError(f"{url}: HTTP {r.status_code}")
            size = 0
            with _new_file(tmp) as fh:
                for block in r.iter_bytes():
                    size += len(block)
                    if size > max_bytes:
                        raise FetchError(f"{url}: larger than {max_bytes // 2**20} MB")
                    fh.write(block)
        if size == 0:
            raise FetchError(f"{url}: empty response")
        if dest.suffix.lower() == ".pdf" and not tmp.read_bytes()[:1024].lstrip().startswith(b"%PDF"):
            raise FetchError(f"{url}: answered with a page that is not a PDF (a landing page?); fetch it by hand")
        tmp.replace(dest)  # replaces a link at dest, never writes through it
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {safe_line(exc)}") from exc
    except OSError as exc:
        raise _os_error(exc, dest) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _new_file(path: Path) -> BinaryIO:
    """Open a new file for writing, refusing to follow a link planted at its name (a stale one is removed)."""
    path.unlink(missing_ok=True)
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644), "wb")


def _os_error(exc: OSError, path: Path) -> Exception:
    """A one-line error for a failed write: disk full says what to free; others name the path and the reason."""
    if exc.errno == errno.ENOSPC:
        return DiskFullError(f"disk full writing {safe_line(path)}: free some space, then run the command again")
    return FetchError(f"{safe_line(path)}: {exc.strerror or exc}")


def _copy_in(src: Path, dest: Path) -> None:
    """Copy src to dest via a new temporary file renamed into place: a link at either end is never followed."""
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with open(os.open(src, os.O_RDONLY | NOFOLLOW), "rb") as fin, _new_file(tmp) as fout:
            shutil.copyfileobj(fin, fout)
        tmp.replace(dest)
    except OSError as exc:
        raise _os_error(exc, dest) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _link_reason(path: Path, folder: Path, what: str) -> str | None:
    """Why a file in `folder` must not be read or written: a symbolic link on its way (None if there is none)."""
    link = linked_part(path, folder)
    if link is None:
        return None
    where = "it" if link == path else f"its folder {safe_line(link.name)}"
    return f"{safe_line(path)}: {where} is a symbolic link; {what}"


def fetch(
    docs: list[DocMeta],
    corpus_dir: Path,
    mirror: Path | None = None,
    download: bool = True,
    replace: Collection[str] = (),
) -> FetchReport:
    """Bring each catalogued file into corpus_dir: from the mirror when it has it, else from its URL. A file
    already there is kept unless its id is in `replace` (a damaged copy): then it is overwritten only once the new
    copy is complete, so a failed fetch leaves it as it was."""
    unknown = sorted(set(replace) - {d.id for d in docs})
    if unknown:
        raise ConfigError(f"no catalog entry {', '.join(map(safe_line, unknown))}: see `govassist corpus list`")
    report = FetchReport()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for d in docs:
        dest = corpus_dir / d.file
        why = _link_reason(dest, corpus_dir, "not written through: remove the link, then fetch again")
        if why:
            report.refused[d.id] = why
            continue
        if dest.is_file() and dest.stat().st_size > 0 and d.id not in replace:
            report.present.append(d.id)
            continue
        src = mirror / d.file if mirror else None
        why = src and _link_reason(src, mirror, "not read through: copy the file into the mirror instead")
        if why:
            report.refused[d.id] = why
            continue
        same = d.id in replace and src is not None and src.is_file() and dest.is_file() and _same_bytes(src, dest)
        if src and src.is_file() and not same:  # a replacement the mirror holds the same damaged copy of: by URL
            if not dest.parent.is_dir():
                report.failed[d.id] = f"no folder {safe_line(dest.parent)} to copy into"
                continue
            _copy_in(src, dest)
            report.copied.append(d.id)
            continue
        if not download or not d.url:
            where = "the mirror holds the same copy" if same else "not in the mirror"
            report.failed[d.id] = where + ("" if d.url else " and no url")
            continue
        try:
            _download(d.url, dest)
            report.downloaded.append(d.id)
        except FetchError as exc:
            report.failed[d.id] = str(exc)
    return report


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")  # TOML refuses a raw DEL


def _unsupported(name: str) -> ConfigError:
    suffix = Path(name).suffix.lower() or "(none)"
    return ConfigError(
        f"{safe_line(name)}: unsupported file type {safe_line(suffix)}; the corpus takes {', '.join(SUFFIXES)} "
        f"({SUPPORTED}): convert it first"
    )


def outside_tree(source: str, roots: list[Path]) -> bool:
    """Whether a local source lies outside every one of `roots` (the working folder, the mirror)."""
    if source.startswith(("http://", "https://")):
        return False
    given = Path(source).absolute()
    where = given.parent.resolve() / given.name  # a link is judged where it lies (add refuses links anyway)
    return not any(where.is_relative_to(r.absolute().resolve()) for r in roots)


def _check_date(value: object) -> None:
    text = str(value or "")
    try:
        ok = not text or (DATE_RE.fullmatch(text) is not None and bool(date.fromisoformat(text)))
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"date {safe_line(text)!r} is not a date: use YYYY-MM-DD (e.g. 2024-06-14)")


def add(
    catalog_file: Path,
    corpus_dir: Path,
    source: str,
    meta: dict[str, object],
    mirror_ok: bool = True,
    check: Callable[[DocMeta, Path], object] | None = None,
) -> DocMeta:
    """Register a new text: copy (or download) it into the corpus folder and append a catalog entry.

    Refused before anything is written: an unsupported file type, a file name that is not UTF-8, a date that is
    not YYYY-MM-DD, a source that is missing or a symbolic link, a destination in the corpus folder that is a
    symbolic link, lies in a folder that does not exist, or is another file already there. `check(entry, path)`
    (the build's loader, from the CLI) is run on the file brought in: when it raises, that file is deleted again
    and no entry is written, so a text that could never be indexed is refused at once, with the loader's reason."""
    docs = load_catalog(catalog_file)
    if any(d.id == meta["id"] for d in docs):
        raise ConfigError(f"catalog already has id {meta['id']!r}: choose another --id")
    is_url = source.startswith(("http://", "https://"))
    given = str(meta.get("file") or "")
    name = given or (source.rsplit("/", 1)[-1].split("?")[0] if is_url else Path(source).name)
    if Path(name).suffix.lower() not in SUFFIXES:
        if given or not is_url:
            raise _unsupported(name)
        name = f"{meta['id']}.html"  # a web page without a file name
    if not utf8(name):
        raise ConfigError(
            f"{safe_line(name)}: the file name is not valid UTF-8: rename the file, or pass --file with a plain name"
        )
    for key, value in meta.items():
        if not utf8(str(value)):
            raise ConfigError(f"--{key} is not valid UTF-8: type it again in UTF-8")
    _check_date(meta.get("date"))
    if any(d.file == name for d in docs):
        raise ConfigError(f"catalog already lists a file named {safe_line(name)!r}: pass --file with another name")
    values = {"label": meta.get("label") or meta.get("title"), **meta, "file": name}
    entry = _entry({k: v for k, v in values.items() if v not in (None, "", ())}, catalog_file)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    dest = corpus_dir / name
    why = _link_reason(dest, corpus_dir, "not written through: remove the link or choose another --file")
    if why:
        raise FetchError(why)
    if not dest.parent.is_dir():
        where = safe_line(dest.parent)
        raise FetchError(f"{safe_line(name)}: no folder {where}; create it or pass a plain --file name")
    src = None if is_url else Path(source)
    if src is not None:
        if src.is_symlink():
            raise FetchError(f"{safe_line(source)}: a symbolic link (not followed); pass the file it points to")
        if not src.exists():
            raise FetchError(f"{safe_line(source)}: no such file; check the path")
        if not src.is_file():
            raise FetchError(f"{safe_line(source)}: not a regular file (a folder?); pass one file")
    ours = src is None or src.resolve() != dest.resolve()  # a file already in the corpus folder is registered
    if ours and dest.exists():
        raise FetchError(
            f"{safe_line(name)}: another file of that name is already in {safe_line(corpus_dir)}/ (not catalogued): "
            "pass --file with another name, or move that file away first"
        )
    if src is None:
        _download(source, dest)
    elif ours:
        _copy_in(src, dest)
    try:  # from here on a failure takes back the file this call brought in: a retry finds the folder as it was
        if ours and (twin := _same_content(dest, corpus_dir, docs)):
            raise ConfigError(
                f"{safe_line(name)} has the same content as {twin}, already in the corpus: the build would skip "
                "it as a duplicate; nothing added"
            )
        if check is not None:
            check(entry, dest)
        lines = ["", "[[doc]]"]
        for k, v in entry.to_dict().items():
            if k == "in_catalog" or (v in ("", (), 0) and k not in ("id", "title", "label", "file")):
                continue
            lines.append(f"{k} = {_toml_value(v)}")
        try:
            with catalog_file.open("a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        except OSError as exc:
            raise _os_error(exc, catalog_file) from exc
    except BaseException:
        if ours:
            dest.unlink(missing_ok=True)
        raise
    return entry


def _same_content(path: Path, corpus_dir: Path, docs: list[DocMeta]) -> str:
    """The text the build reads (catalogued, or dropped into the folder) whose bytes equal this file's, or ""."""
    for meta, other in corpus_documents(docs, corpus_dir)[0]:
        if other != path and not other.is_symlink() and other.is_file() and _same_bytes(path, other):
            return safe_line(other.relative_to(corpus_dir).as_posix()) + (
                f" (catalogued as {meta.id})" if meta.in_catalog else ""
            )
    return ""


def _same_bytes(a: Path, b: Path) -> bool:
    import filecmp

    return filecmp.cmp(a, b, shallow=False)


DOC_HEADER_RE = re.compile(r"^\s*\[\[\s*doc\s*\]\]\s*(?:#.*)?$")


def remove(catalog_file: Path, corpus_dir: Path, doc_id: str) -> tuple[DocMeta, bool]:
    """Drop a text from the catalog and delete its file from the corpus folder (a link there is removed, not
    followed). Returns the entry and whether a file was deleted. The index keeps it until the next build."""
    docs = load_catalog(catalog_file)
    entry = next((d for d in docs if d.id == doc_id), None)
    if entry is None:
        pairs = corpus_documents(docs, corpus_dir)[0] if corpus_dir.is_dir() else []
        loose = [p.name for m, p in pairs if not m.in_catalog and m.id == doc_id]
        if loose:  # a file dropped into the folder, indexed with metadata from its name: no entry to remove
            raise ConfigError(
                f"{safe_line(doc_id)} is not catalogued: it is the file {safe_line(loose[0])} in "
                f"{safe_line(corpus_dir)}/, indexed under its name; delete that file, then `govassist index build`"
            )
        raise ConfigError(f"no catalog entry with id {safe_line(doc_id)!r}: see `govassist corpus list`")
    lines = catalog_file.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if DOC_HEADER_RE.match(line)]
    kept = lines
    for start, end in zip(starts, [*starts[1:], len(lines)]):
        table = next((i for i in range(start + 1, end) if lines[i].lstrip().startswith("[")), end)
        body = tomllib.loads("[[doc]]\n" + "".join(lines[start + 1 : table]))["doc"][0]
        if body.get("id") == doc_id:
            kept = lines[:start] + lines[table:]
            break
    text = "".join(kept)
    try:
        left = [d.get("id") for d in tomllib.loads(text).get("doc", [])]
    except tomllib.TOMLDecodeError:
        left = None
    if left != [d.id for d in docs if d.id != doc_id]:
        raise ConfigError(f"could not take {doc_id!r} out of {catalog_file} safely: remove its [[doc]] by hand")
    tmp = catalog_file.with_name(f".{catalog_file.name}.part")
    try:
        with _new_file(tmp) as fh:
            fh.write(text.encode("utf-8"))
        tmp.replace(catalog_file)
    except OSError as exc:
        raise _os_error(exc, catalog_file) from exc
    finally:
        tmp.unlink(missing_ok=True)
    path = corpus_dir / entry.file
    deleted = path.is_file() or path.is_symlink()
    if deleted and not linked_part(path.parent, corpus_dir):
        path.unlink()
    return entry, deleted
