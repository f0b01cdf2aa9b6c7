"""The judged tier: faithfulness of answers, scored by an LLM through any OpenAI-compatible server.

Faithfulness = the share of an answer's claims (its sentences) that the judge finds supported by the
passages the answer cites. It is reported apart from the judge-free metrics and marked as judged: a judge
is itself a model, and its numbers are only as good as it is.
"""

from __future__ import annotations

import re

from openai import OpenAI, OpenAIError

from bot.config import Settings
from bot.text import sentences

PROMPT = """You check whether a claim is supported by source passages.
Passages:
{passages}

Claim: {claim}

Is the claim fully supported by the passages? Answer with one word: YES or NO."""
_CITATION = re.compile(r"\s*\[\d+\]")


class Judge:
    def __init__(self, settings: Settings) -> None:
        if not (settings.llm_base_url and settings.llm_model):
            raise ValueError("the judged tier needs TUTOR_LLM_BASE_URL and TUTOR_LLM_MODEL")
        self.model = settings.llm_model
        self.client = OpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "none",
            timeout=settings.llm_timeout_s,
            max_retries=1,
        )

    def supported(self, claim: str, passages: str) -> bool:
        reply = self.client.chat.completions.create(
            model=self.model,
            temperature=0,
            max_tokens=3,
            messages=[{"role": "user", "content": PROMPT.format(passages=passages, claim=claim)}],
        )
        return (reply.choices[0].message.content or "").strip().upper().startswith("YES")

    def faithfulness(self, answer: str, cited_texts: list[str]) -> float | None:
        """Share of supported claims; None when there is nothing to judge (a refusal, no citation)."""
        claims = [_CITATION.sub("", s).strip() for s in sentences(answer)]
        claims = [c for c in claims if len(c) > 3]
        if not claims or not cited_texts:
            return None
        passages = "\n---\n".join(cited_texts)
        return sum(self.supported(claim, passages) for claim in claims) / len(claims)


def judge_rows(judge: Judge, rows: list[dict], source_texts: dict[str, str]) -> dict:
    """Add ``faithfulness`` to each answered row; return the judged summary (marked as such)."""
    scores = []
    errors = 0
    for row in rows:
        if row["refused"]:
            continue
        cited = [source_texts.get(c["source_id"], c["snippet"]) for c in row["citations"]]
        try:
            row["faithfulness"] = judge.faithfulness(row["answer"], cited)
        except OpenAIError:
            errors += 1
            continue
        if row["faithfulness"] is not None:
            scores.append(row["faithfulness"])
    return {
        "judged": True,
        "judge_model": judge.model,
        "n_judged": len(scores),
        "judge_errors": errors,
        "faithfulness": round(sum(scores) / len(scores), 4) if scores else None,
    }
