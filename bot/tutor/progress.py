"""Where each learner stands: the question in progress and every finished question, in the store (SQLite or
PostgreSQL: the SQL below is written for both).

A learner is a pseudonymous id (the chat session, or an id the quiz page keeps in the browser): nothing
personal is stored, only which question was asked, how many hints it took and the score. Progress is computed
from the finished questions, so it survives restarts and needs no counters to keep in sync.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from bot.store import Store

# A question's score: answered right with 0, 1 or 2 hints; or explained after the hints ran out (a little
# credit when the learner had got part of it).
SCORE_CORRECT = (1.0, 0.7, 0.4)
SCORE_EXPLAINED_PARTIAL = 0.2


@dataclass
class TutorState:
    learner_id: str
    lang: str
    channel: str  # "quiz" (the quiz page and /api/tutor) or "chat" (a quiz the chat handed over to)
    question_id: str | None = None  # the question awaiting an answer, if any
    module: str | None = None
    hints: int = 0  # hints given so far on that question
    best: str | None = None  # best verdict so far on that question


@dataclass(frozen=True)
class Result:
    module: str
    question_id: str
    outcome: str  # correct | explained
    hints: int
    score: float
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ProgressStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def state(self, learner_id: str) -> TutorState | None:
        rows = self.store.query(
            "SELECT learner_id, lang, channel, question_id, module, hints, best FROM tutor_state "
            "WHERE learner_id = :learner_id",
            {"learner_id": learner_id},
        )
        return TutorState(**dict(rows[0])) if rows else None

    def save(self, state: TutorState) -> None:
        with self.store.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO tutor_state (learner_id, lang, channel, question_id, module, hints, best, "
                    "updated_at) VALUES (:learner_id, :lang, :channel, :question_id, :module, :hints, :best, "
                    ":updated_at) ON CONFLICT (learner_id) DO UPDATE SET lang = excluded.lang, "
                    "channel = excluded.channel, question_id = excluded.question_id, module = excluded.module, "
                    "hints = excluded.hints, best = excluded.best, updated_at = excluded.updated_at"
                ),
                asdict(state) | {"updated_at": _now()},
            )

    def record(self, state: TutorState, outcome: str, score: float) -> None:
        """Record the finished question and clear it from the state, in one transaction."""
        with self.store.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO tutor_results (learner_id, module, question_id, outcome, hints, score, created_at) "
                    "VALUES (:learner_id, :module, :question_id, :outcome, :hints, :score, :at)"
                ),
                asdict(state) | {"outcome": outcome, "score": score, "at": _now()},
            )
            db.execute(
                text(
                    "UPDATE tutor_state SET question_id = NULL, hints = 0, best = NULL, updated_at = :at "
                    "WHERE learner_id = :learner_id"
                ),
                {"at": _now(), "learner_id": state.learner_id},
            )
        state.question_id, state.hints, state.best = None, 0, None

    def results(self, learner_id: str) -> list[Result]:
        rows = self.store.query(
            "SELECT module, question_id, outcome, hints, score, created_at FROM tutor_results "
            "WHERE learner_id = :learner_id ORDER BY id",
            {"learner_id": learner_id},
        )
        return [Result(**dict(row)) for row in rows]
