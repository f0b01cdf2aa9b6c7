"""EmbeddingGemma in bfloat16 against float32 on this CPU, side by side: speed and agreement of the vectors.

    .venv/bin/python bench/dtype_bench.py [--rounds 3] [--out bench/results/dtype.json]

Both copies are loaded in one process from the prepared model (stored in bf16; float32 widens its weights
exactly) and run alternately, round after round, on the shipped knowledge base's pages and the dev set's
questions, so that the machine's load falls on both alike. Agreement is the cosine between the two copies'
vectors of the same text, and the largest change of a question-to-passage score. Writes JSON and prints a
Markdown table with the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from common import DEV_SET, RESULTS, machine
from sentence_transformers import SentenceTransformer

from bot.config import get_settings
from bot.models.embedding import gemma_dir
from evals.dataset import load_dataset

DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}


def passages(kb: Path, count: int) -> list[str]:
    """Page openings of about one chunk each (1,500 characters), as ingest embeds them."""
    pages = sorted(p for p in kb.rglob("*.md") if "quizzes" not in p.parts)
    return [page.read_text()[:1500] for page in pages[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "dtype.json")
    args = parser.parse_args()
    settings = get_settings()
    documents = passages(settings.kb_dir, 32)
    questions = [item.question for item in load_dataset(DEV_SET)][:20]
    models = {
        name: SentenceTransformer(
            str(gemma_dir(settings)), device="cpu", local_files_only=True, model_kwargs={"dtype": dtype}
        )
        for name, dtype in DTYPES.items()
    }
    times: dict[str, dict[str, list[float]]] = {name: {"passages": [], "question": []} for name in models}
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for model in models.values():  # warm-up
        model.encode_document(documents[:2])
    for _ in range(args.rounds):
        for name, model in models.items():
            started = time.perf_counter()
            docs = model.encode_document(documents, normalize_embeddings=True)
            times[name]["passages"].append(time.perf_counter() - started)
            started = time.perf_counter()
            asked = np.vstack([model.encode_query([q], normalize_embeddings=True) for q in questions])
            times[name]["question"].append((time.perf_counter() - started) / len(questions))
            vectors[name] = (docs, asked)
    (d16, q16), (d32, q32) = vectors["bfloat16"], vectors["float32"]
    medians = {name: {k: statistics.median(v) for k, v in kinds.items()} for name, kinds in times.items()}
    result = {
        **machine(),
        "passages": len(documents),
        "questions": len(questions),
        "rounds": args.rounds,
        "median_s": medians,
        "float32_speed_up": {
            k: round(medians["bfloat16"][k] / medians["float32"][k], 2) for k in ("passages", "question")
        },
        "min_cosine_passages": round(float((d16 * d32).sum(axis=1).min()), 4),
        "min_cosine_questions": round(float((q16 * q32).sum(axis=1).min()), 4),
        "max_score_change": round(float(np.abs(q16 @ d16.T - q32 @ d32.T).max()), 4),
        "same_top_passage": bool(((q16 @ d16.T).argmax(axis=1) == (q32 @ d32.T).argmax(axis=1)).all()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"| dtype | {len(documents)} passages (s) | one question (ms) |\n|---|---|---|")
    for name, kinds in medians.items():
        print(f"| {name} | {kinds['passages']:.2f} | {kinds['question'] * 1000:.0f} |")
    print(
        f"\nfloat32 speed-up: {result['float32_speed_up']}; min cosine passages {result['min_cosine_passages']}, "
        f"questions {result['min_cosine_questions']}; max score change {result['max_score_change']}; "
        f"same top passage: {result['same_top_passage']}"
    )


if __name__ == "__main__":
    main()
