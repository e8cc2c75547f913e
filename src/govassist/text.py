"""Small text helpers shared by the stages: normalisation and sentence splitting."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SENTENCE_RE = re.compile(r"(?<=[.!?;])[\"”’)]?\s+(?=[A-Z(\"“‘•])|\n+")
PUNCT = str.maketrans("‘’“”–—•", "''\"\"-- ")


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
    for piece in SENTENCE_RE.split(text):
        piece = piece.strip().lstrip("•").strip()
        if len(piece) > 1 and re.search(r"\w", piece):
            out.append(piece)
    return out


# C0/C1 control characters (ESC, BEL, CR, NUL…) and Unicode line/paragraph separators and bidi overrides
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def safe_line(text: object, limit: int = 500) -> str:
    """`text` as one printable line for a terminal or a one-line message: control characters and escape
    sequences become a space, so a file name or comment can neither forge a line nor drive the terminal."""
    s = CONTROL_RE.sub(" ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"
