"""Status: the result words of RFC 8601 §2.7 (and RFC 7208 §2.6, RFC 7489 §11.2)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Status"]


class Status(StrEnum):
    """The result of a check, spelt as Authentication-Results writes it.

    ``str(status)`` is the RFC word (``"pass"``, ``"permerror"``, ...).
    """

    NONE = "none"
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    POLICY = "policy"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"

    @property
    def is_error(self) -> bool:
        """True for temperror and permerror."""
        return self in (Status.TEMPERROR, Status.PERMERROR)
