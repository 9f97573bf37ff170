"""Safe XML for reports: the stdlib expat parser driven directly, with no DTD.

Reports never carry a document type declaration, so any ``<!DOCTYPE`` is refused
where it starts, before expat reads its internal subset: no entity is ever declared,
so none can expand (billion laughs), and no external entity or DTD is ever fetched
or read (the parser has no handler that could open one). Undeclared entity
references are well-formedness errors. ElementTree's own parser is not used: only
its C ``TreeBuilder``, as the target of our expat parser's events, to build elements
without a Python call per event.

The document is fed in pieces of at most 64 KiB as it inflates. After each piece the
caller takes away the finished ``<record>`` elements, so memory holds a piece's worth
of elements beyond the model already built. Limits, checked after each piece: one
pending token (a comment, a tag) of 1 MiB, a run of text of 1 MiB, and 50,000
elements held at once.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Callable, Iterable
from xml.etree.ElementTree import Element, TreeBuilder

from ..errors import ParseError

__all__ = ["Element", "TreeParser", "escape_attr", "escape_text", "node_to_xml", "repair"]

_RFC = "RFC 9990 §3"
_PIECE = 64 * 1024
_MAX_TEXT = 1024 * 1024
_MAX_TOKEN = 1024 * 1024
_MAX_LIVE = 50_000


class _Refused(Exception):
    """Raised inside expat's handlers to stop the parse; turned into a ParseError."""


class TreeParser:
    """Parse one XML document fed in pieces into elements.

    :param take: called after each piece with the root element and whether the
        document has ended; it removes the children it is done with. None: no
        elements are built, the document is only checked (well-formed, no DTD).
    """

    def __init__(self, take: Callable[[Element, bool], None] | None, *,
                 encoding: str | None = None) -> None:
        self.root: Element | None = None
        self.malformed = False
        self._take = take
        self._builder = TreeBuilder()
        p = xml.parsers.expat.ParserCreate(encoding)
        if take is not None:
            p.buffer_text = True
            p.StartElementHandler = self._first
            p.EndElementHandler = self._builder.end
            p.CharacterDataHandler = self._builder.data
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        p.ExternalEntityRefHandler = self._external
        p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._parser = p

    # --- expat handlers -------------------------------------------------------------

    def _doctype(self, *args: object) -> None:
        raise _Refused("a document type declaration (<!DOCTYPE>): reports carry none, "
                       "and entity declarations are refused")

    def _entity(self, *args: object) -> None:
        raise _Refused("an entity declaration")

    def _external(self, *args: object) -> int:
        raise _Refused("an external entity reference")

    def _first(self, name: str, attrs: dict[str, str]) -> None:
        """The root element: kept, then every other start goes straight to C."""
        self.root = self._builder.start(name, attrs)
        self._parser.StartElementHandler = self._builder.start

    # --- feeding --------------------------------------------------------------------

    def feed(self, pieces: Iterable[bytes],
             then: Callable[[bytes], None] | None = None) -> Element | None:
        """Parse the document's bytes, end it, and return its root element (None when
        no elements are built).

        :param then: called with each piece once it has been parsed.
        :raises ParseError: for XML that is not well-formed or that is refused.
        """
        p = self._parser
        fed = 0
        text_run = 0
        try:
            for data in pieces:
                for at in range(0, len(data), _PIECE):
                    piece = data[at:at + _PIECE] if len(data) > _PIECE else data
                    fed += len(piece)
                    p.Parse(piece, False)
                    if fed - p.CurrentByteIndex > _MAX_TOKEN:
                        raise _Refused(f"one XML token (a comment, tag or declaration) "
                                       f"of more than {_MAX_TOKEN} bytes")
                    last = piece.rfind(b"<")
                    text_run = text_run + len(piece) if last < 0 else len(piece) - last
                    if text_run > _MAX_TEXT:
                        raise _Refused(f"more than {_MAX_TEXT} bytes of text without "
                                       f"markup")
                    if then is not None:
                        then(piece)
                    if self.root is not None and self._take is not None:
                        self._take(self.root, False)
                        if len(list(self.root.iter())) > _MAX_LIVE:
                            raise _Refused(f"more than {_MAX_LIVE} elements outside the "
                                           f"records read so far")
            p.Parse(b"", True)
        except _Refused as exc:
            raise ParseError(f"refused: {exc}", rfc=_RFC) from None
        except LookupError as exc:  # an encoding Python does not know
            self.malformed = True
            raise ParseError(f"not readable XML: {exc}", rfc=_RFC) from None
        except xml.parsers.expat.ExpatError as exc:
            self.malformed = True
            raise ParseError(f"not well-formed XML: "
                             f"{xml.parsers.expat.ErrorString(exc.code)} at line "
                             f"{exc.lineno}, column {exc.offset}", rfc=_RFC) from None
        if self._take is None:
            return None
        root = self._builder.close()
        self._take(root, True)
        return root


# --- recovery ---------------------------------------------------------------------------

_STRAY_LT = re.compile(
    rb"<(?!/?[A-Za-z_][\w.:-]*(?:\s+[\w.:-]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*\s*/?>"
    rb"|!--|!\[CDATA\[|\?)")
_STRAY_AMP = re.compile(rb"&(?!(?:#\d+|#x[0-9A-Fa-f]+|lt|gt|amp|quot|apos);)")
_SCHEMA_TAG = re.compile(rb"<xs:schema\b[^<>]*>(?=\s*<feedback[\s>])")
_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")


def repair(data: bytes) -> tuple[bytes, list[str]]:
    """Make a report that expat refused readable, as real reporters' mistakes need:
    bytes that are not UTF-8 (decoded with replacement characters), a ``<`` or ``&``
    that starts no markup (escaped), an unclosed ``<xs:schema>`` around the report
    (removed). Returns the UTF-8 bytes to parse again and what
    was changed, in words (empty when nothing could be changed)."""
    changes: list[str] = []
    decl = _DECL.match(data)
    body = data[decl.end():] if decl else data
    declared = b""
    if decl:
        m = re.search(rb"encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", decl.group())
        declared = m.group(1) if m else b""
    encoding = declared.decode("ascii").lower() if declared else "utf-8"
    try:
        text = body.decode(encoding)
    except LookupError:
        text = body.decode("utf-8", "replace")
        changes.append(f"an unknown encoding {encoding!r} was read as UTF-8")
    except UnicodeDecodeError as exc:
        text = body.decode(encoding, "replace")
        changes.append(f"bytes that are not {encoding.upper()} (at byte {exc.start}) "
                       f"were replaced with U+FFFD")
    raw = text.encode("utf-8")
    if b"</xs:schema>" not in raw:
        unwrapped = _SCHEMA_TAG.sub(b"", raw, count=1)
        if unwrapped != raw:
            changes.append("an unclosed <xs:schema> start tag before <feedback> was "
                           "removed")
            raw = unwrapped
    fixed = _STRAY_LT.sub(b"&lt;", raw)
    if fixed != raw:
        changes.append("a '<' that starts no element was read as text")
    fixed2 = _STRAY_AMP.sub(b"&amp;", fixed)
    if fixed2 != fixed:
        changes.append("a '&' that starts no character reference was read as text")
    return fixed2, changes


# --- writing ----------------------------------------------------------------------------

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                               "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_text(text: str) -> str:
    """Text content escaped for XML 1.0; characters XML cannot carry become U+FFFD."""
    if _CONTROL.search(text):
        text = _CONTROL.sub("\ufffd", text)
    return text.translate(_TEXT_ESCAPES)


def escape_attr(text: str) -> str:
    """An attribute value escaped for XML 1.0 (double quotes)."""
    if _CONTROL.search(text):
        text = _CONTROL.sub("\ufffd", text)
    return text.translate(_ATTR_ESCAPES)


def node_to_xml(node: Element) -> str:
    """An element and its content as XML text (attributes sorted, text stripped)."""
    name = node.tag
    head = name + "".join(f' {k}="{escape_attr(v)}"' for k, v in sorted(node.attrib.items()))
    children = list(node)
    if children:
        body = "".join(node_to_xml(c) for c in children)
    else:
        body = escape_text((node.text or "").strip())
    if not body:
        return f"<{head}/>"
    return f"<{head}>{body}</{name}>"
