"""Retrieval probe: score ranking variants in numpy over the eval questions of one split (tune on dev only).

Loads the current file index once, caches header/sentence/query vectors under /tmp, and prints hit@1, hit@5 and
MRR@10 per variant. Not part of the product: a tool to choose parameters before they go into retrieve.py.

    PYTHONPATH=src .venv/bin/python -m bench.probe --split dev
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from govassist import evaluate as ev
from govassist import retrieve, sentvec
from govassist.embed import embed_query, embed_texts, embedder_for
from govassist.settings import load_settings
from govassist.store import open_store
from govassist.text import normalise

CACHE = Path("/tmp/retr_probe")


def cached(name: str, fn):
    CACHE.mkdir(exist_ok=True)
    p = CACHE / f"{name}.npy"
    if p.exists():
        return np.load(p)
    v = fn()
    np.save(p, v)
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev")
    ap.add_argument("--hubs", action="store_true")
    a = ap.parse_args()
    s = load_settings()
    store = open_store(s)
    chunks, docs = store.chunks, store.docs
    model = embedder_for(s)
    tag = hashlib.sha1((s.embed_model + str(len(chunks)) + chunks[0].id).encode()).hexdigest()[:8]
    qs_all = ev.load_questions(Path("eval/questions.jsonl"))
    qs = ev.select_split(qs_all, [a.split])
    qrels = ev.build_qrels(qs, store)
    qs = [q for q in qs if qrels[q.qid]]
    queries = [ev.conversation_query(store, q) for q in qs]
    Q = np.vstack([embed_query(model, x) for x in queries])

    from govassist.store.plan import header_text

    forms = {"none": lambda c, d: c.embed_text}
    for form in ("title", "forum"):
        forms[form] = lambda c, d, form=form: header_text(c, d, form)
    vecs = {
        name: cached(f"{tag}-{name}", lambda f=f: embed_texts(model, [f(c, docs[c.doc_id]) for c in chunks]))
        for name, f in forms.items()
    }
    # sentence max-sim: per chunk the max cosine over its quotable sentences
    sents = [sentvec.quotable(c.text) or [c.text] for c in chunks]
    flat = [x for ss in sents for x in ss]
    SV = sentvec.vectors(s, flat)
    owner = np.repeat(np.arange(len(chunks)), [len(ss) for ss in sents])
    sim = Q @ SV.T
    maxsim = np.full((len(qs), len(chunks)), -1.0, dtype=np.float32)
    np.maximum.at(maxsim.T, owner, sim.T)

    import bm25s

    def bm25_matrix(texts: list[str]) -> np.ndarray:
        import Stemmer

        st = Stemmer.Stemmer("english")
        r = bm25s.BM25()
        r.index(bm25s.tokenize(texts, stopwords="en", stemmer=st, show_progress=False), show_progress=False)
        out = np.zeros((len(queries), len(texts)), dtype=np.float32)
        for i, x in enumerate(queries):
            toks = bm25s.tokenize([x], stopwords="en", stemmer=st, show_progress=False, return_ids=False)[0]
            if toks:
                out[i] = r.get_scores(toks)
        return out

    L = {
        "plain": bm25_matrix([c.embed_text for c in chunks]),
        "title": bm25_matrix([forms["title"](c, docs[c.doc_id]) for c in chunks]),
    }

    keys = [ev.passage_key(c) for c in chunks]
    fold = {}
    for i, c in enumerate(chunks):
        fold.setdefault(normalise(c.text)[:400], []).append(i)
    twins = [fold[normalise(c.text)[:400]] for c in chunks]
    priors = [retrieve.doc_prior(x, dict(docs)) for x in queries]
    P = np.array([[1.0 if p and 0 < len(p) < len(docs) and p.get(c.doc_id) else 0.0 for c in chunks] for p in priors])

    def metrics(S: np.ndarray) -> tuple[float, float, float]:
        h1 = h5 = mrr = 0.0
        for qi, q in enumerate(qs):
            order = np.argsort(-S[qi], kind="stable")[:40]
            seen: list[str] = []
            for i in order:
                for j in twins[i]:
                    if keys[j] not in seen:
                        seen.append(keys[j])
            rel = qrels[q.qid]
            ranks = [r for r, k in enumerate(seen[:10], 1) if rel.get(k, 0) >= 1]
            if ranks:
                mrr += 1 / ranks[0]
                h1 += ranks[0] == 1
                h5 += ranks[0] <= 5
        n = len(qs)
        return round(h1 / n, 3), round(h5 / n, 3), round(mrr / n, 3)

    def rrf(a: np.ndarray, b: np.ndarray, wa: float, wb: float, k: int = 20, n: int = 50) -> np.ndarray:
        out = np.zeros_like(a)
        for M, w in ((a, wa), (b, wb)):
            idx = np.argsort(-M, axis=1)[:, :n]
            for qi in range(len(M)):
                valid = M[qi, idx[qi]] > (0 if M is b else -9)
                out[qi, idx[qi][valid]] += w / (k + 1 + np.arange(n))[valid]
        return out

    def mm(M: np.ndarray, n: int = 50) -> np.ndarray:
        top = -np.sort(-M, axis=1)[:, :n]
        lo, hi = top[:, -1:], top[:, :1]
        return np.clip((M - lo) / np.where(hi - lo > 0, hi - lo, 1), 0, None)

    def z(M: np.ndarray, n: int = 50) -> np.ndarray:
        top = -np.sort(-M, axis=1)[:, :n]
        mu, sd = top.mean(1, keepdims=True), top.std(1, keepdims=True)
        return (M - mu) / np.where(sd > 0, sd, 1)

    def prior(S: np.ndarray, w: float = 0.25) -> np.ndarray:
        return S * (1 + w * P)

    res = {}
    for name, V in vecs.items():
        D = Q @ V.T
        res[f"dense {name}"] = metrics(D)
        for a_ in (0.3, 0.5, 0.7):
            res[f"dense {name} + {a_} maxsim"] = metrics((1 - a_) * D + a_ * maxsim)
    res["maxsim"] = metrics(maxsim)
    res["bm25 plain"] = metrics(L["plain"])
    res["bm25 title"] = metrics(L["title"])
    res["today: rrf 1.5/1 none+plain, prior"] = metrics(prior(rrf(Q @ vecs["none"].T, L["plain"], 1.5, 1)))
    for hname in [h for h in vecs if h != "none"]:
        D = Q @ vecs[hname].T
        for a_ in (0.3, 0.5):
            DM = (1 - a_) * D + a_ * maxsim
            for lname in ("plain", "title"):
                for wl in (0.0, 0.1, 0.2, 0.3):
                    res[f"{hname} ms{a_} mm-convex bm25:{lname} w{wl} prior"] = metrics(
                        prior((1 - wl) * mm(DM) + wl * mm(L[lname]))
                    )
                res[f"{hname} ms{a_} rrf bm25:{lname} 1.5/0.5 prior"] = metrics(prior(rrf(DM, L[lname], 1.5, 0.5)))
    for k_, v in res.items():
        print(f"{a.split}\t{v[0]:.3f}\t{v[1]:.3f}\t{v[2]:.3f}\t{k_}")


if __name__ == "__main__":
    main()
