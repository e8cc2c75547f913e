"""govassist's retrieval for LlamaIndex applications: `GovassistRetriever` is a llama-index `BaseRetriever`, so a
query engine or an agent can use the hybrid search (filters, exact phrases, de-duplication) as it is, each node
carrying its document, paragraph, page and citation label in its metadata.

llama-index falls back to OpenAI wherever no model is given; nothing here relies on its global `Settings`:
`query_engine` passes its LLM explicitly (a `MockLLM` unless one is given)."""

from __future__ import annotations

from typing import Any

from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .answer import cite_label
from .question import read, search_turn
from .retrieve import Filters, Hit, search
from .settings import Settings
from .store import Store

HIDDEN_FROM_LLM = ("doc_id", "paras", "source", "also_in", "chunk_order")


def to_node(hit: Hit) -> NodeWithScore:
    """A hit as a llama-index node: the passage's text, its fused score, and where it comes from."""
    c, d = hit.chunk, hit.doc
    node = TextNode(
        id_=c.id,
        text=c.text,
        metadata={
            "citation": cite_label(d, c),
            "document": d.label,
            "title": d.title,
            "doc_id": d.id,
            "paragraph": c.para,
            "paras": list(c.paras),
            "page": c.page,
            "section": c.section,
            "date": d.date,
            "status": d.status,
            "source": d.file,
            "also_in": list(hit.also_in),
            "chunk_order": c.order,
        },
        excluded_llm_metadata_keys=list(HIDDEN_FROM_LLM),
        excluded_embed_metadata_keys=list(HIDDEN_FROM_LLM),
    )
    return NodeWithScore(node=node, score=hit.score)


class GovassistRetriever(BaseRetriever):
    """`retrieve.search` over an open store, as a llama-index retriever (one `search` per query). With
    `read_question` (the default) a query is read as `answer.ask` and the chat read it: the forums and years it
    names narrow the filters (`question.scoped`); False searches the text as given."""

    def __init__(
        self,
        store: Store,
        s: Settings,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str = "default",
        read_question: bool = True,
    ) -> None:
        self._store, self._s, self._k, self._filters, self._mode = store, s, k, filters, mode
        self._read = read_question
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        text, base = query_bundle.query_str, self._filters or Filters()
        with self._store.pinned():
            if self._read:
                hits = search_turn(self._store, *read(self._store, text, base), self._s, k=self._k, mode=self._mode)
            else:
                hits = search(self._store, text, self._s, k=self._k, filters=base, mode=self._mode)
        return [to_node(h) for h in hits]


def query_engine(store: Store, s: Settings, llm: Any = None, **retriever_args: Any) -> RetrieverQueryEngine:
    """A llama-index query engine over govassist's retrieval, answering with `llm` (a `MockLLM` when None, never
    llama-index's OpenAI default)."""
    from llama_index.core.llms import MockLLM

    retriever = GovassistRetriever(store, s, **retriever_args)
    return RetrieverQueryEngine.from_args(retriever, llm=llm or MockLLM())
