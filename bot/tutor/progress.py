"""Where each learner stands: the question in progress and every finished question, in the SQLite store.

A learner is a pseudonymous id (the chat session, or an id the quiz page keeps in the browser): nothing
personal is stored, only which question was asked, how many hints it took and the score. Progress is computed
from the finished questions, so it survives restarts and needs no counters to keep in sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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
            "SELECT learner_id, lang, channel, question_id, module, hints, best FROM tutor_state WHERE learner_id = ?",
            (learner_id,),
        )
        return TutorState(**dict(rows[0])) if rows else None

    def save(self, state: TutorState) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO tutor_state (learner_id, lang, channel, question_id, module, hints, best, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(learner_id) DO UPDATE SET "
                "lang = excluded.lang, channel = excluded.channel, question_id = excluded.question_id, "
                "module = excluded.module, hints = excluded.hints, best = excluded.best, "
                "updated_at = excluded.updated_at",
                (
                    state.learner_id,
                    state.lang,
                    state.channel,
                    state.question_id,
                    state.module,
                    state.hints,
                    state.best,
                    _now(),
                ),
            )

    def record(self, state: TutorState, outcome: str, score: float) -> None:
        """Record the finished question and clear it from the state, in one transaction."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO tutor_results (learner_id, module, question_id, outcome, hints, score, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (state.learner_id, state.module, state.question_id, outcome, state.hints, score, _now()),
            )
            db.execute(
                "UPDATE tutor_state SET question_id = NULL, hints = 0, best = NULL, updated_at = ? "
                "WHERE learner_id = ?",
                (_now(), state.learner_id),
            )
        state.question_id, state.hints, state.best = None, 0, None

    def results(self, learner_id: str) -> list[Result]:
        rows = self.store.query(
            "SELECT module, question_id, outcome, hints, score, created_at FROM tutor_results "
            "WHERE learner_id = ? ORDER BY id",
            (learner_id,),
        )
        return [Result(**dict(row)) for row in rows]
