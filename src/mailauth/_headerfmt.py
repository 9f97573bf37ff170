"""Writing header fields: quoting values and folding lines for what mailauth writes.

Authentication-Results (RFC 8601) and ARC-Authentication-Results (RFC 8617 §4.1.1),
DKIM-Signature / ARC tag lists (RFC 6376 §3.2, §3.5) and Received-SPF (RFC 7208 §9.1)
are written through these functions, so that every writer quotes, escapes and folds the
same way.

Output is ASCII only. RFC 2047 encoded-words are not allowed in quoted-strings or
property values (RFC 2047 §5), and the RFC 2045 ``value`` of RFC 8601 §2.2 is US-ASCII;
so the quoting functions first pass their text through :func:`ascii_text`: "§" becomes
"section " (mailauth's reasons cite RFC sections), and every other character outside
printable ASCII (controls, CR, LF, HTAB, non-ASCII) becomes "?". The replacement is
lossy on purpose and visible; domains belong in a header as A-labels (RFC 8616 §4, the
callers' job through :func:`mailauth._domain.normalize_domain`), so only free text and
local-parts meet it.

Folding (RFC 5322 §2.2.3) inserts CRLF *before* existing white space, so unfolding
(removing every CRLF that precedes WSP, :func:`unfold`) gives back the text exactly;
the two places where a fold adds white space are where the grammar allows FWS with no
white space written: after ":" in ``h=`` (RFC 6376 §3.5) and inside base64 values
(``b=``, ``bh=``; RFC 6376 §2.4 base64string). Lines are kept to ``width`` octets
(78 by default, RFC 5322 §2.1.1) wherever a break point exists; a line is longer only
when nothing in it may be folded. A fold is never placed inside a token, after the
backslash of a quoted-pair, or so that a line holds only white space.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence

from ._grammar import (
    DOMAIN,
    DOT_ATOM_TEXT,
    DOT_ATOM_TEXT_RE,
    FIELD_NAME_RE,
    KEYWORD_RE,
    TAG_NAME_RE,
    TOKEN_RE,
    UTF8_QUOTED_STRING_RE,
)
from .errors import ParseError

__all__ = [
    "RECEIVED_SPF_RESULTS",
    "ascii_text",
    "authentication_results",
    "comment",
    "fold",
    "fold_base64",
    "fold_tag_list",
    "quote_dot_atom",
    "quote_pvalue",
    "quote_string",
    "quote_value",
    "received_spf",
    "resinfo",
    "uncomment",
    "unfold",
    "unquote",
]

WIDTH = 78  # RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters
_MIN_WIDTH = 20

_SECTION = re.compile("\u00a7\\s*")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_ESCAPE_QUOTED = re.compile(r'(["\\])')
_ESCAPE_COMMENT = re.compile(r"([()\\])")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_FOLD = re.compile(r"\r\n(?=[ \t])")
# A part or value that can be written into a header: printable ASCII and WSP.
_WRITABLE = re.compile(r"[\x20-\x7e\t]*")
# RFC 6376 §3.5: domain-name = sub-domain 1*("." sub-domain), the domain of an RFC 8601
# pvalue (§2.2: pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]).
_PVALUE_ADDRESS = re.compile(rf"(?:{DOT_ATOM_TEXT})?@{DOMAIN}")
# RFC 7208 §12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
_SPF_KEY = re.compile(r"[A-Za-z][A-Za-z0-9\-_.]*")
# RFC 7208 §9.1: result = "pass" / "fail" / "softfail" / "neutral" / "none" /
#                         "temperror" / "permerror"
RECEIVED_SPF_RESULTS = frozenset(
    ["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"])


# --- text and quoting -----------------------------------------------------------------


def ascii_text(text: str, limit: int | None = None) -> str:
    """``text`` as printable ASCII for a header field, cut to ``limit`` characters.

    "§" (and the white space after it) becomes "section ", any other character outside
    printable ASCII (controls, CR, LF, HTAB and non-ASCII) becomes "?", and text longer
    than ``limit`` is cut to ``limit`` characters ending in "...". Idempotent.
    """
    text = _NOT_PRINTABLE.sub("?", _SECTION.sub("section ", text))
    if limit is not None:
        if limit < 3:
            raise ValueError("limit must be at least 3 (room for '...')")
        if len(text) > limit:
            text = text[:limit - 3] + "..."
    return text


def quote_string(text: str) -> str:
    """``text`` as an RFC 5322 §3.2.4 quoted-string: DQUOTE, '"' and '\\' escaped as
    quoted-pairs, DQUOTE (after :func:`ascii_text`)."""
    return '"' + _ESCAPE_QUOTED.sub(r"\\\1", ascii_text(text)) + '"'


def quote_value(text: str) -> str:
    """An RFC 2045 §5.1 ``value``: the text as a token when it is one, else a
    quoted-string. RFC 8601 §2.2 writes authserv-id and ``reason=`` this way."""
    text = ascii_text(text)
    return text if TOKEN_RE.fullmatch(text) else quote_string(text)


def quote_dot_atom(text: str) -> str:
    """A dot-atom (RFC 5322 §3.2.3) when the text is one, else a quoted-string: the
    value of a Received-SPF key-value-pair (RFC 7208 §9.1)."""
    text = ascii_text(text)
    return text if DOT_ATOM_TEXT_RE.fullmatch(text) else quote_string(text)


def quote_pvalue(text: str) -> str:
    """An RFC 8601 §2.2 property value.

    ``pvalue = value / [ [ local-part ] "@" ] domain-name``: a dot-atom that is also a
    token (``example.org``, ``rsa-sha256``) or an address whose local-part is a
    dot-atom and whose domain is a domain-name (RFC 6376 §3.5: two or more LDH labels)
    is written as it is, anything else as a quoted-string. (A token that is not a
    dot-atom, such as ``a..b``, is quoted too: readers that take pvalues for
    addresses or domains choke on it.)
    """
    text = ascii_text(text)
    if DOT_ATOM_TEXT_RE.fullmatch(text) and TOKEN_RE.fullmatch(text):
        return text
    if _PVALUE_ADDRESS.fullmatch(text) and "." in text.rpartition("@")[2]:
        return text
    return quote_string(text)


def comment(text: str) -> str:
    """``text`` as an RFC 5322 §3.2.2 comment: in parentheses, with '(', ')' and '\\'
    escaped as quoted-pairs (after :func:`ascii_text`)."""
    return "(" + _ESCAPE_COMMENT.sub(r"\\\1", ascii_text(text)) + ")"


def unquote(text: str) -> str:
    """The content of a quoted-string: quotes removed, folding removed, quoted-pairs
    resolved (RFC 5322 §3.2.4). Text that does not start with DQUOTE is returned as it
    is (a token or dot-atom needs no unquoting).

    :raises ParseError: for text that starts with DQUOTE but is not a quoted-string.
    """
    if not text.startswith('"'):
        return text
    if not UTF8_QUOTED_STRING_RE.fullmatch(text):
        raise ParseError("not a quoted-string", position=0, rfc="RFC 5322 §3.2.4", text=text)
    return _QUOTED_PAIR.sub(r"\1", _FOLD.sub("", text[1:-1]))


def uncomment(text: str) -> str:
    """The content of a comment: outer parentheses removed, folding removed,
    quoted-pairs resolved (RFC 5322 §3.2.2). Nested comments are kept as written.

    :raises ParseError: for text that is not one balanced comment.
    """
    rfc = "RFC 5322 §3.2.2"
    if not text.startswith("("):
        raise ParseError("a comment starts with '('", position=0, rfc=rfc, text=text)
    out: list[str] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "(":
            depth += 1
            if depth > 1:
                out.append(ch)
        elif ch == ")":
            depth -= 1
            if depth == 0:
                if i != n - 1:
                    raise ParseError("text after the comment", position=i + 1, rfc=rfc,
                                     text=text)
                return _FOLD.sub("", "".join(out))
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    raise ParseError("unterminated comment", position=0, rfc=rfc, text=text)


def unfold(text: str) -> str:
    """``text`` unfolded: every CRLF that precedes WSP removed (RFC 5322 §2.2.3)."""
    return _FOLD.sub("", text)


# --- folding ----------------------------------------------------------------------------------


def _check_field(name: str, width: int) -> None:
    if not FIELD_NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a field name (RFC 5322 §3.6.8)")
    if width < _MIN_WIDTH:
        raise ValueError(f"width must be at least {_MIN_WIDTH}")


def _check_part(part: str, what: str) -> None:
    if not part or not _WRITABLE.fullmatch(part):
        raise ValueError(f"{what} {part!r} is empty or not printable ASCII on one line")
    if part[0] in " \t" or part[-1] in " \t":
        raise ValueError(f"{what} {part!r} starts or ends with white space")


def _escaped(line: str, i: int) -> bool:
    """True when line[i] is the second character of a quoted-pair."""
    k = i - 1
    while k >= 0 and line[k] == "\\":
        k -= 1
    return (i - 1 - k) % 2 == 1


def _spaces(line: str, start: int, stop: int) -> Iterator[int]:
    """Where ``line[start:stop]`` may be folded before a space: not after a
    quoted-pair's backslash, and with text before it on the line (index 2 at least)."""
    text_at = len(line) - len(line.lstrip(" \t"))
    i = line.find(" ", max(start, 2, text_at + 1), stop)
    while i >= 0:
        if not _escaped(line, i):
            yield i
        i = line.find(" ", i + 1, stop)


def _last(cuts: Iterator[int]) -> int | None:
    tail = deque(cuts, maxlen=1)
    return tail[0] if tail else None


def _space_cut(line: str, width: int) -> int | None:
    """The last space fold that keeps the line within ``width``, else the first one
    past it. Looks only as far as it must, so folding a long text stays linear."""
    best = _last(_spaces(line, 0, width + 1))
    return best if best is not None else next(_spaces(line, width + 1, len(line)), None)


def _split_long(line: str, width: int, lines: list[str]) -> str:
    """Fold an over-long line at its spaces; returns the unfinished last line."""
    while len(line) > width:
        cut = _space_cut(line, width)
        if cut is None:
            break
        lines.append(line[:cut])
        line = line[cut:]
    return line


def fold(parts: Sequence[str], *, name: str, width: int = WIDTH) -> str:
    """``name: part part ...`` folded to lines of at most ``width`` octets.

    Parts are joined by one space and folded between parts (CRLF before the space); a
    part that does not fit on a line of its own is folded at its inner spaces (the
    FWS of a quoted-string or comment, RFC 5322 §3.2.2, §3.2.4). Returns the field
    without the final CRLF; ``unfold(result) == name + ": " + " ".join(parts)``.

    :param parts: printable ASCII, no line breaks, no white space at either end.
    :raises ValueError: for a part that breaks these rules, a name that is not a
        field-name, or a width under 20.
    """
    _check_field(name, width)
    for part in parts:
        _check_part(part, "part")
    lines: list[str] = []
    line = f"{name}:"
    for part in parts:
        if len(line) + 1 + len(part) <= width:
            line = f"{line} {part}"
            continue
        lines.append(line)
        line = _split_long(" " + part, width, lines)
    lines.append(line)
    return "\r\n".join(lines)


def fold_base64(value: str, *, column: int, width: int = WIDTH) -> str:
    """A base64 value (``b=``) to append to a line that is ``column`` octets long.

    The first piece fills that line to ``width``, later pieces are on lines of their own
    (CRLF SP, then ``width - 1`` characters). RFC 6376 §3.5 allows FWS anywhere in
    base64string, and strips it before decoding. A signer writes the field with an
    empty ``b=`` last (:func:`fold_tag_list`), signs it, and appends this: the field
    already hashed is not changed.
    """
    if width < _MIN_WIDTH:
        raise ValueError(f"width must be at least {_MIN_WIDTH}")
    if not value:
        return ""
    room = max(width - column, 0)
    pieces = [value[:room]]
    pieces += [value[i:i + width - 1] for i in range(room, len(value), width - 1)]
    return "\r\n ".join(pieces)


_DEFAULT_BREAK_AFTER: Mapping[str, str] = {"h": ":", "z": "|"}


def _tag_cuts(line: str, width: int, value_start: int, value_end: int, *, base64: bool,
              breaks: str) -> tuple[int, bool] | None:
    """Where to fold an over-long tag-list line, and whether the fold adds a space.

    ``line[value_start:value_end]`` is (what is left of) the current tag's value. In
    order: inside a base64 value at ``width``; the last space before ``width``; after
    the last ``breaks`` character of the value within ``width``; a space at ``width``;
    the first fold point past ``width``. Looks only as far as it must.
    """
    if base64 and value_start <= width and value_start < value_end:
        # Never before a lone ";" at the end of the line.
        cut = min(width, value_end - 1) if value_end < len(line) else width
        if cut >= max(value_start, 1):
            return cut, True
    inside = _last(_spaces(line, 0, width))
    if inside is not None:
        return inside, False
    lo = max(value_start, 2)
    if breaks:
        hi = min(value_end, width, len(line) - 1)
        for i in range(hi - 1, lo - 1, -1):
            if line[i] in breaks:
                return i + 1, True
    at_width = next(_spaces(line, width, width + 1), None)
    if at_width is not None:
        return at_width, False
    later: list[tuple[int, bool]] = []
    space = next(_spaces(line, width + 1, len(line)), None)
    if space is not None:
        later.append((space, False))
    if breaks:
        for i in range(max(lo, width), min(value_end, len(line) - 1)):
            if line[i] in breaks:
                later.append((i + 1, True))
                break
    if base64 and width < value_start < value_end:
        later.append((value_start, True))
    return min(later) if later else None


def fold_tag_list(tags: Sequence[tuple[str, str]], *, name: str, width: int = WIDTH,
                  base64_tags: Collection[str] = ("b", "bh"),
                  break_after: Mapping[str, str] = _DEFAULT_BREAK_AFTER) -> str:
    """``name: t1=v1; t2=v2; ...`` (RFC 6376 §3.2) folded to lines of at most ``width``.

    The first tag follows the field name; each later tag goes on the same line when it
    fits, else on a new one (the fold is the FWS of the tag-spec). A value too long for
    a line is folded at a space, after a ``break_after`` character (":" of ``h=`` and
    "|" of ``z=``, where RFC 6376 §3.5 allows FWS), or, for ``base64_tags``, anywhere
    (§2.4: FWS may appear anywhere in base64string). A base64 value too long for a
    line of its own starts on the current line. No ";" after the last tag.

    Returns the field without the final CRLF. With an empty ``b=`` last, a signer
    appends :func:`fold_base64` of the signature to the result.

    :raises ValueError: for a tag name outside RFC 6376's tag-name, a value with ';',
        a line break or non-ASCII, or with white space at either end.
    """
    _check_field(name, width)
    for tag, value in tags:
        if not TAG_NAME_RE.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a tag-name (RFC 6376 §3.2)")
        if value:
            _check_part(value, f"value of {tag}=")
            if ";" in value:
                raise ValueError(f"value of {tag}= holds ';' (RFC 6376 §3.2 VALCHAR)")
    prefix = f"{name}:"
    lines: list[str] = []
    line = prefix
    last = len(tags) - 1
    for i, (tag, value) in enumerate(tags):
        piece = f"{tag}={value}" + (";" if i < last else "")
        base64 = tag in base64_tags and bool(value)
        if (line == prefix or len(line) + 1 + len(piece) <= width
                or (base64 and 1 + len(piece) > width
                    and len(line) + 2 + len(tag) <= width)):
            value_start = len(line) + 2 + len(tag)
            line = f"{line} {piece}"
        else:
            lines.append(line)
            value_start = 2 + len(tag)
            line = " " + piece
        value_end = value_start + len(value)
        breaks = break_after.get(tag, "")
        while len(line) > width:
            cut = _tag_cuts(line, width, value_start, value_end, base64=base64,
                            breaks=breaks)
            if cut is None:
                break
            at, adds_space = cut
            lines.append(line[:at])
            line = (" " if adds_space else "") + line[at:]
            shift = at - (1 if adds_space else 0)
            value_start = max(value_start - shift, 1 if adds_space else 0)
            value_end = max(value_end - shift, value_start)
    lines.append(line)
    return "\r\n".join(lines)


# --- the fields mailauth writes ---------------------------------------------------------------


def resinfo(method: str, result: str, *, reason: str | None = None,
            properties: Sequence[tuple[str, str]] = (), comment_text: str | None = None,
            version: int | None = None) -> tuple[str, ...]:
    """The words of one RFC 8601 §2.2 resinfo, for :func:`authentication_results`.

    ``method[/version]=result``, then the comment, ``reason=`` (a value, quoted when
    not a token), and each ``ptype.property=pvalue`` (:func:`quote_pvalue`).
    ``" ".join(words)`` is the resinfo on one line.

    :param properties: ``("smtp.mailfrom", "user@example.org")`` pairs.
    :raises ValueError: for a method, result, ptype or property that is not a Keyword.
    """
    for word in (method, result):
        if not KEYWORD_RE.fullmatch(word):
            raise ValueError(f"{word!r} is not an RFC 8601 Keyword (Ldh-str)")
    head = f"{method}/{int(version)}={result}" if version is not None else f"{method}={result}"
    words = [head]
    if comment_text is not None:
        words += comment(comment_text).split()
    if reason is not None:
        words.append(f"reason={quote_value(reason)}")
    for key, value in properties:
        ptype, dot, prop = key.partition(".")
        if not (dot and KEYWORD_RE.fullmatch(ptype) and KEYWORD_RE.fullmatch(prop)):
            raise ValueError(f"{key!r} is not ptype.property (RFC 8601 §2.2)")
        words.append(f"{key}={quote_pvalue(value)}")
    return tuple(words)


def authentication_results(authserv_id: str, results: Sequence[Sequence[str]], *,
                           version: int | None = None, instance: int | None = None,
                           width: int = WIDTH) -> str:
    """An Authentication-Results field (RFC 8601 §2.2), folded, without the final CRLF.

    ``results`` are the words of each resinfo (:func:`resinfo`); none gives
    ``authserv-id; none``. With ``instance``, the field is ARC-Authentication-Results
    with ``i=instance;`` before the payload (RFC 8617 §4.1.1).
    """
    parts = [] if instance is None else [f"i={int(instance)};"]
    head = [quote_value(authserv_id)]
    if version is not None:
        head.append(str(int(version)))
    head[-1] += ";"
    parts += head
    if not results:
        parts.append("none")
    for i, words in enumerate(results):
        words = list(words)
        if not words:
            raise ValueError("a resinfo has at least its methodspec")
        if i < len(results) - 1:
            words[-1] += ";"
        parts += words
    name = "Authentication-Results" if instance is None else "ARC-Authentication-Results"
    return fold(parts, name=name, width=width)


def received_spf(result: str, *, comment_text: str | None = None,
                 pairs: Sequence[tuple[str, str]] = (), width: int = WIDTH) -> str:
    """A Received-SPF field (RFC 7208 §9.1), folded, without the final CRLF.

    ``result [comment] key=value; ...``: the comment is folded between its words, each
    value written as a dot-atom or a quoted-string (:func:`quote_dot_atom`), each pair
    followed by ";".

    :raises ValueError: for a result outside RFC 7208 §9.1's list or a key that is
        not an RFC 7208 §12 name.
    """
    if result not in RECEIVED_SPF_RESULTS:
        raise ValueError(f"{result!r} is not a Received-SPF result (RFC 7208 §9.1)")
    words = [result]
    if comment_text is not None:
        words += comment(comment_text).split()
    for key, value in pairs:
        if not _SPF_KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a Received-SPF key (RFC 7208 §9.1)")
        words.append(f"{key}={quote_dot_atom(value)};")
    return fold(words, name="Received-SPF", width=width)
