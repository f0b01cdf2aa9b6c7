"""HTTP routes of the tutor (``/api/tutor/...``): parse, call the tutor service, shape the response."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from bot.tutor.service import TutorError, TutorTurn
from bot.web.deps import ID_MAX_LENGTH, ID_PATTERN, TutorDep

router = APIRouter(prefix="/api/tutor", tags=["tutor"])

LearnerId = Annotated[
    str, Field(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, description="Pseudonymous learner id (no personal data).")
]


class QuestionRequest(BaseModel):
    learner_id: LearnerId | None = Field(None, description="Omitted: a new learner id is created.")
    module: str | None = Field(
        None, max_length=128, description="A module id, `surprise` for a random one, omitted: the recommended one."
    )
    lang: Literal["fr", "en"] = "fr"


class AnswerRequest(BaseModel):
    learner_id: LearnerId
    question_id: str | None = Field(None, max_length=64, description="Checked against the question in progress.")
    answer: str = Field(..., max_length=4000, description="The learner's answer, in French or English.")


class StepRequest(BaseModel):
    learner_id: LearnerId
    question_id: str | None = Field(None, max_length=64)


class CitationOut(BaseModel):
    source_id: str
    title: str
    section: str
    snippet: str


class TurnOut(BaseModel):
    learner_id: str
    lang: str
    message: str = Field(description="What to show the learner (Markdown).")
    module: str
    module_title: str
    question_id: str
    question: str
    verdict: str | None = Field(None, description="correct | partial | wrong, when an answer was graded.")
    found: list[str] = Field(description="Key ideas the answer expressed.")
    missing_count: int
    missing: list[str] = Field(description="Key ideas missed; only once the question is finished.")
    hint: str | None
    hints_used: int
    finished: bool
    score: float | None
    explanation: str | None
    citation: CitationOut | None


def _out(turn: TutorTurn) -> TurnOut:
    return TurnOut(**asdict(turn))


def _served(call) -> TurnOut:
    try:
        return _out(call())
    except TutorError as exc:
        raise HTTPException(409, str(exc)) from exc


@router.get("/modules")
def modules(tutor: TutorDep, lang: Literal["fr", "en"] = "fr") -> list[dict]:
    """The quiz modules in course order, with their number of questions in `lang` and in all."""
    return [
        {
            "module": m.id,
            "title": m.title(lang),
            "questions": len(m.questions),
            "questions_in_lang": sum(q.lang == lang for q in m.questions),
        }
        for m in tutor.bank.modules.values()
    ]


@router.post("/question", response_model=TurnOut)
def question(body: QuestionRequest, tutor: TutorDep) -> TurnOut:
    """A new question (it replaces any question left unanswered)."""
    learner_id = body.learner_id or uuid.uuid4().hex
    try:
        return _out(tutor.ask(learner_id, body.module, body.lang))
    except TutorError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.post("/answer", response_model=TurnOut)
def answer(body: AnswerRequest, tutor: TutorDep) -> TurnOut:
    """Grade an answer: correct finishes the question; otherwise the next hint, then the explanation."""
    return _served(lambda: tutor.answer(body.learner_id, body.answer, body.question_id))


@router.post("/hint", response_model=TurnOut)
def hint(body: StepRequest, tutor: TutorDep) -> TurnOut:
    """The next hint without answering (two per question)."""
    return _served(lambda: tutor.hint(body.learner_id, body.question_id))


@router.post("/reveal", response_model=TurnOut)
def reveal(body: StepRequest, tutor: TutorDep) -> TurnOut:
    """The explanation and its course section, when the learner asks for the answer."""
    return _served(lambda: tutor.reveal(body.learner_id, body.question_id))


@router.get("/progress")
def progress(
    tutor: TutorDep,
    learner_id: Annotated[str, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
    lang: Literal["fr", "en"] = "fr",
) -> dict:
    """Per module: questions seen, right, average score and streak; overall streaks; the recommended next step."""
    return asdict(tutor.report(learner_id, lang))
