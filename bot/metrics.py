"""The app's Prometheus metrics: what operations watch (traffic, latency, answer modes, refusals, fall-backs,
ingests, the embedding queue), as counts only.

- **One registry per app**, never prometheus_client's global one: tests build several apps in one process,
  and each must count its own turns; ``/metrics`` (``bot/web/routes/metrics.py``) serves this registry.
- **Counts only, by construction.** The methods take modes, languages, outcomes, route templates and
  durations: no message text and no id can reach a label, so a scrape leaks nothing of a conversation and
  the label sets stay small.
- **No web framework here.** The conversation reports its turns through ``bot.conversation.TurnObserver``
  (``answered`` below has its shape); the HTTP middleware (``bot/web/middleware/metrics.py``) calls
  ``requested``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a FAQ answer takes tens of milliseconds, an extractive one a few hundred, an LLM's several seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER_ROUTE = "other"  # a request no route matched: its raw path is never a label


class AppMetrics:
    """The metric objects of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "tutor_http_requests",
            "HTTP requests, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "tutor_http_request_duration_seconds",
            "Time to answer an HTTP request (a stream: until its last byte), by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # FAQ hits are ``tutor_answers_total{mode="faq"}``: a counter of their own would say nothing more.
        self.answers = Counter(
            "tutor_answers", "Finished turns, by the answer's mode and language.", ["mode", "lang"], registry=r
        )
        self.answer_duration = Histogram(
            "tutor_answer_duration_seconds",
            "Time from a message to its finished answer, by the answer's mode.",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "tutor_refusals", "Turns declined (out of scope, unanswerable, or screened).", registry=r
        )
        self.llm_fallbacks = Counter(
            "tutor_llm_fallbacks", "LLM answers replaced by the extractive one (their text failed a check).", registry=r
        )
        self.ingest_runs = Counter(
            "tutor_ingest_runs", "Ingests run by the app, by outcome (ok, partial, failed).", ["outcome"], registry=r
        )
        self.embedding_queue = Gauge(
            "tutor_embedding_queue_depth",
            "Questions waiting for the embedding model (queued, not yet encoded).",
            registry=r,
        )

    def requested(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request; ``route`` is the matched route's template (``/api/sessions/{session_id}``)."""
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_duration.labels(route).observe(seconds)

    def answered(self, mode: str, lang: str, refused: bool, seconds: float, llm_fallback: bool) -> None:
        """One finished turn (the shape of ``bot.conversation.TurnObserver``)."""
        self.answers.labels(mode, lang).inc()
        self.answer_duration.labels(mode).observe(seconds)
        if refused:
            self.refusals.inc()
        if llm_fallback:
            self.llm_fallbacks.inc()

    def ingested(self, outcome: str) -> None:
        self.ingest_runs.labels(outcome).inc()

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """Read the embedding queue's depth at each scrape."""
        self.embedding_queue.set_function(depth)
