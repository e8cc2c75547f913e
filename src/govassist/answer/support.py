"""How strongly the retrieved passages support an answer: "direct", "closest" or "none", from the best dense hit,
the best sentence similarity and whether the question's key terms (names, years, acronyms) appear in any passage;
and the notice for a question that names a catalogued text the index does not hold."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..catalog import DocMeta, load_catalog
from ..errors import ConfigError
from ..retrieve import Hit
from ..settings import Settings
from ..text import normalise

DIRECT, CLOSEST, NONE = "direct", "closest", "none"
CLOSEST_LEAD = "The indexed texts do not appear to address this directly; the closest passages are:"
# capitalised words that name nothing in particular
GENERIC = frozenset(
    "What Which Who Whom When Where Why How Does Did Do Is Are Was Were Has Have Had Can Could Should Would Will "
    "The A An In On Of For And Or To From By With At As Any All Its Their Our There This That These Those "
    "I We They It If Is Be Not No Yes".split()
)
KEY_RE = re.compile(r"\b(?:[A-Z][A-Za-z0-9'’.-]*[A-Za-z0-9]|(?:19|20)\d\d|\d+/\d+)\b")
WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Evidence:
    """What the support flag is decided from."""

    top_cosine: float | None  # best dense cosine among the hits
    best_sentence: float | None  # best cosine of a quotable sentence to the question
    missing: tuple[str, ...]  # key terms of the question found in no retrieved passage or its document's name
    unindexed: tuple[DocMeta, ...] = ()  # catalogued texts the question names that the index does not hold
    covered_unindexed: bool = False  # an indexed document's title names that text (a fact sheet about it)


def key_terms(question: str) -> list[str]:
    """Names, acronyms and years of a question: 'Kananaskis', 'G20', 'DSA', '2025' (not its first word)."""
    out = []
    for m in KEY_RE.finditer(question):
        w = m.group(0).strip(".'’")
        first = m.start() == 0 and not w.isupper() and not w[:1].isdigit()
        if w in GENERIC or first or len(w) < 2 or w == "AI":
            continue
        out.append(w)
    return list(dict.fromkeys(out))


def _words(text: str) -> set[str]:
    return set(WORD_RE.findall(normalise(text).lower()))


def missing_terms(question: str, hits: list[Hit]) -> tuple[str, ...]:
    """Key terms of the question that appear in no retrieved passage, nor in its document's title, label,
    forum or date."""
    seen: set[str] = set()
    for h in hits:
        d = h.doc
        seen |= _words(" ".join((h.chunk.text, h.chunk.section, d.title, d.label, d.forum, d.date)))
    out = []
    for t in key_terms(question):
        parts = WORD_RE.findall(t.lower())
        if parts and not all(p in seen or (p.endswith("s") and p[:-1] in seen) for p in parts):
            out.append(t)
    return tuple(out)


def decide(e: Evidence, s: Settings) -> str:
    """The support flag. Thresholds: GOVASSIST_ANSWER_DIRECT_COSINE, GOVASSIST_ANSWER_DIRECT_SENTENCE and
    GOVASSIST_ANSWER_MISSING_TERMS (see settings.py for the chosen values and how they were chosen)."""
    if e.top_cosine is not None and e.top_cosine < s.min_relevance:
        return NONE
    if e.best_sentence is None:
        return NONE
    if len(e.missing) >= s.answer_missing_terms:
        return CLOSEST
    if e.unindexed and not e.covered_unindexed:
        return CLOSEST
    if e.top_cosine is not None and e.top_cosine < s.answer_direct_cosine:
        return CLOSEST
    if e.best_sentence < s.answer_direct_sentence:
        return CLOSEST
    return DIRECT


# ---------------------------------------------------------------- catalogued texts that are not indexed


@functools.lru_cache(maxsize=8)
def _catalog(path: str, mtime: float) -> tuple[DocMeta, ...]:
    del mtime  # part of the cache key only
    return tuple(load_catalog(Path(path)))


def catalog_docs(s: Settings) -> tuple[DocMeta, ...]:
    """The catalog's entries, or none when it cannot be read (an answer never fails for it)."""
    with contextlib.suppress(OSError, ConfigError):
        return _catalog(str(s.catalog_file), s.catalog_file.stat().st_mtime)
    return ()


def _head(title: str) -> str:
    head = re.split(r"\s\(|,\s|:\s", title, maxsplit=1)[0].strip()
    return re.sub(r"^(?:A|An|The)\s+", "", head)


def names(d: DocMeta) -> tuple[set[str], set[str]]:
    """(strong, weak) names a question may use for a document: its label and title head; the acronyms in them."""
    strong = {normalise(d.label).lower(), normalise(_head(d.title)).lower()}
    weak = {a.lower() for a in re.findall(r"\b[A-Z]{3,}\b", f"{d.label} {d.title}")}
    return {x for x in strong if len(x) > 2}, weak - strong


def _says(question: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", question) is not None


def unindexed_named(question: str, s: Settings, indexed: Collection[str]) -> tuple[DocMeta, ...]:
    """Catalogued texts, not in the index, that the question names ('the GDC', 'the Tunis Agenda', 'WSIS')."""
    q = normalise(question).lower()
    strong: list[DocMeta] = []
    weak: list[DocMeta] = []
    for d in catalog_docs(s):
        if d.id in indexed:
            continue
        st, wk = names(d)
        if any(_says(q, n) for n in st):
            strong.append(d)
        elif any(_says(q, n) for n in wk):
            weak.append(d)
    return tuple(strong or weak)


def covered(docs: tuple[DocMeta, ...], hits: list[Hit]) -> bool:
    """Whether a retrieved document's title names one of these texts (the DFI fact sheet names the DFI)."""
    titles = [normalise(f"{h.doc.title} {h.doc.label}").lower() for h in hits]
    return any(_says(t, n) for d in docs for n in names(d)[0] for t in titles)


def notice(docs: tuple[DocMeta, ...]) -> str:
    """'The Global Digital Compact (GDC) is catalogued but not indexed here; …' for these texts."""
    named = [f"{_head(d.title)} ({d.label})" if _head(d.title) != d.label else d.label for d in docs[:4]]
    more = f" and {len(docs) - 4} more" if len(docs) > 4 else ""
    listed = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
    files = ", ".join(f"`{d.file}`" for d in docs[:4])
    one = len(docs) == 1
    return (
        f"The {listed}{more} {'is' if one else 'are'} catalogued but not indexed here; `govassist corpus fetch` "
        f"brings {'it' if one else 'them'} in from {'its official address' if one else 'their official addresses'} "
        f"(or copy the file{'' if one else 's'} into the corpus folder as {files}), then `govassist index build`."
    )
