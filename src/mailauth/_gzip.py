"""gzip data (RFC 1952) inflated as a stream, for the report readers.

Reports arrive gzip-compressed (TLS-RPT, RFC 8460 §5.2; DMARC aggregate reports, RFC
9990 §3.1.1), sometimes as several members one after another, sometimes with bytes
after the last member. :class:`Inflater` gives the output piece by piece, each at most
``chunk`` bytes, so that a reader can stop at its own size limit long before a bomb
is inflated; what lies after the last member is left in :attr:`Inflater.trailing`
for the reader to judge. Errors are :class:`GzipError`, which each reader turns into
its own ``ParseError``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

__all__ = ["MAGIC", "GzipError", "Inflater"]

MAGIC = b"\x1f\x8b"   # the first two bytes of a gzip member (RFC 1952 §2.3.1)


class GzipError(ValueError):
    """Corrupt gzip data (``truncated`` False: zlib's message) or data that ends
    before its member does (``truncated`` True)."""

    def __init__(self, message: str, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


class Inflater:
    """The output of every gzip member of ``data`` in turn, as an iterable of pieces."""

    def __init__(self, data: bytes, *, chunk: int = 64 * 1024) -> None:
        self._data = data
        self._chunk = chunk
        self.trailing = b""
        """What follows the last member (set when the iteration ends)."""

    def __iter__(self) -> Iterator[bytes]:
        view = memoryview(self._data)
        pos = 0
        d = zlib.decompressobj(31)
        while True:
            if d.unconsumed_tail:
                piece: bytes | memoryview = d.unconsumed_tail
            elif pos < len(view):
                piece = view[pos:pos + self._chunk]
                pos += len(piece)
            else:
                piece = b""
            try:
                out = d.decompress(piece, self._chunk)
            except zlib.error as exc:
                raise GzipError(str(exc)) from None
            if out:
                yield out
            if d.eof:
                # What the member left of the piece fed is the start of what follows.
                pos -= len(d.unused_data) + len(d.unconsumed_tail)
                if bytes(view[pos:pos + 2]) == MAGIC:  # another member (RFC 1952 §2.2)
                    d = zlib.decompressobj(31)
                    continue
                self.trailing = bytes(view[pos:])
                return
            if not out and not piece:
                raise GzipError("the data ends inside a member", truncated=True)
