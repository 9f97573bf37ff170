"""What a saved message says about its SMTP envelope: Received and Return-Path.

A message checked after delivery no longer has its SMTP session, but the receiving MTA
wrote down what it saw: the client's HELO name and address in the Received field it
added on top (RFC 5321 §4.4), and the reverse-path in Return-Path (RFC 5321 §4.4,
RFC 5322 §3.6.7). ``authenticate(message, trust_received=True)`` reads them here.
Whether to believe them is the caller's call: only the topmost Received field is the
receiving system's own, and only when nothing (a content filter's re-injection, a
forwarder) has added one since.

RFC 5321 §4.4 gives the grammar MTAs are meant to follow::

    Stamp          = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    From-domain    = "FROM" FWS Extended-Domain
    By-domain      = CFWS "BY" FWS Extended-Domain
    Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" )
                     / ( address-literal FWS "(" TCP-info ")" )
    TCP-info       = address-literal / ( Domain FWS address-literal )
    Opt-info       = [Via] [With] [ID] [For] [Additional-Registered-Clauses]

What MTAs write differs in the TCP-info comment, so the from clause is read by a
small tokenizer (words, nested comments, quoted strings) and a few rules rather than
by the ABNF:

- Postfix, OpenSMTPD, Sendmail, Gmail: ``from HELO (REVERSE [IP])``; the reverse name
  ``unknown`` when there is none, ``IPv6:`` inside the brackets or not, a trailing dot
  (Gmail), Sendmail's ``(may be forged)`` and ``IDENT:user@`` prefixes.
- Exim: ``from [IP] (helo=HELO)`` and ``from REVERSE ([IP]:port helo=HELO)``.
- qmail: ``from REVERSE (HELO HELO) (IP)`` (``unknown`` for no reverse name).
- Exchange: ``from HELO (IP) by ...`` with the address bare in the comment.

The first address found in the from clause's comments is the client's; when a comment
states the HELO name (``helo=``, ``HELO x``), the word after ``from`` is the reverse
name the MTA looked up, else it is the HELO name. Addresses are checked with
:func:`mailauth._domain.parse_ip`; an IPv4-mapped IPv6 address becomes IPv4.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from ._domain import is_host_name, parse_ip
from ._message import Message
from .errors import ArgumentTypeError, ParseError

__all__ = ["Envelope", "ReceivedFrom", "envelope_from_headers", "parse_received"]

_RFC = "RFC 5321 §4.4"

# A Received field's from clause is a few hundred characters; the tokenizer reads at
# most this much of a field, so a hostile megabyte costs no more than a long field.
_MAX_SCAN = 64 * 1024
# Longer words are neither an address nor a host name (RFC 1035 §2.3.4: 255 octets).
_MAX_WORD = 255
# A from clause is a word and a few comments (Postfix: TCP-info, TLS, client
# certificate); what lies beyond this many tokens, or this many words of a comment,
# is not read.
_MAX_TOKENS = 32

# The clauses after From-domain (RFC 5321 §4.4: By-domain, Via, With, ID, For).
_CLAUSES = frozenset(["by", "via", "with", "id", "for"])
# Words MTAs write in place of a reverse name they did not find.
_NO_NAME = frozenset(["unknown", "<unknown>", "[unknown]"])

# RFC 5322 §2.2.3: unfolding removes each CRLF that is followed by WSP (a bare LF too,
# for fields read from files with LF line ends).
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_FIELD_NAME = re.compile(r"\s*received\s*:", re.IGNORECASE)
# Top-level tokens: white space, comment start and end, the ";" before the date,
# a quoted-string (RFC 5322 §3.2.4; unterminated runs to the end), a word.
_TOKEN = re.compile(r"""(?P<ws>\s+)|(?P<open>\()|(?P<close>\))|(?P<semi>;)
                        |(?P<quoted>"(?:[^"\\]|\\.)*"?)|(?P<word>[^\s();"]+)""",
                    re.VERBOSE | re.DOTALL)
# Inside a comment (RFC 5322 §3.2.2): text, a quoted-pair, or a parenthesis.
_COMMENT_PIECE = re.compile(r"[^()\\]+|\\.?|[()]", re.DOTALL)
# What may follow an address literal in a word: a port (Exim, Postfix), a comma.
_AFTER_LITERAL = re.compile(r"(?::[0-9]{1,5})?[,.]?")
# The characters of an IPv4 or IPv6 address's text (at most 45 of them, RFC 4291 §2.2
# with an embedded IPv4 address); anything else is not handed to parse_ip.
_ADDRESS_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}")
# A HELO name as an MTA writes it: printable, no white space, no controls.
_PRINTABLE = re.compile(r"[^\x00-\x20\x7f]+")


@dataclass(frozen=True, slots=True)
class ReceivedFrom:
    """What a Received field says about the SMTP client (RFC 5321 §4.4 From-domain).

    :param helo: the HELO/EHLO argument as the MTA wrote it (a domain, or an
        address literal such as ``[192.0.2.1]`` when the client sent one), or None.
    :param ip: the client's address (IPv4-mapped IPv6 shown as IPv4), or None.
    :param reverse_name: the name the MTA found for the address (lower case, no
        trailing dot), or None when it wrote none or ``unknown``.
    :param by: the receiving host (By-domain), without a trailing dot, or None.
    :param field: the field's value, unfolded, without surrounding white space.
    """

    helo: str | None
    ip: str | None
    reverse_name: str | None
    by: str | None
    field: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope as a saved message records it (see
    :func:`envelope_from_headers`).

    :param ip: the client's address from the topmost Received field, or None.
    :param helo: the HELO/EHLO name from the topmost Received field, or None.
    :param mail_from: the reverse-path from the topmost Return-Path, angle brackets
        removed (``""`` for the null reverse-path ``<>``), or None.
    :param source: the names of the fields that gave a value (``"Received"``,
        ``"Return-Path"``), for a result's explanation.
    :param received: the topmost Received field as read, or None when there is none
        or it has no usable from clause.
    """

    ip: str | None
    helo: str | None
    mail_from: str | None
    source: tuple[str, ...] = ()
    received: ReceivedFrom | None = None


class _Word(NamedTuple):
    text: str
    position: int


class _Comment(NamedTuple):
    words: tuple[str, ...]   # the words at the comment's own level (nested ones left out)
    position: int


_Token: TypeAlias = _Word | _Comment


# --- the tokenizer --------------------------------------------------------------------------


def _comment(text: str, start: int) -> tuple[_Comment, int]:
    """The comment whose "(" is at ``start`` and where it ends (RFC 5322 §3.2.2).

    Nested comments (Sendmail's ``(may be forged)``) are left out of the words; an
    unterminated comment runs to the end of the text.
    """
    depth = 0
    pieces: list[str] = []
    pos = start
    for match in _COMMENT_PIECE.finditer(text, start):
        piece = match.group()
        pos = match.end()
        if piece == "(":
            depth += 1
            if depth > 1:
                pieces.append(" ")
        elif piece == ")":
            depth -= 1
            if depth == 0:
                break
            if depth == 1:
                pieces.append(" ")
        elif depth == 1:
            pieces.append(piece[1:] if piece[0] == "\\" else piece)
    return _Comment(tuple("".join(pieces).split()[:_MAX_TOKENS]), start), pos


def _tokens(text: str) -> Iterator[_Token]:
    """The words and comments of a field, up to the ";" that comes before the date."""
    pos, end = 0, len(text)
    while pos < end:
        match = _TOKEN.match(text, pos)
        assert match is not None  # every character starts some token
        kind = match.lastgroup
        if kind == "open":
            comment, pos = _comment(text, pos)
            yield comment
            continue
        pos = match.end()
        if kind == "semi":
            return  # RFC 5321 §4.4: [CFWS] ";" FWS date-time
        if kind in ("word", "quoted"):
            yield _Word(match.group(), match.start())
        # white space and a stray ")" separate words and are otherwise ignored


# --- words ----------------------------------------------------------------------------------


def _address(word: str) -> str | None:
    """The address a word of TCP-info states, or None: ``[192.0.2.1]``,
    ``[IPv6:2001:db8::1]``, ``[192.0.2.1]:25`` (RFC 5321 §4.1.3 address-literal plus a
    port), ``192.0.2.1`` (Exchange), ``user@192.0.2.1`` (qmail's remote info)."""
    if len(word) > _MAX_WORD:
        return None
    if word.startswith("["):
        close = word.find("]")
        if close < 0 or not _AFTER_LITERAL.fullmatch(word, close + 1):
            return None
        inner = word[1:close]
        if inner[:5].lower() == "ipv6:":
            inner = inner[5:]
    else:
        inner = word.rpartition("@")[2]
    if not _ADDRESS_TEXT.fullmatch(inner):
        return None
    try:
        return str(parse_ip(inner))
    except ValueError:
        return None


def _reverse_name(word: str) -> str | None:
    """The host name a word gives for the address: Sendmail's ``IDENT:`` and ident
    ``user@`` prefixes removed, the trailing dot removed (Gmail), lower case; None for
    ``unknown`` and anything that is not a host name."""
    if len(word) > _MAX_WORD or word.lower() in _NO_NAME:
        return None
    if word[:6].lower() == "ident:":
        word = word[6:]
    name = word.rpartition("@")[2]
    if name.endswith("."):
        name = name[:-1]
    return name.lower() if is_host_name(name) else None


def _helo(word: str | None) -> str | None:
    """The HELO name as written, when it is one printable word of sane length."""
    if word is None or len(word) > _MAX_WORD or not _PRINTABLE.fullmatch(word):
        return None
    return word


def _by(word: str | None) -> str | None:
    if word is None or len(word) > _MAX_WORD or not _PRINTABLE.fullmatch(word):
        return None
    return word[:-1] if word.endswith(".") and len(word) > 1 else word


# --- parse_received ---------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        # RFC 6532 allows UTF-8 in header fields; other 8-bit bytes are read as U+FFFD.
        return bytes(value).decode("utf-8", "replace")
    raise ArgumentTypeError(f"a Received field is str or bytes, not {type(value).__name__}")


def _clause(tokens: Iterator[_Token]) -> tuple[str | None, list[_Token], str | None]:
    """The From-domain's first word, the tokens after it up to the next clause, and
    the By-domain's first word (RFC 5321 §4.4)."""
    first: str | None = None
    rest: list[_Token] = []
    ender: str | None = None
    for token in tokens:
        if isinstance(token, _Word):
            lower = token.text.lower()
            if lower in _CLAUSES:
                ender = lower
                break
            if first is None and not rest:
                first = token.text
                continue
        rest.append(token)
        if len(rest) >= _MAX_TOKENS:
            return first, rest, None
    by: str | None = None
    if ender == "by":
        for token in tokens:
            if isinstance(token, _Word):
                by = None if token.text.lower() in _CLAUSES else token.text
                break
    return first, rest, by


def parse_received(value: str | bytes) -> ReceivedFrom:
    """What a Received field says about the SMTP client: its HELO name, address and
    reverse name (RFC 5321 §4.4 "Stamp", as MTAs write it).

    :param value: the field's value, or the whole field with its ``Received:`` name;
        folded or not; bytes are read as UTF-8 (other 8-bit bytes as U+FFFD).
    :raises ParseError: when the field has no ``from`` clause (``by x with LMTP``,
        qmail's ``(qmail 123 invoked by uid 89)``) or its from clause names neither a
        HELO name, nor an address, nor a reverse name.
    :raises ArgumentTypeError: for a value that is neither str nor bytes.
    """
    text = _text(value)
    name = _FIELD_NAME.match(text)
    if name is not None:
        text = text[name.end():]
    field = _FOLD.sub("", text).strip()
    tokens = _tokens(field[:_MAX_SCAN])
    start: _Word | None = next((t for t in tokens if isinstance(t, _Word)), None)
    if start is None or start.text.lower() != "from":
        raise ParseError("the Received field has no from clause",
                         position=start.position if start else 0, rfc=_RFC)
    first, rest, by = _clause(tokens)

    ip: str | None = None
    reverse: str | None = None
    stated_helo: str | None = None
    for token in rest:
        # A word outside comments (``from host [192.0.2.1]``) is read like one word
        # of TCP-info, but never as a reverse name.
        words = token.words if isinstance(token, _Comment) else (token.text,)
        i = 0
        while i < len(words):
            word = words[i]
            lower = word.lower()
            if lower.startswith(("helo=", "ehlo=")):              # Exim
                stated_helo = stated_helo or word[5:] or None
            elif lower in ("helo", "ehlo") and i + 1 < len(words):  # qmail, Yahoo
                i += 1
                stated_helo = stated_helo or words[i]
            elif "=" not in word and ip is None:
                ip = _address(word)
                if ip is not None and isinstance(token, _Comment) and i > 0:
                    reverse = _reverse_name(words[i - 1])
            i += 1

    from_address = _address(first) if first is not None else None
    if ip is None:
        ip = from_address  # Exim: "from [192.0.2.1] (helo=...)"
    helo: str | None
    if stated_helo is not None:
        # Exim and qmail state the HELO name apart: the word after "from" is the
        # reverse name they found (qmail writes "unknown" when there is none).
        helo = _helo(stated_helo)
        if reverse is None and first is not None:
            reverse = _reverse_name(first)
    elif from_address is not None and first is not None and not first.startswith("["):
        # A bare address is not a HELO argument (RFC 5321 §4.1.1.1: a domain or an
        # address literal): the MTA wrote the client's address there.
        helo = None
    else:
        helo = _helo(first)
    if helo is None and ip is None and reverse is None:
        raise ParseError("the from clause of the Received field names no client",
                         position=start.position, rfc=_RFC)
    return ReceivedFrom(helo=helo, ip=ip, reverse_name=reverse, by=_by(by), field=field)


# --- the envelope of a saved message ------------------------------------------------------------


def _reverse_path(value: str) -> str | None:
    """The address of a Return-Path value (RFC 5322 §3.6.7 path; RFC 5321 §4.1.2
    Reverse-path): angle brackets removed, ``""`` for ``<>``, a source route
    (``<@relay:user@host>``) dropped; None when the value is empty or unreadable."""
    text = value.strip()
    if not text or len(text) > 4096:
        return None
    open_at = text.find("<")
    if open_at >= 0:
        close_at = _closing_angle(text, open_at + 1)
        if close_at < 0:
            return None
        inner = text[open_at + 1:close_at].strip()
    else:
        inner = text  # written without brackets by some MTAs
    if inner.startswith("@"):
        # RFC 5321 §4.1.2 A-d-l (source route), obsolete: "@a,@b:user@host".
        colon = inner.find(":")
        if colon < 0:
            return None
        inner = inner[colon + 1:].strip()
    if re.search(r"[\x00-\x1f\x7f]", inner):
        return None
    if " " in inner and not inner.startswith('"'):
        return None
    return inner


def _closing_angle(text: str, start: int) -> int:
    """Where the ">" that closes an angle-addr is, skipping quoted strings."""
    quoted = False
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == ">" and not quoted:
            return i
        i += 1
    return -1


def envelope_from_headers(message: Message) -> Envelope:
    """The SMTP envelope a saved message records: the client's address and HELO name
    from the topmost Received field, the reverse-path from the topmost Return-Path.

    RFC 5321 §4.4: each MTA prepends its Received field, so the topmost is the one the
    receiving (final) MTA added; the delivering MTA writes Return-Path from MAIL FROM.
    A field that is missing or unreadable gives None for its values, never an
    exception. The topmost field is taken as it is: after a content filter's
    re-injection it describes the filter's hop (``localhost [127.0.0.1]``).

    :param message: the message, as :func:`mailauth._message.parse_message` gives it.
    :raises ArgumentTypeError: for anything other than a parsed message.
    """
    if not isinstance(message, Message):
        raise ArgumentTypeError(f"envelope_from_headers takes a parsed Message, not "
                                f"{type(message).__name__}")
    source: list[str] = []
    ip = helo = mail_from = None
    received: ReceivedFrom | None = None
    top = message.get("Received")
    if top is not None:
        try:
            received = parse_received(top.value)
        except ParseError:
            received = None
        if received is not None:
            ip, helo = received.ip, received.helo
            if ip is not None or helo is not None:
                source.append("Received")
    path = message.get("Return-Path")
    if path is not None:
        mail_from = _reverse_path(path.unfolded())
        if mail_from is not None:
            source.append("Return-Path")
    return Envelope(ip=ip, helo=helo, mail_from=mail_from, source=tuple(source),
                    received=received)
