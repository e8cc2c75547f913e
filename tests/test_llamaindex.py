"""govassist's retrieval inside llama-index: the retriever's nodes, and a RetrieverQueryEngine answering with a mock
LLM on the mini corpus (hash embedder), without llama-index ever resolving its OpenAI defaults."""

from __future__ import annotations

import pytest

from govassist.llamaindex import GovassistRetriever, query_engine
from govassist.retrieve import Filters

PANEL = "independent international scientific panel on artificial intelligence"


@pytest.fixture(autouse=True)
def _no_default_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """llama-index's global defaults resolve to OpenAI: any use of them fails the test."""
    import llama_index.core.settings as li_settings

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("llama-index resolved a default model (OpenAI)")

    monkeypatch.setattr(li_settings, "resolve_llm", refuse)
    monkeypatch.setattr(li_settings, "resolve_embed_model", refuse)
    monkeypatch.setattr(li_settings.Settings, "_llm", None)
    monkeypatch.setattr(li_settings.Settings, "_embed_model", None)


def test_retriever_returns_cited_nodes(mini_store, mini_settings) -> None:
    nodes = GovassistRetriever(mini_store, mini_settings, k=3).retrieve(PANEL)
    assert len(nodes) == 3 and nodes[0].node.node_id == "syn-compact#4"
    meta = nodes[0].node.metadata
    assert meta["citation"] == "Syn. Compact ¶4" and meta["paragraph"] == "4" and meta["doc_id"] == "syn-compact"
    assert meta["document"] == "Syn. Compact" and meta["page"] is None
    assert nodes[0].score == max(n.score for n in nodes)
    pdf = GovassistRetriever(mini_store, mini_settings, k=1, filters=Filters(doc_ids=("syn-report",)))
    meta = pdf.retrieve("critical minerals batteries")[0].node.metadata
    assert meta["page"] == 2 and meta["citation"].endswith(", p. 2")


def test_query_engine_answers_from_govassist_nodes(mini_store, mini_settings) -> None:
    from llama_index.core.schema import MetadataMode

    engine = query_engine(mini_store, mini_settings, k=2)
    response = engine.query(PANEL)
    assert len(response.source_nodes) == 2 and response.source_nodes[0].node.node_id == "syn-compact#4"
    # MockLLM echoes its prompt: the passage and its citation reached the LLM, the internal keys did not
    assert "scientific panel" in str(response).lower() and "citation: Syn. Compact ¶4" in str(response)
    assert "chunk_order" not in response.source_nodes[0].node.get_content(MetadataMode.LLM)


def test_the_retriever_reads_the_forum_a_query_names(mini_store, mini_settings) -> None:
    q = "What did the UN say about quantum computing research?"
    read = GovassistRetriever(mini_store, mini_settings, k=3).retrieve(q)
    assert read and {n.node.metadata["citation"].startswith("Syn. Compact") for n in read} == {True}
    raw = GovassistRetriever(mini_store, mini_settings, k=3, read_question=False).retrieve(q)
    assert raw[0].node.id_ == "syn-g7#3"
