"""The store: conversations (so history survives a restart), what each answer was built from, ratings, quiz
progress and the records of evaluation runs, in one SQL database chosen by a URL (``Settings.store_url``): the
SQLite file in the data folder by default, PostgreSQL when several machines share it.

The parts: ``engine`` (one SQLAlchemy engine per URL, with each engine's settings), ``migrations`` (the one
schema, numbered steps run at start on both engines) and ``store`` (the ``Store`` every caller uses).
"""

from bot.store.migrations import MIGRATIONS
from bot.store.store import EvalRun, EvalState, Store, stamp

__all__ = ["MIGRATIONS", "EvalRun", "EvalState", "Store", "stamp"]
