"""The quotable-sentence cache: written by the build after the switch, read by a fresh process instead of
embedding, rebuilt incrementally, and only ever a cache (a bad or missing file costs time, not an answer)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import record_embedded

from govassist import sentvec
from govassist.answer import ask
from govassist.settings import Settings
from govassist.store import build, open_store


def forget_memory() -> None:
    """As in a new process: nothing in memory, the disk file not read yet."""
    sentvec.drop_memory()


@pytest.fixture(autouse=True)
def _new_process() -> None:
    forget_memory()


def no_embedding(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def record(_model, texts, progress=False):
        calls.append(list(texts))
        raise AssertionError(f"embedded {len(texts)} sentence(s) that the cache should hold")

    monkeypatch.setattr(sentvec, "embed_texts", record)
    return calls


def test_build_caches_every_quotable_sentence(mini_store, mini_settings: Settings, monkeypatch) -> None:
    path = sentvec.cache_file(mini_settings)
    assert path.is_file() and path.parent.parent == mini_settings.index_dir
    quotable = {x for c in mini_store.chunks for x in sentvec.quotable(c.text)}
    with np.load(path) as z:
        texts = set(json.loads(z["texts"].tobytes()))
        assert z["vectors"].shape == (len(texts), 256)
    assert quotable and quotable <= texts

    forget_memory()
    no_embedding(monkeypatch)  # a fresh process answers from the disk cache, embedding only the question
    a = ask(mini_store, "quantum computing research", mini_settings)
    assert a.found and a.sentences


def test_cached_vectors_equal_fresh_ones(mini_store, mini_settings: Settings, monkeypatch) -> None:
    from govassist.embed import embed_texts, make_embedder

    texts = [x for c in mini_store.chunks[:5] for x in sentvec.quotable(c.text)]
    fresh = embed_texts(make_embedder("hash:256"), texts)
    forget_memory()
    no_embedding(monkeypatch)  # read from the file, not embedded again
    assert np.allclose(sentvec.vectors(mini_settings, texts), fresh, atol=1e-6)


def test_rebuild_embeds_only_new_sentences(mini_store, mini_settings: Settings, monkeypatch) -> None:
    doc = mini_settings.corpus_dir / "synthetic-g7-ministerial.md"
    added = "Ministers welcomed a brand new initiative on lighthouse satellites for maritime data."
    doc.write_text(doc.read_text(encoding="utf-8") + f"\n\n99. {added}\n", encoding="utf-8")
    forget_memory()
    seen = record_embedded(monkeypatch, sentvec)
    r = build(mini_settings, progress=False)
    assert r.changed
    assert len(seen) == 1 and "lighthouse satellites" in seen[0]  # the rest of the document was cached
    assert any(n.startswith("quotable sentences: 1 embedded, ") for n in r.notes)


def quotable_of(store) -> set[str]:
    return {x for c in store.chunks for x in sentvec.quotable(c.text)}


def cached_texts(s: Settings) -> set[str]:
    with np.load(sentvec.cache_file(s)) as z:
        return set(json.loads(z["texts"].tobytes()))


@pytest.mark.parametrize("damage", ["not a zip", "truncated", "empty"])
def test_a_damaged_cache_is_ignored_and_rewritten(mini_store, mini_settings: Settings, damage: str) -> None:
    path = sentvec.cache_file(mini_settings)
    data = path.read_bytes()
    path.write_bytes({"not a zip": b"not a numpy file", "truncated": data[: len(data) // 2], "empty": b""}[damage])
    forget_memory()
    a = ask(mini_store, "quantum computing research", mini_settings)  # embeds what it needs
    assert a.found and a.sentences
    forget_memory()
    r = build(mini_settings, progress=False)  # nothing changed in the index; the cache is written anew
    assert not r.changed and any(n.startswith("quotable sentences: ") for n in r.notes)
    assert quotable_of(mini_store) <= cached_texts(mini_settings)


def test_a_forced_rebuild_embeds_the_sentences_again(mini_store, mini_settings: Settings, monkeypatch) -> None:
    seen = record_embedded(monkeypatch, sentvec)
    build(mini_settings, progress=False, force=True)
    assert set(seen) == quotable_of(mini_store) and len(seen) == len(set(seen))
    assert quotable_of(mini_store) <= cached_texts(mini_settings)


def test_another_embedder_gets_another_file(mini_settings: Settings) -> None:
    other = Settings(**{**mini_settings.model_dump(), "embed_model": "hash:128"})
    assert sentvec.cache_file(other) != sentvec.cache_file(mini_settings)
    assert sentvec.cache_file(other).parent == sentvec.cache_file(mini_settings).parent


def test_an_unwritable_cache_does_not_fail_the_build(mini_settings: Settings) -> None:
    mini_settings.index_dir.mkdir(parents=True)
    (mini_settings.index_dir / "sentence-cache").write_text("a file where the folder should be")
    forget_memory()
    r = build(mini_settings, progress=False)
    assert r.changed and open_store(mini_settings).chunks
    assert any("quotable-sentence cache not written" in n for n in r.notes)


def test_headings_and_list_titles_are_not_quotable() -> None:
    passage = (
        "Reference documents:\n• G7 Leaders’ Statement on Ukraine\n• *Building resilient supply chains*\n"
        "• Developing Talent for the Digital Transition and Economic Growth\n"
        "• promote trust in the global digital ecosystem, including through protection of privacy; and\n"
        "• Strengthening cybersecurity capacity in developing countries\n"
        "We welcome the Hiroshima Process International Code of Conduct for Organizations Developing AI."
    )
    assert sentvec.quotable(passage) == [
        "promote trust in the global digital ecosystem, including through protection of privacy; and",
        "Strengthening cybersecurity capacity in developing countries",  # a short bullet in sentence case
        "We welcome the Hiroshima Process International Code of Conduct for Organizations Developing AI.",
    ]


def test_a_lead_in_and_its_short_bullet_items_are_one_quote_verbatim() -> None:
    text = "The countries represented were:\n• Australia\n• Brazil\n• Republic of Korea\n• Rwanda"
    assert sentvec.quotable(text) == [
        "The countries represented were: • Australia • Brazil • Republic of Korea • Rwanda"
    ]
    japan = "The Japanese Presidency invited:\n• Australia\n• India\n• Japan\nThey met in Tokyo to agree the text."
    assert sentvec.quotable(japan)[0] == "The Japanese Presidency invited: • Australia • India • Japan"
    twice = "Members were:\n• A1\n• B2\n• C3\nObservers were:\n• D4\n• E5\n• F6"
    assert sentvec.quotable(twice) == ["Members were: • A1 • B2 • C3", "Observers were: • D4 • E5 • F6"]
    two = "Partners are:\n• Chile\n• Kenya\nWe will build networks that connect every school by 2030."
    assert sentvec.quotable(two) == ["We will build networks that connect every school by 2030."]  # two items: no list
    prose = "We will:\n• build resilient and secure networks across the region;\n• connect schools and hospitals."
    assert sentvec.quotable(prose) == [
        "build resilient and secure networks across the region;",
        "connect schools and hospitals.",
    ]  # items that end as sentences stay quotes of their own
