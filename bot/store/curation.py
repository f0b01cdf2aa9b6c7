"""What staff curate, in the store: entries written on ``/staff``, alternates added to the repository's entries,
what was done with each gap (a refused or down-rated answer) and each suggested alternate, and the audit log.

Every change and its audit record are written in one transaction, so the log cannot miss a change nor record
one that did not happen. Edits are guarded by the entry's ``revision``: an edit made on an older revision than
the stored one is refused (``RevisionConflict``) instead of silently overwriting a colleague's change.

The entries are data, like conversations: they live in the database (shared by every worker), and the index
is rebuilt from them (``bot.curation``), never the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, text

from bot.store.store import Store

Outcome = Literal["dismissed", "answered", "attached", "accepted", "rejected"]
GAP_OUTCOMES = ("dismissed", "answered", "attached")  # a gap with one of these has left the inbox
Action = Literal["create", "edit", "unpublish", "restore", "attach", "dismiss"]
ENTRY_COLUMNS = (
    "id, lang, programme, question, answer, alternates, tags, source, pair_id, published, revision, "
    "created_by, created_at, updated_by, updated_at"
)


@dataclass(frozen=True)
class EntryContent:
    """What an entry says, as staff write it (validated at the faces: ``bot.curation.entries``)."""

    id: str
    lang: str
    question: str
    answer: str
    alternates: tuple[str, ...] = ()
    programme: str = "general"
    tags: tuple[str, ...] = ()
    source: str = ""
    pair_id: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: its content, whether it is served, and who last changed it."""

    content: EntryContent
    published: bool
    revision: int
    created_by: str
    created_at: str
    updated_by: str
    updated_at: str

    @property
    def id(self) -> str:
        return self.content.id

    def snapshot(self) -> dict[str, Any]:
        """The entry as the audit log keeps it (before and after a change)."""
        return {**asdict(self.content), "published": self.published, "revision": self.revision}


@dataclass(frozen=True)
class ExtraAlternates:
    """Alternates staff added to an entry of the repository (whose YAML the app does not write)."""

    entry_id: str
    alternates: tuple[str, ...]
    revision: int


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: str
    actor: str
    action: str
    entry_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AskedQuestion:
    """A question users asked (redacted as stored), with the answer it got: a gap, or a suggestion."""

    message_id: str  # the answer's
    question: str
    answer: str
    mode: str
    refused: bool
    sources: tuple[str, ...]
    asked_at: str
    rating: str | None = None
    comment: str | None = None
    faq_candidate: str | None = None
    faq_score: float | None = None


@dataclass(frozen=True)
class EntryUse:
    """How often an entry was served, and how its answers were rated."""

    entry_id: str
    served: int = 0
    up: int = 0
    down: int = 0


class UnknownEntryError(KeyError):
    """No curated entry has this id (or no stored answer, that one)."""

    def __str__(self) -> str:  # KeyError's would quote its argument, a message for staff
        return str(self.args[0]) if self.args else ""


class DuplicateEntryError(ValueError):
    """An entry with this id exists already."""


class RevisionConflictError(RuntimeError):
    """The entry changed since the editor read it: the message says who changed it, and when."""

    def __init__(self, current: StoredEntry | ExtraAlternates) -> None:
        who = f" by {current.updated_by} at {current.updated_at}" if isinstance(current, StoredEntry) else ""
        super().__init__(
            f"'{current.entry_id if isinstance(current, ExtraAlternates) else current.id}' was changed{who} "
            f"(now revision {current.revision}) since you opened it: reload it and make your change again"
        )
        self.current = current


def _entry(row: RowMapping) -> StoredEntry:
    content = EntryContent(
        id=row["id"],
        lang=row["lang"],
        question=row["question"],
        answer=row["answer"],
        alternates=tuple(json.loads(row["alternates"])),
        programme=row["programme"],
        tags=tuple(json.loads(row["tags"])),
        source=row["source"],
        pair_id=row["pair_id"],
    )
    return StoredEntry(
        content=content,
        published=bool(row["published"]),
        revision=row["revision"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


def _content_columns(content: EntryContent) -> dict[str, object]:
    return {
        **asdict(content),
        "alternates": json.dumps(list(content.alternates), ensure_ascii=False),
        "tags": json.dumps(list(content.tags), ensure_ascii=False),
    }


# The answer to a user question, with that question (the user message just before it).
_ASKED = (
    "SELECT a.id AS message_id, q.content AS question, a.content AS answer, a.mode, a.refused, a.citations, "
    "a.created_at AS asked_at, a.faq_candidate, a.faq_score, f.rating, f.comment FROM messages a "
    "JOIN messages q ON q.session_id = a.session_id AND q.role = 'user' AND q.seq = (SELECT MAX(seq) FROM messages "
    "WHERE session_id = a.session_id AND role = 'user' AND seq < a.seq) "
    "LEFT JOIN feedback f ON f.message_id = a.id WHERE a.role = 'assistant' AND a.mode <> 'tutor' "
)


def _asked(row: RowMapping) -> AskedQuestion:
    return AskedQuestion(
        message_id=row["message_id"],
        question=row["question"],
        answer=row["answer"],
        mode=row["mode"],
        refused=bool(row["refused"]),
        sources=tuple(c["source_id"] for c in json.loads(row["citations"] or "[]")),
        asked_at=row["asked_at"],
        rating=row["rating"],
        comment=row["comment"],
        faq_candidate=row["faq_candidate"],
        faq_score=row["faq_score"],
    )


class CurationRecords:
    """The curation tables, through the store's engine and clock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- entries written on /staff

    def entries(self) -> list[StoredEntry]:
        rows = self.store.query(f"SELECT {ENTRY_COLUMNS} FROM curated_entries ORDER BY updated_at DESC, id")
        return [_entry(row) for row in rows]

    def entry(self, entry_id: str) -> StoredEntry:
        rows = self.store.query(f"SELECT {ENTRY_COLUMNS} FROM curated_entries WHERE id = :id", {"id": entry_id})
        if not rows:
            raise UnknownEntryError(f"no entry '{entry_id}'")
        return _entry(rows[0])

    def create(self, content: EntryContent, actor: str) -> StoredEntry:
        now = self.store.now()
        with self.store.transaction() as db:
            created = db.execute(
                text(
                    f"INSERT INTO curated_entries ({ENTRY_COLUMNS}) VALUES (:id, :lang, :programme, :question, "
                    ":answer, :alternates, :tags, :source, :pair_id, 1, 1, :actor, :now, :actor, :now) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                _content_columns(content) | {"actor": actor, "now": now},
            ).rowcount
            if not created:
                raise DuplicateEntryError(f"an entry '{content.id}' exists already: edit it, or choose another id")
            entry = StoredEntry(content, True, 1, actor, now, actor, now)
            self._audit(db, actor, "create", content.id, None, entry.snapshot())
        return entry

    def update(
        self,
        entry_id: str,
        revision: int,
        actor: str,
        action: Action,
        content: EntryContent | None = None,
        published: bool | None = None,
    ) -> tuple[StoredEntry, StoredEntry]:
        """Change an entry's content or whether it is served, if it is still at ``revision``; return it before
        and after."""
        with self.store.transaction() as db:
            rows = db.execute(
                text(f"SELECT {ENTRY_COLUMNS} FROM curated_entries WHERE id = :id"), {"id": entry_id}
            ).mappings()
            found = rows.first()
            if found is None:
                raise UnknownEntryError(f"no entry '{entry_id}'")
            before = _entry(found)
            if before.revision != revision:
                raise RevisionConflictError(before)
            after = StoredEntry(
                content=content or before.content,
                published=before.published if published is None else published,
                revision=revision + 1,
                created_by=before.created_by,
                created_at=before.created_at,
                updated_by=actor,
                updated_at=self.store.now(),
            )
            changed = db.execute(
                text(
                    "UPDATE curated_entries SET lang = :lang, programme = :programme, question = :question, "
                    "answer = :answer, alternates = :alternates, tags = :tags, source = :source, pair_id = :pair_id, "
                    "published = :published, revision = :new, updated_by = :actor, updated_at = :at "
                    "WHERE id = :id AND revision = :revision"
                ),
                _content_columns(after.content)
                | {"published": int(after.published), "new": after.revision, "actor": actor}
                | {"at": after.updated_at, "revision": revision},
            ).rowcount
            if not changed:  # another worker's edit between our read and our write (PostgreSQL's read committed)
                raise RevisionConflictError(before)
            self._audit(db, actor, action, entry_id, before.snapshot(), after.snapshot())
        return before, after

    # -- alternates added to the repository's entries

    def extra_alternates(self) -> dict[str, ExtraAlternates]:
        rows = self.store.query("SELECT entry_id, alternates, revision FROM extra_alternates")
        return {
            row["entry_id"]: ExtraAlternates(row["entry_id"], tuple(json.loads(row["alternates"])), row["revision"])
            for row in rows
        }

    def set_extra_alternates(
        self, entry_id: str, alternates: Sequence[str], revision: int, actor: str
    ) -> ExtraAlternates:
        """Replace the alternates added to a repository entry, if they are still at ``revision`` (0: none yet)."""
        with self.store.transaction() as db:
            row = (
                db.execute(
                    text("SELECT alternates, revision FROM extra_alternates WHERE entry_id = :id"), {"id": entry_id}
                )
                .mappings()
                .first()
            )
            current = ExtraAlternates(
                entry_id, tuple(json.loads(row["alternates"])) if row else (), row["revision"] if row else 0
            )
            if current.revision != revision:
                raise RevisionConflictError(current)
            after = ExtraAlternates(entry_id, tuple(alternates), revision + 1)
            values = {"id": entry_id, "alt": json.dumps(list(alternates), ensure_ascii=False), "rev": after.revision}
            values |= {"actor": actor, "at": self.store.now(), "old": revision}
            changed = db.execute(
                text(
                    "INSERT INTO extra_alternates (entry_id, alternates, revision, updated_by, updated_at) "
                    "VALUES (:id, :alt, :rev, :actor, :at) ON CONFLICT (entry_id) DO UPDATE SET "
                    "alternates = excluded.alternates, revision = excluded.revision, updated_by = excluded.updated_by, "
                    "updated_at = excluded.updated_at WHERE extra_alternates.revision = :old"
                ),
                values,
            ).rowcount
            if not changed:
                raise RevisionConflictError(current)
            self._audit(
                db,
                actor,
                "attach",
                entry_id,
                {"alternates": list(current.alternates)},
                {"alternates": list(alternates)},
            )
        return after

    # -- gaps and suggestions

    def gaps(self, limit: int = 500) -> list[AskedQuestion]:
        """Refused answers and answers rated down that staff have not dealt with yet, newest first."""
        outcomes = ", ".join(f"'{o}'" for o in GAP_OUTCOMES)
        rows = self.store.query(
            _ASKED + "AND (a.refused = 1 OR f.rating = 'down') AND NOT EXISTS (SELECT 1 FROM triage t "
            f"WHERE t.message_id = a.id AND t.outcome IN ({outcomes})) ORDER BY a.seq DESC LIMIT :n",
            {"n": limit},
        )
        return [_asked(row) for row in rows]

    def near_misses(self, entry_id: str, floor: float, limit: int = 50) -> list[AskedQuestion]:
        """Questions for which ``entry_id`` came closest but was not served (declined, or answered from
        passages), scoring at least ``floor``, best first: candidates for its alternates."""
        rows = self.store.query(
            _ASKED + "AND a.faq_candidate = :entry AND a.faq_score >= :floor "
            "AND (a.served_entry IS NULL OR a.served_entry <> :entry) AND NOT EXISTS (SELECT 1 FROM triage t "
            "WHERE t.message_id = a.id AND t.entry_id = :entry) ORDER BY a.faq_score DESC, a.seq DESC LIMIT :n",
            {"entry": entry_id, "floor": floor, "n": limit},
        )
        return [_asked(row) for row in rows]

    def asked(self, message_ids: Iterable[str]) -> list[AskedQuestion]:
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return []
        names = {f"m{n}": message_id for n, message_id in enumerate(ids)}
        rows = self.store.query(_ASKED + f"AND a.id IN ({', '.join(':' + n for n in names)})", names)
        return [_asked(row) for row in rows]

    def served_questions(self, limit: int = 300) -> list[AskedQuestion]:
        """Recent questions answered with a curated entry: the traffic a new entry could take over."""
        rows = self.store.query(_ASKED + "AND a.served_entry IS NOT NULL ORDER BY a.seq DESC LIMIT :n", {"n": limit})
        return [_asked(row) for row in rows]

    def triage(
        self,
        message_ids: Sequence[str],
        outcome: Outcome,
        actor: str,
        entry_id: str = "",
        reason: str | None = None,
        audit: Mapping[str, Any] | None = None,
    ) -> None:
        """Record what staff did with these answers (and, given ``audit``, log it as a dismissal)."""
        with self.store.transaction() as db:
            for message_id in dict.fromkeys(message_ids):
                db.execute(
                    text(
                        "INSERT INTO triage (message_id, entry_id, outcome, reason, actor, at) "
                        "VALUES (:m, :e, :o, :r, :actor, :at) ON CONFLICT (message_id, entry_id) DO UPDATE SET "
                        "outcome = excluded.outcome, reason = excluded.reason, actor = excluded.actor, at = excluded.at"
                    ),
                    {"m": message_id, "e": entry_id, "o": outcome, "r": reason, "actor": actor, "at": self.store.now()},
                )
            if audit is not None:
                self._audit(db, actor, "dismiss", entry_id, None, dict(audit))

    def uses(self) -> dict[str, EntryUse]:
        """Per entry served at least once: how often, and the ratings of those answers."""
        rows = self.store.query(
            "SELECT m.served_entry AS entry_id, COUNT(*) AS served, "
            "SUM(CASE WHEN f.rating = 'up' THEN 1 ELSE 0 END) AS up, "
            "SUM(CASE WHEN f.rating = 'down' THEN 1 ELSE 0 END) AS down "
            "FROM messages m LEFT JOIN feedback f ON f.message_id = m.id "
            "WHERE m.served_entry IS NOT NULL GROUP BY m.served_entry"
        )
        return {
            row["entry_id"]: EntryUse(row["entry_id"], row["served"], row["up"] or 0, row["down"] or 0) for row in rows
        }

    # -- the audit log

    def _audit(
        self,
        db: Connection,
        actor: str,
        action: Action,
        entry_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        db.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entry_id, before, after) "
                "VALUES (:at, :actor, :action, :entry, :before, :after)"
            ),
            {"at": self.store.now(), "actor": actor, "action": action, "entry": entry_id}
            | {"before": json.dumps(before, ensure_ascii=False) if before is not None else None}
            | {"after": json.dumps(after, ensure_ascii=False) if after is not None else None},
        )

    def audit(self, limit: int = 1000, entry_id: str | None = None) -> list[AuditRecord]:
        """The log, newest first (one entry's, given ``entry_id``)."""
        rows = self.store.query(
            "SELECT id, at, actor, action, entry_id, before, after FROM audit_log"
            + (" WHERE entry_id = :entry" if entry_id is not None else "")
            + " ORDER BY id DESC LIMIT :n",
            {"entry": entry_id, "n": limit},
        )
        return [
            AuditRecord(
                **{**row, "before": json.loads(row["before"]) if row["before"] else None}
                | {"after": json.loads(row["after"]) if row["after"] else None}
            )
            for row in rows
        ]

    def index_synced(self, path: str) -> int:
        """Record that a curated file is now in the index; its number is the new ``version``."""
        with self.store.transaction() as db:
            db.execute(
                text("INSERT INTO index_syncs (path, at) VALUES (:path, :at)"), {"path": path, "at": self.store.now()}
            )
            return int(db.execute(text("SELECT MAX(id) FROM index_syncs")).scalar() or 0)

    def version(self) -> int:
        """The last curated file synced into the index: workers sharing a Chroma server compare it to know when
        to rebuild their copies. Recorded after the sync, not with the change (the audit log), so that a worker
        never rebuilds from an index that does not hold the change yet."""
        return int(self.store.query("SELECT MAX(id) AS v FROM index_syncs")[0]["v"] or 0)
