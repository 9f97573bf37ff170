"""Authentication-Results header fields (RFC 8601): read them, write them, trust them.

:func:`parse` reads one field (RFC 8601 §2.2, and ARC-Authentication-Results of
RFC 8617 §4.1.1) into an :class:`AuthenticationResults`: the authserv-id, the version,
and one :class:`ResInfo` per ``method=result`` with its ``reason=``, its
``ptype.property=value`` :class:`Property` list and its comments. Method, result, ptype
and property names are case-insensitive (RFC 8601 §2.2) and come back in lower case;
values keep the case they were written in.

Real servers do not all follow the grammar. What they write is read anyway, and each
departure becomes a sentence in ``.warnings``: Microsoft's fields without an authserv-id
(they start with ``spf=``) and with the recipient's domain between results, empty
resinfos (``;;``, a trailing ``;``), results outside a method's registered words
(``dkim=unknown``, ``dkim-atps=neutral``, ``dmarc=bestguesspass``), properties without
a ptype (``action=none``, ``x-bits=2048``), values that need quotes (``header.b=ab/c+d``,
an IPv6 ``smtp.remote-ip``), ``<...>`` around an address, and words run together where
a mail API removed the folding without its white space (``action=noneheader.from=``).
:class:`~mailauth.errors.ParseError` is raised only for a field that cannot be read at all
(empty, another field's name, no ``method=result`` and no ``none``); nothing else escapes,
and the work is linear in the field's length.

A field is only as trustworthy as the server that wrote it: RFC 8601 §5 and §7.1 ask a
receiving MTA to remove fields that claim its own authserv-id before it adds its own
(:func:`remove_forged`), and readers to believe only the ids they know
(:func:`trusted`, :func:`from_message` with ``authserv_ids``).

:meth:`AuthenticationResults.field` writes a field back through
:mod:`mailauth._headerfmt` (quoted where needed, folded at 78 octets, ASCII only), so
``parse(x.field()) == x`` for every value without warnings.
"""

from __future__ import annotations

from ._model import AuthenticationResults, Property, ResInfo
from ._reader import parse
from ._trust import from_message, remove_forged, trusted
from ._words import _REGISTERED as _REGISTERED

__all__ = [
    "AuthenticationResults",
    "Property",
    "ResInfo",
    "from_message",
    "parse",
    "remove_forged",
    "trusted",
]
