"""Safe XML for reports: the stdlib expat parser driven directly, with no DTD.

Reports never carry a document type declaration, so any ``<!DOCTYPE`` is refused
where it starts, before expat reads its internal subset: no entity is ever declared,
so none can expand (billion laughs), and no external entity or DTD is ever fetched
or read (the parser has no handler that could open one). Undeclared entity
references are well-formedness errors.

The document is fed in pieces as it inflates. The parser keeps a small tree of the
element being read (``[name, attributes, children, text]`` lists); the caller takes
each finished ``<record>`` away as it ends, so memory holds one record's elements at a
time beyond the model already built. Limits: 1 MiB of text in one element, one
pending token (a comment, a tag) of 1 MiB, 64 levels of nesting, 100,000 elements
held at once.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ParseError

__all__ = ["Node", "TreeParser", "escape_attr", "escape_text", "node_to_xml", "repair"]

#: ``[name, attributes, children, text]``: name without a namespace prefix.
Node = list[Any]

_RFC = "RFC 9990 §3"
_MAX_TEXT = 1024 * 1024
_MAX_TOKEN = 1024 * 1024
_MAX_DEPTH = 64
_MAX_LIVE = 100_000


class _Refused(Exception):
    """Raised inside expat's handlers to stop the parse; turned into a ParseError."""


class TreeParser:
    """Parse one XML document fed in pieces into :data:`Node` lists.

    :param on_end: called with each element that ends at depth ``watch_depth`` (the
        root is depth 1) and its parent; it may remove the element from the parent.
    """

    def __init__(self, on_end: Callable[[Node, Node], None], watch: str,
                 *, encoding: str | None = None) -> None:
        self.root: Node = ["", {}, [], ""]
        self._stack: list[Node] = [self.root]
        self._parts: list[str] = []
        self._saved: list[list[str]] = []
        self._on_end = on_end
        self._watch = watch
        self._live = 0
        self._fed = 0
        self.malformed = False
        p = xml.parsers.expat.ParserCreate(encoding)
        p.buffer_text = True
        p.buffer_size = 65536
        p.ordered_attributes = False
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._data
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

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        stack = self._stack
        if ":" in name:
            name = name.rpartition(":")[2]
        node = [name, attrs, [], ""]
        stack[-1][2].append(node)
        stack.append(node)
        self._saved.append(self._parts)
        self._parts = []
        self._live += 1
        if len(stack) > _MAX_DEPTH or self._live > _MAX_LIVE:
            if len(stack) > _MAX_DEPTH:
                raise _Refused(f"elements nested more than {_MAX_DEPTH} deep")
            raise _Refused(f"more than {_MAX_LIVE} elements outside records")

    def _end(self, name: str) -> None:
        node = self._stack.pop()
        parts = self._parts
        if parts:
            node[3] = parts[0] if len(parts) == 1 else "".join(parts)
        self._parts = self._saved.pop()
        if node[0] == self._watch and len(self._stack) == 2:
            before = self._live
            self._on_end(node, self._stack[-1])
            self._live = before - _count(node)

    def _data(self, text: str) -> None:
        parts = self._parts
        if parts:
            parts.append(text)
            if len(parts) > 16 and sum(map(len, parts)) > _MAX_TEXT:
                raise _Refused(f"an element with more than {_MAX_TEXT} characters of "
                               f"text")
        elif not text.isspace():
            parts.append(text)

    # --- feeding --------------------------------------------------------------------

    def feed(self, pieces: Iterable[bytes]) -> None:
        """Parse the document's bytes, then end it.

        :raises ParseError: for XML that is not well-formed or that is refused.
        """
        p = self._parser
        try:
            for piece in pieces:
                self._fed += len(piece)
                p.Parse(piece, False)
                if self._fed - p.CurrentByteIndex > _MAX_TOKEN:
                    raise _Refused(f"one XML token (a comment, tag or declaration) of "
                                   f"more than {_MAX_TOKEN} bytes")
            p.Parse(b"", True)
        except _Refused as exc:
            raise ParseError(f"refused: {exc}", rfc=_RFC) from None
        except xml.parsers.expat.ExpatError as exc:
            self.malformed = True
            raise ParseError(f"not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)}"
                             f" at line {exc.lineno}, column {exc.offset}",
                             rfc=_RFC) from None
        except RecursionError:
            raise ParseError("refused: elements nested too deep", rfc=_RFC) from None


def _count(node: Node) -> int:
    n = 1
    for child in node[2]:
        n += _count(child) if child[2] else 1
    return n


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


def node_to_xml(node: Node) -> str:
    """An element and its content as XML text (attributes sorted, text stripped)."""
    name, attrs, children, text = node
    head = name + "".join(f' {k}="{escape_attr(v)}"' for k, v in sorted(attrs.items()))
    inner = "".join(node_to_xml(c) for c in children) if children else ""
    body = escape_text(text.strip()) if not children else inner
    if not body:
        return f"<{head}/>"
    return f"<{head}>{body}</{name}>"
