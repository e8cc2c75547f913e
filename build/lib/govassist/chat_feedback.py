"""Answers and thumbs recorded in SQLite (data_dir/feedback.sqlite3) so evaluators can review bad answers.

Each answer the chat sends is stored with its question, the query searched, filters, citations and timing;
Chainlit's feedback (thumbs up/down and comment) is stored against the answer's message id. Chainlit needs a
"data layer" to show the thumbs: `data_layer` gives it one that keeps only this, not threads or steps.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .answer import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  message_id TEXT PRIMARY KEY, run_id TEXT, thread_id TEXT, user TEXT, created_at TEXT NOT NULL,
  question TEXT NOT NULL, query TEXT NOT NULL, filters TEXT NOT NULL, mode TEXT NOT NULL,
  found INTEGER NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL, retrieval_ms REAL
);
CREATE TABLE IF NOT EXISTS feedback (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, thread_id TEXT, value INTEGER NOT NULL,
  comment TEXT, user TEXT, created_at TEXT NOT NULL
);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS feedback_message ON feedback(message_id);
CREATE INDEX IF NOT EXISTS answers_run ON answers(run_id);
"""


def db_path(data_dir: Path) -> Path:
    return data_dir / "feedback.sqlite3"


@contextmanager
def _db(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(SCHEMA)
        _migrate(con)
        con.executescript(INDEXES)
        with con:
            yield con
    finally:
        con.close()


COLUMNS = {"feedback": {"user": "TEXT", "thread_id": "TEXT"}, "answers": {"user": "TEXT", "run_id": "TEXT"}}
MAX_COMMENT_CHARS = 4000  # the chat refuses longer ones before they arrive (chat_web.FEEDBACK_MAX_CHARS)


def _migrate(con: sqlite3.Connection) -> None:
    """Add the columns a feedback.sqlite3 made by an earlier version lacks (older rows get NULL)."""
    for table, columns in COLUMNS.items():
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_answer(
    path: Path,
    message_id: str,
    a: Answer,
    query: str,
    filters: dict[str, Any],
    retrieval_ms: float | None,
    user: str | None = None,
    thread_id: str | None = None,
    run_id: str | None = None,
) -> None:
    """Keep what an answer said and cited, under the id of the message that showed it (and of the run that
    made it: Chainlit attaches the thumbs to either)."""
    cites = [{k: c.to_dict()[k] for k in ("citation", "doc_id", "chunk_id", "para", "page")} for c in a.citations]
    with _db(path) as con:
        con.execute(
            "INSERT OR REPLACE INTO answers (message_id, run_id, thread_id, user, created_at, question, query, "
            "filters, mode, found, answer, citations, retrieval_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                message_id,
                run_id,
                thread_id,
                user,
                _now(),
                a.question,
                query,
                json.dumps(filters, ensure_ascii=False, default=list),
                a.mode,
                int(a.found),
                a.text,
                json.dumps(cites, ensure_ascii=False),
                retrieval_ms,
            ),
        )


def record_feedback(
    path: Path,
    message_id: str,
    value: int,
    comment: str | None = None,
    user: str | None = None,
    thread_id: str | None = None,
    feedback_id: str | None = None,
) -> str:
    """Store (or update) a thumbs up (1) or down (0) with its comment; returns the feedback id."""
    if value not in (0, 1):
        raise ValueError(f"feedback value must be 0 or 1, got {value!r}")
    if comment and len(comment) > MAX_COMMENT_CHARS:
        raise ValueError(f"the comment is {len(comment)} characters, over the limit of {MAX_COMMENT_CHARS}")
    fid = feedback_id or str(uuid.uuid4())
    with _db(path) as con:
        con.execute(
            "INSERT OR REPLACE INTO feedback (id, message_id, thread_id, value, comment, user, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (fid, message_id, thread_id, value, comment, user, _now()),
        )
    return fid


def delete_feedback(path: Path, feedback_id: str) -> bool:
    with _db(path) as con:
        return con.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,)).rowcount > 0


def feedback_rows(path: Path, bad_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Feedback newest first, each with the answer it judges (question, query, filters, answer, citations)."""
    if not path.is_file():
        return []
    where = "WHERE f.value = 0" if bad_only else ""
    with _db(path) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT f.id, f.value, f.comment, COALESCE(f.user, a.user) AS user, f.created_at, a.question, a.query, "
            "a.filters, a.mode, a.found, a.answer, a.citations, a.retrieval_ms, f.message_id FROM feedback f "
            "LEFT JOIN answers a ON f.message_id IN (a.message_id, a.run_id) "
            f"{where} ORDER BY f.created_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
    out = []
    for row in rows:
        d = dict(row)
        for key in ("filters", "citations"):
            d[key] = json.loads(d[key]) if d[key] else None
        out.append(d)
    return out


def data_layer(path: Path) -> Any:
    """A Chainlit data layer that records feedback in `path` and keeps nothing else (no thread history)."""
    import asyncio

    from chainlit.data.base import BaseDataLayer
    from chainlit.types import PageInfo, PaginatedResponse
    from chainlit.user import PersistedUser

    class FeedbackLayer(BaseDataLayer):
        async def get_user(self, identifier):
            return None  # the signed token is the user; roles are read from the settings at each chat start

        async def create_user(self, user):
            return PersistedUser(
                id=user.identifier,
                identifier=user.identifier,
                display_name=user.display_name,
                metadata=user.metadata,
                createdAt=_now(),
            )

        async def upsert_feedback(self, feedback):
            from .chat_auth import REQUEST_USER  # the signed-in user of this request (None: login is off)

            value, comment = int(feedback.value), feedback.comment
            args = (path, feedback.forId, value, comment, REQUEST_USER.get(), feedback.threadId, feedback.id)
            return await asyncio.to_thread(record_feedback, *args)

        async def delete_feedback(self, feedback_id):
            return await asyncio.to_thread(delete_feedback, path, feedback_id)

        async def list_threads(self, pagination, filters):
            return PaginatedResponse(data=[], pageInfo=PageInfo(hasNextPage=False, startCursor=None, endCursor=None))

        async def get_thread(self, thread_id):
            return None

        async def get_thread_author(self, thread_id):
            return ""

        async def get_element(self, thread_id, element_id):
            return None

        async def get_favorite_steps(self, user_id):
            return []

        async def build_debug_url(self):
            return ""

        async def create_element(self, element): ...
        async def delete_element(self, element_id, thread_id=None): ...
        async def create_step(self, step_dict): ...
        async def update_step(self, step_dict): ...
        async def delete_step(self, step_id): ...
        async def delete_thread(self, thread_id): ...
        async def update_thread(self, thread_id, name=None, user_id=None, metadata=None, tags=None): ...
        async def close(self): ...

    return FeedbackLayer()
