"""The TLS-RPT record at ``_smtp._tls.<domain>`` and its discovery (RFC 8460 §3).

    tlsrpt-record     = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
    field-delim       = *WSP ";" *WSP
    tlsrpt-field      = tlsrpt-rua / tlsrpt-extension
    tlsrpt-version    = %s"v=TLSRPTv1"
    tlsrpt-rua        = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
    tlsrpt-uri        = URI                 ; "," and "!" percent-encoded
    tlsrpt-extension  = tlsrpt-ext-name "=" tlsrpt-ext-value
    tlsrpt-ext-name   = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
    tlsrpt-ext-value  = 1*(%x21-3A / %x3C / %x3E-7E)

Discovery: TXT records that do not begin with ``v=TLSRPTv1`` are discarded; if the
number left is not one, the domain does not implement TLS-RPT. A DNS failure is a
temporary error, never "no policy".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._display import Card, Displayed
from .._flow import Flow, Outcome, query
from ..errors import ParseError
from ..status import Status

__all__ = ["TLSRPTPolicyResult", "TLSRPTRecord", "is_tlsrpt_record", "parse_record",
           "tlsrpt_policy_flow"]

_RFC = "RFC 8460 §3"
_VERSION = re.compile(r"v=TLSRPTv1[ \t]*(?:;|$)")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.+)", re.S)
_WSP = " \t"
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _unquote(text: str) -> str:
    """Percent-decoding (RFC 3986 §2.1), as UTF-8; invalid octets become U+FFFD."""
    if "%" not in text:
        return text
    raw = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text)
    return raw.encode("latin-1", "replace").decode("utf-8", "replace") \
        if raw.isascii() or all(ord(c) < 256 for c in raw) else raw


def is_tlsrpt_record(text: str) -> bool:
    """True for a TXT record that begins with ``v=TLSRPTv1`` (RFC 8460 §3)."""
    return _VERSION.match(text) is not None


@dataclass(frozen=True, slots=True)
class TLSRPTRecord:
    """A parsed ``_smtp._tls`` TXT record (RFC 8460 §3).

    :param text: the record as published.
    :param rua: every URI of ``rua=``, in order, as written.
    :param mailto: the addresses of the ``mailto:`` URIs (percent-decoded).
    :param https: the ``https:`` URIs.
    :param extensions: the other fields, ``(name, value)``; unknown ones are ignored
        by senders (§3: "unknown fields SHALL be ignored").
    :param warnings: what a lenient reading let through (unsupported URI schemes,
        extension values outside the grammar).
    """

    text: str
    rua: tuple[str, ...]
    mailto: tuple[str, ...] = ()
    https: tuple[str, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()


def parse_record(text: str) -> TLSRPTRecord:
    """Parse a TLS-RPT record, ``v=TLSRPTv1; rua=mailto:...,https://...``.

    What RFC 8460 §3 calls the TLSRPT policy: the version, the required ``rua`` (one
    or more ``mailto:`` and ``https:`` URIs) and extension fields, which are kept and
    otherwise ignored.

    :param text: the TXT record, its strings already joined.
    :raises ParseError: for a record that does not begin with ``v=TLSRPTv1``, has no
        ``rua``, a field without ``=``, an invalid field name, a ``rua`` given twice
        or an empty URI.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_record() takes str, not {type(text).__name__}")
    if not is_tlsrpt_record(text):
        raise ParseError("the record does not begin with 'v=TLSRPTv1'", position=0,
                         rfc=_RFC, text=text)
    fields = text.split(";")
    rua: list[str] | None = None
    extensions: list[tuple[str, str]] = []
    warnings: list[str] = []
    pos = len(fields[0]) + 1
    for spec in fields[1:]:
        at = pos + len(spec) - len(spec.lstrip(_WSP))
        pos += len(spec) + 1
        field = spec.strip(_WSP)
        if not field:
            continue  # a trailing ";" (the grammar's optional field-delim), or ";;"
        name, eq, value = field.partition("=")
        if not eq:
            raise ParseError(f"field without '=': {field[:40]!r}", position=at, rfc=_RFC,
                             text=text)
        if _EXT_NAME.fullmatch(name) is None:
            raise ParseError(f"invalid field name {name[:40]!r}", position=at, rfc=_RFC,
                             text=text)
        if name == "rua":
            if rua is not None:
                raise ParseError("rua= given twice", position=at, rfc=_RFC, text=text)
            rua = _uris(value, at, text)
        elif name == "v":
            raise ParseError("v= given twice", position=at, rfc=_RFC, text=text)
        else:
            if _EXT_VALUE.fullmatch(value) is None:
                warnings.append(f"extension {name}= has a value outside the grammar "
                                f"({_RFC}): {value[:40]!r}")
            extensions.append((name, value))
    if rua is None:
        raise ParseError("no rua= field: the record names no report destination",
                         rfc=_RFC, text=text)
    mailto: list[str] = []
    https: list[str] = []
    for uri in rua:
        m = _SCHEME.fullmatch(uri)
        scheme = m.group(1).lower() if m else ""
        if scheme == "mailto" and m is not None:
            mailto.append(_unquote(m.group(2).split("?", 1)[0]))
        elif scheme == "https" and m is not None and m.group(2).startswith("//"):
            https.append(uri)
        else:
            warnings.append(f"rua URI {uri[:60]!r} is neither mailto: nor https:// "
                            f"(RFC 8460 §3): senders ignore it")
    if not mailto and not https:
        warnings.append("no usable rua URI: no report can be sent")
    return TLSRPTRecord(text, tuple(rua), tuple(mailto), tuple(https), tuple(extensions),
                        tuple(warnings))


def _uris(value: str, at: int, text: str) -> list[str]:
    uris = [u.strip(_WSP) for u in value.split(",")]
    if not all(uris):
        raise ParseError("empty URI in rua=", position=at, rfc=_RFC, text=text)
    for uri in uris:
        if any(c in uri for c in " \t\r\n") or not uri.isprintable():
            raise ParseError(f"URI with white space or control characters: {uri[:40]!r}",
                             position=at, rfc=_RFC, text=text)
    return uris


@dataclass(frozen=True, slots=True, repr=False)
class TLSRPTPolicyResult(Displayed):
    """Whether and where a domain wants TLS reports (RFC 8460 §3).

    :param status: ``pass`` (one valid record), ``none`` (no record, or several:
        "senders MUST assume the recipient domain does not implement TLSRPT"),
        ``permerror`` (one ``v=TLSRPTv1`` record that does not parse) or
        ``temperror`` (the DNS did not answer: try later, it is not "no policy").
    :param domain: the policy domain; ``name`` the name queried.
    :param record: the parsed record when ``status`` is pass.
    :param texts: the ``v=TLSRPTv1`` TXT records found.
    :param skipped: how many other TXT records were discarded.
    """

    status: Status
    reason: str
    domain: str
    record: TLSRPTRecord | None = None
    texts: tuple[str, ...] = ()
    skipped: int = 0
    authentic: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name queried: ``_smtp._tls.<domain>``."""
        return f"_smtp._tls.{self.domain}"

    @property
    def rua(self) -> tuple[str, ...]:
        """The report URIs, or ``()`` when there is no usable policy."""
        return self.record.rua if self.record is not None else ()

    @property
    def temporary(self) -> bool:
        """True when the answer may change on a retry (a DNS error)."""
        return self.status is Status.TEMPERROR

    def _card(self, *, full: bool = True) -> Card:
        facts: list[tuple[str, str]] = [("name", self.name)]
        if full:
            facts += [("record", t) for t in self.texts]
            if self.record is not None:
                facts += [("mailto", a) for a in self.record.mailto]
                facts += [("https", u) for u in self.record.https]
            facts += [("warning", w) for w in self.warnings]
        return Card("tlsrpt", str(self.status), self.reason, tuple(facts))


def classify(domain: str, outcome: Outcome, texts: tuple[str, ...], *,
             authentic: bool = False, error: str = "") -> TLSRPTPolicyResult:
    """The policy result for the TXT answer at ``_smtp._tls.<domain>``."""
    if outcome is Outcome.TEMPFAIL:
        return TLSRPTPolicyResult(Status.TEMPERROR, f"DNS error at _smtp._tls.{domain}: "
                                  f"{error or 'no answer'}; retry later", domain)
    found = tuple(t for t in texts if is_tlsrpt_record(t))
    skipped = len(texts) - len(found)
    if not found:
        why = "no TXT record" if outcome is not Outcome.OK else "no v=TLSRPTv1 record"
        return TLSRPTPolicyResult(Status.NONE, f"{why} at _smtp._tls.{domain}: the domain "
                                  "does not want TLS reports", domain, skipped=skipped,
                                  authentic=authentic)
    if len(found) > 1:
        return TLSRPTPolicyResult(Status.NONE, f"{len(found)} v=TLSRPTv1 records: the "
                                  "domain is treated as not implementing TLS-RPT "
                                  f"({_RFC})", domain, texts=found, skipped=skipped,
                                  authentic=authentic)
    try:
        record = parse_record(found[0])
    except ParseError as exc:
        return TLSRPTPolicyResult(Status.PERMERROR, f"invalid record: {exc}", domain,
                                  texts=found, skipped=skipped, authentic=authentic)
    where = ", ".join(record.rua)
    return TLSRPTPolicyResult(Status.PASS, f"reports go to {where}", domain, record, found,
                              skipped, authentic, record.warnings)


def tlsrpt_policy_flow(domain: str) -> Flow[TLSRPTPolicyResult]:
    """Look up the TLS-RPT policy of ``domain`` (a normalised name): one TXT query."""
    answer = yield from query(f"_smtp._tls.{domain}", "TXT")
    return classify(domain, answer.outcome, answer.txt(), authentic=answer.authentic,
                    error=answer.reason)
