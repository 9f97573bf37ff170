"""The fast path of parse_aggregate: records read by regular expressions.

A report is mostly records, and real records are plain: elements without attributes,
comments or entity references, in the usual words. This path lets expat check the
whole document exactly as the plain path does (well-formed, no DTD, the same limits)
but builds no elements for the records: each ``<record>...</record>`` is cut out of
the bytes and read by two regular expressions. A record with anything unusual
(an unknown element, an upper-case word, an entity, a comment, an extension) is
read by the plain path's own code on elements made from its bytes alone, and the
document's head and tail (metadata, policy, extensions) always are. So both paths
give the same report: tests/test_reports_aggregate.py compares them on every sample
and on generated and mutated reports.

When the document is not one this path can cut safely (not UTF-8, a prefixed root,
a comment before the records, a head or a record over 1 MiB), it says so and
``parse_aggregate`` takes the plain path from the start.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterable
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, TreeBuilder

from ..errors import ParseError
from ._model import DKIMAuthResult, PolicyOverride, ReportRecord, SPFAuthResult
from ._xml import TreeParser

if TYPE_CHECKING:
    from ._aggregate import _Reader

__all__ = ["Bail", "scan"]

_MAX_HEAD = 1024 * 1024
_MAX_RECORD = 1024 * 1024
_DECL = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


def _leaf(name: str) -> str:
    return rf"<{name}>([^<&]*)</{name}>\s*"


# A plain record in the layout reporters write: one match reads it all. Anything else
# (another order, an unknown element, attributes, comments, references) does not
# match and goes to the plain path's reader.
_CANON = re.compile(
    rf"\s*<row>\s*{_leaf('source_ip')}{_leaf('count')}<policy_evaluated>\s*"
    rf"{_leaf('disposition')}{_leaf('dkim')}{_leaf('spf')}"
    r"((?:<reason>\s*<type>[^<&]*</type>\s*(?:<comment>[^<&]*</comment>\s*)?"
    r"</reason>\s*)*)</policy_evaluated>\s*</row>\s*<identifiers>\s*"
    rf"(?:{_leaf('envelope_to')})?(?:{_leaf('envelope_from')})?{_leaf('header_from')}"
    rf"(?:{_leaf('envelope_from')})?(?:{_leaf('envelope_to')})?</identifiers>\s*"
    r"<auth_results>\s*((?:<(?:dkim|spf)>(?:\s*<[a-z_]+>[^<&]*</[a-z_]+>)*\s*"
    r"</(?:dkim|spf)>\s*)*)</auth_results>\s*")
_REASONS = re.compile(r"<reason>\s*<type>([^<&]*)</type>\s*(?:<comment>([^<&]*)"
                      r"</comment>\s*)?</reason>")
_DKIM = re.compile(rf"<dkim>\s*{_leaf('domain')}(?:{_leaf('selector')})?{_leaf('result')}"
                   rf"(?:{_leaf('human_result')})?</dkim>")
_SPF = re.compile(rf"<spf>\s*{_leaf('domain')}(?:{_leaf('scope')})?{_leaf('result')}"
                  rf"(?:{_leaf('human_result')})?</spf>")
_DISPOSITIONS = frozenset({"none", "pass", "quarantine", "reject"})
_EVALUATED = frozenset({"pass", "fail"})
_WORDS = frozenset({"pass", "fail", "none", "neutral", "policy", "temperror", "permerror",
                    "softfail"})
_SCOPES = frozenset({"", "mfrom", "helo"})


class Bail(Exception):
    """This document is not one the fast path reads: take the plain path."""


def scan(pieces: Iterable[bytes], reader: _Reader) -> bytes:
    """Check the document with expat and read its plain records into
    ``reader.records``; returns the document without its records (head and tail), for
    the plain path to read.

    :raises Bail: when the plain path must read the document from the start.
    :raises ParseError: as the plain path would (refusals, limits, malformed XML).
    """
    checker = TreeParser(None)
    state = _State(reader)
    try:
        checker.feed(pieces, state.piece)
    except ParseError:
        if checker.malformed:
            raise Bail from None  # the plain path reads it again, and may repair it
        raise
    return state.finish()


class _State:
    __slots__ = ("buf", "head", "pos", "reader", "tail")

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.buf = bytearray()
        self.pos = 0
        self.head: bytes | None = None
        self.tail = False

    def piece(self, piece: bytes) -> None:
        buf = self.buf
        buf += piece
        if self.head is None:
            at = buf.find(b"<record>")
            if at < 0:
                if len(buf) > _MAX_HEAD:
                    raise Bail
                return
            head = bytes(buf[:at])
            m = _DECL.match(head.lstrip(b"\xef\xbb\xbf \t\r\n"))
            if m and m.group(1).lower() not in (b"utf-8", b"us-ascii", b"ascii"):
                raise Bail
            if (b"<!" in head or b"<record" in head
                    or head[:2] in (b"\xff\xfe", b"\xfe\xff")):
                raise Bail
            self.head = head
            self.pos = at
        if self.tail:
            if len(buf) - self.pos > _MAX_HEAD:
                raise Bail
            return
        pos = self.pos
        find = buf.find
        take = self.reader.take_record
        reader = self.reader
        while True:
            start = find(b"<record>", pos)
            if start < 0 or (start > pos and buf[pos:start].strip()):
                break
            end = find(b"</record>", start)
            if end < 0:
                break
            take(_record(bytes(buf[start + 8:end]), reader))
            pos = end + 9
        self.pos = pos
        rest = buf[pos:pos + 16].lstrip()
        if rest and not b"<record>".startswith(rest[:8]):
            self.tail = True  # what follows the records: read by the plain path
        elif len(buf) - pos > _MAX_RECORD:
            raise Bail
        if pos > 65536:
            del buf[:pos]
            self.pos = 0

    def finish(self) -> bytes:
        if self.head is None:
            raise Bail  # no record found: the plain path reads it all
        rest = bytes(self.buf[self.pos:])
        if b"<record" in rest:
            raise Bail  # a record the cut did not find
        return self.head + rest


def _record(body: bytes, reader: _Reader) -> ReportRecord | Element:
    """The record in ``body``, or an element for the plain path's reader."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Bail from None
    m = _CANON.fullmatch(text)
    if m is None:
        return _element(body)
    (ip, count, disposition, dkim, spf, reasons, to_a, from_a, header_from, from_b, to_b,
     auth) = m.groups()
    if (from_a is not None and from_b is not None) or (to_a is not None and to_b is not None):
        return _element(body)
    count = count.strip()
    header_from = header_from.strip()
    disposition = disposition.strip()
    dkim = dkim.strip()
    spf = spf.strip()
    if (not count.isdigit() or not count.isascii() or not header_from
            or disposition not in _DISPOSITIONS or dkim not in _EVALUATED
            or spf not in _EVALUATED):
        return _element(body)
    overrides = []
    if reasons:
        for kind, comment in _REASONS.findall(reasons):
            kind = kind.strip()
            if not kind or not kind.islower():
                return _element(body)
            overrides.append(PolicyOverride(kind, comment.strip() or None))
    dkims = _DKIM.findall(auth) if "<dkim>" in auth else []
    spfs = _SPF.findall(auth)
    if len(dkims) + len(spfs) != auth.count("<dkim>") + auth.count("<spf>"):
        return _element(body)
    dkim_results = []
    for domain, selector, result, human in dkims:
        result = result.strip()
        if result not in _WORDS:
            return _element(body)
        dkim_results.append(DKIMAuthResult(domain.strip(), selector.strip() or None, result,
                                           human.strip() or None))
    spf_results = []
    for domain, scope, result, human in spfs:
        result = result.strip()
        scope = scope.strip()
        if result not in _WORDS or scope not in _SCOPES:
            return _element(body)
        spf_results.append(SPFAuthResult(domain.strip(), scope or None, result,
                                         human.strip() or None))
    try:
        address = reader.address(ip.strip())
    except ValueError:
        return _element(body)
    envelope_from = from_a if from_a is not None else from_b
    envelope_to = to_a if to_a is not None else to_b
    return ReportRecord(address, int(count), disposition, dkim, spf, tuple(overrides),
                        header_from,
                        None if envelope_from is None else envelope_from.strip(),
                        None if envelope_to is None else (envelope_to.strip() or None),
                        tuple(dkim_results), tuple(spf_results))


def _element(body: bytes) -> Element:
    """The record's bytes as an element, for the plain path's reader."""
    builder = TreeBuilder()
    p = xml.parsers.expat.ParserCreate("utf-8")
    p.buffer_text = True
    p.StartElementHandler = builder.start
    p.EndElementHandler = builder.end
    p.CharacterDataHandler = builder.data
    try:
        p.Parse(b"<record>" + body + b"</record>", True)
    except xml.parsers.expat.ExpatError:
        raise Bail from None  # the cut was wrong (a comment holding </record>?)
    return builder.close()
