"""Hub passages: how often each chunk appears in the top 10 over many questions (the dev questions plus queries
made from section titles), with its hub score. Prints the 10 most frequent.

    PYTHONPATH=src .venv/bin/python -m bench.hubs [--generated 200]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from govassist import evaluate as ev
from govassist import retrieve
from govassist.settings import load_settings
from govassist.store import open_store


def queries(store, n_generated: int) -> list[str]:
    """The dev questions (as the chat would search them) and `n_generated` section titles turned into questions."""
    qs = ev.select_split(ev.load_questions(Path("eval/questions.jsonl")), ["dev"])
    out = [ev.conversation_query(store, q) for q in qs]
    sections = sorted({c.section.strip() for c in store.chunks if 8 <= len(c.section.strip()) <= 120})
    random.Random(13).shuffle(sections)
    out += [f"What do they say about {s.rstrip('.:').lower()}?" for s in sections[:n_generated]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", type=int, default=200)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    s = load_settings()
    store = open_store(s)
    qs = queries(store, a.generated)
    seen: Counter[str] = Counter()
    text = {}
    for q in qs:
        for h in retrieve.search(store, q, s, k=10):
            seen[h.chunk.id] += 1
            text[h.chunk.id] = h.chunk
    score = getattr(retrieve, "hub_score", lambda c: float("nan"))
    print(
        f"{len(qs)} queries; chunks in the top 10 of more than 5% of them: "
        f"{sum(1 for n in seen.values() if n > 0.05 * len(qs))}"
    )
    print("| chunk | in top 10 of | hub score | text |\n|---|---|---|---|")
    for cid, n in seen.most_common(a.top):
        c = text[cid]
        snippet = c.text[:90].replace("|", "/").replace("\n", " ")
        print(f"| {cid} | {n} ({n / len(qs):.0%}) | {score(c):.1f} | {snippet} |")


if __name__ == "__main__":
    main()
