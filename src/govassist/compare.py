"""Draft comparison: align the paragraphs of two versions of a text and say what changed.

Paragraphs are the Store's chunks regrouped per paragraph label (parts of a long paragraph joined).
They are aligned by wording, not by number, so renumbered, moved, split and merged paragraphs are found:
identical texts first, then a 1:1 fuzzy match on word sequences (rapidfuzz), then split/merge by
containment (rapidfuzz partial_ratio), then order (difflib) to tell moved paragraphs from the rest.

Kinds, one per change:
- unchanged: same wording (case, quotes, bullets and the paragraph number ignored); it may be renumbered.
- edited: wording changed, same place relative to the other paragraphs.
- moved: place changed relative to the other paragraphs; `edited` says whether the wording changed too.
- split: one old paragraph became several new ones; merged: several old ones became one.
- reworded (with a topic only): an added and a deleted paragraph on the topic that say the same thing in other
  words, paired by meaning (embedding cosine of their topic sentences) and wording (rapidfuzz token sets).
- added / deleted: no counterpart.

With a topic the markdown stacks each pair (old label → new label, the word diff below), never a table, and its
summary counts unchanged / reworded / added / dropped.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher, get_close_matches
from itertools import pairwise
from typing import TYPE_CHECKING

from .answer import STOP
from .blocks import SUB_ITEM_RE
from .catalog import DocMeta
from .chunk import QUALIFIER, Chunk, para_mark, para_pieces, plain_para
from .errors import QueryError
from .retrieve import Filters, allowed_docs, search
from .settings import Settings
from .store import Store
from .text import normalise, sentences

if TYPE_CHECKING:
    import numpy as np

KINDS = ("unchanged", "edited", "moved", "split", "merged", "reworded", "added", "deleted")
MATCH = 50.0  # word-level similarity (0-100) from which two paragraphs count as versions of each other
PART = 85.0  # containment (partial_ratio, words) from which a paragraph counts as part of another
MIN_PART_WORDS = 6
CONTEXT_WORDS = 12  # unchanged words kept around each change in the markdown rendering
CLIP_WORDS = 60  # words of an added or deleted paragraph shown in markdown (JSON has all)
TOPIC_K = 20  # passages per document retrieved for a topic
REWORDED = 0.6  # meaning-and-wording score (0-1) from which a dropped and an added paragraph are one, reworded
MEANING_WEIGHT = 0.7  # share of the embedding cosine in that score (the rest: rapidfuzz token-set wording)
WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Para:
    """One paragraph unit of a version: its label and its text without the paragraph number."""

    label: str
    text: str
    page: int | None = None
    section: str = ""


@dataclass(frozen=True)
class Segment:
    """A run of words in a word-level diff: '=' common, '-' only in the old text, '+' only in the new."""

    op: str
    text: str


@dataclass(frozen=True)
class Change:
    """How one paragraph (or group, for split/merged) of the old version relates to the new version."""

    kind: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    old_text: str
    new_text: str
    similarity: float
    words: tuple[Segment, ...] = ()
    old_page: int | None = None
    new_page: int | None = None
    meaning: float | None = None  # embedding cosine of the two texts (pairs made by meaning: `reworded`)

    @property
    def edited(self) -> bool:
        return any(s.op != "=" for s in self.words)

    @property
    def renumbered(self) -> bool:
        numbered = all(map(_numbered, (*self.old, *self.new)))
        return bool(self.old and self.new and numbered and self.old != self.new)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(old=list(self.old), new=list(self.new), edited=self.edited, renumbered=self.renumbered)
        d["words"] = [[s.op, s.text] for s in self.words]
        return d


@dataclass(frozen=True)
class Comparison:
    """Two versions of a text, paragraph by paragraph (changes in the new version's reading order)."""

    old: DocMeta
    new: DocMeta
    changes: tuple[Change, ...]
    old_paragraphs: int
    new_paragraphs: int
    topic: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for c in self.changes:
            counts[c.kind] += 1
        return counts

    @property
    def summary(self) -> dict[str, int]:
        """What a reader asks first: unchanged (moved or not), reworded (edited, split, merged, reworded),
        added, dropped."""
        out = dict.fromkeys(("unchanged", "reworded", "added", "dropped"), 0)
        for c in self.changes:
            out[_plain(c)] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "old": _doc_dict(self.old),
            "new": _doc_dict(self.new),
            "topic": self.topic,
            "paragraphs": {"old": self.old_paragraphs, "new": self.new_paragraphs},
            "counts": self.counts,
            "summary": self.summary,
            "warnings": list(self.warnings),
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class Step:
    """One version in the history of a paragraph: where it stands and how it got there."""

    doc: DocMeta
    labels: tuple[str, ...]
    text: str
    change: Change | None  # how it relates to the previous version; None for the first one shown

    def to_dict(self) -> dict:
        return {
            "doc": _doc_dict(self.doc),
            "labels": list(self.labels),
            "text": self.text,
            "change": self.change.to_dict() if self.change else None,
        }


def _plain(c: Change) -> str:
    if c.kind == "deleted":
        return "dropped"
    if c.kind == "added":
        return "added"
    return "reworded" if c.edited else "unchanged"


def _doc_dict(d: DocMeta) -> dict:
    return {"id": d.id, "label": d.label, "title": d.title, "date": d.date, "status": d.status, "family": d.family}


# ---------------------------------------------------------------- paragraphs


def _numbered(label: str) -> bool:
    """Whether a label is a paragraph number ("8", "8(a)", "Annex ¶2"), not a position ("[3]") or "PP3"."""
    return plain_para(label)[1][:1].isdigit()


def _strip_number(label: str, text: str) -> str:
    label = plain_para(label)[1]
    if label[:1].isdigit() and "(" not in label:
        return re.sub(rf"^\s*{re.escape(label)}(?:\.\s*|,\s+|\s+(?=[A-Z]))", "", text, count=1)
    if label.endswith(")"):
        return SUB_ITEM_RE.sub("", text, count=1)
    return text


def paragraphs_from_chunks(chunks: Iterable[Chunk]) -> list[Para]:
    """Paragraph units from a document's chunks: parts of a long paragraph joined, runs of short ones split."""
    parts: dict[str, list[str]] = {}
    meta: dict[str, tuple[int | None, str]] = {}
    for c in sorted(chunks, key=lambda c: c.order):
        for label, text in para_pieces(c):
            if label in parts:
                sep = "\n" if text.startswith("•") else " "
                parts[label].append(sep + text)
            else:
                parts[label] = [text]
                meta[label] = (c.page, c.section)
    return [Para(lb, _strip_number(lb, "".join(t)).strip(), *meta[lb]) for lb, t in parts.items()]


def paragraphs(store: Store, doc_id: str) -> list[Para]:
    """The paragraph units of one indexed document, in reading order."""
    return paragraphs_from_chunks(store.doc_chunks(doc_id))


# ---------------------------------------------------------------- words


def _key(token: str) -> str:
    return "".join(word_keys(token))


def _tokens(text: str) -> list[str]:
    return text.replace("•", " • ").split()


def word_diff(old: str, new: str, equal_from: str = "new") -> tuple[Segment, ...]:
    """Word-level diff (difflib) ignoring case, quotes and punctuation when matching words.

    Common runs are shown as worded in the new text (or the old one, with `equal_from="old"`)."""
    a, b = _tokens(old), _tokens(new)
    ka, kb = [_key(t) or t for t in a], [_key(t) or t for t in b]
    out: list[Segment] = []

    def emit(op: str, words: list[str]) -> None:
        if not words:
            return
        if out and out[-1].op == op:
            out[-1] = Segment(op, f"{out[-1].text} {' '.join(words)}")
        else:
            out.append(Segment(op, " ".join(words)))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("=", a[i1:i2] if equal_from == "old" else b[j1:j2])
        else:
            emit("-", a[i1:i2])
            emit("+", b[j1:j2])
    return tuple(out)


def word_keys(text: str) -> list[str]:
    """The words of a text as compared: normalised, punctuation dropped."""
    return WORD_RE.findall(normalise(text))


def encode(tokens: list[str], vocab: dict[str, str]) -> str:
    """One character per distinct word (shared `vocab`), so rapidfuzz scores word sequences, not letters."""
    return "".join(vocab.setdefault(w, chr(0x4E00 + len(vocab))) for w in tokens)


# ---------------------------------------------------------------- alignment


def _fuzzy_pairs(ok: list[str], nk: list[str], ro: list[int], rn: list[int], n_old: int, n_new: int) -> dict[int, int]:
    from rapidfuzz import fuzz, process

    if not ro or not rn:
        return {}
    m = process.cdist([ok[i] for i in ro], [nk[j] for j in rn], scorer=fuzz.ratio, workers=1)
    cands = []
    for a, i in enumerate(ro):
        for b, j in enumerate(rn):
            if m[a, b] >= MATCH:
                drift = abs(i / max(n_old, 1) - j / max(n_new, 1))
                cands.append((-float(m[a, b]), drift, i, j))
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _score, _drift, i, j in sorted(cands):
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    return pairs


def _same_number(
    old: list[Para], new: list[Para], ok: list[str], nk: list[str], pairs: dict[int, int]
) -> dict[int, int]:
    """Numbered paragraphs with the same number whose shorter text is largely found in the longer one: principle
    N of one text and action N that elaborates it, a paragraph that grew in a revision."""
    from rapidfuzz import fuzz

    taken = set(pairs.values())
    by_label = {p.label: j for j, p in enumerate(new) if j not in taken and _numbered(p.label)}
    out: dict[int, int] = {}
    for i, p in enumerate(old):
        j = by_label.get(p.label)
        if i not in pairs and j is not None and ok[i] and nk[j] and fuzz.partial_ratio(ok[i], nk[j]) >= MATCH:
            out[i] = j
    return out


def _parts(
    whole_keys: list[str], part_keys: list[str], pairs: dict[int, int], free_parts: list[int]
) -> dict[int, list[int]]:
    """For split detection: which unmatched part paragraphs are contained in which whole paragraph."""
    from rapidfuzz import fuzz

    groups: dict[int, list[int]] = defaultdict(list)
    whole_sets = [set(wk) for wk in whole_keys]
    for p in free_parts:
        pk = part_keys[p]
        if len(pk) < MIN_PART_WORDS:
            continue
        best, best_w = PART, None
        pset = set(pk)
        for w, wk in enumerate(whole_keys):
            if len(wk) <= len(pk) or len(pset & whole_sets[w]) < 0.8 * len(pset):
                continue
            score = fuzz.partial_ratio(pk, wk)
            if score >= best:
                best, best_w = score, w
        if best_w is not None:
            groups[best_w].append(p)
    out: dict[int, list[int]] = {}
    for w, ps in groups.items():
        members = sorted({*ps, *([pairs[w]] if w in pairs else [])})
        out[w] = members
    return out


def align(old: list[Para], new: list[Para]) -> list[Change]:
    """Changes that turn `old` into `new`, in the new version's reading order (deleted ones where they stood)."""
    from rapidfuzz import fuzz

    vocab: dict[str, str] = {}
    ok, nk = [encode(word_keys(p.text), vocab) for p in old], [encode(word_keys(p.text), vocab) for p in new]
    pairs: dict[int, int] = {}
    by_text: dict[str, deque[int]] = defaultdict(deque)
    for j, k in enumerate(nk):
        by_text[k].append(j)
    for i, k in enumerate(ok):
        if by_text[k]:
            pairs[i] = by_text[k].popleft()
    pairs.update(_same_number(old, new, ok, nk, pairs))
    matched_new = set(pairs.values())
    ro = [i for i in range(len(old)) if i not in pairs]
    rn = [j for j in range(len(new)) if j not in matched_new]
    pairs.update(_fuzzy_pairs(ok, nk, ro, rn, len(old), len(new)))

    # groups: (old indices, new indices)
    inverse = {j: i for i, j in pairs.items()}
    free_new = [j for j in range(len(new)) if j not in inverse]
    free_old = [i for i in range(len(old)) if i not in pairs]
    groups: list[tuple[list[int], list[int]]] = []
    taken_old: set[int] = set()
    taken_new: set[int] = set()
    for i, js in _parts(ok, nk, pairs, free_new).items():
        joined = "".join(nk[j] for j in js)
        single = fuzz.ratio(ok[i], nk[pairs[i]]) if i in pairs else 0.0
        if len(js) > 1 and fuzz.ratio(ok[i], joined) > single + 5:
            groups.append(([i], js))
            taken_old.add(i)
            taken_new.update(js)
    inverse_free = {j: i for i, j in pairs.items() if i not in taken_old and j not in taken_new}
    free_old = [i for i in free_old if i not in taken_old]
    for j, is_ in _parts(nk, ok, inverse_free, free_old).items():
        if j in taken_new or any(i in taken_old for i in is_):
            continue
        joined = "".join(ok[i] for i in is_)
        single = fuzz.ratio(nk[j], ok[inverse_free[j]]) if j in inverse_free else 0.0
        if len(is_) > 1 and fuzz.ratio(joined, nk[j]) > single + 5:
            groups.append((is_, [j]))
            taken_old.update(is_)
            taken_new.add(j)
    for i, j in pairs.items():
        if i not in taken_old and j not in taken_new:
            groups.append(([i], [j]))
            taken_old.add(i)
            taken_new.add(j)

    # order: groups whose relative place changed are moved (difflib's matching blocks keep the rest)
    by_old = sorted(range(len(groups)), key=lambda g: min(groups[g][0]))
    by_new = sorted(range(len(groups)), key=lambda g: min(groups[g][1]))
    in_place: set[int] = set()
    for blk in SequenceMatcher(None, by_old, by_new, autojunk=False).get_matching_blocks():
        in_place.update(by_old[blk.a : blk.a + blk.size])

    placed: list[tuple[tuple[float, int], Change]] = []
    for g, (is_, js) in enumerate(groups):
        o = [old[i] for i in is_]
        n = [new[j] for j in js]
        o_text, n_text = "\n".join(p.text for p in o), "\n".join(p.text for p in n)
        sim = round(fuzz.ratio("".join(ok[i] for i in is_), "".join(nk[j] for j in js)), 1)
        words = word_diff(o_text, n_text)
        if len(is_) > 1:
            kind = "merged"
        elif len(js) > 1:
            kind = "split"
        elif g not in in_place:
            kind = "moved"
        else:
            kind = "edited" if any(s.op != "=" for s in words) else "unchanged"
        change = Change(
            kind, tuple(p.label for p in o), tuple(p.label for p in n), o_text, n_text, sim, words, o[0].page, n[0].page
        )
        placed.append(((min(js), 0), change))
    for j in range(len(new)):
        if j not in taken_new:
            p = new[j]
            placed.append(((j, 0), Change("added", (), (p.label,), "", p.text, 0.0, (), None, p.page)))
    new_of_old = {i: min(js) for is_, js in groups for i in is_}
    for i in range(len(old)):
        if i not in taken_old:
            before = [new_of_old[x] for x in range(i) if x in new_of_old]
            pos = max(before) + 0.5 if before else -0.5
            p = old[i]
            placed.append(((pos, i), Change("deleted", (p.label,), (), p.text, "", 0.0, (), p.page, None)))
    return [c for _k, c in sorted(placed, key=lambda x: x[0])]


# ---------------------------------------------------------------- documents and families


def _doc(store: Store, doc_id: str, filters: Filters | None) -> DocMeta:
    allowed = allowed_docs(store, filters) if filters else None
    visible = [d for d in store.docs if allowed is None or d in allowed]
    if doc_id not in visible:
        near = get_close_matches(doc_id, visible, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise QueryError(f"unknown document {doc_id!r}{hint}: see `govassist corpus list` for the indexed ids")
    return store.docs[doc_id]


def topic_terms(topic: str) -> set[str]:
    """The topic's content words, plus their acronym ("artificial intelligence" -> also "ai")."""
    content = [w for w in word_keys(topic) if w not in STOP and len(w) > 1]
    return {*content, "".join(w[0] for w in content)} if len(content) > 1 else set(content)


def _mentions(text: str, terms: set[str]) -> bool:
    return bool(terms & set(word_keys(text)))


def _on_topic(store: Store, s: Settings, topic: str, doc_id: str, units: list[Para]) -> set[str]:
    """Paragraph labels of one document about the topic: those of passages retrieval ranks for it (dense cosine
    at least `min_relevance`, or the topic verbatim) that use the topic's words; if none uses them (a topic
    worded differently in this text), all of those retrieved."""
    hits = search(store, topic, s, k=min(s.k_max, TOPIC_K), filters=Filters(doc_ids=(doc_id,)), mode="fused")
    want = normalise(topic)
    found = {
        p
        for h in hits
        if (h.cosine is not None and h.cosine >= s.min_relevance) or want in normalise(h.chunk.text)
        for p in h.chunk.paras
    }
    terms = topic_terms(topic)
    worded = {p.label for p in units if p.label in found and _mentions(p.text, terms)}
    return worded or found


def by_meaning(
    changes: list[Change], topic: str, embed: Callable[[list[str]], np.ndarray], floor: float = REWORDED
) -> list[Change]:
    """Pair the deleted and the added paragraphs of a topic comparison that say the same thing in other words:
    score = MEANING_WEIGHT x cosine of their topic sentences (`embed`: normalised rows) + the rest x rapidfuzz
    token-set wording; best pairs first, from `floor` up. A pair becomes one `reworded` change where the new
    paragraph stands."""
    from rapidfuzz import fuzz, process

    gone = [i for i, c in enumerate(changes) if c.kind == "deleted"]
    came = [j for j, c in enumerate(changes) if c.kind == "added"]
    if not gone or not came:
        return changes
    old_focus = [_focus(changes[i].old_text, topic) for i in gone]
    new_focus = [_focus(changes[j].new_text, topic) for j in came]
    vecs = embed(old_focus + new_focus)
    cos = vecs[: len(gone)] @ vecs[len(gone) :].T
    keys = [" ".join(word_keys(x)) for x in old_focus], [" ".join(word_keys(x)) for x in new_focus]
    wording = process.cdist(*keys, scorer=fuzz.token_set_ratio, workers=1) / 100
    score = MEANING_WEIGHT * cos + (1 - MEANING_WEIGHT) * wording
    cands = sorted((-float(score[a, b]), a, b) for a in range(len(gone)) for b in range(len(came)))
    used_a: set[int] = set()
    used_b: set[int] = set()
    merged: dict[int, Change] = {}
    dropped: set[int] = set()
    for neg, a, b in cands:
        if -neg < floor:
            break
        if a in used_a or b in used_b:
            continue
        used_a.add(a)
        used_b.add(b)
        o, n = changes[gone[a]], changes[came[b]]
        merged[came[b]] = Change(
            "reworded", o.old, n.new, o.old_text, n.new_text, round(-neg * 100, 1),
            word_diff(o.old_text, n.new_text), o.old_page, n.new_page, round(float(cos[a, b]), 3),
        )  # fmt: skip
        dropped.add(gone[a])
    return [merged.get(i, c) for i, c in enumerate(changes) if i not in dropped]


def _embed_fn(s: Settings) -> Callable[[list[str]], np.ndarray]:
    from .embed import embed_texts, embedder_for

    return lambda texts: embed_texts(embedder_for(s), texts)


def _compare(store: Store, old: DocMeta, new: DocMeta, s: Settings, topic: str | None) -> Comparison:
    warnings = []
    if old.family != new.family or not old.family:
        fam = f"{old.family or 'no family'} and {new.family or 'no family'}"
        warnings.append(
            f"{old.id} and {new.id} are not versions of one text ({fam}): paragraphs are aligned by wording only"
        )
    if old.date and new.date and old.date > new.date:
        warnings.append(f"{old.id} ({old.date}) is newer than {new.id} ({new.date}): changes read {old.id} → {new.id}")
    po, pn = paragraphs(store, old.id), paragraphs(store, new.id)
    changes = align(po, pn)
    if topic:
        on_old, on_new = _on_topic(store, s, topic, old.id, po), _on_topic(store, s, topic, new.id, pn)
        changes = [c for c in changes if set(c.old) & on_old or set(c.new) & on_new]
        changes = by_meaning(changes, topic, _embed_fn(s))
    return Comparison(old, new, tuple(changes), len(po), len(pn), topic, tuple(warnings))


def compare_docs(
    store: Store, old_id: str, new_id: str, s: Settings, topic: str | None = None, filters: Filters | None = None
) -> Comparison:
    """Compare two indexed documents paragraph by paragraph; `topic` keeps the paragraphs retrieval finds on it.

    Documents of different families are compared with a warning; an unknown (or filtered-out) id is a QueryError.
    """
    old, new = _doc(store, old_id, filters), _doc(store, new_id, filters)
    if old_id == new_id:
        raise QueryError(f"both documents are {old_id!r}: give two different document ids")
    topic = (topic or "").strip() or None
    return _compare(store, old, new, s, topic)


def family_docs(store: Store, family: str, filters: Filters | None = None) -> list[DocMeta]:
    """The indexed members of a family in catalog order (order, then date)."""
    allowed = allowed_docs(store, filters) if filters else None
    docs = [d for d in store.docs.values() if d.family == family and (allowed is None or d.id in allowed)]
    if len(docs) < 2:
        known = sorted({d.family for d in store.docs.values() if d.family and (allowed is None or d.id in allowed)})
        have = f"only {docs[0].id} is indexed" if docs else "no indexed document has it"
        raise QueryError(f"family {family!r}: {have}; families with versions: {', '.join(known)}")
    return sorted(docs, key=lambda d: (d.order, d.date, d.id))


def compare_family(
    store: Store, family: str, s: Settings, topic: str | None = None, filters: Filters | None = None
) -> list[Comparison]:
    """Each consecutive pair of a family's versions compared, in catalog order."""
    docs = family_docs(store, family, filters)
    topic = (topic or "").strip() or None
    return [_compare(store, a, b, s, topic) for a, b in pairwise(docs)]


def _label_in(para: str, labels: Iterable[str]) -> str | None:
    """The label `para` names among `labels`, as written or as cited ("¶8"): a bare number that only one heading's
    numbering has ("8" for "Statement on AI ¶8") is that one; a number several have is a QueryError naming them."""
    labels = list(labels)
    para = para.strip().removeprefix(QUALIFIER).strip()
    if para in labels:
        return para
    named = [lb for lb in labels if plain_para(lb)[1] == para and plain_para(lb)[0]]
    if len(named) > 1:
        raise QueryError(f"paragraph {para!r} is numbered under several headings: name one of {', '.join(named)}")
    return named[0] if named else None


def follow(store: Store, chain: list[Comparison], para: str, anchor: str | None = None) -> list[Step]:
    """The history of one paragraph across a chain of comparisons, backwards and forwards from `anchor`.

    `anchor` is the document the label refers to (default: the first version that has that label).
    """
    docs = [chain[0].old, *(c.new for c in chain)] if chain else []
    units = {d.id: {p.label: p.text for p in paragraphs(store, d.id)} for d in docs}
    if anchor is None:
        anchor = next((d.id for d in docs if _label_in(para, units[d.id])), None)
        if anchor is None:
            raise QueryError(f"no version in this chain has a paragraph labelled {para!r}: check the label")
    ids = [d.id for d in docs]
    if anchor not in ids:
        raise QueryError(f"{anchor!r} is not in this chain: choose one of {', '.join(ids)}")
    para = _label_in(para, units[anchor]) or para
    if para not in units[anchor]:
        raise QueryError(f"{anchor} has no paragraph labelled {para!r}: check the label")
    a = ids.index(anchor)
    labels: dict[int, tuple[str, ...]] = {a: (para,)}
    via: dict[int, Change | None] = {a: None}
    for k in range(a, len(chain)):  # forwards: comparison k goes docs[k] -> docs[k+1]
        hit = [c for c in chain[k].changes if set(c.old) & set(labels[k])]
        labels[k + 1] = tuple(x for c in hit for x in c.new)
        via[k + 1] = hit[0] if hit else None
        if not labels[k + 1]:
            break
    for k in range(a - 1, -1, -1):  # backwards: comparison k goes docs[k] -> docs[k+1]
        hit = [c for c in chain[k].changes if set(c.new) & set(labels[k + 1])]
        labels[k] = tuple(x for c in hit for x in c.old)
        via[k + 1] = hit[0] if hit else via.get(k + 1)
        if not labels[k]:
            break
    steps = []
    for k in sorted(labels):
        text = "\n".join(units[ids[k]][x] for x in labels[k] if x in units[ids[k]])
        steps.append(Step(docs[k], labels[k], text, via.get(k) if k != min(labels) else None))
    return steps


# ---------------------------------------------------------------- markdown

_MD_CHARS = re.compile(r"([\\`*_\[\]{}#~|!()])")


def escape_md(text: str) -> str:
    """Text shown literally in markdown: HTML defused, markdown punctuation escaped, no line-start syntax."""
    text = html.escape(text, quote=False)
    text = _MD_CHARS.sub(r"\\\1", text)
    return re.sub(r"(?m)^(\s*)([-+=>]|\d+[.)])", r"\1\\\2", text)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _render_words(words: tuple[Segment, ...], ops: str = "=-+", context: int | None = CONTEXT_WORDS) -> str:
    out = []
    n = len(words)
    for idx, seg in enumerate(words):
        if seg.op not in ops:
            continue
        text = escape_md(_flat(seg.text))
        if seg.op == "-":
            out.append(f"~~{text}~~")
        elif seg.op == "+":
            out.append(f"**{text}**")
        else:
            toks = text.split(" ")
            first, last = idx == 0, idx == n - 1
            if context is not None and len(toks) > 2 * context + 3 and not (first and last):
                head = [] if first else toks[:context]
                tail = [] if last else toks[-context:]
                text = " ".join([*head, "…", *tail])
            out.append(text)
    return " ".join(out)


def _labels(labels: tuple[str, ...]) -> str:
    return " + ".join(escape_md(para_mark(x)) for x in labels)


def _clip(text: str, words: int = CLIP_WORDS) -> str:
    toks = _flat(text).split(" ")
    return " ".join(toks[:words]) + (" …" if len(toks) > words else "")


def _focus(text: str, topic: str, most: int = 4) -> str:
    """The first few sentences of a paragraph that use the topic's words (the opening if none does)."""
    terms = topic_terms(topic)
    sents = sentences(text)
    keep = [i for i, x in enumerate(sents) if _mentions(x, terms)][:most]
    if not keep:
        return _clip(text)
    out, last = [], -1
    for i in keep:
        if i != last + 1:
            out.append("…")
        out.append(sents[i])
        last = i
    if last != len(sents) - 1:
        out.append("…")
    return " ".join(out)


def _change_md(c: Change) -> str:
    if c.kind == "added":
        return f"- **added** {_labels(c.new)}: **{escape_md(_clip(c.new_text))}**"
    if c.kind == "deleted":
        return f"- **deleted** {_labels(c.old)}: ~~{escape_md(_clip(c.old_text))}~~"
    head = f"{_labels(c.old)} → {_labels(c.new)}"
    note = {
        "unchanged": "unchanged",
        "edited": f"edited (similarity {c.similarity:.0f})",
        "moved": "moved" + (f", edited (similarity {c.similarity:.0f})" if c.edited else ", wording unchanged"),
        "split": "split" + ("" if c.edited else ", wording unchanged"),
        "merged": "merged" + ("" if c.edited else ", wording unchanged"),
    }[c.kind]
    line = f"- **{note}** {head}"
    return f"{line}: {_render_words(c.words)}" if c.edited else line


def _summary(r: Comparison) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in r.counts.items() if n)
    if r.topic:
        plain = ", ".join(f"{n} {k}" for k, n in r.summary.items())
        return f"{len(r.changes)} on the topic (of {r.old_paragraphs} → {r.new_paragraphs} paragraphs): {plain}"
    return f"{r.old_paragraphs} → {r.new_paragraphs} paragraphs: {counts or 'no differences'}"


def _title(r: Comparison) -> str:
    old, new = r.old, r.new
    return f"**{escape_md(old.label)}** ({escape_md(old.date)}) → **{escape_md(new.label)}** ({escape_md(new.date)})"


def _doc_labels(d: DocMeta, labels: tuple[str, ...]) -> str:
    return f"{escape_md(d.label)} {_labels(labels)}"


def _stacked(r: Comparison, c: Change) -> list[str]:
    """One pair stacked for a narrow column: what it is and old label → new label on one line, the text below."""
    topic = r.topic or ""
    if c.kind == "added":
        return [f"**Added** · {_doc_labels(r.new, c.new)}", f"> **{escape_md(_focus(c.new_text, topic))}**"]
    if c.kind == "deleted":
        return [f"**Dropped** · {_doc_labels(r.old, c.old)}", f"> ~~{escape_md(_focus(c.old_text, topic))}~~"]
    plain = _plain(c)
    if c.kind == "reworded":
        how = f"reworded, similar in meaning {c.meaning:.2f}"
    elif plain == "reworded":
        how = f"reworded ({c.kind}), wording similarity {c.similarity:.0f}"
    else:
        how = "unchanged" + (f" ({c.kind})" if c.kind != "unchanged" else "")
    head = f"**{how[0].upper()}{how[1:]}** · {_doc_labels(r.old, c.old)} → {_doc_labels(r.new, c.new)}"
    if not c.edited:
        return [head, f"> {escape_md(_focus(c.new_text, topic))}"]
    return [head, f"> {_render_words(c.words)}"]


def _one_md(r: Comparison, limit: int | None = None) -> list[str]:
    lines = [_title(r) + (f" — on *{escape_md(r.topic)}*" if r.topic else ""), "", _summary(r)]
    lines += [f"> ⚠ {escape_md(w)}" for w in r.warnings]
    lines.append("")
    if r.topic:
        if not r.changes:
            return [*lines, "No paragraph on this topic in either version."]
        order = sorted(r.changes, key=lambda c: ("reworded", "added", "dropped", "unchanged").index(_plain(c)))
        more = len(order) - limit if limit is not None else 0
        for c in order[:limit] if more > 0 else order:
            lines += [*_stacked(r, c), ""]
        if more > 0:
            lines.append(f"… {more} more (use --json for all)")
        return lines
    shown = [c for c in r.changes if c.kind != "unchanged"]
    more = len(shown) - limit if limit is not None else 0
    lines += [_change_md(c) for c in (shown[:limit] if more > 0 else shown)] or ["No differences in wording."]
    if more > 0:
        lines.append(f"- … {more} more changes (use --json for all)")
    same = [c for c in r.changes if c.kind == "unchanged"]
    if same:
        lines += ["", "Unchanged: " + ", ".join(f"{_labels(c.old)}→{_labels(c.new)}" for c in same)]
    return lines


def comparison_markdown(result: Comparison | list[Comparison], limit: int | None = None) -> str:
    """Markdown for a chat: summary counts first, paragraph labels as citations, ~~deleted~~ and **inserted**.

    `limit` caps the changes listed per comparison (the counts still cover all; JSON has everything)."""
    if isinstance(result, Comparison):
        return "\n".join(_one_md(result, limit))
    if not result:
        return "Nothing to compare."
    chain = " → ".join([escape_md(result[0].old.label), *(escape_md(r.new.label) for r in result)])
    lines = [f"**History of {escape_md(result[0].old.family or 'these texts')}**: {chain}", ""]
    for r in result:
        lines += [*_one_md(r, limit), "", "---", ""]
    return "\n".join(lines[:-3])


def history_markdown(steps: list[Step]) -> str:
    """Markdown for the history of one paragraph: each version with its label and the words that changed."""
    if not steps:
        return "No history found."
    lines = []
    for st in steps:
        head = f"**{escape_md(st.doc.label)}** ({escape_md(st.doc.date)}) "
        if not st.labels:
            lines += [head + "— no counterpart in this version", ""]
            continue
        head += _labels(st.labels)
        if st.change is None or not st.change.edited:
            note = "" if st.change is None else f" — {st.change.kind}"
            lines += [head + note, f"> {escape_md(_flat(st.text))}", ""]
        else:
            lines += [
                head + f" — {st.change.kind} (similarity {st.change.similarity:.0f})",
                f"> {_render_words(st.change.words, context=None)}",
                "",
            ]
    return "\n".join(lines).rstrip()


def run_compare(
    store: Store,
    s: Settings,
    old: str | None = None,
    new: str | None = None,
    family: str | None = None,
    topic: str | None = None,
    para: str | None = None,
    anchor: str | None = None,
    filters: Filters | None = None,
    limit: int | None = None,
) -> tuple[object, str, list[str]]:
    """One entry point for the CLI and chat: (JSON-ready data, markdown, warnings) for two documents or a family,
    optionally following one paragraph (`para`, label in `anchor` or the first version that has it).
    `limit` caps the changes the markdown lists per comparison (a chat should pass one)."""
    if family and (old or new):
        raise QueryError("give either two document ids or a family name, not both")
    if not family and not (old and new):
        raise QueryError("give two document ids (old, then new), or a family name to walk all its versions")
    chain = (
        compare_family(store, family, s, topic, filters)
        if family
        else [compare_docs(store, old, new, s, topic, filters)]
    )
    warnings = [w for c in chain for w in c.warnings]
    if para:
        steps = follow(store, chain, para, anchor)
        return [st.to_dict() for st in steps], history_markdown(steps), warnings
    if family:
        return [c.to_dict() for c in chain], comparison_markdown(chain, limit), warnings
    return chain[0].to_dict(), comparison_markdown(chain[0], limit), warnings
