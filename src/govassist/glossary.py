"""The glossary: the words users ask in and the words the texts use for the same thing ("chips" and
"semiconductors", "antitrust" and "competition"). The default search matches a question using a user's word with
the texts' words added, embedded and in the lexical index (`retrieve.search`); the cosine a hit reports (what the
support flag is calibrated on), the document prior, the lexical weight and exact phrases keep the question as asked.

The file (`Settings.glossary_file`, `corpus/glossary.tsv`) has one entry a line: users' words, comma-separated (a
word ending in "*" is a stem), one tab, the texts' words; a line starting with "#" is a note. Words are matched in
American spelling, as the lexical index reads them (`text.american`), a hyphen or spaces between a phrase's words."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError
from .text import american

log = logging.getLogger("govassist.glossary")
OFF_HINT = "fix it, or set GOVASSIST_GLOSSARY_FILE='' to search without it"


@dataclass(frozen=True)
class Entry:
    """One line of the glossary: what users say (a compiled pattern of its words) and what the texts say."""

    line: int
    said: tuple[str, ...]
    pattern: re.Pattern[str]
    texts_words: str


def _word(w: str) -> str:
    stem = w.endswith("*")
    core = r"[\s-]+".join(re.escape(x) for x in re.split(r"[\s-]+", american(w.rstrip("*")).strip()))
    end = r"[\w-]*" if stem else r"(?![\w-])"
    return r"(?<![\w-])" + core + end


def parse(text: str, where: str = "glossary") -> tuple[Entry, ...]:
    """The entries of a glossary's text; a line that is not "words<TAB>words" is a ConfigError naming its line."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        said, _, texts = line.partition("\t")
        words = tuple(w.strip() for w in said.split(",") if w.strip())
        if not texts.strip() or "\t" in texts or not words or any(not w.rstrip("*").strip() for w in words):
            raise ConfigError(
                f"{where}, line {n}: expected the users' words (comma-separated), one tab, then the texts' words; "
                f"got {line[:80]!r}: {OFF_HINT}"
            )
        pattern = re.compile("|".join(_word(w) for w in words), re.IGNORECASE)
        out.append(Entry(n, words, pattern, texts.strip()))
    return tuple(out)


def is_off(path: Path | None) -> bool:
    """Whether the setting turns the glossary off ("" reads as None or as the current folder)."""
    return path is None or str(path) in ("", ".")


def load(path: Path | None) -> tuple[Entry, ...]:
    """The glossary at `path`, parsed (none when the setting is off or the file is absent); ConfigError when it
    cannot be read or a line is malformed. Read on every call (it is small) and parsed once per content."""
    if is_off(path) or not path.is_file():  # type: ignore[union-attr]
        return ()
    return _read(path)  # type: ignore[arg-type]


def _read(path: Path) -> tuple[Entry, ...]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: the glossary cannot be read ({exc}): {OFF_HINT}") from exc
    return _parse(text, str(path))


@lru_cache(maxsize=8)
def _parse(text: str, where: str) -> tuple[Entry, ...]:
    return parse(text, where)


_last_good: dict[str, tuple[Entry, ...]] = {}
_warned: set[str] = set()
_lock = threading.Lock()


def for_search(path: Path | None) -> tuple[Entry, ...]:
    """The glossary a search uses. A file that cannot be used (missing where it was set, unreadable, a malformed
    line after an edit) never fails a search: the last good version of it is used, or none, and the log says why,
    once per reason. `load` and `govassist glossary` report the same problem as an error."""
    if is_off(path):
        return ()
    key = str(path)
    try:
        if not path.is_file():  # type: ignore[union-attr]
            raise ConfigError(f"{path}: no glossary file there: questions are matched as asked")
        entries = _read(path)  # type: ignore[arg-type]
    except ConfigError as exc:
        with _lock:
            if str(exc) not in _warned:
                _warned.add(str(exc))
                log.warning("%s", exc)
            return _last_good.get(key, ())
    with _lock:
        _last_good[key] = entries
    return entries


def matches(query: str, entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """The entries whose users' words the query uses; an entry whose every match lies inside a longer match of
    another ("AI firms" in "labs, AI firms", not the bare "firms") is left out."""
    text = american(query)
    spans = {e: [m.span() for m in e.pattern.finditer(text)] for e in entries}
    found = {e: s for e, s in spans.items() if s}

    def inside(a: tuple[int, int], e: Entry) -> bool:
        return any(o is not e and b[0] <= a[0] and a[1] <= b[1] and b != a for o in found for b in found[o])

    return tuple(e for e, s in found.items() if not all(inside(a, e) for a in s))


def expand(query: str, entries: tuple[Entry, ...]) -> str:
    """The query followed by the texts' words of every entry it uses (unchanged when it uses none)."""
    extra = [e.texts_words for e in matches(query, entries)]
    return " ".join([query, *extra]) if extra else query
