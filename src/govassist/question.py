"""What a question asks, read deterministically: the forums and years it names (which become filters), its topic
words, and, after an earlier question, whether it continues that one (a follow-up inherits the topic, forums and
years it does not replace). Shared by `answer.ask`, the chat, the evaluation and the LlamaIndex retriever, so that
all search alike: `read` and `scoped` give the filters, `match_text` the text matched within a forum's filter."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from .catalog import DocMeta
from .retrieve import Filters, Hit, labelled, phrases, search, visible_docs
from .settings import Settings
from .store import Store
from .text import STOP, fold, normalise

ALIASES = {
    "g7": "G7",
    "group of seven": "G7",
    "ttc": "TTC",
    "trade and technology council": "TTC",
    "dfi": "DFI",
    "declaration for the future of the internet": "DFI",
    "wsis": "WSIS",
    "world summit on the information society": "WSIS",
    "gdc": "GDC",
    "global digital compact": "GDC",
    "summit for democracy": "Summit for Democracy",
    "s4d": "Summit for Democracy",
    "quad": "Regional",
    "asean": "Regional",
    "bletchley": "AI Safety Summit",  # "the Bletchley Declaration and the UN resolution": both forums, not the UN's
}
TOPICAL = frozenset({"bletchley"})  # names of a place that select its forum and still say what a question is about
FOLLOW_START = re.compile(r"^\s*(and|also|what about|how about|same for|what of|then|but)\b", re.I)
PRONOUN = re.compile(
    r"\b(it|its|they|them|their|these|those|that one|this one)\b|\b(about|on|of|regarding|with|to) (this|that)\b", re.I
)
NAMED = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z]?)\b")  # acronyms, CamelCase
# Words that carry no topic of their own: a follow-up may use them ("was it delivered?", "and the year after?").
GENERIC = {
    "say",
    "says",
    "said",
    "tell",
    "agree",
    "agreed",
    "commit",
    "committed",
    "commitment",
    "commitments",
    "sign",
    "signed",
    "promise",
    "promised",
    "deliver",
    "delivered",
    "happen",
    "happened",
    "become",
    "became",
    "come",
    "came",
    "decide",
    "decided",
    "mean",
    "means",
    "meant",
    "plan",
    "planned",
    "want",
    "think",
    "year",
    "years",
    "year-end",
    "next",
    "day",
    "later",
    "earlier",
    "before",
    "after",
    "then",
    "meeting",
    "one",
    "ones",
    "same",
    "other",
    "specifically",
    "exactly",
    "instead",
    "there",
    "here",
    "now",
    "also",
    "not",
    "yet",
    "still",
    "more",
    "most",
    "any",
    "some",
    "both",
    "each",
    "than",
    "just",
    "only",
    "very",
    "get",
    "got",
    "make",
    "made",
    "take",
    "took",
    "give",
    "gave",
    "see",
    "about",
    "over",
    "under",
    "again",
    "how",
    "who",
    "whom",
    "whose",
    "what",
    "which",
    "why",
    "when",
    "where",
    "your",
    "you",
    "our",
    "ours",
}
OWN_TOPIC = 3  # content words of its own that make a pronoun question standalone ("What is DFFT and why ... it")
OWN_TOPIC_AFTER_AND = 4  # ...and one that opens with "and"/"what about" (those usually narrow the last topic)
YEAR = re.compile(r"\b(?:(since|after|from|before|until|through|by|in)\s+)?((?:19[5-9]|20\d)\d)\b", re.I)
WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
SHORT_NAME = re.compile(r"\b(?:[A-Z]{2}|\d[A-Z])\b")
# after a forum's name, what makes it part of another name ("UN General Assembly", "UN Guiding Principles"; not an
# acronym: "G7 DFFT" stays the G7's) or one of its institutions ("a UN agency"): what the question is about, not
# whose texts to search; unless that word names one of the forum's own texts or meetings ("the Bletchley Declaration",
# "the TTC Statement")
PART_OF_NAME = re.compile(
    r"(?:['’]s)?\s+(?!(?:Declaration|Statement|Communiqu[eé]|Summit|Park)\b)"
    r"(?:[A-Z][a-z][\w'’-]*|agenc(?:y|ies)|bod(?:y|ies)|entit(?:y|ies)|system|secretariat|organi[sz]ations?)\b"
)
EVENT_YEARS = re.compile(r"\b(?:19|20)\d\d/(?:19|20)\d\d\b")  # "the 2003/2005 summit": an event's dates
EXTRA_STOP = {"say", "says", "tell", "mention", "mentions", "mentioned", "also", "then", "same", "texts", "text"}


@dataclass(frozen=True)
class Turn:
    """One question as understood: the query searched and the facets the conversation carries forward."""

    question: str
    query: str
    topic: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    followup: bool = False
    previous: str = ""  # the earlier question a follow-up was read with
    named: tuple[str, ...] = ()  # forums and years the question itself names
    core: str = ""  # the query without the names of the forums it names (see `match_text`)
    texts: tuple[str, ...] = ()  # the documents it names by label or title, naming no forum: searched alone


def aliases_for(docs: dict[str, DocMeta]) -> dict[str, str]:
    """Names that, in a question, select a collection: acronyms of the indexed collections and known aliases."""
    present = {d.collection for d in docs.values() if d.collection}
    out = {a: c for a, c in ALIASES.items() if c in present}
    out.update({c.lower(): c for c in present if c.isupper() or any(ch.isdigit() for ch in c) or " " in c})
    return out


LABEL_WORD = re.compile(r"[A-Za-zÀ-ÿ][\w’'-]*")


def own_words(docs: dict[str, DocMeta]) -> dict[str, frozenset[str]]:
    """Per collection, the lower-cased words of its documents' citation labels ("apulia", "hiroshima", "leuven",
    "economic"): after the forum's name they name one of its own texts or meetings ("G7 Apulia", "TTC Leuven"), not
    another body ("UN General Assembly", "UN Guiding Principles")."""
    out: dict[str, set[str]] = {}
    for d in docs.values():
        if d.collection:
            words = (w.lower().rstrip("'’") for w in LABEL_WORD.findall(d.label))
            out.setdefault(d.collection, set()).update(w for w in words if len(w) > 2)
    return {c: frozenset(ws) for c, ws in out.items()}


def _years(question: str) -> tuple[str, str]:
    starts, ends = [], []
    for word, year in YEAR.findall(EVENT_YEARS.sub(" ", question)):
        w, y = word.lower(), int(year)
        if y > date.today().year:  # "the 2030 Agenda" names a target, not a date of publication
            continue
        if w in ("since", "after", "from"):
            starts.append(f"{y + (w == 'after')}-01-01")
        elif w == "before":
            ends.append(f"{y - 1}-12-31")
        elif w in ("until", "through", "by"):
            ends.append(f"{y}-12-31")
        else:
            starts.append(f"{y}-01-01")
            ends.append(f"{y}-12-31")
    return (min(starts) if starts else "", max(ends) if ends else "")


def is_follow_up(question: str, topic: tuple[str, ...]) -> bool:
    """Whether a question (after an earlier one) lacks a topic of its own and so continues the conversation.

    A pronoun alone does not make a follow-up: "What is DFFT and how should it be put into practice?" has its
    own topic. Counted are the question's content words (`topic`: no stop words, forums or years) that are not
    GENERIC; a named subject (an acronym such as REAIM) makes a pronoun question standalone too.
    """
    own = [w for w in topic if w not in GENERIC and not w.isdigit()]
    if FOLLOW_START.search(question):
        return len(own) < OWN_TOPIC_AFTER_AND
    if not own:
        return True
    if PRONOUN.search(question):
        return len(own) < OWN_TOPIC and not NAMED.search(question)
    return False


def understand(
    question: str, prev: Turn | None, aliases: dict[str, str], own: dict[str, frozenset[str]] | None = None
) -> Turn:
    """Rewrite a question with the conversation, deterministically.

    Forums and years named in the question become filters (`own`: the words of each forum's labels, `own_words`).
    A follow-up (see `is_follow_up`: no topic of its own) inherits the previous topic words, forums and years that it
    does not replace.
    """
    q = " ".join(question.split())
    rest, core = q.lower(), q
    cols: list[str] = []
    for alias, col in sorted(aliases.items(), key=lambda ac: -len(ac[0])):
        pattern = rf"(?<![\w-]){re.escape(alias)}(?![\w-])"
        found = list(re.finditer(pattern, q, re.I))
        if any(_speaks(q, m.end(), (own or {}).get(col, frozenset())) for m in found):  # its texts are searched
            cols.append(col)
            if alias not in TOPICAL:  # a place ("Bletchley") is matched too, as "Hiroshima" is
                core = re.sub(pattern + r"(?:['’]s\b)?", " ", core, flags=re.I)
        if alias not in TOPICAL and (alias in ALIASES or " " not in alias):  # a place or a summit's name ("Bletchley",
            rest = re.sub(pattern, " ", rest)  # "AI Safety Summit") stays a topic word too, as "Hiroshima" does
    core = " ".join(core.split())
    date_from, date_to = _years(q)
    short = {w.lower() for w in SHORT_NAME.findall(q)}  # "AI", "6G": two characters, a topic all the same
    words = (w for w in WORD.findall(rest) if (len(w) > 2 or w in short) and w not in STOP and w not in EXTRA_STOP)
    topic = tuple(dict.fromkeys(w for w in words if not (w.isdigit() and len(w) == 4)))
    named = _named(q, cols)
    followup = prev is not None and is_follow_up(q, topic)
    if not followup or prev is None:
        return Turn(q, q, topic, tuple(dict.fromkeys(cols)), date_from, date_to, named=named, core=core)
    # a place of its own ("and in Apulia?") replaces the previous turn's ("Hiroshima"), as a year replaces a year,
    # and a kind of text ("and the code of conduct?") the previous one ("the guiding principles")
    replaced = (_proper(prev.question) if _proper(q) else set()) | (
        _kinds(prev.question) - kinds if (kinds := _kinds(q)) else set()
    )
    carried = tuple(w for w in prev.topic if w not in topic and w not in replaced)
    said = " ".join(_as_written(w, prev.question) for w in carried)  # "DFFT", not "dfft": the embedder sees case
    query = f"{q} {said}".strip() if carried else q
    if not (date_from or date_to) and (SHIFT.search(q) or not _proper(q)):  # a place of its own: not the old year
        date_from, date_to = _shifted(prev.date_from, prev.date_to, q)
    return Turn(
        q,
        query,
        carried + topic,
        tuple(dict.fromkeys(cols)) or prev.collections,
        date_from,
        date_to,
        followup=True,
        previous=prev.question,
        named=named,
        core=f"{core} {said}".strip(),
        texts=() if cols else prev.texts,  # "And on privacy?" after a question on the Apulia Communiqué: Apulia
    )


NEXT_WORD = re.compile(rf"(?:['’]s)?\s+({LABEL_WORD.pattern})")  # the word after a forum's name, as labels split


def _speaks(q: str, end: int, own: frozenset[str]) -> bool:
    """Whether the forum named just before `end` is who the question asks about: not part of another name or one of
    its institutions (PART_OF_NAME), unless the next word is of its own labels ("G7 Apulia", "TTC Leuven")."""
    if not PART_OF_NAME.match(q, end):
        return True
    nxt = NEXT_WORD.match(q, end)
    return nxt is not None and nxt.group(1).lower().rstrip("'’") in own


PROPER = re.compile(r"(?<=[\w,;:] )[A-Z][a-zà-ÿ]+(?:[- ][A-Z][a-zà-ÿ]+)*")  # not the first word; not an acronym


def _as_written(word: str, question: str) -> str:
    """A topic word (lower-cased) as the question wrote it: "DFFT", "Hiroshima"."""
    m = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", question, re.I)
    return m.group(0) if m else word


KIND = re.compile(
    r"\b(?:guiding principles|code of conduct|declaration|communiqu[eé]|statement|fact sheet|readout|resolution"
    r"|compact|agenda|action plan|annex|principles|code)\b",
    re.I,
)


def _kinds(question: str) -> set[str]:
    """The words of the kinds of text a question names ("the code of conduct", "the declaration")."""
    return {w for m in KIND.findall(question) for w in m.lower().split()} - STOP


def _proper(question: str) -> set[str]:
    """The lower-cased words of the place and body names a question writes in title case ("Hiroshima", "Carbis
    Bay"), not its first word and not acronyms (DFFT stays a topic)."""
    return {w.lower() for name in PROPER.findall(question) for w in re.split(r"[- ]", name)}


NEXT_YEAR = re.compile(r"\b(the )?(year after|following year|next year)\b|\ba year later\b", re.I)
LAST_YEAR = re.compile(r"\b(the )?(year before|previous year|preceding year)\b|\ba year (earlier|before)\b", re.I)
SHIFT = re.compile(f"{NEXT_YEAR.pattern}|{LAST_YEAR.pattern}", re.I)


def _shifted(date_from: str, date_to: str, question: str) -> tuple[str, str]:
    """The previous turn's dates, moved a year on ("and the year after?") or back ("the year before?")."""
    step = 1 if NEXT_YEAR.search(question) else -1 if LAST_YEAR.search(question) else 0
    year = (date_from or date_to)[:4]
    if not step or not year.isdigit():
        return date_from, date_to
    y = int(year) + step
    return f"{y}-01-01", f"{y}-12-31"


def _named(question: str, cols: list[str]) -> tuple[str, ...]:
    """The forums and years a question names itself (shown as "named in your question: G7, 2021")."""
    years = [y for _, y in YEAR.findall(EVENT_YEARS.sub(" ", question)) if int(y) <= date.today().year]
    return tuple(dict.fromkeys([*cols, *years]))


def scoped(turn: Turn, base: Filters) -> Filters:
    """`base` narrowed as the question asks: the forums it names replace the collections (unless documents were
    chosen), and its years give the dates (unless `base` has dates of its own)."""
    cols = turn.collections if turn.collections and not base.doc_ids else base.collections
    ids = turn.texts if turn.texts and not base.doc_ids else base.doc_ids
    if base.date_from or base.date_to:
        return replace(base, collections=cols, doc_ids=ids)
    return replace(base, collections=cols, doc_ids=ids, date_from=turn.date_from, date_to=turn.date_to)


def scope_note(base: Filters, f: Filters, docs: dict[str, DocMeta] | None = None) -> str:
    """What the question added to the filters (`f`, scoped from `base`), for the reader ("" when nothing); the
    texts by their labels when `docs` is given."""
    parts = []
    if f.collections != base.collections:
        parts.append("collection " + ", ".join(f.collections))
    if f.doc_ids != base.doc_ids:
        names = [docs[i].label if docs and i in docs else i for i in f.doc_ids]
        parts.append(("text " if len(names) == 1 else "texts ") + ", ".join(names))
    if (f.date_from, f.date_to) != (base.date_from, base.date_to):
        parts.append(f"dated {f.date_from or '…'} to {f.date_to or '…'}")
    return "searched within what the question names: " + "; ".join(parts) if parts else ""


def read(store: Store, text: str, base: Filters) -> tuple[Turn, Filters]:
    """A single question read against the indexed documents the caller may see: its turn, and `base` narrowed
    as it asks (`scoped`)."""
    turn = reading(text, None, visible_docs(store, base.roles))
    return turn, scoped(turn, base)


def reading(question: str, prev: Turn | None, docs: dict[str, DocMeta]) -> Turn:
    """`understand` with the documents the reader may see (their forums' names and label words). A question that
    names forums and also a text of another forum by its label or title ("Do the UN resolution and the Hiroshima
    Code of Conduct agree …?") searches that text's forum too, as one more side of the comparison."""
    turn = understand(question, prev, aliases_for(docs), own_words(docs))
    others = OTHER_TEXTS_RE.search(question) is not None
    named = {} if others or (turn.followup and turn.named) else texts_named(question, docs)  # read once
    if turn.followup and not turn.named:  # the texts it names, or those of the question before
        return turn if others else _of_texts_named(question, turn, docs, named)
    if not turn.collections:
        return turn if turn.followup or others else _of_texts_named(question, turn, docs, named)
    if not turn.followup and not others and _forum_only_in_names(question, turn, docs, named):
        return _of_texts_named(question, turn, docs, named)  # "What did the Bletchley Declaration say …?": that text
    if not COMPARING_RE.search(question):  # "Did the TTC encourage firms to apply the Code of Conduct?": the TTC's
        return turn
    extra = [docs[i].collection for i in labelled(question, docs) if docs[i].collection not in turn.collections]
    if not (extra := [c for c in dict.fromkeys(extra) if c]):
        return turn
    return replace(turn, collections=(*turn.collections, *extra), named=(*turn.named, *extra))


# a question on other texts than the one it names ("Which texts cite the Code of Conduct?"), or on how language
# moved since it ("What has changed since the Hiroshima Communiqué?")
OTHER_TEXTS_RE = re.compile(
    r"\b(?:which|what|other|any|all|later|earlier)\b(?:\s+[\w-]+){0,2}?\s+(?:texts?|documents?|statements?"
    r"|communiqu\w*|declarations?|forums?|summits?)\b|\b(?:since|changed?|evolv\w*|developed)\b",
    re.IGNORECASE,
)
COMPARING_RE = re.compile(  # not "Did the TTC agree to apply the Code of Conduct?"
    r"\b(?:compar\w*|agree(?:s|d)?\s+(?:on|with|about)|in agreement|differ\w*|contrast\w*|versus|vs\.?|similar\w*"
    r"|both|align\w*|same|consistent)\b",
    re.IGNORECASE,
)


def _name_spans(question: str, d: DocMeta) -> list[tuple[int, int]]:
    """Where the question writes a text's label or title as a name, capitalised ("the Code of Conduct"), not as
    words of its own ("principles and code of conduct")."""
    q = fold(question)  # as long as the question: accents dropped, letters kept
    spans = []
    for name in (d.label, d.title):
        pattern = r"\s+".join(re.escape(w) for w in fold(name).split())
        m = re.search(rf"(?<!\w){pattern}(?!\w)", q, re.IGNORECASE) if pattern else None
        if m and not m.group(0)[:1].islower():
            spans.append(m.span())
    return spans


def texts_named(question: str, docs: dict[str, DocMeta]) -> dict[str, tuple[int, int]]:
    """The texts a question names as names (`_name_spans`), each with the span of its longest name; a name inside
    another's span is not a text of its own."""
    q = fold(normalise(question))
    spans: dict[str, tuple[int, int]] = {}
    for i, d in docs.items():
        if not any(len(n) > 3 and n in q for n in (fold(normalise(d.label)), fold(normalise(d.title)))):
            continue  # the cheap test first: thousands of documents at scale
        if found := _name_spans(question, d):
            spans[i] = max(found, key=lambda x: x[1] - x[0])
    return {
        i: (a, b)
        for i, (a, b) in spans.items()
        if not any((c, e) != (a, b) and c <= a and b <= e for c, e in spans.values())
    }


def without_names(text: str, question: str, named: dict[str, tuple[int, int]]) -> str:
    """`text` without the names the question gives its texts (`named`, spans of `question`), and only them: "Does
    the Code of Conduct require source code?" keeps "code"."""
    for a, b in named.values():
        text = text.replace(question[a:b], " ")
    return " ".join(text.split())


def _forum_only_in_names(
    question: str, turn: Turn, docs: dict[str, DocMeta], named: dict[str, tuple[int, int]]
) -> bool:
    """Whether every forum the question names is named within the name of a text (`named`, `texts_named`: "the
    Bletchley Declaration", "the G7 Hiroshima AI Process Statement"), not on its own ("Did the G7 welcome the
    Bletchley Declaration?")."""
    spans = list(named.values())
    if not spans:
        return False
    q = fold(question)
    for alias, col in aliases_for(docs).items():
        if col not in turn.collections:
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", q, re.IGNORECASE):
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                return False
    return True


def _of_texts_named(question: str, turn: Turn, docs: dict[str, DocMeta], named: dict[str, tuple[int, int]]) -> Turn:
    """A question that names no forum but texts by their labels or titles ("Does the Apulia communique mention …?",
    "Do the Code of Conduct and the Guiding Principles differ on risk?") is searched within those texts alone (and
    their forums, as if it named them), and matched without their names, which otherwise draw the passages that say
    them ("… the Heads of the AfDB … who joined us in Apulia"). Not one text compared with what it does not name.
    `named`: the question's `texts_named`."""
    if phrases(question):  # agreed language searched for: wherever it is
        return turn
    if not named or (len(named) == 1 and COMPARING_RE.search(question)):
        return turn
    cols = [c for c in dict.fromkeys(docs[i].collection for i in named) if c]
    core = without_names(turn.query if turn.followup else question, question, named)  # a follow-up's query carries
    # the words of the one before
    return replace(turn, collections=tuple(cols), named=(*turn.named, *cols), core=core, texts=tuple(sorted(named)))


SIDE_DEPTH = 5  # a question naming several forums ("Do the G7 and the TTC agree …?") sees each within this many hits


def search_turn(
    store: Store, turn: Turn, f: Filters, s: Settings, k: int | None = None, mode: str = "default"
) -> list[Hit]:
    """`retrieve.search` for a question as read: its query within `f`, matched by `match_text`; when it names
    several forums, each of them among the first SIDE_DEPTH hits (`sides`)."""
    hits = search(store, turn.query, s, k=k, filters=f, mode=mode, match=match_text(turn, f))
    wanted = sides(turn, f) if mode == "default" else ()

    def forums(h: Hit) -> set[str]:  # a passage folded with its copies in other texts speaks for their forums too
        return {h.doc.collection, *(store.docs[d].collection for d in h.also_in if d in store.docs)}

    missing = [c for c in wanted if not any(c in forums(h) for h in hits[:SIDE_DEPTH])]
    if len(hits) < 2 or not missing:  # one hit: the best one stays
        return hits
    out = list(hits)
    at = max(1, min(SIDE_DEPTH, len(out)) - len(missing))  # the best passage keeps the first place
    named = texts_named(turn.question, store.docs)  # "the Bletchley Declaration": a name, left out of the match too
    for col in missing:  # its best passage from a search of its texts alone, matched without the names (the
        # names draw the passages that say them: "… joined the commitment to the Bletchley Declaration"), else
        # further down this ranking
        one = replace(f, collections=(col,))
        match = without_names(match_text(replace(turn, collections=(col,)), one) or turn.query, turn.question, named)
        own = search(store, turn.query, s, k=1, filters=one, match=match)
        if own:  # as ranked here when it is among these hits
            best = next((h for h in out if h.chunk.id == own[0].chunk.id), own[0])
        else:
            best = next((h for h in out if col in forums(h)), None)
        if best is None:
            continue
        if best in out:
            out.remove(best)
        out.insert(at, best)
        at += 1
    return [replace(h, rank=i) for i, h in enumerate(out[: len(hits)], start=1)]


def sides(turn: Turn, f: Filters) -> tuple[str, ...]:
    """The forums a question compares: those it names, when it names several and the search is within them ("Do
    the Bletchley Declaration and the UN resolution agree …?": AI Safety Summit, UN)."""
    named = tuple(c for c in turn.collections if c in f.collections)
    return named if len(named) > 1 else ()


def match_text(turn: Turn, f: Filters) -> str:
    """The text to match passages against, "" when it is the query itself. Words that only scope the search are
    left out where the filters carry them: the name of the one forum the question names, which every passage
    within the filter shares and which otherwise draws the openings that name the forum ("We, the Leaders of the
    Group of Seven"; with several forums named, their names tell their texts apart); and in a follow-up, a year
    shift ("the year after") and, under a date filter, the place it moves to ("and in Apulia the year after?" is
    matched as "and in ? DFFT", not as a question about Apulia)."""
    text = turn.core if len(turn.collections) == 1 and f.collections == turn.collections else turn.query
    if turn.followup:
        places = _proper(turn.question) if f.date_from or f.date_to else set()
        text = " ".join(w for w in SHIFT.sub(" ", text).split() if w.lower().strip("?!.,;:") not in places)
    return text if text != turn.query else ""
