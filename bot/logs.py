"""The app's log lines: readable text by default, one JSON object per line for a log collector
(``log_format``), each record carrying the id of the request it was emitted for.

The request id lives in a context variable, set by the web face for the time of a request
(``bot.web.middleware.requestid``). Context variables follow the work of a request wherever it runs: Starlette
copies the context into the threads that run sync routes and iterate streamed answers, so a line logged deep in
the answering code knows its request without being passed an argument. The id is added by a filter on the
handler, so records of any logger (ours, uvicorn's, a library's) get it. Records are redacted as they are
created (``bot.safety.privacy.install_log_redaction``); nothing here logs what a user typed.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (None outside a request; ``-`` in text lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` and,
    for a record with an exception, ``exception`` (its traceback text)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


def log_handler(log_format: Literal["text", "json"], stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (default stderr), request ids included."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(log_format: Literal["text", "json"], level: int = logging.INFO) -> None:
    """The process's logging for ``python app.py``: one handler on the root logger, which every logger
    (uvicorn's too, when it is not given its own configuration) reaches."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(log_handler(log_format))
    root.setLevel(level)
