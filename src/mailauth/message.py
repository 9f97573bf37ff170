"""Raw messages as the checks read them (RFC 5322 §2.1).

:func:`parse_message` splits bytes or a binary file into header fields that keep
their exact original bytes (folding included, so signatures over them verify) and a
body that is streamed, never copied whole. Parse once and hand the
:class:`Message` to several checks::

    from mailauth.message import parse_message

    with open("message.eml", "rb") as f:
        message = parse_message(f.read())
    message.get("from")            # the first From field, a HeaderField
    message.defects                # lines that are not header fields, if any

A message parsed from a file reads its body from that file on each pass: the file
must stay open, and be seekable to be read more than once.
"""

from __future__ import annotations

from ._message import HeaderField, Message, MessageSource, parse_message

__all__ = ["HeaderField", "Message", "MessageSource", "parse_message"]
