"""Reading one field (RFC 8601 §2.2; RFC 8617 §4.1.1 for ``i=N;``): :func:`parse`, and
:class:`_Reader`, which reads what servers write and says, one warning each, where it
departs from the grammar.
"""

from __future__ import annotations

import re

from .._grammar import DOMAIN_RE, KEYWORD_RE, TOKEN_RE
from ..errors import ArgumentTypeError, ParseError
from ._model import AuthenticationResults, Property, ResInfo
from ._words import (
    _COMMENT_TEXT,
    _DIGITS,
    _FIELD_NAME,
    _FOLD,
    _JOINED,
    _JUNK,
    _LINE_BREAK,
    _MAX_DIGITS,
    _NAME,
    _PNAME,
    _PVALUE,
    _QTEXT,
    _REGISTERED,
    _RUN,
    _WSP,
)

__all__ = ["parse"]

_RFC = "RFC 8601 §2.2"

_MAX_WARNINGS = 32
_EXCERPT = 40


class _NoneMarker:
    """The ``none`` of RFC 8601 §2.2 no-result, where a resinfo would be."""


_NONE = _NoneMarker()


def _excerpt(text: str) -> str:
    text = text if len(text) <= _EXCERPT else text[:_EXCERPT - 3] + "..."
    return repr(text)


class _Reader:
    """A tokenizer and reader over one unfolded field body. Every step consumes at
    least one character or stops, so reading is linear in the body's length."""

    def __init__(self, text: str, warnings: list[str]) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.warnings = warnings
        self.more = 0
        self.collect: list[str] | None = None

    # -- plumbing --------------------------------------------------------------------
    def warn(self, message: str) -> None:
        if message in self.warnings:
            return
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.more += 1

    def error(self, message: str, position: int | None = None) -> ParseError:
        where = self.pos if position is None else position
        return ParseError(message, position=where, rfc=_RFC, text=self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def at_boundary(self) -> bool:
        """At the end of the field or at the ";" that ends a resinfo."""
        return self.pos >= self.n or self.text[self.pos] == ";"

    def match(self, pattern: re.Pattern[str]) -> str | None:
        m = pattern.match(self.text, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group()

    # -- RFC 5322 §3.2.2 CFWS, §3.2.4 quoted-string ----------------------------------------
    def cfws(self) -> None:
        """Skip white space and comments; comments go to ``self.collect``."""
        text = self.text
        while self.pos < self.n:
            ch = text[self.pos]
            if ch in " \t":
                self.match(_WSP)
            elif ch == "(":
                note = self.comment()
                if self.collect is not None:
                    self.collect.append(note)
            else:
                return

    def comment(self) -> str:
        """A comment at ``self.pos``: nested comments kept as written, quoted-pairs
        resolved, white space runs made one space (RFC 5322 §3.2.2)."""
        text, n = self.text, self.n
        out: list[str] = []
        depth = 0
        i = self.pos
        while i < n:
            ch = text[i]
            if ch == "(":
                depth += 1
                if depth > 1:
                    out.append(ch)
                i += 1
            elif ch == ")":
                depth -= 1
                i += 1
                if depth == 0:
                    break
                out.append(ch)
            elif ch == "\\":
                if i + 1 < n:
                    out.append(text[i + 1])
                i += 2
            else:
                m = _COMMENT_TEXT.match(text, i)
                assert m is not None
                out.append(m.group())
                i = m.end()
        else:
            self.warn("a comment is not closed: it runs to the end of the field")
        self.pos = min(i, n)
        return _WSP.sub(" ", "".join(out)).strip(" ")

    def quoted(self) -> str:
        """A quoted-string at ``self.pos``, unquoted (RFC 5322 §3.2.4)."""
        text, n = self.text, self.n
        out: list[str] = []
        i = self.pos + 1
        while i < n:
            ch = text[i]
            if ch == '"':
                self.pos = i + 1
                return "".join(out)
            if ch == "\\":
                if i + 1 < n:
                    out.append(text[i + 1])
                i += 2
                continue
            m = _QTEXT.match(text, i)
            assert m is not None
            out.append(m.group())
            i = m.end()
        self.warn("a quoted-string is not closed: it runs to the end of the field")
        self.pos = n
        return "".join(out)

    def skip_unit(self) -> None:
        """Skip one unit that makes no sense where it stands (never ";" or the end)."""
        if self.peek() == '"':
            self.quoted()
        elif self.match(_JUNK) is None:
            self.pos += 1  # ")": white space, "(" and ";" never reach here

    def skip_resinfo(self) -> None:
        """Skip to the ";" that ends the current resinfo, or to the end."""
        while True:
            self.cfws()
            if self.at_boundary():
                return
            self.skip_unit()

    def digits(self, what: str) -> int | None:
        found = self.match(_DIGITS)
        if found is None:
            return None
        if len(found) > _MAX_DIGITS:
            self.warn(f"the {what} {_excerpt(found)} is too long to be a number; ignored")
            return None
        return int(found)

    # -- RFC 8617 §4.1.1 instance ---------------------------------------------------------
    def instance(self) -> int | None:
        """``i=N;`` at the start of an ARC-Authentication-Results body."""
        start = self.pos
        self.cfws()
        if self.peek() in ("i", "I"):
            self.pos += 1
            self.cfws()
            if self.peek() == "=":
                self.pos += 1
                self.cfws()
                at = self.pos
                number = self.digits("instance")
                if self.pos > at:
                    self.cfws()
                    if self.peek() == ";":
                        self.pos += 1
                    else:
                        self.warn("no ';' after the ARC instance i= (RFC 8617 §4.1.1)")
                    if number is not None and not 1 <= number <= 50:
                        self.warn(f"the ARC instance i={number} is outside 1 to 50 "
                                  "(RFC 8617 §4.2.1)")
                    return number
        self.pos = start
        self.warn("no ARC instance: an ARC-Authentication-Results field starts with i=N; "
                  "(RFC 8617 §4.1.1)")
        return None

    # -- authserv-id and version -----------------------------------------------------------
    def looks_like_methodspec(self) -> bool:
        """True when a ``method[/version]=`` starts here (a field with no authserv-id)."""
        start, collect = self.pos, self.collect
        self.collect = None
        try:
            if self.match(_NAME) is None:
                return False
            self.cfws()
            if self.peek() == "/":
                self.pos += 1
                self.cfws()
                if self.match(_DIGITS) is None:
                    return False
                self.cfws()
            return self.peek() == "="
        finally:
            self.pos, self.collect = start, collect

    def authserv(self) -> tuple[str, int | None, bool]:
        """The authserv-id and version; the flag is True when the field has no
        authserv-id and starts with its first resinfo."""
        ch = self.peek()
        if ch == '"':
            authserv_id = self.quoted()
        elif ch == ";":
            self.warn("the authserv-id is missing before the first ';'")
            return "", None, False
        elif self.looks_like_methodspec():
            self.warn("no authserv-id: the field starts with a result "
                      "(as Microsoft Exchange writes it); authserv_id is ''")
            return "", None, True
        else:
            found = self.match(_RUN)
            if found is None:
                raise self.error(f"{ch!r} cannot start an authserv-id")
            authserv_id = found
            if not TOKEN_RE.fullmatch(found):
                self.warn(f"the authserv-id {_excerpt(found)} is not a token: "
                          "RFC 8601 §2.2 asks for a quoted-string")
        self.cfws()
        version = None
        m = _DIGITS.match(self.text, self.pos)
        if m is not None and (m.end() == self.n or self.text[m.end()] in " \t(;"):
            version = self.digits("authres-version")
            if version is not None and version != 1:
                self.warn(f"authres-version {version}: RFC 8601 defines version 1 only, "
                          "and readers set aside fields of versions they do not know (§5)")
            self.cfws()
        return authserv_id, version, False

    # -- resinfo ----------------------------------------------------------------------------
    def payload(self, arc: bool) -> tuple[int | None, str, int | None, list[ResInfo]]:
        """RFC 8601 §2.2 authres-payload (after RFC 8617 §4.1.1 ``i=N;`` when ``arc``)."""
        instance = self.instance() if arc else None
        self.cfws()
        if self.pos >= self.n:
            raise self.error("the field is empty: it needs an authserv-id and results")
        authserv_id, version, starts_with_result = self.authserv()
        results: list[ResInfo] = []
        saw_none = False
        first = True
        while self.pos < self.n:
            if self.peek() == ";":
                self.pos += 1
            elif not (first and starts_with_result):
                self.warn(f"no ';' before {_excerpt(self.text[self.pos:self.pos + 30])}")
            item = self.resinfo()
            first = False
            if item is _NONE:
                saw_none = True
            elif isinstance(item, ResInfo):
                results.append(item)
        if (not arc and starts_with_result and results and results[0].method == "i"
                and results[0].result.isdigit()):
            self.warn("the field starts with i=N; like an ARC-Authentication-Results body: "
                      "read it with arc=True")
        if saw_none and results:
            self.warn("'none' (no authentication done) stands among results; ignored")
        if not results and not saw_none:
            raise self.error("no result: neither 'none' nor any method=result",
                             position=self.n)
        return instance, authserv_id, version, results

    def resinfo(self) -> ResInfo | _NoneMarker | None:
        """One resinfo after its ";", up to the next ";" or the end."""
        comments: list[str] = []
        self.collect = comments
        try:
            self.cfws()
            if self.pos >= self.n:
                self.warn("a ';' ends the field with nothing after it")
                return None
            if self.peek() == ";":
                self.warn("an empty resinfo (';;') is skipped")
                return None
            return self.resinfo_body(comments)
        finally:
            self.collect = None

    def resinfo_body(self, comments: list[str]) -> ResInfo | _NoneMarker | None:
        """methodspec, then reasonspec and propspecs up to the next ';' (RFC 8601 §2.2)."""
        start = self.pos
        name = self.match(_NAME)
        if name is None:
            self.stray(start)
            return None
        method = name.lower()
        self.cfws()
        version = None
        if self.peek() == "/":
            self.pos += 1
            self.cfws()
            at = self.pos
            version = self.digits("method-version")
            if self.pos == at:
                self.stray(start)
                return None
            self.cfws()
        if self.peek() != "=":
            if method == "none" and version is None and self.at_boundary():
                return _NONE
            self.stray(start)
            return None
        self.pos += 1
        self.cfws()
        found = self.match(_NAME)
        if found is None:
            self.skip_resinfo()
            self.warn(f"{method}= has no result; the resinfo is skipped")
            return None
        result = found.lower()
        self.check_words(method, result)
        reason: str | None = None
        properties: list[Property] = []
        while True:
            self.cfws()
            if self.at_boundary():
                break
            reason = self.propspec(method, properties, reason)
        return ResInfo(method, result, version, reason, tuple(properties), tuple(comments))

    def stray(self, start: int) -> None:
        self.skip_resinfo()
        text = self.text[start:self.pos].strip(" \t")
        why = " (Microsoft writes the recipient's domain there)" if DOMAIN_RE.fullmatch(text) \
            else ""
        self.warn(f"{_excerpt(text)} stands where a method=result belongs; ignored{why}")

    def check_words(self, method: str, result: str) -> None:
        known = _REGISTERED.get(method)
        if known is not None:
            results, rfc = known
            if result not in results:
                self.warn(f"{method}={result}: {result!r} is not one of the results of "
                          f"{method} ({rfc}); kept as written")
        elif not KEYWORD_RE.fullmatch(method) or not KEYWORD_RE.fullmatch(result):
            self.warn(f"{method}={result} is not Keyword=Keyword (RFC 8601 §2.2); "
                      "kept as written")

    def propspec(self, method: str, properties: list[Property], reason: str | None
                 ) -> str | None:
        """One ``reason=value`` or ``ptype.property=pvalue`` (or a deviation);
        returns the reason so far."""
        start = self.pos
        first = self.match(_NAME)
        if first is None:
            self.skip_unit()
            self.warn(f"{_excerpt(self.text[start:self.pos])} in the {method} resinfo "
                      "is not a property; ignored")
            return reason
        self.cfws()
        if self.peek() == ".":
            self.pos += 1
            self.cfws()
            name = self.match(_PNAME)
            if name is not None:
                self.cfws()
            if name is None or self.peek() != "=":
                if not self.at_boundary():
                    self.skip_unit()
                self.warn(f"{_excerpt(self.text[start:self.pos].strip())} in the {method} "
                          "resinfo has no '=value'; ignored")
                return reason
            self.pos += 1
            ptype, name = first.lower(), name.lower()
            properties.append(Property(ptype, name, self.pvalue(f"{ptype}.{name}")))
            if not (KEYWORD_RE.fullmatch(ptype) and KEYWORD_RE.fullmatch(name)):
                self.warn(f"{ptype}.{name} is not Keyword.Keyword (RFC 8601 §2.2); "
                          "kept as written")
            return reason
        if self.peek() != "=":
            if not self.at_boundary() and self.pos == start + len(first):
                self.skip_unit()
            self.warn(f"{_excerpt(self.text[start:self.pos].strip())} in the {method} "
                      "resinfo is not a property; ignored")
            return reason
        self.pos += 1
        name = first.lower()
        if name == "reason":
            value = self.value("reason")
            if reason is None:
                if properties:
                    self.warn(f"reason= of {method} comes after its properties "
                              "(RFC 8601 §2.2 puts it first)")
                return value
            self.warn(f"{method} has a second reason=; kept as a property named 'reason'")
            properties.append(Property("", name, value))
            return reason
        properties.append(Property("", name, self.pvalue(name)))
        self.warn(f"{name}= has no ptype (RFC 8601 §2.2 ptype.property); "
                  "kept with ptype ''")
        return reason

    def value(self, what: str) -> str:
        """RFC 2045 value (token / quoted-string), as ``reason=`` has."""
        self.cfws()
        if self.peek() == '"':
            return self.quoted()
        found = self.match(_RUN)
        if found is None:
            self.warn(f"{what}= has no value")
            return ""
        if not TOKEN_RE.fullmatch(found):
            self.warn(f"the {what} {_excerpt(found)} is not a token: "
                      "RFC 8601 §2.2 asks for a quoted-string")
        return found

    def pvalue(self, key: str) -> str:
        """RFC 8601 §2.2 pvalue: a value, or ``[local-part] @ domain-name``."""
        self.cfws()
        start = self.pos
        if self.peek() == '"':
            content = self.quoted()
            if self.peek() != "@":
                return content
            self.match(_RUN)  # a quoted local-part: "john smith"@example.org, as written
            return self.text[start:self.pos]
        found = self.match(_RUN)
        if found is None:
            self.warn(f"{key}= has no value")
            return ""
        if _valid_pvalue(found):
            return found
        joined = _JOINED.search(found)
        if joined is not None:
            self.pos = start + joined.start()
            found = found[:joined.start()]
            self.warn(f"{key}={found} runs into the next property: the fold before "
                      "it was removed without its white space; read as two")
            if _valid_pvalue(found):
                return found
        if len(found) >= 2 and found[0] == "<" and found[-1] == ">":
            self.warn(f"{key}: the angle brackets around {_excerpt(found)} are removed")
            return found[1:-1]
        self.warn(f"the value {_excerpt(found)} of {key} is not a token or an address: "
                  "RFC 8601 §2.2 asks for a quoted-string")
        return found


def _valid_pvalue(text: str) -> bool:
    """An unquoted RFC 8601 §2.2 pvalue: a token, or ``[local-part] @ domain``."""
    return bool(TOKEN_RE.fullmatch(text) or ("@" in text and _PVALUE.fullmatch(text)))


def _decode(value: str | bytes) -> tuple[str, list[str]]:
    """The field as text: UTF-8 (RFC 8616), else Latin-1 (every byte kept, as a
    character U+0000-U+00FF) with a warning."""
    if isinstance(value, str):
        return value, []
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError:
            return data.decode("latin-1"), ["the field is not UTF-8 (RFC 8616): "
                                            "read as Latin-1"]
    raise ArgumentTypeError(f"parse() takes str or bytes, not {type(value).__name__}")


def _split_name(text: str, arc: bool) -> tuple[str, bool]:
    """The body without a leading field name; ARC-Authentication-Results means ARC."""
    m = _FIELD_NAME.match(text)
    if m is None:
        return text, arc
    name = m.group(1).lower()
    if not any(c.isalpha() for c in name):
        return text, arc  # "2001:db8::1" is a (bad) authserv-id, not a field name
    if name == "authentication-results" or name.endswith("-authentication-results"):
        return text[m.end():], arc or name == "arc-authentication-results"
    raise ParseError(f"a {m.group(1)} field, not Authentication-Results", position=0,
                     rfc=_RFC, text=text)


def parse(value: str | bytes, *, arc: bool = False) -> AuthenticationResults:
    """Read one Authentication-Results field (RFC 8601 §2.2).

    :param value: the field body (what follows ``Authentication-Results:``) or the whole
        field, name included (matched case-insensitively; ``ARC-Authentication-Results``
        and renamed fields such as ``X-MS-Exchange-Authentication-Results`` are accepted).
        Folding (CRLF or LF before white space) is removed first. Bytes are decoded as
        UTF-8 (RFC 8616), or else as Latin-1, with a warning.
    :param arc: the body starts with ``i=N;`` (ARC-Authentication-Results, RFC 8617
        §4.1.1); implied by the name ``ARC-Authentication-Results``.
    :raises ParseError: only for a field that cannot be read at all: empty, another
        field's name, or without any ``method=result`` or ``none``. ``position`` is
        counted in the unfolded body.
    :raises ArgumentTypeError: when ``value`` is neither str nor bytes.
    """
    text, warnings = _decode(value)
    body, arc = _split_name(text, arc)
    raw = body
    body = _FOLD.sub("", body).rstrip("\r\n")
    if "\r" in body or "\n" in body:
        warnings.append("a line break inside the field is not followed by white space; "
                        "read as a space")
        body = _LINE_BREAK.sub(" ", body)
    reader = _Reader(body, warnings)
    instance, authserv_id, version, results = reader.payload(arc)
    if reader.more:
        warnings.append(f"... and {reader.more} more warnings")
    return AuthenticationResults(authserv_id, version, tuple(results), instance,
                                 tuple(warnings), raw)
