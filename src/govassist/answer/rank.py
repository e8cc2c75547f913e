"""Ranking the quotable sentences of retrieved passages by the question: sentence-vector similarity, coverage of
the question's terms, and what the question asks for (a list of countries, a date, how language evolved)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..retrieve import COUNT_Q_RE, YEAR_RE, Hit, query_vector
from ..sentvec import quotable, vectors
from ..settings import Settings
from ..text import STOP

WORD_RE = re.compile(r"[a-z0-9]+")
MONTH_RE = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
)
LIST_Q_RE = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?(?:countries|states|nations|governments|partners|members|"
    r"participants|signatories|organi[sz]ations|bodies|companies|institutions|economies)\b"
    r"|\bwho\s+(?:\w+\s+)?(?:joined|signed|endorsed|attended|participated|took part|supported|convened|launched)\b"
    r"|^\W*(?:did|has|have|was|were|is|are)\s+(?:the\s+)?(?-i:[A-Z])[\w.’'-]*"  # "Did Italy sign …?", "Has the
    r"(?:\s+(?:(?:of|and)\s+(?:the\s+)?)?(?-i:[A-Z])[\w.’'-]*)*\s+(?:also\s+)?"  # Republic of Korea joined …?"
    r"(?:sign(?:ed)?|join(?:ed)?|endorse(?:d)?|attend(?:ed)?|participate(?:d)?|take part|took part"
    r"|(?:been\s+)?among\s+the\s+(?:signatories|participants|members|countries|endorsers))\b",
    re.IGNORECASE,
)
DATE_Q_RE = re.compile(r"\bwhen\b|\b(?:what|which) (?:date|year|day|month)\b|\bsince when\b", re.IGNORECASE)
EVOLVE_Q_RE = re.compile(
    r"\bhow\b.*\b(?:chang(?:e|ed|ing)|evolv(?:e|ed|ing)|evolution|shift(?:ed)?|develop(?:ed)?|moved|progressed)\b"
    r"|\bover (?:time|the years)\b"
    r"|\bevolution of\b",
    re.IGNORECASE,
)
COMPARE_Q_RE = re.compile(r"\b(?:compar(?:e|ed|ing|ison)|differ(?:s|ed|ence|ences)?|versus|vs)\b", re.IGNORECASE)
# a number counting something: "more than 275 participants", "100 governments", "65 key AI terms", "20%", "1.5
# million"; not a year, a day of a month ("December 8, 2021", "23 October") nor a resolution's number ("78/265")
QUANTITY_RE = re.compile(
    r"(?<![\w/.,-])(?!(?:19|20)\d\d\b)(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w/.,-]|,\d)"
    r"(?:\s*%|\s+per\s?cent\b|\s+(?:thousand|million|billion)\b|\+?\s+[a-z])"
)
# a number after these words refers to a place in a text, not a quantity: "paragraph 5 of", "SDG 9 and"
REFERENCE_WORDS = frozenset(
    "paragraph paragraphs para art article articles section sections chapter annex item goal goals sdg sdgs "
    "resolution resolutions decision op pp page pages no version principle principles".split()
)
# a run of three or more capitalised names separated by commas, "and" or bullets: "Finland, Germany, Ireland, Japan"
NAME_LIST_RE = re.compile(r"(?:\b[A-Z][\w'’.-]+(?:\s+(?:of\s+)?[A-Z][\w'’.-]+)*\s*(?:,|\band\b|•)\s*){2,}\b[A-Z]")

TERM_STOP = STOP | {"says", "agree", "agreed", "text", "texts"}  # not key terms of a question either


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made. Grid on the dev split (coverage 0.1-0.4, passage 0-0.3, kind 0-0.12): first-
    citation accuracy 0.361 and citation precision 0.287 at these values, against 0.333 and 0.264 at passage 0.08."""

    coverage: float = 0.25  # share of the question's content terms the sentence carries
    passage: float = 0.04  # prior for the passage's retrieval rank: weight / (1 + rank); dev grid 0.0-0.3
    position: float = 0.003  # per sentence into the paragraph (a tie-breaker, no longer a ranking)
    kind: float = 0.12  # a sentence carrying a count, a list of names or a date when the question asks for one


W = Weights()


@dataclass(frozen=True)
class Candidate:
    """One quotable sentence of a retrieved passage and how well it answers the question."""

    hit: int  # index into the hits
    pos: int  # sentence number within the passage
    text: str
    cosine: float
    coverage: float
    score: float


def stem(word: str) -> str:
    """A light plural/verb stem so that 'countries'/'country' and 'joined'/'join' meet."""
    for suf, rep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suf) + 3 and word.endswith(suf):
            return word[: -len(suf)] + rep
    return word


def terms(text: str) -> set[str]:
    """The content terms of a text: lower-cased words of 3+ characters (or digits), not stop words, stemmed."""
    return {stem(w) for w in WORD_RE.findall(text.lower()) if w not in TERM_STOP and (len(w) > 2 or w.isdigit())}


def question_kind(question: str) -> str:
    """'evolution' (how has language changed; a comparison of two years or more), 'count' (how many, how big),
    'list' (which countries, who joined), 'date' (when), or ''."""
    if EVOLVE_Q_RE.search(question) or (COMPARE_Q_RE.search(question) and len(set(YEAR_RE.findall(question))) > 1):
        return "evolution"
    if COUNT_Q_RE.search(question):  # "How many states showed up …?" asks for a number, not a list of names
        return "count"
    if LIST_Q_RE.search(question):
        return "list"
    if DATE_Q_RE.search(question):
        return "date"
    return ""


CARRIED = ("count", "list", "date")  # the kinds of answer a sentence can be seen to carry (`carries`)


def carries(kind: str, sentence: str) -> bool:
    """Whether a sentence carries what a count, list or date question asks for."""
    if kind == "count":
        return any(
            (sentence[: m.start()].split() or [""])[-1].lower().strip("(¶") not in REFERENCE_WORDS
            for m in QUANTITY_RE.finditer(sentence)
        )
    if kind == "list":
        return bool(NAME_LIST_RE.search(sentence))
    if kind == "date":
        return bool(MONTH_RE.search(sentence) or YEAR_RE.search(sentence))
    return False


def rank(question: str, hits: list[Hit], s: Settings, w: Weights = W) -> list[Candidate]:
    """Every quotable sentence of these hits, best answer first."""
    q_terms = terms(question)
    kind = question_kind(question)
    raw = [  # a lead-in alone ("… focus on the following:") says nothing: its list is a quote, it is not
        (hi, pos, sent)
        for hi, h in enumerate(hits)
        for pos, sent in enumerate(quotable(h.chunk.text))
        if not sent.endswith(":") or h.cited  # but a paragraph asked for by number is quoted as it is
    ]
    if not raw:
        return []
    cos = vectors(s, [x[2] for x in raw]) @ query_vector(s, question)
    named = [terms(f"{h.doc.label} {h.doc.title}") for h in hits]  # "Did Italy sign the Bletchley Declaration?"
    out = []
    for (hi, pos, sent), c in zip(raw, cos):
        cover = len(q_terms & (terms(sent) | named[hi])) / max(1, len(q_terms))
        bonus = w.kind if carries(kind, sent) else 0.0
        score = float(c) + w.coverage * cover + w.passage / (1 + hi) - w.position * pos + bonus
        out.append(Candidate(hi, pos, sent, float(c), cover, score))
    return sorted(out, key=lambda x: -x.score)


def by_date(chosen: list[Candidate], hits: list[Hit]) -> list[Candidate]:
    """Quotes in the order of their documents' dates (then reading order): how language evolved."""
    return sorted(chosen, key=lambda x: (hits[x.hit].doc.date or "9999", x.hit, x.pos))


def best_cosine(cands: list[Candidate]) -> float:
    return max((c.cosine for c in cands), default=float(np.nan))
