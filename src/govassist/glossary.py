"""The glossary: the words users ask in and the words the texts use for the same thing ("chips" and
"semiconductors", "antitrust" and "competition"). The default search matches a question using a user's word with
the texts' words added, embedded and in the lexical index (`retrieve.search`); the cosine a hit reports (what the
support flag is calibrated on), the document prior, the lexical weight and exact phrases keep the question as asked.

The file (`Settings.glossary_file`, `corpus/glossary.tsv`) has one entry a line: users' words, comma-separated (a
word ending in "*" is a stem), a tab, the texts' words; "#" starts a note. It is read again when it changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class Entry:
    """One line of the glossary: what users say (a compiled pattern of its words) and what the texts say."""

    line: int
    said: tuple[str, ...]
    pattern: re.Pattern[str]
    texts_words: str


def _word(w: str) -> str:
    stem = w.endswith("*")
    core = r"\s+".join(re.escape(x) for x in w.rstrip("*").split())
    end = r"[\w-]*" if stem else r"(?![\w-])"
    return r"(?<![\w-])" + core + end


def parse(text: str, where: str = "glossary") -> tuple[Entry, ...]:
    """The entries of a glossary's text; a line that is not "words<TAB>words" is a ConfigError naming its line."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        said, tab, texts = line.partition("\t")
        texts = texts.strip()
        words = tuple(w.strip() for w in said.split(",") if w.strip())
        if not tab or not words or not texts or any(w == "*" for w in words):
            raise ConfigError(
                f"{where}, line {n}: expected the users' words (comma-separated), a tab, then the texts' words; "
                f"got {raw.strip()[:80]!r}"
            )
        pattern = re.compile("|".join(_word(w) for w in words), re.IGNORECASE)
        out.append(Entry(n, words, pattern, texts))
    return tuple(out)


def load(path: Path | None) -> tuple[Entry, ...]:
    """The glossary at `path` (none when the setting is empty or the file is absent), re-read when it changes."""
    if path is None or str(path) in ("", ".") or not path.is_file():
        return ()
    try:
        stamp = path.stat().st_mtime_ns
        return _load(str(path), stamp)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: the glossary cannot be read ({exc}); fix it or set GOVASSIST_GLOSSARY_FILE=''"
        ) from exc


@lru_cache(maxsize=8)
def _load(path: str, _stamp: int) -> tuple[Entry, ...]:
    return parse(Path(path).read_text(encoding="utf-8"), path)


def matches(query: str, entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    """The entries whose users' words the query uses."""
    return tuple(e for e in entries if e.pattern.search(query))


def expand(query: str, entries: tuple[Entry, ...]) -> str:
    """The query followed by the texts' words of every entry it uses (unchanged when it uses none)."""
    extra = [e.texts_words for e in matches(query, entries)]
    return " ".join([query, *extra]) if extra else query
