"""Test doubles for mailauth's checks, usable by both drivers (docs/architecture.md).

:class:`FakeResolver` serves records from a dict or from RFC 1035 zone-file text,
follows CNAMEs the way a recursive resolver does, tells NXDOMAIN from NODATA (a name
with records below it exists, RFC 8020), and records every query it was asked.
:class:`FakeFetcher` serves HTTPS responses from a dict.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar, cast

from ._flow import (
    MX,
    TLSA,
    Answer,
    Effect,
    Fetch,
    Flow,
    Outcome,
    Query,
    Record,
    Reply,
    Resolver,
    Response,
    Work,
    normalize_qname,
)

__all__ = ["FakeFetcher", "FakeResolver", "drive"]

T = TypeVar("T")

NameType: TypeAlias = str | tuple[str, str]
_MAX_CNAME_CHAIN = 16


def parse_presentation(rdtype: str, value: Any) -> Record:
    """A typed record from its presentation format ("10 mx.example.org", ...)."""
    rdtype = rdtype.upper()
    if rdtype == "TXT":
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, Sequence):
            return "".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                           for v in value)
        raise TypeError(f"TXT value must be str or a list of str, not {type(value).__name__}")
    if isinstance(value, MX | TLSA | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = str(value).strip()
    if rdtype == "A":
        return ipaddress.IPv4Address(text)
    if rdtype == "AAAA":
        return ipaddress.IPv6Address(text)
    if rdtype == "MX":
        if isinstance(value, Sequence) and not isinstance(value, str):
            pref, exchange = value
            return MX(int(pref), str(exchange).rstrip(".") or ".")
        pref_text, _, exchange = text.partition(" ")
        return MX(int(pref_text), exchange.strip().rstrip(".") or ".")
    if rdtype in ("PTR", "CNAME"):
        return text.rstrip(".")
    if rdtype == "TLSA":
        parts = text.split()
        if len(parts) < 4:
            raise ValueError(f"TLSA needs 'usage selector mtype data', got {text!r}")
        return TLSA(int(parts[0]), int(parts[1]), int(parts[2]), bytes.fromhex("".join(parts[3:])))
    return text



def _valid_name(name: str) -> bool:
    if not 0 < len(name) <= 253:
        return False
    labels = name.split(".")
    return "" not in labels and max(map(len, labels)) <= 63


class FakeResolver:
    """An in-memory resolver for tests and notebooks.

    :param records: ``{name: {rdtype: [value, ...]}}`` with values in presentation
        format, except TXT, whose value is the record's text as one str, or a list of
        str for one record made of several strings.
    :param tempfail: names (every type) or ``(name, rdtype)`` pairs answered TEMPFAIL.
    :param authentic: names whose answers carry ``authentic=True``.

    ``queries`` lists every query asked, in order.
    """

    def __init__(self, records: Mapping[str, Mapping[str, Any]] | None = None, *,
                 tempfail: Iterable[NameType] = (), authentic: Iterable[str] = ()) -> None:
        self._data: dict[str, dict[str, list[Record]]] = {}
        self._existing: set[str] = set()
        self._tempfail_names: set[str] = set()
        self._tempfail_pairs: set[tuple[str, str]] = set()
        self._authentic: set[str] = {normalize_qname(n) for n in authentic}
        self.queries: list[Query] = []
        for item in tempfail:
            if isinstance(item, tuple):
                self._tempfail_pairs.add((normalize_qname(item[0]), item[1].upper()))
            else:
                self._tempfail_names.add(normalize_qname(item))
        for name in self._tempfail_names | {n for n, _ in self._tempfail_pairs}:
            self._mark_exists(name)
        for name, types in (records or {}).items():
            for rdtype, values in types.items():
                self.add(name, rdtype, *values)

    def _mark_exists(self, name: str) -> None:
        # A name exists, and so does every name above it (empty non-terminals, RFC 8020).
        labels = name.split(".")
        for i in range(len(labels)):
            self._existing.add(".".join(labels[i:]))

    def add(self, name: str, rdtype: str, *values: Any) -> FakeResolver:
        """Add records at a name (returns self, for chaining)."""
        key = normalize_qname(name)
        bucket = self._data.setdefault(key, {}).setdefault(rdtype.upper(), [])
        bucket.extend(parse_presentation(rdtype, v) for v in values)
        self._mark_exists(key)
        return self

    @classmethod
    def from_zone(cls, text: str, *, origin: str | None = None,
                  tempfail: Iterable[NameType] = (), authentic: Iterable[str] = ()) -> FakeResolver:
        """A resolver from RFC 1035 zone-file text (``$ORIGIN``, ``$TTL``, ``@`` work).

        Without ``$ORIGIN`` or ``origin`` the names must be absolute. One text may hold
        records of several zones; a zone with no SOA record is accepted. It takes the
        text, not a file name: ``FakeResolver.from_zone(Path(p).read_text())``.

        :raises UsageError: for a path (a ``Path``, or a one-line string naming an
            existing file) given instead of text; ``ArgumentTypeError`` for bytes.
        :raises ParseError: for text that does not parse as a zone file.
        """
        from .errors import ArgumentTypeError, ParseError, UsageError

        if isinstance(text, os.PathLike) or (
                isinstance(text, str) and "\n" not in text.strip() and " " not in text.strip()
                and text.strip() and os.path.isfile(text.strip())):
            raise UsageError(f"from_zone takes zone-file text, not a file name ({text!s}); "
                             "read the file first: FakeResolver.from_zone(Path(name)"
                             ".read_text())")
        if not isinstance(text, str):
            raise ArgumentTypeError(f"from_zone takes zone-file text as str, not "
                             f"{type(text).__name__}")
        import dns.exception
        import dns.name
        import dns.rdataclass
        import dns.rdatatype
        import dns.tokenizer
        import dns.zonefile

        from .resolvers import records_from_rrset

        fake = cls(tempfail=tempfail, authentic=authentic)
        soa_owners: list[str] = []

        class Txn(dns.zonefile.RRsetsReaderTransaction):
            # Under the root origin, one text may hold records of several zones (a
            # forward zone and its in-addr.arpa PTRs); SOAs only mark names as existing.
            def add(self, *args: Any) -> None:
                if len(args) == 3 and getattr(args[2], "rdtype", None) == dns.rdatatype.SOA:
                    soa_owners.append(args[0].to_text(omit_final_dot=True))
                    return
                super().add(*args)

        class Manager(dns.zonefile.RRSetsReaderManager):
            def writer(self, replacement: bool = False) -> Txn:
                return Txn(self, replacement, False)  # type: ignore[no-untyped-call]

        manager = Manager(dns.name.root, False, dns.rdataclass.IN)
        try:
            with manager.writer(True) as txn:
                reader = dns.zonefile.Reader(
                    dns.tokenizer.Tokenizer(text, "<zone>"), dns.rdataclass.IN, txn,
                    allow_directives={"$ORIGIN", "$TTL"}, default_ttl=300)
                if origin is not None:
                    reader.current_origin = dns.name.from_text(origin)
                reader.read()
        except (dns.exception.DNSException, ValueError) as exc:
            raise ParseError(f"zone text does not parse: {exc}", rfc="RFC 1035 §5") from exc
        for owner in soa_owners:
            fake._mark_exists(normalize_qname(owner))
        for rrset in manager.rrsets:
            owner = rrset.name.to_text(omit_final_dot=True)
            rdtype = dns.rdatatype.to_text(rrset.rdtype)
            if rdtype in ("NS", "RRSIG", "NSEC", "NSEC3", "DNSKEY", "DS"):
                fake._mark_exists(normalize_qname(owner))
                continue
            fake.add(owner, rdtype, *records_from_rrset(rdtype, rrset))
        return fake

    def answer(self, query: Query) -> Answer:
        """The answer to a query, without recording it (for inspection)."""
        name, rdtype = query.key()
        if not _valid_name(name):
            return Answer(query, Outcome.NXDOMAIN, reason="invalid name")
        seen: list[str] = []
        while True:
            if name in self._tempfail_names or (name, rdtype) in self._tempfail_pairs:
                return Answer(query, Outcome.TEMPFAIL, reason="timeout (FakeResolver)")
            types = self._data.get(name, {})
            authentic = name in self._authentic
            canonical = name if seen else None
            found = types.get(rdtype)
            if found:
                return Answer(query, Outcome.OK, tuple(found), 300, authentic, "", canonical)
            cname = types.get("CNAME")
            if cname and rdtype != "CNAME":
                seen.append(name)
                name = normalize_qname(str(cname[0]))
                if name in seen or len(seen) > _MAX_CNAME_CHAIN:
                    return Answer(query, Outcome.TEMPFAIL, reason="CNAME loop (SERVFAIL)")
                continue
            if name in self._existing:
                return Answer(query, Outcome.NODATA, ttl=300, authentic=authentic,
                              canonical_name=canonical)
            return Answer(query, Outcome.NXDOMAIN, ttl=300, authentic=authentic,
                          canonical_name=canonical)

    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        self.queries.append(query)
        return self.answer(query)

    async def aresolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        return self.resolve(query, timeout=timeout)

    def asked(self, name: str, rdtype: str | None = None) -> int:
        """How many times a name (and type) was asked."""
        key = normalize_qname(name)
        return sum(1 for q in self.queries
                   if q.key()[0] == key and (rdtype is None or q.key()[1] == rdtype.upper()))

    def __repr__(self) -> str:
        return f"FakeResolver({len(self._data)} names, {len(self.queries)} queries asked)"


class FakeFetcher:
    """Serves ``{url: Response | bytes}``; any other URL gets a connection error."""

    def __init__(self, responses: Mapping[str, Response | bytes] | None = None) -> None:
        self._responses = dict(responses or {})
        self.requests: list[Fetch] = []

    def fetch(self, request: Fetch) -> Response:
        self.requests.append(request)
        found = self._responses.get(request.url)
        if found is None:
            return Response(request.url, error="connection refused (FakeFetcher has no such URL)")
        if isinstance(found, bytes):
            found = Response(request.url, 200, (("Content-Type", "text/plain"),), found)
        if len(found.body) > request.max_bytes:
            return Response(request.url, found.status, found.headers,
                            error=f"response larger than {request.max_bytes} bytes")
        return found

    async def afetch(self, request: Fetch) -> Response:
        return self.fetch(request)


Step: TypeAlias = tuple[Effect, Reply]


def drive(flow: Flow[T], script: Iterable[Step | Effect], *,
          resolver: Resolver | None = None, fetcher: FakeFetcher | None = None) -> T:
    """Step ``flow`` against a script of the effects it must yield; its result.

    Each item of ``script`` is ``(expected_effect, reply)``: the flow must yield an
    effect equal to ``expected_effect`` (a :class:`Query`, a :class:`Fetch`, or a
    tuple of them, in that order) and is resumed with ``reply``. With ``resolver=``
    (and ``fetcher=`` for fetches) the items are the expected effects alone and the
    replies come from them. :class:`Work` is not I/O: ``drive`` runs it itself, and
    it is left out of the script (from a tuple too, and from the tuple of replies).
    So a test asserts exactly which questions a flow asks and how it groups them.

    :raises AssertionError: when the flow yields something else, asks for more than
        the script holds, or ends before the script does.
    """
    steps = iter(script)
    reply: Reply = None
    number = 0
    while True:
        try:
            effect = flow.send(reply)
        except StopIteration as stop:
            rest = list(steps)
            if rest:
                raise AssertionError(f"the flow ended after {number} scripted steps; "
                                     f"{len(rest)} more were expected, first "
                                     f"{_expected_of(rest[0], resolver, fetcher)!r}") from None
            return stop.value  # type: ignore[no-any-return]
        asked = _without_work(effect)
        if asked is None:  # only work: run it, no step of the script
            reply = _run_work(effect, ())
            continue
        number += 1
        try:
            item = next(steps)
        except StopIteration:
            flow.close()
            raise AssertionError(f"step {number}: the flow asked {asked!r} beyond the "
                                 "end of the script") from None
        expected = _expected_of(item, resolver, fetcher)
        if expected != asked:
            flow.close()
            raise AssertionError(f"step {number}: expected {expected!r}, the flow asked "
                                 f"{asked!r}")
        if resolver is None and fetcher is None:
            given = cast(Step, item)[1]
        else:
            given = _answer_of(asked, resolver, fetcher)
        reply = _run_work(effect, given)


def _expected_of(item: Any, resolver: Resolver | None, fetcher: FakeFetcher | None) -> Any:
    if resolver is None and fetcher is None:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"a script step is (expected_effect, reply), not {item!r}; "
                            "pass resolver= to script the effects alone")
        return item[0]
    return item


def _without_work(effect: Effect) -> Effect | None:
    """The effect as a script states it: Work left out (None when nothing is left)."""
    if isinstance(effect, Work):
        return None
    if isinstance(effect, tuple):
        rest = tuple(e for e in effect if not isinstance(e, Work))
        if len(rest) == len(effect):
            return effect
        return rest or None
    return effect


def _answer_of(asked: Effect, resolver: Resolver | None, fetcher: FakeFetcher | None
               ) -> Reply:
    def one(e: Any) -> Reply:
        if isinstance(e, Query):
            if resolver is None:
                raise AssertionError(f"the flow asked {e!r} but drive() has no resolver")
            return resolver.resolve(e, timeout=5.0)
        if isinstance(e, Fetch):
            if fetcher is None:
                raise AssertionError(f"the flow fetched {e!r} but drive() has no fetcher")
            return fetcher.fetch(e)
        raise TypeError(f"a flow yielded {e!r}")
    if isinstance(asked, tuple):
        return tuple(one(e) for e in asked)
    return one(asked)


def _run_work(effect: Effect, given: Reply) -> Reply:
    """The reply to ``effect``: ``given`` for what the script answered, with the
    results of the Work items put in their places."""
    if isinstance(effect, Work):
        return effect()
    if not isinstance(effect, tuple) or not any(isinstance(e, Work) for e in effect):
        return given
    scripted = iter(given if isinstance(given, tuple) else ())
    return tuple(e() if isinstance(e, Work) else next(scripted) for e in effect)
