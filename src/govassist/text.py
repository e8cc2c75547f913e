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
