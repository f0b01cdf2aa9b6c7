"""The staff's CSV exports (feedback, the audit log), written once for the API and the staff page.

They hold what users typed (questions, comments) and what staff accepted from it (alternates). A cell that a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first) is
prefixed with an apostrophe, as OWASP advises against CSV injection: opening an export must not run
anything a user wrote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bot.store.curation import AuditRecord

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FEEDBACK_COLUMNS = ["created_at", "rating", "comment", "question", "answer", "sources"]
AUDIT_COLUMNS = ["at", "actor", "action", "entry_id", "before", "after"]


def _cell(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: _cell(row.get(key)) for key in columns} for row in rows)
    return buffer.getvalue()


def feedback_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Ratings, newest first, with the question, the answer and the sources it cited."""
    return csv_text(FEEDBACK_COLUMNS, ({**row, "sources": " ".join(row["sources"])} for row in rows))


def audit_csv(records: Iterable[AuditRecord]) -> str:
    """The audit log, newest first; each entry before and after as JSON."""

    def row(record: AuditRecord) -> dict[str, object]:
        snapshots = {"before": record.before, "after": record.after}
        return asdict(record) | {k: json.dumps(v, ensure_ascii=False) if v else "" for k, v in snapshots.items()}

    return csv_text(AUDIT_COLUMNS, (row(r) for r in records))
