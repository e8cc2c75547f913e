"""The corpus catalog (corpus/catalog.toml): what each text is, and bringing its file in."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError, FetchError
from .load import SUFFIXES

STATUSES = ("adopted", "draft", "non-binding")
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
    return DocMeta(**values)


def load_catalog(path: Path) -> list[DocMeta]:
    """Parse the catalog; duplicate ids or files are a ConfigError."""
    if not path.exists():
        raise ConfigError(f"catalog {path} not found: create it or set GOVASSIST_CATALOG_FILE")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalog {path} is not valid TOML: {exc}") from exc
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


def corpus_documents(docs: list[DocMeta], corpus_dir: Path) -> tuple[list[tuple[DocMeta, Path]], list[str]]:
    """Catalogued documents whose file is present, plus uncatalogued files found in the folder.

    Returns the pairs and the notes to report (uncatalogued files, catalogued files missing).
    """
    notes: list[str] = []
    pairs: list[tuple[DocMeta, Path]] = []
    listed = {d.file for d in docs}
    ids = {d.id for d in docs}
    outside = "links outside the corpus folder; copy the file in instead"
    for d in docs:
        p = corpus_dir / d.file
        if p.is_file():
            if not inside(p, corpus_dir):
                notes.append(f"{d.file}: {outside}")
                continue
            pairs.append((d, p))
    for p in sorted(corpus_dir.iterdir()) if corpus_dir.is_dir() else []:
        if not p.is_file() or p.name in listed or p.name.startswith(".") or p.name in ("catalog.toml", "README.md"):
            continue
        if not inside(p, corpus_dir):
            notes.append(f"{p.name}: {outside}")
            continue
        meta = infer_meta(p)
        base, n = meta.id, 2
        while meta.id in ids:
            meta = DocMeta(**{**meta.to_dict(), "id": f"{base}-{n}"})
            n += 1
        ids.add(meta.id)
        notes.append(f"{p.name}: not in the catalog; ingested as {meta.id!r} with metadata from its name")
        pairs.append((meta, p))
    return pairs, notes


def _download(url: str, dest: Path, timeout: float = 30.0, max_bytes: int = 50 * 2**20) -> None:
    import httpx

    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                raise FetchError(f"{url}: HTTP {r.status_code}")
            size = 0
            with tmp.open("wb") as fh:
                for block in r.iter_bytes():
                    size += len(block)
                    if size > max_bytes:
                        raise FetchError(f"{url}: larger than {max_bytes // 2**20} MB")
                    fh.write(block)
        if size == 0:
            raise FetchError(f"{url}: empty response")
        if dest.suffix.lower() == ".pdf" and not tmp.read_bytes()[:1024].lstrip().startswith(b"%PDF"):
            raise FetchError(f"{url}: answered with a page that is not a PDF (a landing page?); fetch it by hand")
        tmp.replace(dest)
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def fetch(docs: list[DocMeta], corpus_dir: Path, mirror: Path | None = None, download: bool = True) -> FetchReport:
    """Bring each catalogued file into corpus_dir: from the mirror when it has it, else from its URL."""
    report = FetchReport()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for d in docs:
        dest = corpus_dir / d.file
        if dest.is_file() and dest.stat().st_size > 0:
            report.present.append(d.id)
            continue
        src = mirror / d.file if mirror else None
        if src and src.is_file():
            shutil.copyfile(src, dest)
            report.copied.append(d.id)
            continue
        if not download or not d.url:
            report.failed[d.id] = "not in the mirror" + ("" if d.url else " and no url")
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
    return json.dumps(str(v), ensure_ascii=False)


def add(catalog_file: Path, corpus_dir: Path, source: str, meta: dict[str, object], mirror_ok: bool = True) -> DocMeta:
    """Register a new text: copy (or download) it into the corpus folder and append a catalog entry."""
    docs = load_catalog(catalog_file)
    if any(d.id == meta["id"] for d in docs):
        raise ConfigError(f"catalog already has id {meta['id']!r}: choose another --id")
    is_url = source.startswith(("http://", "https://"))
    name = str(meta.get("file") or (source.rsplit("/", 1)[-1].split("?")[0] if is_url else Path(source).name))
    if Path(name).suffix.lower() not in SUFFIXES:
        name = f"{meta['id']}{'.html' if is_url else Path(name).suffix or '.txt'}"
    if any(d.file == name for d in docs):
        raise ConfigError(f"catalog already lists a file named {name!r}: pass --file with another name")
    values = {"label": meta.get("label") or meta.get("title"), **meta, "file": name}
    entry = _entry({k: v for k, v in values.items() if v not in (None, "", ())}, catalog_file)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    dest = corpus_dir / name
    if is_url:
        _download(source, dest)
    else:
        src = Path(source)
        if not src.is_file():
            raise FetchError(f"{source}: no such file")
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
    lines = ["", "[[doc]]"]
    for k, v in entry.to_dict().items():
        if k == "in_catalog" or (v in ("", (), 0) and k not in ("id", "title", "label", "file")):
            continue
        lines.append(f"{k} = {_toml_value(v)}")
    with catalog_file.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return entry
