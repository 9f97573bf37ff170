"""Reading received DMARC aggregate reports (RFC 9990 §2, RFC 7489 Appendix C).

:func:`parse_aggregate` takes what arrived (XML, gzip, zip, or the whole mail
message), unpacks it as a stream within limits (see ``_containers``), reads the XML
with the safe expat driver (see ``_xml``), and gives an
:class:`~mailauth.reports.AggregateReport`.

Real reporters stray from the RFC; what can still be read is read, and each kind of
deviation is said once in ``AggregateReport.warnings``: words in upper case
(``Pass``, ``None``), empty override reasons, unknown elements, a missing
``<email>`` or ``<report_id>``, bytes that are not UTF-8, a stray ``<`` or ``&`` in
text, bytes after the gzip data, a record whose address or count cannot be read
(left out, and said). What leaves no report (no ``<feedback>`` root, no
``<report_metadata>``, ``<date_range>`` or ``<policy_published>``, XML that cannot be
repaired, a passed limit) is a :class:`~mailauth.ParseError`.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from .._arguments import check_int
from ..errors import ArgumentTypeError, ParseError
from ._containers import (
    DEFAULT_MAX_INFLATED,
    DEFAULT_MAX_NESTING,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_ZIP_MEMBERS,
    Limits,
    open_document,
)
from ._gcpause import collector_paused
from ._model import (
    NAMESPACE,
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    PublishedPolicy,
    ReportRecord,
    SPFAuthResult,
)
from ._scan import Bail, scan
from ._xml import Element, TreeParser, node_to_xml, repair

__all__ = ["parse_aggregate"]

_RFC = "RFC 9990 §2"
_DAY = 86400
_DAY_SLACK = 3600   # reporters round their period a little; not worth a warning
_MAX_REPAIR = 8 * 1024 * 1024  # the largest document re-read after a repair
_FAST_FROM = 4096  # smaller inputs take the plain path: the fast one gains nothing there
_RFC9990_ONLY = frozenset({"testing", "discovery_method"})  # np is RFC 9091's too
_IPV4 = re.compile(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\."
                   r"(0|[1-9][0-9]{0,2})")
_IPv4Address = ipaddress.IPv4Address


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address(text)``, faster for dotted quads (a report holds
    thousands). tests/test_reports_aggregate.py compares it with the reference."""
    m = _IPV4.fullmatch(text)
    if m is not None:
        a, b, c, d = map(int, m.groups())
        if a < 256 and b < 256 and c < 256 and d < 256:
            return _IPv4Address((a << 24) | (b << 16) | (c << 8) | d)
    return ipaddress.ip_address(text)


class _Malformed(Exception):
    """The XML was not well-formed: worth one repair attempt."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(str(error))
        self.error = error


def parse_aggregate(data: bytes | bytearray | memoryview, *,
                    max_size: int = DEFAULT_MAX_SIZE,
                    max_inflated: int = DEFAULT_MAX_INFLATED,
                    max_zip_members: int = DEFAULT_MAX_ZIP_MEMBERS,
                    max_nesting: int = DEFAULT_MAX_NESTING,
                    max_records: int = DEFAULT_MAX_RECORDS) -> AggregateReport:
    """Read a received DMARC aggregate report (RFC 9990 §2, RFC 7489 §7.2).

    What RFC 9990 calls the aggregate feedback report, in any form it travels in: the
    XML document, gzip (``application/gzip``), zip (what Google and others send), or
    the whole mail message, whose report attachment is found by media type or file
    name (RFC 9990 §3.1.1). RFC 7489-era reports read into the same model
    (``format="rfc7489"``, with ``pct`` and their override types kept).

    The XML is read by expat with no DTD: a ``<!DOCTYPE`` (and so any entity
    declaration or external entity) is refused, and no file or URL is ever opened.

    :param data: the bytes received.
    :param max_size: the largest input read, in bytes (32 MiB).
    :param max_inflated: the largest XML document after decompression, in bytes
        (32 MiB); decompression is streamed and stops there.
    :param max_zip_members: the most members a zip archive may hold (16).
    :param max_nesting: how many archives may sit inside an archive (1: a gzip inside
        a zip is read, a third level is not).
    :param max_records: the most ``<record>`` elements read (200,000).
    :raises ParseError: for input that is not a report, passes a limit, or lacks what
        every report needs; the message says which.
    """
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise ArgumentTypeError(f"parse_aggregate() takes bytes, not {type(data).__name__}")
    check_int("max_size", max_size, minimum=1)
    check_int("max_inflated", max_inflated, minimum=1)
    check_int("max_zip_members", max_zip_members, minimum=1)
    check_int("max_nesting", max_nesting, minimum=0)
    check_int("max_records", max_records, minimum=0)
    if len(data) > max_size:
        raise ParseError(f"the input is {len(data)} bytes (the limit max_size={max_size})",
                         rfc=_RFC)
    limits = Limits(max_size, max_inflated, max_zip_members, max_nesting, max_records)
    # The cyclic garbage collector is paused while the model is built (_gcpause).
    with collector_paused():
        return _parse(data, limits, fast=len(data) > _FAST_FROM)


def _parse(data: bytes, limits: Limits, *, fast: bool) -> AggregateReport:
    """parse_aggregate's work; ``fast=False`` is the plain path alone, the reference
    the tests compare the fast path with."""
    if fast:
        warnings: dict[str, None] = {}
        reader = _Reader(limits, warnings)
        try:
            rest = scan(open_document(data, limits, warnings), reader)
            return _read(iter((rest,)), limits, warnings, None, reader)
        except Bail:
            pass
    try:
        warnings = {}
        return _read(open_document(data, limits, warnings), limits, warnings, None)
    except _Malformed as bad:
        error = bad.error
    # Not well-formed: read the document whole (small ones only) and try one repair.
    warnings = {}
    try:
        small = Limits(limits.max_size, min(limits.max_inflated, _MAX_REPAIR),
                       limits.max_zip_members, limits.max_nesting, limits.max_records)
        document = b"".join(open_document(data, small, warnings))
    except ParseError:
        raise error from None
    fixed, changes = repair(document)
    if not changes:
        raise error
    for change in changes:
        warnings[change] = None
    try:
        return _read(iter((fixed,)), limits, warnings, "utf-8")
    except _Malformed:
        raise error from None


def _read(pieces: Any, limits: Limits, warnings: dict[str, None],
          encoding: str | None, reader: _Reader | None = None) -> AggregateReport:
    """The plain path: elements built as the document is parsed, records taken away
    as they end (see ``_xml.TreeParser``)."""
    reader = reader or _Reader(limits, warnings)
    parser = TreeParser(reader.take, encoding=encoding)
    try:
        root = parser.feed(pieces)
    except ParseError as exc:
        if parser.malformed:
            raise _Malformed(exc) from None
        raise
    if root is None:  # pragma: no cover - a TreeParser with take always builds
        raise ParseError("no XML element found", rfc=_RFC)
    namespace = NAMESPACE if NAMESPACE in root.attrib.values() else ""
    if reader.prefixed:
        _unprefix(root)
    return reader.report(root, namespace)


def _unprefix(element: Element) -> None:
    """Element names without their namespace prefix (``dmarc:record`` → ``record``)."""
    for e in element.iter():
        if ":" in e.tag:
            e.tag = e.tag.rpartition(":")[2]


def _warn_unknown(warnings: dict[str, None], name: str, where: str) -> None:
    warnings[f"unknown element <{name}> in <{where}> ignored"] = None


class _Reader:
    """Turns the parsed elements into the model, noting each deviation once."""

    __slots__ = ("limits", "prefixed", "records", "warnings")

    def __init__(self, limits: Limits, warnings: dict[str, None]) -> None:
        self.limits = limits
        self.prefixed: bool | None = None
        self.warnings = warnings
        self.records: list[ReportRecord] = []

    # --- words ----------------------------------------------------------------------

    def word(self, text: str, what: str) -> str:
        """A keyword of the schema, lower-cased (with a warning when it was not)."""
        w = text.strip()
        low = w.lower()
        if low != w:
            self.warnings[f"{what} written as {w!r}, read as {low!r}"] = None
        return low

    def optional(self, text: str) -> str | None:
        w = text.strip()
        return w or None

    # --- records --------------------------------------------------------------------

    address = staticmethod(_ip_address)

    def take_record(self, record: ReportRecord | Element) -> None:
        """One record from the fast path: read already, or an element to read."""
        limit = self.limits.max_records
        if len(self.records) >= limit:
            raise ParseError(f"more than {limit} records (the limit "
                             f"max_records={limit})", rfc=_RFC)
        if isinstance(record, ReportRecord):
            self.records.append(record)
            return
        read = self.record(record)
        if read is not None:
            self.records.append(read)

    def take(self, root: Element, final: bool) -> None:
        """Turn the finished ``<record>`` children of the root into the model and drop
        them (all but the last, which may still be open, unless ``final``)."""
        if self.prefixed is None:
            self.prefixed = ":" in root.tag
        children = list(root)
        if not final:
            children = children[:-1]
        done = []
        for child in children:
            tag = child.tag
            if self.prefixed and ":" in tag:
                _unprefix(child)
                tag = child.tag
            if tag == "record":
                done.append(child)
        if not done:
            return
        limit = self.limits.max_records
        for child in done:
            root.remove(child)
            if len(self.records) >= limit:
                raise ParseError(f"more than {limit} records (the limit "
                                 f"max_records={limit})", rfc=_RFC)
            record = self.record(child)
            if record is not None:
                self.records.append(record)

    def record(self, node: Element) -> ReportRecord | None:
        warnings = self.warnings
        ip_text = count_text = None
        evaluated: Element | None = None
        header_from = ""
        envelope_from = envelope_to = None
        dkims: list[DKIMAuthResult] = []
        spfs: list[SPFAuthResult] = []
        extensions: list[str] = []
        seen_identifiers = False
        for child in node:
            tag = child.tag
            if tag == "row":
                for c in child:
                    t = c.tag
                    if t == "source_ip":
                        ip_text = (c.text or "")
                    elif t == "count":
                        count_text = (c.text or "")
                    elif t == "policy_evaluated":
                        evaluated = c
                    else:
                        _warn_unknown(warnings, t, "row")
            elif tag == "identifiers":
                seen_identifiers = True
                for c in child:
                    t = c.tag
                    if t == "header_from":
                        header_from = (c.text or "").strip()
                    elif t == "envelope_from":
                        envelope_from = (c.text or "").strip()
                    elif t == "envelope_to":
                        envelope_to = (c.text or "").strip() or None
                    else:
                        _warn_unknown(warnings, t, "identifiers")
            elif tag == "auth_results":
                for c in child:
                    t = c.tag
                    if t == "dkim":
                        dkims.append(self.dkim(c))
                    elif t == "spf":
                        spfs.append(self.spf(c))
                    else:
                        _warn_unknown(warnings, t, "auth_results")
            elif tag == "extensions":
                extensions.extend(node_to_xml(c) for c in child)
            else:
                extensions.append(node_to_xml(child))
        if not seen_identifiers or not header_from:
            warnings["a record without <identifiers><header_from>"] = None
        if ip_text is None:
            warnings["a record without <source_ip> was left out"] = None
            return None
        try:
            ip = _ip_address(ip_text.strip())
        except ValueError:
            warnings[f"a record with the source_ip {ip_text.strip()[:60]!r}, not an IP "
                     f"address, was left out"] = None
            return None
        count = self.count(count_text)
        if count is None:
            return None
        disposition = ""
        dkim = spf = None
        reasons: list[PolicyOverride] = []
        if evaluated is None:
            warnings["a record without <policy_evaluated>"] = None
        else:
            for c in evaluated:
                t = c.tag
                if t == "disposition":
                    disposition = self.word((c.text or ""), "disposition")
                elif t == "dkim":
                    dkim = self.word((c.text or ""), "policy_evaluated dkim") or None
                elif t == "spf":
                    spf = self.word((c.text or ""), "policy_evaluated spf") or None
                elif t == "reason":
                    reason = self.reason(c)
                    if reason is not None:
                        reasons.append(reason)
                else:
                    _warn_unknown(warnings, t, "policy_evaluated")
        return ReportRecord(ip, count, disposition, dkim, spf, tuple(reasons), header_from,
                            envelope_from, envelope_to, tuple(dkims), tuple(spfs),
                            tuple(extensions))

    def count(self, text: str | None) -> int | None:
        if text is None:
            self.warnings["a record without <count> was left out"] = None
            return None
        t = text.strip()
        if t.isdigit() and t.isascii():
            return int(t)
        try:
            value = float(t)
        except ValueError:
            value = -1.0
        if value >= 0 and value == int(value) and value < 2**63:
            self.warnings[f"a count written as {t!r}, read as {int(value)}"] = None
            return int(value)
        self.warnings[f"a record with the count {t[:40]!r}, not a number, was left "
                      f"out"] = None
        return None

    def reason(self, node: Element) -> PolicyOverride | None:
        kind = comment = None
        for c in node:
            if c.tag == "type":
                kind = self.word((c.text or ""), "reason type")
            elif c.tag == "comment":
                comment = self.optional(c.text or "")
            else:
                _warn_unknown(self.warnings, c.tag, "reason")
        if not kind:
            self.warnings["a <reason> without a type was ignored"] = None
            return None
        return PolicyOverride(kind, comment)

    def dkim(self, node: Element) -> DKIMAuthResult:
        domain = ""
        selector = human = None
        result = ""
        for c in node:
            t = c.tag
            if t == "domain":
                domain = (c.text or "").strip()
            elif t == "selector":
                selector = self.optional(c.text or "")
            elif t == "result":
                result = self.word((c.text or ""), "DKIM result")
            elif t == "human_result":
                human = self.optional(c.text or "")
            else:
                _warn_unknown(self.warnings, t, "dkim")
        return DKIMAuthResult(domain, selector, result, human)

    def spf(self, node: Element) -> SPFAuthResult:
        domain = ""
        scope = human = None
        result = ""
        for c in node:
            t = c.tag
            if t == "domain":
                domain = (c.text or "").strip()
            elif t == "scope":
                scope = self.word((c.text or ""), "SPF scope") or None
            elif t == "result":
                result = self.word((c.text or ""), "SPF result")
            elif t == "human_result":
                human = self.optional(c.text or "")
            else:
                _warn_unknown(self.warnings, t, "spf")
        return SPFAuthResult(domain, scope, result, human)

    # --- the report -----------------------------------------------------------------

    def report(self, root: Element, namespace: str) -> AggregateReport:
        warnings = self.warnings
        if root.tag != "feedback":
            raise ParseError(f"the root element is <{root.tag}>, not <feedback>: not a DMARC "
                             f"aggregate report", rfc=_RFC)
        version = None
        metadata = published = None
        extensions: list[str] = []
        for child in root:
            tag = child.tag
            if tag == "version":
                version = self.optional(child.text or "")
            elif tag == "report_metadata":
                metadata = child
            elif tag == "policy_published":
                published = child
            elif tag in ("extension", "extensions"):
                extensions.extend(node_to_xml(c) for c in child)
            else:
                _warn_unknown(warnings, tag, "feedback")
        if metadata is None:
            raise ParseError("the report has no <report_metadata>", rfc=_RFC)
        if published is None:
            raise ParseError("the report has no <policy_published>", rfc=_RFC)
        meta: dict[str, str] = {}
        errors: list[str] = []
        begin = end = None
        for c in metadata:
            t = c.tag
            if t == "date_range":
                for d in c:
                    if d.tag == "begin":
                        begin = self.timestamp((d.text or ""), "begin")
                    elif d.tag == "end":
                        end = self.timestamp((d.text or ""), "end")
                    else:
                        _warn_unknown(warnings, d.tag, "date_range")
            elif t == "error":
                if (c.text or "").strip():
                    errors.append((c.text or "").strip())
            elif t in ("org_name", "email", "extra_contact_info", "report_id", "generator"):
                meta[t] = (c.text or "").strip()
            else:
                _warn_unknown(warnings, t, "report_metadata")
        if begin is None or end is None:
            raise ParseError("the report has no <date_range> with <begin> and <end>",
                             rfc=_RFC)
        span = (end - begin).total_seconds()
        if span < 0:
            warnings["the date range ends before it begins"] = None
        elif span > _DAY + _DAY_SLACK:
            warnings[f"the date range covers {span / _DAY:.1f} days; reports usually "
                     f"cover one day (RFC 7489's ri= default, 86400 s)"] = None
        for name in ("org_name", "email", "report_id"):
            if not meta.get(name):
                warnings[f"<report_metadata> has no {name}"] = None
        pol: dict[str, str] = {}
        for c in published:
            t = c.tag
            if t in ("domain", "fo"):
                pol[t] = (c.text or "").strip()
            elif t in ("p", "sp", "np", "adkim", "aspf", "testing", "discovery_method"):
                pol[t] = self.word((c.text or ""), t)
            elif t == "pct":
                pol[t] = (c.text or "").strip()
            elif t == "version_published":
                warnings["<version_published> (a draft's element) ignored"] = None
            else:
                _warn_unknown(warnings, t, "policy_published")
        if not pol.get("domain"):
            warnings["<policy_published> has no domain"] = None
        if not pol.get("p"):
            warnings["<policy_published> has no p"] = None
        pct = None
        if "pct" in pol:
            try:
                pct = int(pol["pct"])
            except ValueError:
                warnings[f"pct {pol['pct'][:20]!r} is not a number; ignored"] = None
        is_9990 = (namespace == NAMESPACE or bool(_RFC9990_ONLY & pol.keys())
                   or "generator" in meta)
        if is_9990:
            if pct is not None:
                warnings["pct, an RFC 7489 tag, in an RFC 9990 report"] = None
            if version is not None and version != "1.0":
                warnings[f"version {version!r}; RFC 9990 says 1.0"] = None
        if not self.records:
            warnings["the report has no <record> (RFC 9990 asks for at least one)"] = None
        policy = PublishedPolicy(
            domain=pol.get("domain", ""), p=pol.get("p", ""), sp=pol.get("sp") or None,
            np=pol.get("np") or None, adkim=pol.get("adkim") or None,
            aspf=pol.get("aspf") or None, pct=pct, fo=pol.get("fo") or None,
            testing=pol.get("testing") or None,
            discovery_method=pol.get("discovery_method") or None)
        return AggregateReport(
            org_name=meta.get("org_name", ""), email=meta.get("email", ""),
            report_id=meta.get("report_id", ""), date_begin=begin, date_end=end,
            policy=policy, records=tuple(self.records), version=version,
            extra_contact_info=meta.get("extra_contact_info") or None,
            generator=meta.get("generator") or None, errors=tuple(errors),
            extensions=tuple(extensions), warnings=tuple(warnings),
            format="rfc9990" if is_9990 else "rfc7489")

    def timestamp(self, text: str, what: str) -> datetime:
        t = text.strip()
        try:
            value = int(t) if t.isdigit() else int(float(t))
            if not t.isdigit():
                self.warnings[f"the {what} time written as {t!r}"] = None
            return datetime.fromtimestamp(value, UTC)
        except (ValueError, OverflowError, OSError):
            raise ParseError(f"the date_range {what} {t[:40]!r} is not a time in seconds "
                             f"since the epoch", rfc=_RFC) from None
