"""Addresses in header fields (RFC 5322 §3.4), for the author domains DMARC checks.

    address       = mailbox / group
    mailbox       = name-addr / addr-spec
    name-addr     = [display-name] angle-addr
    angle-addr    = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    group         = display-name ":" [group-list] ";" [CFWS]
    display-name  = phrase
    mailbox-list  = (mailbox *("," mailbox)) / obs-mbox-list
    address-list  = (address *("," address)) / obs-addr-list
    addr-spec     = local-part "@" domain                          (§3.4.1)
    local-part    = dot-atom / quoted-string / obs-local-part
    domain        = dot-atom / domain-literal / obs-domain

and the obsolete forms every reader must accept (§4.4):

    obs-angle-addr  = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    obs-route       = obs-domain-list ":"
    obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
    obs-mbox-list   = *([CFWS] ",") mailbox *("," [mailbox / CFWS])
    obs-addr-list   = *([CFWS] ",") address *("," [address / CFWS])
    obs-group-list  = 1*([CFWS] ",") [CFWS]
    obs-local-part  = word *("." word)
    obs-domain      = atom *("." atom)
    obs-phrase      = word *(word / "." / CFWS)                    (§4.1)

The text is split into tokens (atoms, quoted-strings, domain literals, specials) by a
small scanner that skips comments (nested, with quoted-pairs) and folding white space;
a recursive-descent parser reads the tokens. Both are linear in the length of the text.
Internationalized headers (RFC 6532 §3.2) are read: UTF-8 is allowed in atoms, quoted
strings, comments and domain literals. Display names have their RFC 2047 encoded-words
decoded; an encoded-word is never read as part of an address (RFC 2047 §5), and decoded
text is never parsed again.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ._domain import is_host_name, normalize_domain
from ._grammar import ATEXT_SET, UTF8_DOT_ATOM_TEXT_RE, UTF8_NON_ASCII_SET
from .errors import ParseError

__all__ = [
    "Address",
    "Group",
    "decode_encoded_words",
    "from_domains",
    "parse_address_list",
    "parse_mailbox_list",
]

_RFC = "RFC 5322 §3.4"
_RFC_AUTHOR = "RFC 7489 §6.6.1"


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox (RFC 5322 §3.4).

    :param display_name: the display-name, its encoded-words decoded (RFC 2047), or
        None when the mailbox has none (an addr-spec, or ``<addr-spec>`` alone).
    :param local_part: the local-part's meaning: a quoted-string without its quotes and
        with quoted-pairs resolved, obs-local-part words joined by "." (§3.4.1).
    :param domain: the domain as written, comments and white space removed; a domain
        literal keeps its brackets (``"[192.0.2.1]"``). Not normalised.
    :param raw: the mailbox's text in the field, from its first to its last token.
    """

    display_name: str | None
    local_part: str
    domain: str
    raw: str

    @property
    def addr_spec(self) -> str:
        """``local-part@domain``, the local-part quoted when it is not a dot-atom."""
        local = self.local_part
        if not UTF8_DOT_ATOM_TEXT_RE.fullmatch(local):
            local = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{local}@{self.domain}"

    @property
    def is_domain_literal(self) -> bool:
        """True when the domain is a domain-literal (``[192.0.2.1]``)."""
        return self.domain.startswith("[")


@dataclass(frozen=True, slots=True)
class Group:
    """A group (RFC 5322 §3.4): a display-name and zero or more mailboxes.

    ``undisclosed-recipients:;`` is a group with no addresses.
    """

    name: str
    addresses: tuple[Address, ...]
    raw: str


# --- encoded-words (RFC 2047) -------------------------------------------------------------

# encoded-word = "=?" charset "?" encoding "?" encoded-text "?="   (RFC 2047 §2), with the
# RFC 2231 §5 language suffix: charset "*" language. encoded-text has no "?" or space.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_EW_GAP = re.compile(r"[ \t\r\n]+\Z")
_Q_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
# Codecs Python has that are not mail charsets: their names stay undecoded.
_NOT_CHARSETS = frozenset(["unicode_escape", "raw_unicode_escape", "idna", "punycode",
                           "undefined", "mbcs", "oem"])
_CHARSET_PUNCTUATION = re.compile(r"[^a-z0-9.]+")


def _ew_bytes(encoding: str, text: str) -> bytes | None:
    """The octets of an encoded-text (RFC 2047 §4.1 B, §4.2 Q), or None if invalid."""
    if encoding in "bB":
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
    data = text.replace("_", " ").encode("ascii", "replace")
    return _Q_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)


# Names mail uses for charsets Python knows under another name.
_MAIL_ALIASES = {"windows_874": "cp874", "iso_8859_8_i": "iso8859_8", "iso_8859_6_i": "iso8859_6",
                 "x_mac_roman": "mac_roman", "x_sjis": "shift_jis", "x_euc_jp": "euc_jp",
                 "x_gbk": "gbk", "ks_c_5601": "euc_kr"}


@lru_cache(maxsize=1)
def _charset_names() -> frozenset[str]:
    """The names of Python's codecs (the encodings package) and their aliases."""
    import encodings
    import encodings.aliases
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    return frozenset(encodings.aliases.aliases) | modules


def _charset_name(charset: str) -> str:
    name = _CHARSET_PUNCTUATION.sub("_", charset.lower()).strip("_")
    return _MAIL_ALIASES.get(name, name)


@lru_cache(maxsize=256)
def _known_charset(charset: str) -> bool:
    """True for a charset Python decodes as text. Only names of Python's own codecs
    are looked up: the codec registry remembers every name it is asked for, and a
    stream of invented names must not grow it."""
    name = _charset_name(charset)
    if name not in _charset_names():
        return False
    try:
        # A probe of a few octets: decoding b"" succeeds even for bytes-to-bytes codecs.
        return (codecs.lookup(name).name.replace("-", "_") not in _NOT_CHARSETS
                and isinstance(b"abcd".decode(name, "replace"), str))
    except Exception:  # any codec registered in the process may raise anything
        return False


def _charset_decode(data: bytes, charset: str) -> str | None:
    if not _known_charset(charset):
        return None
    try:
        return data.decode(_charset_name(charset), "replace")
    except Exception:  # as above: a foreign codec's failure keeps the word as written
        return None


def decode_encoded_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded-words decoded.

    White space between two encoded-words is dropped (RFC 2047 §6.2), and adjacent
    encoded-words in one charset are decoded together, so a character split between
    them comes out whole. An encoded-word in an unknown charset, or whose encoded-text
    is not valid B or Q, is kept as written. Invalid octets in a known charset become
    U+FFFD.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    last_end = -1

    def flush() -> None:
        if pending:
            out.append(_charset_decode(b"".join(pending), pending_charset) or "")
            pending.clear()

    for m in _ENCODED_WORD.finditer(text):
        charset, encoding, encoded = m.group(1), m.group(2), m.group(3)
        data = _ew_bytes(encoding, encoded)
        decodable = data is not None and _known_charset(charset)
        gap = text[pos:m.start()]
        adjacent = last_end == m.start() or (last_end == pos and bool(_EW_GAP.match(gap)))
        if not decodable:
            flush()
            out.append(text[pos:m.end()])
            pos = m.end()
            last_end = -1
            continue
        assert data is not None
        if adjacent and pending and charset.lower() == pending_charset.lower():
            pending.append(data)
        else:
            flush()
            if not adjacent:
                out.append(gap)
            pending.append(data)
            pending_charset = charset
        pos = last_end = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


# --- the scanner --------------------------------------------------------------------------

_ATOM = re.compile(f"[{ATEXT_SET}{UTF8_NON_ASCII_SET}]+")
_WSP = re.compile(r"[ \t\r\n]+")
# Inside a quoted-string, comment or domain literal: runs with nothing to look at.
_QTEXT_RUN = re.compile(r'[^"\\\r\n\x00]+')
_CTEXT_RUN = re.compile(r"[^()\\\r\n\x00]+")
_DTEXT_RUN = re.compile(r"[^\[\]\\ \t\r\n\x00]+")
_SPECIALS = "<>:;@,."

# Gaps before a token: nothing, white space only, or a comment.
_NO_GAP, _SPACE, _COMMENT = 0, 1, 2


class _Token(NamedTuple):
    kind: str      # "atom", "qs" (quoted-string), "dl" (domain literal) or a special
    value: str     # atom text; quoted-string content; "[literal]"; the special
    start: int
    end: int
    gap: int       # what was between the previous token and this one


def _quoted(text: str, i: int, close: str, run: re.Pattern[str], *, what: str,
            rfc: str) -> tuple[str, int]:
    """The content of a quoted-string (from its DQUOTE at ``i``) or a domain literal:
    quoted-pairs resolved, line breaks (folding) removed."""
    n = len(text)
    out: list[str] = []
    j = i + 1
    while j < n:
        m = run.match(text, j)
        if m:
            out.append(m.group())
            j = m.end()
            continue
        ch = text[j]
        if ch == close:
            return "".join(out), j + 1
        if ch == "\\":
            if j + 1 >= n:
                break
            out.append(text[j + 1])
            j += 2
        elif ch in "\r\n":
            j += 1
        elif ch in " \t":
            out.append(ch)
            j += 1
        else:
            raise ParseError(f"{ch!r} is not allowed in a {what}", position=j, rfc=rfc,
                             text=text)
    raise ParseError(f"unterminated {what}", position=i, rfc=rfc, text=text)


def _skip_comment(text: str, i: int) -> int:
    """The end of the comment that opens at ``i`` (nested comments counted)."""
    n = len(text)
    depth = 0
    j = i
    while j < n:
        m = _CTEXT_RUN.match(text, j)
        if m:
            j = m.end()
            continue
        ch = text[j]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        elif ch == "\\":
            j += 1
        elif ch == "\x00":
            raise ParseError("NUL is not allowed in a comment", position=j,
                             rfc="RFC 5322 §3.2.2", text=text)
        j += 1
    raise ParseError("unterminated comment", position=i, rfc="RFC 5322 §3.2.2", text=text)


def _tokens(text: str) -> Iterator[_Token]:
    n = len(text)
    i = 0
    gap = _NO_GAP
    while i < n:
        ch = text[i]
        m = _WSP.match(text, i)
        if m:
            gap = max(gap, _SPACE)
            i = m.end()
            continue
        if ch == "(":
            i = _skip_comment(text, i)
            gap = _COMMENT
            continue
        m = _ATOM.match(text, i)
        if m:
            yield _Token("atom", m.group(), i, m.end(), gap)
            i = m.end()
        elif ch == '"':
            value, end = _quoted(text, i, '"', _QTEXT_RUN, what="quoted-string",
                                 rfc="RFC 5322 §3.2.4")
            yield _Token("qs", value, i, end, gap)
            i = end
        elif ch == "[":
            value, end = _quoted(text, i, "]", _DTEXT_RUN, what="domain literal",
                                 rfc="RFC 5322 §3.4.1")
            yield _Token("dl", "[" + "".join(value.split()) + "]", i, end, gap)
            i = end
        elif ch in _SPECIALS:
            yield _Token(ch, ch, i, i + 1, gap)
            i += 1
        else:
            what = {")": "')' without '('", "]": "']' without '['",
                    "\\": "'\\' outside a quoted-string or comment"}.get(
                        ch, f"character {ch!r} is not allowed here")
            raise ParseError(what, position=i, rfc=_RFC, text=text)
        gap = _NO_GAP


# --- the parser ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokens(text))
        self.i = 0
        # Every mailbox's domain and where it starts, in order (groups' members too).
        self.domains: list[tuple[str, int]] = []

    def peek(self) -> str:
        return self.tokens[self.i].kind if self.i < len(self.tokens) else ""

    def here(self) -> int:
        return self.tokens[self.i].start if self.i < len(self.tokens) else len(self.text)

    def fail(self, message: str, position: int | None = None) -> ParseError:
        return ParseError(message, position=self.here() if position is None else position,
                          rfc=_RFC, text=self.text)

    def expect(self, kind: str, message: str) -> _Token:
        if self.peek() != kind:
            found = self.peek()
            raise self.fail(f"{message}, found {repr(found) if found else 'the end'}")
        token = self.tokens[self.i]
        self.i += 1
        return token

    def words(self) -> list[_Token]:
        """A run of words and periods: a phrase or a local-part, told apart by what
        follows it."""
        start = self.i
        while self.peek() in ("atom", "qs", "."):
            self.i += 1
        return self.tokens[start:self.i]

    def raw(self, first: int) -> str:
        return self.text[self.tokens[first].start:self.tokens[self.i - 1].end]

    # phrase, local-part, domain

    def phrase(self, words: list[_Token]) -> str:
        """A display-name's text (phrase / obs-phrase, §3.2.5, §4.1): words joined as
        written (one space for any white space or comment), then RFC 2047 decoded."""
        if words[0].kind == ".":
            raise self.fail("a display-name starts with a word, not '.'", words[0].start)
        text = "".join((" " if t.gap and k else "") + t.value for k, t in enumerate(words))
        return decode_encoded_words(text)

    def local_part(self, words: list[_Token]) -> str:
        """local-part = dot-atom / quoted-string / obs-local-part (word *("." word))."""
        if not words:
            raise self.fail("an address has a local-part before '@'")
        for k, token in enumerate(words):
            if (token.kind == ".") != (k % 2 == 1):
                what = "'.' between words" if token.kind != "." else "a word around '.'"
                raise self.fail(f"a local-part needs {what}", token.start)
        if words[-1].kind == ".":
            raise self.fail("a local-part does not end with '.'", words[-1].start)
        return "".join(t.value for t in words)

    def domain(self) -> str:
        """domain = dot-atom / domain-literal / obs-domain (atom *("." atom))."""
        start = self.here()
        domain = self._domain()
        self.domains.append((domain, start))
        return domain

    def _domain(self) -> str:
        if self.peek() == "dl":
            token = self.tokens[self.i]
            self.i += 1
            return token.value
        labels = [self.expect("atom", "expected a domain after '@'").value]
        while self.peek() == ".":
            self.i += 1
            labels.append(self.expect("atom", "expected a domain label after '.'").value)
        return ".".join(labels)

    # addresses

    def angle_addr(self) -> tuple[str, str]:
        """angle-addr / obs-angle-addr, after its "<": the local-part and domain."""
        if self.peek() in ("@", ","):
            # obs-route: routing domains, which are ignored (RFC 5322 §4.4).
            while self.peek() == ",":
                self.i += 1
            self.expect("@", "expected '@' in a route")
            self._domain()
            while self.peek() == ",":
                self.i += 1
                if self.peek() == "@":
                    self.i += 1
                    self._domain()
            self.expect(":", "expected ':' after a route")
        if self.peek() == ">":
            raise self.fail("'<>' holds no address")
        local = self.local_part(self.words())
        self.expect("@", "expected '@' after the local-part")
        domain = self.domain()
        self.expect(">", "expected '>' after the address")
        return local, domain

    def mailbox_after(self, first: int, words: list[_Token]) -> Address:
        """A mailbox whose leading words have been read."""
        if self.peek() == "<":
            name = self.phrase(words) if words else None
            self.i += 1
            local, domain = self.angle_addr()
        elif self.peek() == "@":
            name = None
            local = self.local_part(words)
            self.i += 1
            domain = self.domain()
        else:
            found = self.peek()
            if not words:
                raise self.fail(f"expected an address, found {found!r}" if found
                                else "expected an address")
            raise self.fail("expected '@' or '<'" + (f", found {found!r}" if found
                                                    else " after the words"))
        return Address(name, local, domain, self.raw(first))

    def address(self, groups: bool) -> Address | Group:
        first = self.i
        words = self.words()
        if groups and self.peek() == ":" and words:
            name = self.phrase(words)
            self.i += 1
            members: list[Address] = []
            while True:
                while self.peek() == ",":
                    self.i += 1
                if self.peek() == ";":
                    break
                if not self.peek():
                    raise self.fail("a group ends with ';'")
                start = self.i
                members.append(self.mailbox_after(start, self.words()))
                if not self.peek():
                    raise self.fail("a group ends with ';'")
                if self.peek() not in (",", ";"):
                    raise self.fail("expected ',' or ';' after a group member")
            self.i += 1
            return Group(name, tuple(members), self.raw(first))
        return self.mailbox_after(first, words)

    def address_list(self, groups: bool) -> tuple[Address | Group, ...]:
        items: list[Address | Group] = []
        while True:
            while self.peek() == ",":
                self.i += 1
            if not self.peek():
                break
            items.append(self.address(groups))
            if self.peek() and self.peek() != ",":
                found = self.peek()
                raise self.fail(f"expected ',' between addresses, found {found!r}")
        if not items:
            raise self.fail("no address", 0)
        return tuple(items)


def _text(value: str | bytes | bytearray | memoryview) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        # RFC 6532 §3: header fields are UTF-8; invalid octets become U+FFFD.
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"an address list is str or bytes, not {type(value).__name__}")


def parse_address_list(value: str | bytes) -> tuple[Address | Group, ...]:
    """The addresses of an address-list (RFC 5322 §3.4): mailboxes and groups.

    ``value`` is a field body as it is in the message (folding allowed); bytes are
    decoded as UTF-8 (RFC 6532), invalid octets as U+FFFD. Error positions are
    character offsets in the text.

    :raises ParseError: when the text is not an address-list.
    """
    return _Parser(_text(value)).address_list(groups=True)


def parse_mailbox_list(value: str | bytes) -> tuple[Address, ...]:
    """The mailboxes of a mailbox-list (RFC 5322 §3.4), as in From without groups.

    :raises ParseError: when the text is not a mailbox-list (a group is refused).
    """
    items = _Parser(_text(value)).address_list(groups=False)
    return tuple(item for item in items if isinstance(item, Address))


# --- author domains for DMARC ---------------------------------------------------------------


def _author_domain(domain: str, text: str, position: int) -> str:
    """An author domain in canonical form, or ParseError when it names no host."""
    if domain.startswith("["):
        raise ParseError(f"the author address has a domain literal {domain}, not a domain "
                         "name", position=position, rfc=_RFC_AUTHOR, text=text)
    if len(domain) > 253 or any(len(label) > 63 for label in domain.split(".")):
        # Checked before IDNA, whose Punycode step is quadratic in a label's length.
        raise ParseError(f"author domain {domain[:40]!r}... is longer than a domain name",
                         position=position, rfc=_RFC_AUTHOR, text=text)
    try:
        name = normalize_domain(domain)
    except ValueError as exc:
        raise ParseError(f"author domain {domain!r} is not a domain name: {exc}",
                         position=position, rfc=_RFC_AUTHOR, text=text) from None
    if not is_host_name(name):
        raise ParseError(f"author domain {domain!r} is not a domain name",
                         position=position, rfc=_RFC_AUTHOR, text=text)
    return name


def _top_level(text: str) -> Iterator[tuple[int, str]]:
    """The characters of ``text`` outside quoted-strings, comments and domain literals,
    with their positions. A quoted-string stands as one '"', a domain literal as one
    "[", a comment as one space."""
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == '"':
            yield i, '"'
            i = _quoted(text, i, '"', _QTEXT_RUN, what="quoted-string",
                        rfc="RFC 5322 §3.2.4")[1]
        elif ch == "[":
            yield i, "["
            i = _quoted(text, i, "]", _DTEXT_RUN, what="domain literal",
                        rfc="RFC 5322 §3.4.1")[1]
        elif ch == "(":
            yield i, " "
            i = _skip_comment(text, i)
        elif ch == "\\":
            raise ParseError("'\\' outside a quoted-string or comment", position=i,
                             rfc=_RFC, text=text)
        else:
            yield i, ch
            i += 1


_Chars = list[tuple[int, str]]
_LENIENT_DOMAIN = re.compile(f"[{ATEXT_SET}{UTF8_NON_ASCII_SET}.]+")


def _elements(text: str) -> list[_Chars]:
    """The field split at ",", ";" and ":" outside quotes, comments, literals and
    angle brackets (a list, a group's name and end, a group's members)."""
    elements: list[_Chars] = [[]]
    opened: int | None = None
    for pos, ch in _top_level(text):
        if opened is None and ch in ",;:":
            elements.append([])
            continue
        if ch == "<":
            if opened is not None:
                raise ParseError("'<' inside '<...>'", position=pos, rfc=_RFC, text=text)
            opened = pos
        elif ch == ">":
            if opened is None:
                raise ParseError("'>' without '<'", position=pos, rfc=_RFC, text=text)
            opened = None
        elements[-1].append((pos, ch))
    if opened is not None:
        raise ParseError("'<' without '>'", position=opened, rfc=_RFC, text=text)
    return elements


def _element_domain(element: _Chars, text: str) -> tuple[str, int] | None:
    """The domain of one element of a field read leniently, or None for an element
    with no address."""
    opens = [k for k, (_, ch) in enumerate(element) if ch == "<"]
    if len(opens) > 1:
        raise ParseError("two '<...>' in one address", position=element[opens[1]][0],
                         rfc=_RFC, text=text)
    if opens:
        close = next(k for k in range(opens[0], len(element)) if element[k][1] == ">")
        stray = [pos for pos, ch in element[close + 1:] if ch in '@"[']
        if stray:
            raise ParseError("an address after '>'", position=stray[0], rfc=_RFC, text=text)
        source = element[opens[0] + 1:close]
        # obs-route: "<@a.example,@b.example:user@c.example>" names c.example.
        colons = [k for k, (_, ch) in enumerate(source) if ch == ":"]
        if colons:
            source = source[colons[-1] + 1:]
    else:
        source = element
    ats = [k for k, (_, ch) in enumerate(source) if ch == "@"]
    if not ats:
        if opens:
            raise ParseError("'<...>' holds no address", position=element[opens[0]][0],
                             rfc=_RFC, text=text)
        return None
    if len(ats) > 1:
        raise ParseError("two '@' in one address", position=source[ats[1]][0], rfc=_RFC,
                         text=text)
    rest = [(pos, ch) for pos, ch in source[ats[0] + 1:] if not ch.isspace()]
    domain = "".join(ch for _, ch in rest)
    position = rest[0][0] if rest else source[ats[0]][0] + 1
    if domain == "[":
        raise ParseError("the author address has a domain literal, not a domain name",
                         position=position, rfc=_RFC_AUTHOR, text=text)
    if not _LENIENT_DOMAIN.fullmatch(domain):
        raise ParseError("no domain after '@'", position=position, rfc=_RFC, text=text)
    return domain, position


def _lenient_domains(text: str) -> list[tuple[str, int]]:
    """The author domains of a From field that is not a valid address-list.

    The field is split into elements at ",", ";" and ":" outside quotes, comments,
    literals and angle brackets. An element with ``<...>`` gives the domain inside it,
    whatever its display name holds (``ceo@bank.example <x@evil.example>``); one
    without gives the domain after its only "@"; one with no "@" at all (a stray word,
    a group name) gives none. Anything that could be read as two addresses is refused:
    two angle-addrs in one element, an address after the ">", two "@" outside quotes.
    """
    found = []
    for element in _elements(text):
        domain = _element_domain(element, text)
        if domain is not None:
            found.append(domain)
    return found


def from_domains(value: str | bytes) -> tuple[str, ...]:
    """The author domains of a From field, for DMARC (RFC 7489 §6.6.1, RFC 9989).

    Each domain once, in order, in canonical form (A-labels, lower case, no trailing
    dot: :func:`mailauth._domain.normalize_domain`). Groups are read (RFC 6854 allows
    them in From) and their mailboxes count as authors.

    A field that is not a valid address-list is read leniently (see
    ``_lenient_domains``): the address inside ``<...>`` counts whatever the display
    name holds, stray words without "@" are skipped, and anything that could name two
    different addresses is refused. Encoded-words are never decoded here.

    :raises ParseError: when no author domain is found, when an author address has a
        domain literal or a domain that is not a domain name (a label outside letters,
        digits, "-" and "_", an all-numeric last label), or when the field could be
        read as different addresses.
    """
    text = _text(value)
    simple = _SIMPLE_FROM.fullmatch(text)
    if simple is not None:  # the usual shapes, read without the tokenizer
        at = 2 if simple.group(2) is not None else 4
        return (_author_domain(simple.group(at), text, simple.start(at)),)
    return _from_domains_reference(text)


# The shapes nearly every From field has, ASCII only, on one line: "addr@dom",
# "Display Name <addr@dom>" or '"Quoted Name" <addr@dom>'. Anything else (comments,
# folding, escapes, groups, several addresses, obs- forms) goes to the full reader.
_PHRASE = f"[{ATEXT_SET}]+(?:[ \t]+[{ATEXT_SET}]+)*"
_SIMPLE_QUOTED = '"[^"\\\r\n]*"'
_SIMPLE_LOCAL = f"[{ATEXT_SET}]+(?:\\.[{ATEXT_SET}]+)*"
_SIMPLE_DOMAIN = "[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)+"
_SIMPLE_FROM = re.compile(
    f"[ \t]*(?:(?:{_PHRASE}|{_SIMPLE_QUOTED})[ \t]*)?<({_SIMPLE_LOCAL})@({_SIMPLE_DOMAIN})>[ \t]*"
    f"|[ \t]*({_SIMPLE_LOCAL})@({_SIMPLE_DOMAIN})[ \t]*")


def _from_domains_reference(text: str) -> tuple[str, ...]:
    """:func:`from_domains` by the full reader alone: the reference its fast path is
    tested against (tests/test_address.py)."""
    try:
        parser = _Parser(text)
        parser.address_list(groups=True)
        pairs = parser.domains
    except ParseError:
        pairs = _lenient_domains(text)
    if not pairs:
        raise ParseError("no author address with a domain", position=0, rfc=_RFC_AUTHOR,
                         text=text)
    return tuple(dict.fromkeys(_author_domain(d, text, p) for d, p in pairs))
