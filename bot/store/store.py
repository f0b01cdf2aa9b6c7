"""The store every caller uses: sessions and messages, feedback, analytics for staff, the records of
evaluation runs (so that every worker sees a run one of them started), and the transactions the tutor's
progress (``bot.tutor.progress``) runs on its own tables.

The SQL is written once for SQLite and PostgreSQL: named parameters, ``INSERT ... ON CONFLICT``, 0/1 for
booleans, and timestamps as fixed-width ISO-8601 UTC text, so that ordering and comparisons work alike on
both (and an existing SQLite database keeps its values).

Privacy: what a person typed (questions, feedback comments) is redacted (``bot.safety.privacy``) here, at the
one door to the database, whoever calls; ``purge`` deletes what is older than the retention period and
``delete_session`` a whole conversation on request.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, text

from bot.safety.privacy import redact, redact_optional
from bot.schema import AnswerMode, Citation, Turn
from bot.store.engine import READ_ONLY, open_engine, sqlite_url
from bot.store.migrations import migrate

Clock = Callable[[], datetime]
EvalState = Literal["running", "done", "failed"]
EVAL_RUN_COLUMNS = "run_id, dataset, state, done, total, error, summary, started_at, finished_at"


@dataclass(frozen=True)
class EvalRun:
    """An evaluation run as any worker sees it: a row of ``eval_runs`` (runs started in the app, whichever
    worker runs them: ``evals.jobs``), or one read from a run's folder (command-line runs write only that).
    Timestamps are the store's ISO-8601 UTC text; ``summary`` is ``summary.json``'s content once done."""

    run_id: str
    dataset: str
    state: EvalState = "running"
    done: int = 0
    total: int = 0
    error: str | None = None
    summary: dict[str, Any] | None = field(default=None, repr=False)
    started_at: str = ""
    finished_at: str | None = None


def _eval_run(row: RowMapping) -> EvalRun:
    return EvalRun(**{**row, "summary": json.loads(row["summary"]) if row["summary"] is not None else None})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A moment as the store writes it: ISO-8601 UTC text of fixed width, which sorts as time does."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class Store:
    def __init__(self, database: str | Path, clock: Clock = _utc_now) -> None:
        """``database``: a SQLAlchemy URL, or the path of a SQLite file. ``clock`` gives the time rows are
        stamped with and ages are measured from (tests move it). The schema is migrated here, at start."""
        self.engine = open_engine(database if isinstance(database, str) else sqlite_url(database))
        self._clock = clock
        migrate(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends (rolled back if it raises)."""
        with self.engine.begin() as db:
            yield db

    def query(self, sql: str, params: Mapping[str, object] | None = None) -> list[RowMapping]:
        """Rows of a read-only query (named parameters, ``:name``), as mappings from column to value."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as db:
            return list(db.execute(text(sql), dict(params or {})).mappings())

    def now(self) -> str:
        """The present moment as rows are stamped with it (the store's clock)."""
        return stamp(self._clock())

    def ensure_session(self, session_id: str | None) -> str:
        session_id = session_id or uuid.uuid4().hex
        with self.transaction() as db:
            db.execute(
                text("INSERT INTO sessions (id, created_at) VALUES (:id, :at) ON CONFLICT (id) DO NOTHING"),
                {"id": session_id, "at": self.now()},
            )
        return session_id

    def history(self, session_id: str, limit: int = 20) -> list[Turn]:
        rows = self.query(
            "SELECT role, content FROM messages WHERE session_id = :s ORDER BY created_at DESC, seq DESC LIMIT :n",
            {"s": session_id, "n": limit},
        )
        return [Turn(row["role"], row["content"]) for row in reversed(rows)]

    def add_exchange(
        self,
        session_id: str,
        question: str,
        answer: str,
        mode: AnswerMode,
        refused: bool,
        citations: Sequence[Citation],
        faq: tuple[str, float] | None = None,
    ) -> str:
        """Store a question (redacted) and its answer; answers are built from the knowledge base and the
        redacted question, so they hold nothing personal of their own. ``faq``: the FAQ entry that came closest
        and its score, which staff curation reads (hit counts, suggested alternates)."""
        message_id = uuid.uuid4().hex
        insert = text(
            "INSERT INTO messages (id, session_id, role, content, mode, refused, citations, created_at, "
            "faq_candidate, faq_score, served_entry) "
            "VALUES (:id, :s, :role, :content, :mode, :refused, :citations, :at, :candidate, :score, :served)"
        )
        served = citations[0].source_id if mode == "faq" and citations else None
        closest = {"candidate": faq[0], "score": faq[1]} if faq else {"candidate": None, "score": None}
        with self.transaction() as db:  # one statement each: the question must get the lower seq
            db.execute(
                insert,
                {"id": uuid.uuid4().hex, "s": session_id, "role": "user", "content": redact(question)}
                | {"mode": None, "refused": None, "citations": None, "at": self.now()}
                | {"candidate": None, "score": None, "served": None},
            )
            db.execute(
                insert,
                {"id": message_id, "s": session_id, "role": "assistant", "content": answer, "mode": mode}
                | {"refused": int(refused), "citations": json.dumps([asdict(c) for c in citations]), "at": self.now()}
                | closest
                | {"served": served},
            )
        return message_id

    def add_feedback(self, session_id: str, message_id: str, rating: str, comment: str | None) -> bool:
        """Store a rating with the question, answer and sources it is about; False if there is no such answer.

        Rating an answer again replaces its rating but keeps its comment unless a new one is given (a blank
        comment is no comment): nothing a person typed is lost to a second click."""
        comment = (comment or "").strip() or None
        with self.transaction() as db:
            answer = (
                db.execute(
                    text(
                        "SELECT seq, content, citations FROM messages "
                        "WHERE id = :id AND session_id = :s AND role = 'assistant'"
                    ),
                    {"id": message_id, "s": session_id},
                )
                .mappings()
                .first()
            )
            if answer is None:
                return False
            question = db.execute(
                text(
                    "SELECT content FROM messages WHERE session_id = :s AND role = 'user' AND seq < :seq "
                    "ORDER BY seq DESC LIMIT 1"
                ),
                {"s": session_id, "seq": answer["seq"]},
            ).scalar()
            db.execute(
                text(
                    "INSERT INTO feedback (message_id, session_id, rating, comment, question, answer, sources, "
                    "created_at) VALUES (:id, :s, :rating, :comment, :question, :answer, :sources, :at) "
                    "ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, "
                    "comment = COALESCE(excluded.comment, feedback.comment), created_at = excluded.created_at"
                ),
                {"id": message_id, "s": session_id, "rating": rating, "comment": redact_optional(comment)}
                | {"question": question or "", "answer": answer["content"], "sources": answer["citations"] or "[]"}
                | {"at": self.now()},
            )
        return True

    def delete_session(self, session_id: str) -> bool:
        """Forget a conversation: its messages, the feedback on them and the quiz progress kept under its id
        (the learner's right to erasure)."""
        statements = [
            "DELETE FROM feedback WHERE session_id = :id",
            "DELETE FROM tutor_state WHERE learner_id = :id",
            "DELETE FROM tutor_results WHERE learner_id = :id",
            "DELETE FROM sessions WHERE id = :id",
        ]
        with self.transaction() as db:  # messages go with their session (ON DELETE CASCADE)
            return sum(db.execute(text(statement), {"id": session_id}).rowcount for statement in statements) > 0

    def purge(self, max_age_days: int) -> dict[str, int]:
        """Delete every message and feedback older than ``max_age_days``, and the conversations left empty;
        return how many of each went. A long conversation loses its oldest turns, not its recent ones."""
        cutoff = {"cutoff": stamp(self._clock() - timedelta(days=max_age_days))}
        with self.transaction() as db:
            feedback = db.execute(
                text(
                    "DELETE FROM feedback WHERE created_at < :cutoff OR message_id IN "
                    "(SELECT id FROM messages WHERE created_at < :cutoff)"
                ),
                cutoff,
            ).rowcount
            messages = db.execute(text("DELETE FROM messages WHERE created_at < :cutoff"), cutoff).rowcount
            sessions = db.execute(
                text(
                    "DELETE FROM sessions WHERE created_at < :cutoff AND NOT EXISTS "
                    "(SELECT 1 FROM messages WHERE session_id = sessions.id)"
                ),
                cutoff,
            ).rowcount
        return {"sessions": sessions, "messages": messages, "feedback": feedback}

    def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the bot refused, newest first: the gaps staff fill in the knowledge base."""
        rows = self.query(
            "SELECT q.content AS question, a.created_at AS asked_at FROM messages a JOIN messages q "
            "ON q.session_id = a.session_id AND q.role = 'user' AND q.seq = (SELECT MAX(seq) FROM messages "
            "WHERE session_id = a.session_id AND role = 'user' AND seq < a.seq) "
            "WHERE a.role = 'assistant' AND a.refused = 1 ORDER BY a.seq DESC LIMIT :n",
            {"n": limit},
        )
        return [dict(row) for row in rows]

    def feedback(self, rating: str | None = None) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT created_at, rating, comment, question, answer, sources FROM feedback"
            + (" WHERE rating = :rating" if rating else "")
            + " ORDER BY created_at DESC",
            {"rating": rating} if rating else None,
        )
        return [{**row, "sources": [c["source_id"] for c in json.loads(row["sources"])]} for row in rows]

    def topics(self, limit: int = 20) -> list[dict[str, Any]]:
        """The sources answers cite most: what people ask about."""
        counts: Counter[tuple[str, str]] = Counter()
        for row in self.query("SELECT citations FROM messages WHERE role = 'assistant' AND citations IS NOT NULL"):
            counts.update({(c["source_id"], c["title"]) for c in json.loads(row["citations"])})
        return [{"source_id": source, "title": title, "answers": n} for (source, title), n in counts.most_common(limit)]

    def start_eval_run(self, run_id: str, dataset: str) -> EvalRun:
        """Record a run as running, before its first item: a status request on another worker finds it.

        A run id already recorded (ids carry the second a run started) is started afresh, as its folder is
        written afresh: the record says what the folder holds."""
        run = EvalRun(run_id=run_id, dataset=dataset, started_at=self.now())
        with self.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO eval_runs (run_id, dataset, state, started_at) "
                    "VALUES (:run_id, :dataset, 'running', :started_at) ON CONFLICT (run_id) DO UPDATE SET "
                    "dataset = excluded.dataset, state = 'running', done = 0, total = 0, error = NULL, "
                    "summary = NULL, started_at = excluded.started_at, finished_at = NULL"
                ),
                {"run_id": run.run_id, "dataset": run.dataset, "started_at": run.started_at},
            )
        return run

    def eval_run_progress(self, run_id: str, done: int, total: int) -> None:
        self._update_eval_run(run_id, "done = :done, total = :total", {"done": done, "total": total})

    def finish_eval_run(self, run_id: str, summary: Mapping[str, Any]) -> None:
        """A run that went through all its items: done, with the summary its folder holds."""
        self._update_eval_run(
            run_id,
            "state = 'done', summary = :summary, finished_at = :at",
            {"summary": json.dumps(summary), "at": self.now()},
        )

    def fail_eval_run(self, run_id: str, error: str) -> None:
        self._update_eval_run(
            run_id, "state = 'failed', error = :error, finished_at = :at", {"error": error, "at": self.now()}
        )

    def _update_eval_run(self, run_id: str, assignments: str, values: Mapping[str, object]) -> None:
        with self.transaction() as db:
            db.execute(text(f"UPDATE eval_runs SET {assignments} WHERE run_id = :run_id"), {**values, "run_id": run_id})

    def eval_run(self, run_id: str) -> EvalRun | None:
        rows = self.query(f"SELECT {EVAL_RUN_COLUMNS} FROM eval_runs WHERE run_id = :run_id", {"run_id": run_id})
        return _eval_run(rows[0]) if rows else None

    def eval_runs(self, state: EvalState | None = None, limit: int = 200) -> list[EvalRun]:
        """Runs newest first (by start), those in ``state`` if given."""
        rows = self.query(
            f"SELECT {EVAL_RUN_COLUMNS} FROM eval_runs"
            + (" WHERE state = :state" if state else "")
            + " ORDER BY started_at DESC, run_id DESC LIMIT :n",
            {"state": state, "n": limit},
        )
        return [_eval_run(row) for row in rows]

    def close(self) -> None:
        self.engine.dispose()
