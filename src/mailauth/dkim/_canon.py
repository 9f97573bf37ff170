"""Canonicalization (RFC 6376 §3.4): simple and relaxed, for header fields and body.

The body canonicalizers are streaming: :meth:`BodyCanonicalizer.feed` takes the body
in chunks of any size and returns canonical bytes as soon as they are final, so that
any chunking gives the same output as one shot. Whole chunks are transformed with
``bytes`` methods, UTF-16 probes that find byte pairs (see the relaxed body section
below) and regexes, never line by line in Python.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from itertools import islice
from typing import Literal

__all__ = [
    "BodyCanonicalizer",
    "Canonicalization",
    "canonicalize_body",
    "canonicalize_header",
    "relaxed_header",
    "simple_body_in_place",
]

Canonicalization = Literal["simple", "relaxed"]

_CRLF = b"\r\n"
# RFC 6376 §3.4.2: runs of WSP in a header value become one SP.
_WSP_RUN = re.compile(rb"[ \t]+")
# A carried-over whitespace run longer than this is shortened to one SP: the relaxed
# result is the same and memory stays bounded on hostile input.
_MAX_CARRY = 4096
_PENDING_PIECE = 1 << 15


def relaxed_header(data: bytes) -> bytes:
    """One header field in relaxed canonical form (RFC 6376 §3.4.2), ending in CRLF.

    The name is lower-cased, the value unfolded, WSP runs become one SP, WSP at the
    end of the value and around the colon is removed.
    """
    name, _, value = data.partition(b":")
    name = name.rstrip(b" \t").lower()
    if b"\n" in value:
        value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    if b"\t" in value:
        value = value.replace(b"\t", b" ")
    if b"  " in value:
        value = _WSP_RUN.sub(b" ", value)
    return name + b":" + value.strip(b" ") + _CRLF


def canonicalize_header(data: bytes, method: Canonicalization) -> bytes:
    """One header field (with its CRLF line endings) in ``simple`` or ``relaxed`` form."""
    if method == "relaxed":
        return relaxed_header(data)
    if method == "simple":
        return data if data.endswith(_CRLF) else data + _CRLF
    raise ValueError(f"unknown canonicalization {method!r} (RFC 6376 §3.4)")


# --- relaxed body lines, §3.4.4 (a) ------------------------------------------------
#
# The costly part of relaxed canonicalization is finding two-byte patterns: SP SP (a
# run to shorten) and SP CR (a space before a line end). ``bytes.find`` is slow at
# that when the first byte is as common as a space (~1.8 ms/MB). Decoded as
# UTF-16-LE, every aligned byte pair is one character, so SP SP is U+2020 and SP CR
# is U+0D20, and a one-character search over the decoded text runs at ~0.2 ms/MB;
# a second decode from offset 1 covers the pairs at odd offsets. The text is only a
# probe for positions: the output is cut from the original bytes.

_UTF16 = codecs.utf_16_le_decode
# For the probe only: bytes 0xD8-0xDF would form UTF-16 surrogates (which decode in
# pairs, or fail); they are neither SP nor CR, so mapping them away moves no match.
_NO_SURROGATES = bytes.maketrans(bytes(range(0xD8, 0xE0)), b"\x80" * 8)
_SP_SP = re.compile("\u2020")
_SP_CR = re.compile("\u0d20")
_INDENT = re.compile(rb"\n  +")   # runs that start lines (indented HTML and the like)
_RUNS = re.compile(rb"  +")
_match_start = re.Match.start
_times_two = (2).__mul__
_plus_one = (1).__add__
_WINDOW = 1 << 16
# Above this many matches per 2**shift bytes a window takes a path that costs no
# Python step per match: runs by regex substitution, line ends by split and join.
_RUN_SHIFT = 9
_END_SHIFT = 8


def _pair_offsets(pattern: re.Pattern[str], even: str, odd: str, limit: int
                  ) -> list[int] | None:
    """Offsets of the byte pair ``pattern`` stands for, or None past ``limit``."""
    out: list[int] = []
    for text, shift in ((even, 0), (odd, 1)):
        if pattern.pattern in text:
            found = list(islice(map(_match_start, pattern.finditer(text)), limit + 1))
            if len(found) > limit:
                return None
            out.extend(map(_times_two, found) if not shift
                       else map(_plus_one, map(_times_two, found)))
    return out


def _without(w: bytes, drop: list[int]) -> bytes:
    """``w`` without the bytes at the offsets in ``drop``."""
    drop.sort()
    pieces = []
    prev = 0
    for pos in drop:
        if pos > prev:
            pieces.append(w[prev:pos])
        prev = pos + 1
    pieces.append(w[prev:])
    return b"".join(pieces)


def _relaxed_window(w: bytes, stage: int = 0) -> bytes:
    """One window of whole lines. Stage 0 as given; 1 after indentation runs were
    shortened by regex; 2 when no run is left (only line ends to do)."""
    if stage == 0 and b"\t" in w:
        w = w.replace(b"\t", b" ")
    n = len(w)
    if n < 3:
        return b" " if w == b"  " else w
    probe = w if w.isascii() else w.translate(_NO_SURROGATES)
    even = _UTF16(probe[:n & ~1], "strict", True)[0]
    odd = _UTF16(probe[1:1 + ((n - 1) & ~1)], "strict", True)[0]  # a copy: aligned, fast
    drop: list[int] = []
    if stage < 2:
        runs = _pair_offsets(_SP_SP, even, odd, n >> _RUN_SHIFT)
        if runs is None:  # dense runs: shorten them by regex, then look again
            if stage == 0:
                return _relaxed_window(_INDENT.sub(b"\n ", w), 1)
            return _relaxed_window(_RUNS.sub(b" ", w), 2)
        drop = runs  # every SP followed by SP goes: a run keeps its last SP
    ends = _pair_offsets(_SP_CR, even, odd, n >> _END_SHIFT)
    if ends is None:  # many lines end in a space (format=flowed text)
        w = _without(w, drop) if drop else w
        parts = w.split(b" \r\n")
        return _CRLF.join(parts) if len(parts) > 1 else w
    last = n - 2
    drop.extend(pos for pos in ends if pos < last and w[pos + 2] == 10)  # SP CR LF
    return _without(w, drop) if drop else w


def _relaxed_lines(seg: bytes, end: int | None = None) -> bytes:
    """§3.4.4 (a) on whole lines: every WSP run becomes one SP, and none is left
    before a CRLF. ``seg[:end]`` never ends in WSP (the canonicalizer carries it over).

    The work is done in windows of about 64 KB that end after a CRLF (the rules act
    within a line), so the probes stay small and reuse memory; ``end`` spares the
    caller a copy of a long segment only to shorten it.
    """
    n = len(seg) if end is None else end
    if n <= _WINDOW + (_WINDOW >> 1):
        return _relaxed_window(seg if n == len(seg) else seg[:n])
    out = []
    start = 0
    find = seg.find
    while start < n:
        nl = find(_CRLF, start + _WINDOW, n)
        stop = n if nl < 0 else nl + 2
        out.append(_relaxed_window(seg[start:stop]))
        start = stop
    return b"".join(out)


def _trailing_crlf_count(seg: bytes) -> int:
    """How many CRLF pairs end ``seg`` (a bare CR or LF before them is content)."""
    if not seg.endswith(b"\n"):
        return 0
    tail = seg[-256:]  # a short copy; the whole segment only if it ends in a long run
    run = len(tail) - len(tail.rstrip(b"\r\n"))
    if run == len(tail) < len(seg):
        run = len(seg) - len(seg.rstrip(b"\r\n"))
    tail = seg[len(seg) - run:]
    # After the last place where the CR/LF alternation breaks, the tail is CRLF pairs.
    brk = max(tail.rfind(b"\r\r"), tail.rfind(b"\n\n"), 0 if tail[:1] == b"\n" else -1)
    return (len(tail) - brk - 1) // 2


_TAIL = 4096


def simple_body_in_place(data: bytes, start: int) -> list[bytes | memoryview] | None:
    """The simple canonical form (§3.4.3) of the CRLF body ``data[start:]`` as pieces
    that share ``data``'s memory: the content up to its trailing empty lines, then one
    CRLF. None when the body ends in more than a few KB of line ends (the streaming
    canonicalizer handles that)."""
    end = len(data)
    tail_start = max(start, end - _TAIL)
    tail = data[tail_start:]
    if tail_start > start and not tail.rstrip(b"\r\n"):
        return None
    content_end = end - 2 * _trailing_crlf_count(tail)
    if content_end == start:
        return [_CRLF]  # an empty body is one CRLF
    return [memoryview(data)[start:content_end], _CRLF]


class BodyCanonicalizer:
    """Streaming body canonicalization, simple (§3.4.3) or relaxed (§3.4.4).

    Feed CRLF-normalised chunks (as :meth:`Message.iter_body` yields them) with
    :meth:`feed` and end with :meth:`finish`; the concatenated outputs are the
    canonical body. Empty lines at the end are withheld until more content proves
    they are not at the end.
    """

    __slots__ = ("_carry", "_pending", "_relaxed", "_started")

    def __init__(self, method: Canonicalization) -> None:
        if method not in ("simple", "relaxed"):
            raise ValueError(f"unknown canonicalization {method!r} (RFC 6376 §3.4)")
        self._relaxed = method == "relaxed"
        self._carry = b""
        self._pending = 0  # CRLFs seen at the current end, not yet known to be inner
        self._started = False  # some non-empty content was emitted

    def feed(self, chunk: bytes) -> list[bytes]:
        """Canonical pieces that are final once ``chunk`` has been seen."""
        return [p if type(p) is bytes else bytes(p) for p in self.feed_views(chunk)]

    def feed_views(self, chunk: bytes) -> list[bytes | memoryview]:
        """As :meth:`feed`, but a piece may be a memoryview of a larger buffer: for
        hashing, it saves copying megabytes only to drop a few line ends."""
        data = self._carry + chunk if self._carry else chunk
        if not data:
            return []
        if self._relaxed:
            cut = data.rfind(_CRLF) + 2  # 1 when there is no CRLF
            if cut == 1:
                cut = 0
            rest_end = len(data)
            if data.endswith(b"\r"):
                rest_end -= 1
            keep = len(data[cut:rest_end].rstrip(b" \t")) + cut
            self._carry = data[keep:]
            if len(self._carry) > _MAX_CARRY:
                self._carry = b" \r" if self._carry.endswith(b"\r") else b" "
            seg = _relaxed_lines(data, keep)
        elif data.endswith(b"\r"):
            self._carry = b"\r"
            seg = data[:-1]
        else:
            self._carry = b""
            seg = data
        return self._emit(seg)

    def _emit(self, seg: bytes) -> list[bytes | memoryview]:
        if not seg:
            return []
        n = _trailing_crlf_count(seg)
        content = memoryview(seg)[:len(seg) - 2 * n] if n else seg
        if not content:
            self._pending += n
            return []
        out = self._pending_pieces()
        out.append(content)
        self._pending = n
        self._started = True
        return out

    def _pending_pieces(self) -> list[bytes | memoryview]:
        pieces: list[bytes | memoryview] = []
        left = self._pending
        while left > 0:
            step = min(left, _PENDING_PIECE)
            pieces.append(_CRLF * step)
            left -= step
        self._pending = 0
        return pieces

    def finish(self) -> bytes:
        """The canonical bytes that end the body."""
        out = b""
        if self._carry:
            carry, self._carry = self._carry, b""
            if self._relaxed:
                # The carry is a WSP run, perhaps ending in a bare CR. WSP at the end of
                # the last line is dropped like at the end of any line (§3.4.4 a).
                carry = (b" \r" if len(carry) > 1 else b"\r") if carry.endswith(b"\r") else b""
            out = b"".join(self._emit(carry))
        if self._started:
            # The last line keeps (or gets) one CRLF; further empty lines are dropped.
            self._pending = 0
            return out + _CRLF
        # RFC 6376 §3.4.3: an empty simple body is one CRLF; §3.4.4: relaxed, nothing.
        self._pending = 0
        return b"" if self._relaxed else _CRLF


def canonicalize_body(body: bytes | Iterable[bytes], method: Canonicalization) -> bytes:
    """The canonical form of a body (RFC 6376 §3.4.3, §3.4.4).

    :param body: CRLF-normalised bytes, or an iterable of chunks of them.
    :param method: ``"simple"`` or ``"relaxed"``.
    """
    canon = BodyCanonicalizer(method)
    chunks = [body] if isinstance(body, bytes | bytearray | memoryview) else body
    out: list[bytes | memoryview] = []
    for chunk in chunks:
        out.extend(canon.feed_views(bytes(chunk)))
    out.append(canon.finish())
    return b"".join(out)
