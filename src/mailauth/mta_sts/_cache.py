"""The policy cache (RFC 8461 §5.1, §3.3): entries, the store protocol, the in-memory store.

A cached policy is keyed by its Policy Domain and remembers the TXT ``id`` it was
fetched under and when. It is valid until ``fetched + policy.max_age``; a new ``id``
in DNS makes the sender fetch again, and a policy that cannot be refreshed is kept
until it expires (§3.3: "if no 'live' policy can be discovered via DNS or fetched via
HTTPS, but a valid (non-expired) policy exists in the sender's cache, the sender MUST
apply that cached policy").

Stores are pluggable (:class:`PolicyStore`): :class:`MemoryStore` here, and
``SQLiteStore`` (the edge module ``_sqlite_store``) for MTAs whose processes share one
file. Flows reach a store only through :class:`~mailauth.flows.Work` effects, so the
async driver runs a store's blocking calls in a worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._policy import Policy

__all__ = ["CachedPolicy", "MemoryStore", "PolicyStore"]


@dataclass(frozen=True, slots=True)
class CachedPolicy:
    """A policy as a sender caches it (RFC 8461 §5.1).

    :param domain: the Policy Domain (A-labels, lower case).
    :param policy: the policy.
    :param id: the ``id`` of the ``_mta-sts`` TXT record it was fetched under.
    :param fetched: when it was fetched (seconds since the epoch).
    :param refresh_failed: when a refresh last failed after ``fetched`` (seconds since
        the epoch), else None; an MTA alerts its administrator on it (§3.3).
    :param refresh_error: why that refresh failed.
    """

    domain: str
    policy: Policy
    id: str
    fetched: float
    refresh_failed: float | None = None
    refresh_error: str | None = None

    @property
    def expires(self) -> float:
        """When it stops being valid: ``fetched + max_age``."""
        return self.fetched + self.policy.max_age

    def valid(self, now: float) -> bool:
        """Not expired at ``now``."""
        return now < self.expires


@runtime_checkable
class PolicyStore(Protocol):
    """Where cached policies live. ``get`` answers None for a domain it does not hold;
    ``put`` replaces the domain's entry; ``delete`` removes it. Calls may block (they
    run in a worker thread under the async driver) and must be safe from several
    threads."""

    def get(self, domain: str) -> CachedPolicy | None: ...

    def put(self, entry: CachedPolicy) -> None: ...

    def delete(self, domain: str) -> None: ...


class MemoryStore:
    """Cached policies in a dict, for one process (the default store)."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedPolicy] = {}
        self._lock = threading.Lock()

    def get(self, domain: str) -> CachedPolicy | None:
        with self._lock:
            return self._entries.get(domain)

    def put(self, entry: CachedPolicy) -> None:
        with self._lock:
            self._entries[entry.domain] = entry

    def delete(self, domain: str) -> None:
        with self._lock:
            self._entries.pop(domain, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._entries)} policies>"
