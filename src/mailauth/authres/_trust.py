"""Trust (RFC 8601 §5, §7.1): a field is only as trustworthy as the server that wrote
it. :func:`trusted` and :func:`from_message` keep the fields of known authserv-ids;
:func:`remove_forged` removes the fields that claim your own.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._message import Message, parse_message
from ..errors import ArgumentTypeError, ParseError, UsageError
from ._model import AuthenticationResults
from ._reader import _decode, _Reader, parse
from ._words import _FOLD, _LINE_BREAK, _RUN

__all__ = ["from_message", "remove_forged", "trusted"]


def _norm_id(authserv_id: str) -> str:
    """An authserv-id for comparison: case-insensitive, without a trailing dot."""
    return authserv_id.strip().rstrip(".").casefold()


def _id_set(authserv_ids: Iterable[str] | str) -> frozenset[str]:
    if isinstance(authserv_ids, str):
        authserv_ids = (authserv_ids,)
    ids = set()
    for one in authserv_ids:
        if not isinstance(one, str):
            raise ArgumentTypeError(f"an authserv-id is a str, not {type(one).__name__}")
        if _norm_id(one):
            ids.add(_norm_id(one))
    return frozenset(ids)


def trusted(fields: Iterable[AuthenticationResults], authserv_ids: Iterable[str] | str
            ) -> tuple[AuthenticationResults, ...]:
    """The fields written by an authserv-id you trust (RFC 8601 §5, §7.1).

    :param fields: parsed fields, e.g. from :func:`from_message`.
    :param authserv_ids: the ids of your own border MTAs (one str is one id). Compared
        case-insensitively, without a trailing dot. A field without an authserv-id
        (Microsoft's) is never trusted.
    """
    ids = _id_set(authserv_ids)
    return tuple(f for f in fields if f.authserv_id and _norm_id(f.authserv_id) in ids)


def _as_message(message: bytes | Message) -> Message:
    if isinstance(message, Message):
        return message
    if isinstance(message, bytes | bytearray | memoryview):
        return parse_message(message)
    raise ArgumentTypeError(f"expected the message as bytes or a Message, not "
                            f"{type(message).__name__}")


def from_message(message: bytes | Message, *, authserv_ids: Iterable[str] | None = None
                 ) -> tuple[AuthenticationResults, ...]:
    """Every Authentication-Results field of a message, top first, parsed (RFC 8601).

    Fields that cannot be read (:class:`ParseError`) are skipped.

    :param message: the raw message, or one read with
        :func:`mailauth.message.parse_message`.
    :param authserv_ids: when given, only the fields whose authserv-id is one of these
        (:func:`trusted`, RFC 8601 §5).
    """
    msg = _as_message(message)
    found = []
    for header in msg.get_all("Authentication-Results"):
        try:
            found.append(parse(header.value))
        except ParseError:
            continue
    if authserv_ids is None:
        return tuple(found)
    return trusted(found, authserv_ids)


def _claims(value: bytes, target: str) -> bool:
    """True when a field body claims the authserv-id ``target`` (normalized): parsed,
    or else by its first word."""
    try:
        return _norm_id(parse(value).authserv_id) == target
    except ParseError:
        pass
    text, warnings = _decode(value)
    reader = _Reader(_LINE_BREAK.sub(" ", _FOLD.sub("", text)), warnings)
    reader.cfws()
    if reader.peek() == '"':
        first = reader.quoted()
    else:
        first = reader.match(_RUN) or ""
    return _norm_id(first) == target


def remove_forged(message: bytes, authserv_id: str) -> bytes:
    """The message without the Authentication-Results fields that claim ``authserv_id``
    (RFC 8601 §5).

    A border MTA calls this on mail from outside before adding its own field, so that
    nothing downstream takes a forged field for its own. Fields that cannot be parsed
    but whose first word is that id go too. Everything else is kept byte for byte:
    the other fields, their order and folding, the line endings, the body.

    :param message: the raw message.
    :param authserv_id: your own authserv-id (compared case-insensitively).
    :raises ArgumentTypeError: for a message that is not bytes or an id that is not str.
    :raises UsageError: for an empty authserv-id.
    """
    if not isinstance(message, bytes | bytearray | memoryview):
        raise ArgumentTypeError(f"remove_forged() takes the message as bytes, not "
                                f"{type(message).__name__}")
    if not isinstance(authserv_id, str):
        raise ArgumentTypeError(f"the authserv-id is a str, not {type(authserv_id).__name__}")
    target = _norm_id(authserv_id)
    if not target:
        raise UsageError("remove_forged() needs your authserv-id; it is empty")
    data = bytes(message)
    headers = parse_message(data).headers
    end = sum(len(h.raw) for h in headers)
    kept = [h.raw for h in headers
            if not (h.lname == "authentication-results" and _claims(h.value, target))]
    if len(kept) == len(headers):
        return data
    return b"".join(kept) + data[end:]
