"""Answering: retrieval, the decision (FAQ answer, grounded answer or refusal), and the generators that
write the answer (faq, extractive, the optional LLM with its grounding check)."""
