"""Small text helpers shared by the stages: normalisation and sentence splitting."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

SENTENCE_RE = re.compile(r"(?<=[.!?;])[\"”’)]?\s+(?=[A-Z(\"“‘•])|\n+")
# a full stop that ends no sentence: initials ("U.S.", "U.K.") and common abbreviations
NO_END_RE = re.compile(r"(?:\b(?:[A-Z]\.){2,}|\b(?:e\.g|i\.e|etc|cf|vs|No|Nos|Mr|Mrs|Ms|Dr|St|Art|Inc|Ltd|Jr|Sr)\.)$")
# the number of an item in a list run into a sentence ("focus on: 1. AI terminology and taxonomy, 2. Cooperation …,
# and 3. Monitoring …"), opening its line or after a comma, colon, "and" or "or"
LIST_NUMBER_RE = re.compile(r"(?m)(?:^\s*|(?:[,:;]|\band|\bor) )(\d{1,2})\.$")
PUNCT = str.maketrans("‘’“”–—•", "''\"\"-- ")

# words that carry no topic (also for the chat's follow-up reading and the topics of /compare)
STOP = frozenset(
    "a an and are as at be by did do does for from had has have how in into is it its of on or our that the their "
    "them they this to was we were what when where which who why will with about there these those any all can "
    "could should would may might say said".split()
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """The text without accents, for matching names as users type them: "Communique" finds "Communiqué", "Lulea"
    "Luleå"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Lower-case, unify quotes and dashes, drop bullets, collapse spaces: for phrase and duplicate matching.

    Cached: retrieval normalises the same candidate passages on every query to fold duplicates."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.translate(PUNCT)
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    """Split a passage into sentences and bullet items, verbatim (bullet marks removed)."""
    out = []
    for piece in _pieces(text):
        piece = piece.strip().lstrip("•").strip()
        if len(piece) > 1 and re.search(r"\w", piece):
            out.append(piece)
    return out


def _pieces(text: str) -> list[str]:
    """The text cut at sentence ends, but not after initials or an abbreviation ("ASEAN-U.S. Digital"), nor after
    an item number of a list run into a sentence (`_in_list`)."""
    pieces, start = [], 0
    for m in SENTENCE_RE.finditer(text):
        if "\n" not in m.group(0) and NO_END_RE.search(text, max(start, m.start() - 12), m.start()):
            continue
        if m.group(0) == " " and _in_list(text, start, m.start()):
            continue
        pieces.append(text[start : m.start()])
        start = m.end()
    pieces.append(text[start:])
    return pieces


def _in_list(text: str, start: int, end: int) -> bool:
    """Whether the full stop at `end` closes the number of a list's item, not a sentence: "1." or ", 2." with the
    next item (", 3.") after it, or ", and 3." with the item before it (", 2.") in the same sentence. "SDGs 9 and
    17. We …" and "paragraph 12. We …" end sentences."""
    m = LIST_NUMBER_RE.search(text, start, end)
    if m is None:
        return False
    n = int(m.group(1))
    after = re.match(rf".{{0,300}}?[,;:] (?:and |or )?{n + 1}\. ", text[end : end + 320], re.S) is not None
    before = n > 1 and re.search(rf"(?:^|[,:;] |\n){n - 1}\. ", text[start : m.start() + 1]) is not None
    return after or before


# C0/C1 control characters (ESC, BEL, CR, NUL…) and Unicode line/paragraph separators and bidi overrides
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def without_opening(text: str, opening: str) -> str:
    """The text without its opening, stripped, when it opens with it (else the text as it is)."""
    return text[len(opening) :].strip() if opening and text.startswith(opening) else text


def utf8(text: str) -> bool:
    """Whether a string can be written as UTF-8: a file name or argument decoded from undecodable bytes cannot (they
    come back as surrogates, which fail later, in a catalog write or the embedder's tokenizer)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def safe_line(text: object, limit: int = 500) -> str:
    """`text` as one printable line for a terminal or a one-line message: control characters and escape
    sequences become a space, so a file name or comment can neither forge a line nor drive the terminal."""
    s = CONTROL_RE.sub(" ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


WORD_RE = re.compile(r"[A-Za-z]+")
IZE = ("isation", "isations", "ise", "ised", "ises", "ising", "iser", "isers")


def american(text: str) -> str:
    """The text with British spellings in American form ("localisation" -> "localization", "labour" -> "labor"),
    for the lexical index and its queries alike, so either spelling finds both; what is shown keeps the source's.
    breame's table, and an -isation/-ising form it lacks where its -ise verb is in it ("localisation")."""
    return WORD_RE.sub(lambda m: _american(m.group(0)), text)


@lru_cache(maxsize=65536)
def _american(word: str) -> str:
    from breame.spelling import BRITISH_ENGLISH_SPELLINGS as US

    low = word.lower()
    if low in US:
        return US[low]
    for suffix in IZE:
        if low.endswith(suffix) and low[: -len(suffix)] + "ise" in US:
            return low[: -len(suffix)] + suffix.replace("is", "iz", 1)
    return word


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def long_date(iso: str) -> str:
    """'2023-05-20' -> '20 May 2023'; anything else is returned as it is."""
    try:
        d = date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or "undated"
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
