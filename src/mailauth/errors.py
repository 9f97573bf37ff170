"""Exceptions for the caller's mistakes (docs/architecture.md).

Results from the network (fail, permerror, temperror) are values, never exceptions;
these are raised only for bad arguments, unusable keys and the public ``parse_*``
functions.
"""

from __future__ import annotations

__all__ = ["ArgumentTypeError", "MailAuthError", "ParseError", "SigningError", "UsageError"]


class MailAuthError(Exception):
    """Base class of every exception mailauth raises on purpose."""


class ParseError(MailAuthError, ValueError):
    """Text that does not follow the grammar it was parsed as.

    ``position`` is the 0-based character offset where parsing stopped (or None),
    ``rfc`` the section whose grammar was broken, e.g. ``"RFC 6376 §3.2"``.
    """

    def __init__(self, message: str, *, position: int | None = None, rfc: str | None = None,
                 text: str | None = None) -> None:
        self.message = message
        self.position = position
        self.rfc = rfc
        self.text = text
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.position is not None:
            parts.append(f"at position {self.position}")
        if self.rfc:
            parts.append(f"({self.rfc})")
        return " ".join(parts)


class SigningError(MailAuthError):
    """A key or a signing request that cannot produce a valid signature."""


class UsageError(MailAuthError, ValueError):
    """A call the library cannot carry out as made, such as running a second time a
    check whose message could be read only once."""


class ArgumentTypeError(MailAuthError, TypeError):
    """An argument of the wrong type: a ``str`` message where bytes or a binary file
    is expected, ``bytes`` where a domain or address is expected, ``None`` for a
    required value."""
