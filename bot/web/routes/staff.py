"""Staff routes (``/api/admin/*``): analytics, feedback export, evaluation runs, behind a staff account.

Without an account (``TUTOR_STAFF_ACCOUNTS``, or ``TUTOR_ADMIN_TOKEN``: the account ``admin``) these routes are
off (403), never open; with one, they need ``Authorization: Bearer <token>``, and the token says who is calling
(``StaffDep``), so that what staff change is logged under their name.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from bot.curation.accounts import StaffAccounts
from bot.store import EvalRun
from bot.web.deps import RuntimeDep
from bot.web.exports import feedback_csv
from evals.jobs import EvalJobs


def token_matches(configured: str | None, given: str | None) -> bool:
    if not configured or given is None:
        return False
    return hmac.compare_digest(configured.encode(), given.encode())


def require_staff(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The name of the staff account the bearer token belongs to."""
    accounts: StaffAccounts = request.app.state.runtime.accounts
    if not accounts.enabled:
        raise HTTPException(403, "staff endpoints are off: set TUTOR_ADMIN_TOKEN or TUTOR_STAFF_ACCOUNTS")
    scheme, _, token = (authorization or "").partition(" ")
    name = accounts.identify(token.strip()) if scheme.lower() == "bearer" else None
    if name is None:
        raise HTTPException(401, "a valid staff bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return name


StaffDep = Annotated[str, Depends(require_staff)]


def get_jobs(request: Request) -> EvalJobs:
    return request.app.state.evals


router = APIRouter(prefix="/api/admin", tags=["staff"], dependencies=[Depends(require_staff)])
JobsDep = Annotated[EvalJobs, Depends(get_jobs)]


class EvalRequest(BaseModel):
    dataset: str = Field(..., max_length=200, description="A dataset file name from evals/datasets/.")


class JobOut(BaseModel):
    run_id: str
    dataset: str
    state: str
    done: int
    total: int
    error: str | None = None
    summary: dict | None = None


def _job(job: EvalRun) -> JobOut:
    return JobOut(**{k: getattr(job, k) for k in JobOut.model_fields})


def _known(jobs: EvalJobs, run_id: str) -> None:
    try:
        jobs.run_folder(run_id)
    except KeyError:
        raise HTTPException(404, f"no finished run '{run_id}'") from None


@router.get("/analytics")
def analytics(runtime: RuntimeDep) -> dict:
    """What to fill in the knowledge base: refused questions, answers rated down, most cited sources."""
    return {
        "unanswered": runtime.store.unanswered(),
        "thumbs_down": runtime.store.feedback("down"),
        "topics": runtime.store.topics(),
    }


def attachment(text: str, media_type: str, filename: str) -> PlainTextResponse:
    """An export, saved as a file by the browser rather than shown."""
    return PlainTextResponse(
        text, media_type=media_type, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@router.get("/feedback.csv", response_class=PlainTextResponse)
def feedback_export(runtime: RuntimeDep) -> PlainTextResponse:
    """All feedback as CSV (newest first)."""
    return attachment(feedback_csv(runtime.store.feedback()), "text/csv", "feedback.csv")


@router.get("/datasets")
def datasets(jobs: JobsDep) -> list[str]:
    """Datasets that can be run from here."""
    return jobs.datasets()


@router.get("/evals")
def runs(jobs: JobsDep) -> list[str]:
    """Finished runs, newest first."""
    return jobs.runs()


@router.post("/evals", status_code=202, response_model=JobOut)
def start_run(body: EvalRequest, jobs: JobsDep) -> JobOut:
    """Start an evaluation of a dataset with the running app's chat service; poll its status."""
    try:
        return _job(jobs.start(body.dataset))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    except RuntimeError as exc:
        raise HTTPException(409 if "already running" in str(exc) else 503, str(exc)) from exc


@router.get("/evals/compare")
def compare(a: str, b: str, jobs: JobsDep) -> dict:
    """Metric deltas from run `a` to run `b`, and the item ids that were fixed or broken."""
    _known(jobs, a)
    _known(jobs, b)
    deltas, fixed, broken = jobs.compare(a, b)
    return {"deltas": deltas, "fixed": [y["id"] for _, y in fixed], "broken": [y["id"] for _, y in broken]}


@router.get("/evals/{run_id}", response_model=JobOut)
def run_status(run_id: str, jobs: JobsDep) -> JobOut:
    try:
        return _job(jobs.status(run_id))
    except (KeyError, FileNotFoundError):
        raise HTTPException(404, f"no run '{run_id}'") from None


@router.get("/evals/{run_id}/failures")
def failures(run_id: str, jobs: JobsDep) -> list[dict]:
    _known(jobs, run_id)
    return jobs.failures(run_id)


@router.get("/evals/{run_id}/report", response_class=HTMLResponse)
def report(run_id: str, jobs: JobsDep) -> HTMLResponse:
    _known(jobs, run_id)
    return HTMLResponse(jobs.report(run_id))
