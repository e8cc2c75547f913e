"""Cited answers: the extractive composer and the optional LLM composer."""

from .extractive import NOTHING, STOP, Answer, Citation, Sentence, ask, cite_label, extract, relevant, to_citation

__all__ = [
    "NOTHING",
    "STOP",
    "Answer",
    "Citation",
    "Sentence",
    "ask",
    "cite_label",
    "extract",
    "relevant",
    "to_citation",
]
