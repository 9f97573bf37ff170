"""A durable policy cache on sqlite3, shared by the processes of an MTA (RFC 8461 §5.1).

This is an edge module, like ``fetchers.py``: it does file I/O through sqlite3, and
the flows never import it; they reach any store through ``Work`` effects.

Several processes may share one file: each call opens its own connection (so a store
survives ``fork``), the database is in WAL mode (readers do not wait for a writer),
writers wait up to ``timeout`` seconds for the lock, and an entry is never replaced by
one fetched earlier, so two processes refreshing the same domain at once cannot roll
it back.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from ..errors import ArgumentTypeError, ParseError
from ._cache import CachedPolicy
from ._policy import Policy, parse_policy

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mta_sts_policy (
    domain         TEXT PRIMARY KEY,
    id             TEXT NOT NULL,
    fetched        REAL NOT NULL,
    policy         TEXT NOT NULL,
    refresh_failed REAL,
    refresh_error  TEXT
)
"""

_UPSERT = """
INSERT INTO mta_sts_policy (domain, id, fetched, policy, refresh_failed, refresh_error)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (domain) DO UPDATE SET
    id = excluded.id, fetched = excluded.fetched, policy = excluded.policy,
    refresh_failed = excluded.refresh_failed, refresh_error = excluded.refresh_error
WHERE excluded.fetched >= mta_sts_policy.fetched
"""


def policy_text(policy: Policy) -> str:
    """The policy as text: as fetched, or written from its fields."""
    if policy.text:
        return policy.text
    lines = [f"version: {policy.version}", f"mode: {policy.mode}"]
    lines += [f"mx: {mx}" for mx in policy.mx]
    lines.append(f"max_age: {policy.max_age}")
    return "\r\n".join(lines) + "\r\n"


class SQLiteStore:
    """Cached policies in an sqlite3 file that several processes may share.

    :param path: the database file (created with its table if missing).
    :param timeout: seconds a call waits for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if not isinstance(path, str | os.PathLike):
            raise ArgumentTypeError(f"path= is a file name, not {type(path).__name__}")
        self.path = os.fspath(path)
        self.timeout = timeout
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # autocommit: each statement is its own transaction
        return sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)

    def get(self, domain: str) -> CachedPolicy | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT id, fetched, policy, refresh_failed, refresh_error "
                             "FROM mta_sts_policy WHERE domain = ?", (domain,)).fetchone()
        if row is None:
            return None
        try:
            policy = parse_policy(row[2])
        except ParseError:
            return None  # a damaged row is no policy; the next fetch replaces it
        return CachedPolicy(domain, policy, row[0], float(row[1]), row[3], row[4])

    def put(self, entry: CachedPolicy) -> None:
        with closing(self._connect()) as db:
            db.execute(_UPSERT, (entry.domain, entry.id, entry.fetched,
                                 policy_text(entry.policy), entry.refresh_failed,
                                 entry.refresh_error))

    def delete(self, domain: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM mta_sts_policy WHERE domain = ?", (domain,))

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path}>"
