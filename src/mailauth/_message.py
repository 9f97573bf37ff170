"""A raw message split into header fields and a body, on bytes (RFC 5322 §2.1).

No ``email.message`` round trips: every header field keeps its exact original bytes,
folding included, so that signatures computed over them stay verifiable. Line endings
are normalised to CRLF in the views protocol code hashes (``HeaderField.data``,
``Message.iter_body()``), and the message says whether that changed anything.

The body is never copied whole: from ``bytes`` it is a view of the input, from a
binary file it is read in chunks each time it is iterated (the file must be
seekable to be iterated more than once).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ._grammar import FIELD_NAME_BYTES_RE

__all__ = ["HeaderField", "Message", "MessageSource", "parse_message", "to_crlf"]

MessageSource = bytes | bytearray | memoryview | BinaryIO

DEFAULT_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field.

    ``raw`` is the field exactly as it was in the input (folding and line endings kept);
    ``data`` is the same with every line ending CRLF (what DKIM and ARC hash). ``name``
    is the field name as written, or ``""`` for a line that is not a field (no colon);
    ``lname`` is the name in lower case, for comparisons.
    """

    name: str
    raw: bytes
    data: bytes
    lname: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.lname and self.name:
            object.__setattr__(self, "lname", self.name.lower())

    @property
    def value(self) -> bytes:
        """The bytes after the colon, folding kept, final CRLF removed."""
        colon = self.data.find(b":")
        value = self.data[colon + 1:] if colon >= 0 else self.data
        return value[:-2] if value.endswith(b"\r\n") else value

    def unfolded(self) -> str:
        """The value unfolded (RFC 5322 §2.2.3) and stripped, decoded as UTF-8."""
        return self.value.replace(b"\r\n", b"").decode("utf-8", "replace").strip()

    def __str__(self) -> str:
        return self.data.decode("utf-8", "replace").rstrip("\r\n")




_SCAN_MIN = 4096
_SCAN_PIECE = 1 << 16


def has_bare_lf(data: bytes, start: int = 0) -> bool:
    """True when some LF in ``data[start:]`` is not preceded by a CR.

    Two ``bytes.count`` passes answer exactly but cost about 2.5 times a SHA-256 of
    the same bytes. For long data one C pass does it instead: the standard library's
    newline decoder, without translation, records which kinds of line end it saw
    (LF, CR, CRLF) and reports a lone LF as ``"\n"`` in ``newlines``.
    """
    if data.find(b"\n", start) < 0:
        return False
    if data.find(b"\r", start) < 0:
        return True
    if len(data) - start < _SCAN_MIN:
        return data.count(b"\n", start) != data.count(b"\r\n", start)
    # In pieces: small text buffers are reused, where one as large as the data would
    # cost fresh pages. The decoder carries a CR at a piece's end over to the next.
    scan = io.IncrementalNewlineDecoder(None, False)
    view = memoryview(data)
    for pos in range(start, len(data), _SCAN_PIECE):
        scan.decode(str(view[pos:pos + _SCAN_PIECE], "latin-1"))
        if _saw_lf(scan.newlines):
            return True
    scan.decode("", True)
    return _saw_lf(scan.newlines)


def _saw_lf(seen: str | tuple[str, ...] | None) -> bool:
    return seen == "\n" or (type(seen) is tuple and "\n" in seen)


def to_crlf(data: bytes, *, checked: bool = False) -> bytes:
    """Every bare LF (one not after a CR) made CRLF; other bytes unchanged.
    ``checked``: the caller knows there is a bare LF somewhere (no scan for it)."""
    if b"\n" not in data:
        return data
    if b"\r" not in data:
        return data.replace(b"\n", b"\r\n")
    if not checked and not has_bare_lf(data):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# Field names repeat from message to message: their decoded forms are remembered
# (bounded), keyed by the bytes before the colon.
_NAMES: dict[bytes, tuple[str, str]] = {}
_NAMES_MAX = 4096
_NAME_KEY_MAX = 80


def _field_name(raw: bytes) -> tuple[str, str]:
    colon = raw.find(b":", 0, _NAME_KEY_MAX)
    key = raw[:colon] if colon >= 0 else None
    if key is not None:
        hit = _NAMES.get(key)
        if hit is not None:
            return hit
    m = FIELD_NAME_BYTES_RE.match(raw)  # RFC 5322 §3.6.8 ftext; WSP may precede ':'
    name = m.group(1).decode("ascii") if m else ""
    names = (name, name.lower())
    if key is not None and len(_NAMES) < _NAMES_MAX:
        _NAMES[key] = names
    return names


def _make_field(raw: bytes, clean: bool) -> HeaderField:
    data = raw if clean else to_crlf(raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    name, lname = _field_name(raw)
    return HeaderField(name, raw, data, lname)


def _group(lines: Iterator[bytes]) -> tuple[list[list[bytes]], bytes]:
    """Header lines grouped into fields (continuation lines joined to their field),
    up to the first empty line; returns (groups, the empty line or b"")."""
    groups: list[list[bytes]] = []
    for line in lines:
        if line in (b"\r\n", b"\n"):
            return groups, line
        if groups and line[:1] in (b" ", b"\t"):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups, b""


def _first_line(raw: bytes) -> bytes:
    return raw.split(b"\n", 1)[0][:40]


def _defects(fields: list[HeaderField]) -> list[str]:
    return [f"line is not a header field: {_first_line(f.raw)!r}" for f in fields if not f.name]


class Message:
    """A message split into header fields and a body; see :func:`parse_message`."""

    __slots__ = ("_body_clean", "_body_offset", "_data", "_file", "_file_pos", "_iterated",
                 "_lazy_body_lf", "defects", "headers", "separator")

    headers: tuple[HeaderField, ...]
    separator: bytes
    defects: tuple[str, ...]

    def __init__(self, headers: tuple[HeaderField, ...], separator: bytes, defects: tuple[str, ...],
                 *, data: bytes | None = None, body_offset: int = 0,
                 file: BinaryIO | None = None, file_pos: int | None = None) -> None:
        self.headers = headers
        self.separator = separator
        self.defects = defects
        self._data = data
        self._body_offset = body_offset
        self._file = file
        self._file_pos = file_pos
        self._iterated = False
        self._lazy_body_lf: bool | None = None
        self._body_clean: bool | None = None

    # -- headers -----------------------------------------------------------------
    def get_all(self, name: str, *, bottom_up: bool = False) -> list[HeaderField]:
        """Every field with that name (case-insensitive), top-down or bottom-up."""
        lname = name.lower()
        found = [h for h in self.headers if h.lname == lname]
        if bottom_up:
            found.reverse()
        return found

    def get(self, name: str) -> HeaderField | None:
        """The first (topmost) field with that name, or None."""
        lname = name.lower()
        for h in self.headers:
            if h.lname == lname:
                return h
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    # -- line endings --------------------------------------------------------------
    @property
    def normalized(self) -> bool:
        """True when a line ending had to be changed to CRLF.

        For a message read from a file the body is only known once it has been
        iterated; before that this speaks for the header section alone.
        """
        if any(h.raw != h.data for h in self.headers) or self.separator == b"\n":
            return True
        if self._data is not None:
            return self._crlf_body() is None
        return bool(self._lazy_body_lf)

    def _crlf_body(self) -> tuple[bytes, int] | None:
        """``(data, start)`` when the body is ``data[start:]`` in memory and already has
        CRLF line endings (checked once), so it can be hashed without a copy; else None."""
        data = self._data
        if data is None:
            return None
        if self._body_clean is None:
            self._body_clean = not has_bare_lf(data, self._body_offset)
        return (data, self._body_offset) if self._body_clean else None

    # -- body ------------------------------------------------------------------------
    @property
    def seekable(self) -> bool:
        """True when the body can be read any number of times (bytes, or a seekable
        file); False for a stream such as a pipe, whose body can be read once."""
        return self._data is not None or self._file_pos is not None

    @property
    def rereadable(self) -> bool:
        """True when iterating the body (again) works: bytes, a seekable file, or a
        stream not read yet."""
        return self._data is not None or self._file_pos is not None or not self._iterated

    @property
    def has_body_separator(self) -> bool:
        """False when the message ended inside the header section (no blank line)."""
        return self.separator != b""

    def iter_body(self, chunk_size: int = DEFAULT_CHUNK, *, normalize: bool = True
                  ) -> Iterator[bytes]:
        """The body in chunks: with CRLF line endings (default) or exactly as stored."""
        if self._data is not None:
            yield from self._iter_bytes_body(chunk_size, normalize)
            return
        yield from self._iter_file_body(chunk_size, normalize)

    def _iter_bytes_body(self, chunk_size: int, normalize: bool) -> Iterator[bytes]:
        data, start = self._data, self._body_offset
        assert data is not None
        chunks = (data[pos:pos + chunk_size] for pos in range(start, len(data), chunk_size))
        if normalize and self._crlf_body() is None:
            yield from _normalizing(chunks, known_dirty=True)
        else:
            yield from chunks

    def _iter_file_body(self, chunk_size: int, normalize: bool) -> Iterator[bytes]:
        f = self._file
        if f is None:
            return
        if self._iterated:
            if self._file_pos is None:
                raise ValueError("the message body came from a stream that cannot seek; "
                                 "it can be read only once")
            f.seek(self._file_pos)
        elif self._file_pos is not None and f.tell() != self._file_pos:
            f.seek(self._file_pos)
        self._iterated = True
        chunks: Iterator[bytes] = iter(lambda: f.read(chunk_size), b"")
        if not normalize:
            yield from chunks
            return
        changed = [False]
        yield from _normalizing(chunks, changed)
        self._lazy_body_lf = changed[0]

    def body(self, *, normalize: bool = True) -> bytes:
        """The whole body as bytes (for small messages; prefer :meth:`iter_body`)."""
        return b"".join(self.iter_body(normalize=normalize))

    def header_bytes(self) -> bytes:
        """The header section with CRLF line endings, without the blank line."""
        return b"".join(h.data for h in self.headers)

    def __repr__(self) -> str:
        names = ", ".join(h.name or "?" for h in self.headers[:6])
        more = ", ..." if len(self.headers) > 6 else ""
        return f"<Message {len(self.headers)} fields: {names}{more}>"


def _normalizing(chunks: Iterator[bytes], changed: list[bool] | None = None, *,
                 known_dirty: bool = False) -> Iterator[bytes]:
    """CRLF-normalise a chunk stream; a CR at a chunk's end waits for the next chunk.
    ``known_dirty``: the stream is known to hold a bare LF; chunks are not scanned."""
    carry = b""
    for chunk in chunks:
        if carry:
            chunk = carry + chunk
            carry = b""
        if chunk.endswith(b"\r"):
            carry = b"\r"
            chunk = chunk[:-1]
        if chunk:
            out = to_crlf(chunk, checked=known_dirty)
            if changed is not None and out is not chunk:
                changed[0] = True
            yield out
    if carry:
        yield carry


def parse_message(source: MessageSource) -> Message:
    """Split a raw message into header fields and body.

    :param source: the message as bytes, or a binary file object positioned at its
        start (read in chunks; seekable files can have their body read many times).
    :raises TypeError: for a ``str`` or other non-binary source.
    """
    if isinstance(source, str):
        raise TypeError("parse_message() takes bytes or a binary file, not str; "
                        "encode the message first")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        raws, end, separator = _split_header(data)
        clean = not has_bare_lf(data[:end])
        fields = [_make_field(raw, clean) for raw in raws]
        defects = _defects(fields)
        return Message(tuple(fields), separator, tuple(defects), data=data,
                       body_offset=end + len(separator))
    if not hasattr(source, "readline"):
        kind = type(source).__name__
        raise TypeError(f"parse_message() takes bytes or a binary file, not {kind}")
    probe = source.read(0)
    if not isinstance(probe, bytes):
        raise TypeError("parse_message() needs a file opened in binary mode ('rb')")
    groups, separator = _group(iter(source.readline, b""))
    fields = [_make_field(b"".join(g), False) for g in groups]
    defects = _defects(fields)
    try:
        pos: int | None = source.tell() if source.seekable() else None
    except (OSError, io.UnsupportedOperation, AttributeError):
        pos = None
    return Message(tuple(fields), separator, tuple(defects), file=source, file_pos=pos)


# A line break not followed by WSP ends a header field (RFC 5322 §2.2.3).
_FIELD_END = re.compile(rb"\n(?![ \t])")


def _split_header(data: bytes) -> tuple[list[bytes], int, bytes]:
    """The header fields of ``data`` (continuation lines included, line endings kept),
    where the header section ends, and the empty line that ends it (b"" if none)."""
    if data[:1] == b"\n" or data[:2] == b"\r\n":
        return [], 0, data[:data.find(b"\n") + 1]
    # The empty line is "\r\n" or "\n" after a line break; look first for the kind the
    # first line uses, then for the other only before it (so, usually, neither reads
    # into the body).
    first = data.find(b"\n")
    if first > 0 and data[first - 1] == 13:
        crlf = data.find(b"\n\r\n")
        lf = data.find(b"\n\n", 0, len(data) if crlf < 0 else crlf + 1)
    else:
        lf = data.find(b"\n\n")
        crlf = data.find(b"\n\r\n", 0, len(data) if lf < 0 else lf + 2)
        if lf >= 0 and 0 <= crlf < lf:
            lf = -1
    if lf >= 0:
        end, separator = lf + 1, b"\n"
    elif crlf >= 0:
        end, separator = crlf + 1, b"\r\n"
    else:
        end, separator = len(data), b""
    if not end:
        return [], 0, separator
    pieces = _FIELD_END.split(data[:end])
    last = pieces.pop()  # after the final line break: b"", or a line without one
    raws = [piece + b"\n" for piece in pieces]
    if last:
        raws.append(last)
    return raws, end, separator
