"""The staff's loop from a gap to a fix over HTTP (``/api/admin/*``): the inbox of refused and down-rated
answers, curated entries (preview, publish, edit, unpublish, alternates, suggestions), their use, the audit
log and the YAML export. A thin face over ``bot.curation.Curation``, which the staff page calls too.

Every route needs a staff account's token: the account is the actor the audit log records. Edits carry the
revision the editor read, so that a colleague's change in between is refused (409) instead of overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.curation.entries import MAX_ALTERNATES, MAX_QUESTION_CHARS, EntryDraft
from bot.curation.service import Curation, EntryInfo, Published
from bot.runtime import NotReadyError
from bot.store.curation import DuplicateEntryError, EntryUse, RevisionConflictError, UnknownEntryError
from bot.web.deps import ID_MAX_LENGTH, ID_PATTERN, RuntimeDep, not_ready
from bot.web.exports import audit_csv
from bot.web.routes.staff import StaffDep, attachment, require_staff

router = APIRouter(prefix="/api/admin", tags=["curation"], dependencies=[Depends(require_staff)])

MessageId = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
MessageIds = Annotated[
    list[MessageId],
    Field(default_factory=list, max_length=500, description="Answers (`message_id`) of the gap inbox this settles."),
]
Revision = Annotated[
    int, Field(ge=0, le=2**31, description="The entry's revision the change was made on (0: no alternates added yet).")
]
EntryId = Annotated[str, Path(min_length=1, max_length=120, description="A staff entry's or a repository entry's id.")]
Phrasing = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]


def get_curation(runtime: RuntimeDep) -> Curation:
    return runtime.curation


CurationDep = Annotated[Curation, Depends(get_curation)]


@contextmanager
def refusals() -> Iterator[None]:
    """The core's refusals as HTTP answers with their message: nothing a staff member sends is a 500."""
    try:
        yield
    except UnknownEntryError as exc:
        raise HTTPException(404, str(exc)) from exc
    except (DuplicateEntryError, RevisionConflictError) as exc:
        raise HTTPException(409, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    except NotReadyError as exc:
        raise not_ready(exc) from exc


# -- shapes


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Whoami(BaseModel):
    name: str = Field(description="The staff account the token belongs to, as the audit log names it.")


class AskedOut(Out):
    message_id: str = Field(description="The answer's id (to dismiss it, or attach it to an entry).")
    question: str = Field(description="The user's question, redacted as stored.")
    answer: str
    mode: str
    refused: bool
    sources: list[str] = Field(description="The source ids the answer cited.")
    asked_at: str
    rating: str | None = Field(None, description="up | down, when the user rated the answer.")
    comment: str | None = None


class GapGroup(BaseModel):
    key: str = Field(description="The newest question's `message_id`.")
    count: int = Field(description="How many questions the group holds.")
    latest: str = Field(description="When the newest was asked.")
    questions: list[AskedOut] = Field(description="Questions asking the same thing in other words, newest first.")


class Dismissal(BaseModel):
    message_ids: list[MessageId] = Field(..., min_length=1, max_length=500)
    reason: str = Field(..., min_length=1, max_length=500, description="Why nothing is to be added (kept in the log).")


class Dismissed(BaseModel):
    dismissed: int = Field(description="How many of the answers existed and left the inbox.")


class Use(BaseModel):
    served: int = Field(0, description="Answers that served the entry.")
    up: int = Field(0, description="Of those, rated up.")
    down: int = Field(0, description="Of those, rated down.")


def _use(uses: dict[str, EntryUse], entry_id: str) -> Use:
    use = uses.get(entry_id)
    return Use(served=use.served, up=use.up, down=use.down) if use else Use()


class StaffEntry(BaseModel):
    entry: EntryDraft
    published: bool = Field(description="Served by the chat; an unpublished entry stays, to be restored.")
    revision: int
    created_by: str
    created_at: str
    updated_by: str
    updated_at: str
    use: Use


class EntryOut(Out):
    id: str
    lang: str
    question: str
    answer: str
    alternates: list[str] = Field(description="A staff entry's alternates; for a repository entry, those staff added.")
    origin: str = Field(description="`staff`, or the repository file the entry comes from.")
    published: bool
    revision: int = Field(description="Send it back with a change (alternates added to a repository entry: 0 first).")
    use: Use


class AnswerShownOut(Out):
    question: str
    mode: str = Field(description="faq | extractive | llm | refused")
    refused: bool
    entry_id: str | None = Field(description="The curated entry served, if one was.")
    answer: str
    sources: list[str]


class ComparedAnswer(BaseModel):
    question: str
    now: AnswerShownOut = Field(description="How the bot answers it today.")
    with_draft: AnswerShownOut = Field(description="How it would with the draft published.")


class ConflictOut(Out):
    question: str
    entry_id: str = Field(description="The entry whose question the draft would take over, or duplicate.")
    kind: Literal["traffic", "phrasing"] = Field(
        description="traffic: a question users asked that this entry answers today; phrasing: one of its own."
    )
    similarity: float


class PreviewRequest(BaseModel):
    entry: EntryDraft
    questions: list[Phrasing] = Field(
        default_factory=list, max_length=50, description="Questions to compare (the gap's, and any others)."
    )
    editing: bool = Field(False, description="The draft replaces the published entry of its id.")


class PreviewOut(BaseModel):
    answers: list[ComparedAnswer]
    conflicts: list[ConflictOut] = Field(description="Questions other entries answer that the draft would take.")


class PublishedOut(Out):
    entry_id: str
    revision: int = Field(description="The entry's revision now: send it with the next change.")
    answers: list[AnswerShownOut] = Field(description="How the settled gap's questions are answered now.")
    seconds: float = Field(description="From the request to the chat answering with the change.")


def _published(published: Published) -> PublishedOut:
    return PublishedOut.model_validate(published)


class NewEntry(BaseModel):
    entry: EntryDraft
    gap_message_ids: MessageIds


class EntryEdit(BaseModel):
    entry: EntryDraft
    revision: Revision


class RevisionOnly(BaseModel):
    revision: Revision


class NewAlternates(BaseModel):
    alternates: list[Phrasing] = Field(..., min_length=1, max_length=MAX_ALTERNATES)
    revision: Revision
    gap_message_ids: MessageIds


class SuggestionDecision(BaseModel):
    accept: bool = Field(..., description="true: the question becomes an alternate of the entry.")
    revision: Revision


class Decided(BaseModel):
    accepted: bool
    published: PublishedOut | None = Field(description="The entry with the alternate, when accepted.")


class AuditOut(Out):
    id: int
    at: str
    actor: str
    action: str = Field(description="create | edit | unpublish | restore | attach | dismiss")
    entry_id: str
    before: dict | None
    after: dict | None


# -- the gap inbox


@router.get("/whoami", response_model=Whoami)
def whoami(actor: StaffDep) -> Whoami:
    """The account the token signs in as."""
    return Whoami(name=actor)


@router.get("/gaps", response_model=list[GapGroup])
def gaps(curation: CurationDep, limit: Annotated[int, Query(ge=1, le=2000)] = 500) -> list[GapGroup]:
    """Refused and down-rated answers not dealt with yet, grouped by meaning, most asked first."""
    with refusals():
        groups = curation.gaps(limit)
    return [
        GapGroup(
            key=g.key,
            count=len(g.questions),
            latest=g.latest,
            questions=[AskedOut.model_validate(q) for q in g.questions],
        )
        for g in groups
    ]


@router.post("/gaps/dismiss", response_model=Dismissed)
def dismiss(body: Dismissal, curation: CurationDep, actor: StaffDep) -> Dismissed:
    """Take answers out of the inbox without adding anything (out of scope, spam), with the reason."""
    with refusals():
        return Dismissed(dismissed=curation.dismiss(body.message_ids, body.reason, actor))


# -- entries (literal paths before ``/entries/{entry_id}``)


@router.get("/entries", response_model=list[StaffEntry])
def entries(curation: CurationDep) -> list[StaffEntry]:
    """Entries written by staff, published or not, last changed first, with how they were used."""
    uses = curation.uses()
    return [
        StaffEntry(
            entry=EntryDraft.of(e.content),
            published=e.published,
            revision=e.revision,
            created_by=e.created_by,
            created_at=e.created_at,
            updated_by=e.updated_by,
            updated_at=e.updated_at,
            use=_use(uses, e.id),
        )
        for e in curation.entries()
    ]


@router.get("/entries.yaml", response_class=PlainTextResponse)
def export(curation: CurationDep) -> PlainTextResponse:
    """The published staff entries in the knowledge base's FAQ format, to commit under `knowledge_base/`."""
    return attachment(curation.export_yaml(), "text/yaml", "staff-faq.yaml")


@router.post("/entries/preview", response_model=PreviewOut)
def preview(body: PreviewRequest, curation: CurationDep) -> PreviewOut:
    """How the questions are answered now and with the draft published, and whose questions it would take."""
    with refusals():
        result = curation.preview(body.entry.content(), body.questions, body.editing)
    return PreviewOut(
        answers=[
            ComparedAnswer(
                question=now.question,
                now=AnswerShownOut.model_validate(now),
                with_draft=AnswerShownOut.model_validate(draft),
            )
            for now, draft in result.answers
        ],
        conflicts=[ConflictOut.model_validate(c) for c in result.conflicts],
    )


@router.post("/entries", status_code=201, response_model=PublishedOut)
def create(body: NewEntry, curation: CurationDep, actor: StaffDep) -> PublishedOut:
    """Publish a new entry: the chat serves it at once; the gap's answers leave the inbox."""
    with refusals():
        return _published(curation.create(body.entry.content(), actor, body.gap_message_ids))


@router.get("/entries/{entry_id}", response_model=EntryOut)
def entry(entry_id: EntryId, curation: CurationDep) -> EntryOut:
    """A staff entry, or a repository entry (to add alternates to)."""
    with refusals():
        info: EntryInfo = curation.entry_info(entry_id)
    return EntryOut.model_validate({**asdict(info), "use": _use(curation.uses(), entry_id)})


@router.put("/entries/{entry_id}", response_model=PublishedOut)
def update(entry_id: EntryId, body: EntryEdit, curation: CurationDep, actor: StaffDep) -> PublishedOut:
    """Change a staff entry (its id stays); a published one is served changed at once."""
    with refusals():
        return _published(curation.update(entry_id, body.entry.content(), body.revision, actor))


@router.post("/entries/{entry_id}/unpublish", response_model=PublishedOut)
def unpublish(entry_id: EntryId, body: RevisionOnly, curation: CurationDep, actor: StaffDep) -> PublishedOut:
    """Stop serving a staff entry; it stays, to be restored."""
    with refusals():
        return _published(curation.set_published(entry_id, False, body.revision, actor))


@router.post("/entries/{entry_id}/restore", response_model=PublishedOut)
def restore(entry_id: EntryId, body: RevisionOnly, curation: CurationDep, actor: StaffDep) -> PublishedOut:
    """Serve an unpublished staff entry again."""
    with refusals():
        return _published(curation.set_published(entry_id, True, body.revision, actor))


@router.post("/entries/{entry_id}/alternates", response_model=PublishedOut)
def attach(entry_id: EntryId, body: NewAlternates, curation: CurationDep, actor: StaffDep) -> PublishedOut:
    """Add phrasings to an entry (a staff one or the repository's), e.g. a gap's questions it already answers."""
    with refusals():
        return _published(curation.attach(entry_id, body.alternates, body.revision, actor, body.gap_message_ids))


@router.get("/entries/{entry_id}/suggestions", response_model=list[AskedOut])
def suggestions(entry_id: EntryId, curation: CurationDep) -> list[AskedOut]:
    """Questions the entry came close to without being served: alternates to accept or reject."""
    with refusals():
        return [AskedOut.model_validate(q) for q in curation.suggestions(entry_id)]


@router.post("/entries/{entry_id}/suggestions/{message_id}", response_model=Decided)
def decide(
    entry_id: EntryId,
    message_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
    body: SuggestionDecision,
    curation: CurationDep,
    actor: StaffDep,
) -> Decided:
    """Accept a suggested question as an alternate of the entry, or reject it (it is not suggested again)."""
    with refusals():
        published = curation.decide_suggestion(entry_id, message_id, body.accept, body.revision, actor)
    return Decided(accepted=body.accept, published=_published(published) if published else None)


# -- the audit log


@router.get("/audit", response_model=list[AuditOut])
def audit(
    curation: CurationDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    entry_id: Annotated[str | None, Query(max_length=120, description="Only this entry's changes.")] = None,
) -> list[AuditOut]:
    """Who changed what and when, newest first, with each entry before and after."""
    return [AuditOut.model_validate(r) for r in curation.audit(limit, entry_id)]


@router.get("/audit.csv", response_class=PlainTextResponse)
def audit_export(curation: CurationDep) -> PlainTextResponse:
    """The whole audit log as CSV, newest first (before and after as JSON)."""
    return attachment(audit_csv(curation.audit(limit=1_000_000)), "text/csv", "audit.csv")
