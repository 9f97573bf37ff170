"""Turn the open-spf.org YAML ``zonedata`` into a FakeResolver (shared by SPF tests).

The conventions are the suite's own (see ../shared/vectors/openspf-rfc7208/SOURCE.md
and pyspf's test driver): a name with ``SPF`` entries but no ``TXT`` entry also
serves them as TXT (RFC 7208 dropped type 99, the suite relies on this
duplication); ``TXT: NONE`` means "no TXT record here" and stops that duplication;
the bare entry ``TIMEOUT`` (blitiri: ``TIMEOUT: true``, ``SERVFAIL: true``) makes the name's
lookups time out unless a record of the asked type came before it in the list;
names under ``error.`` that are absent time out.
"""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from mailauth._flow import MX, Answer, Outcome, Query, RRType, normalize_qname


def _txt(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "".join(str(v) for v in value)


class SuiteResolver:
    """A resolver with the open-spf.org driver's semantics (CNAMEs followed)."""

    def __init__(self, zonedata: dict[str, list[Any]] | None) -> None:
        self.zone: dict[str, list[tuple[str, Any]]] = {}
        self.queries: list[Query] = []
        for name, entries in (zonedata or {}).items():
            rows: list[tuple[str, Any]] = []
            has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries or [])
            generated: list[tuple[str, Any]] = []
            for entry in entries or []:
                if entry == "TIMEOUT" or (isinstance(entry, dict) and (
                        entry.get("TIMEOUT") is True or entry.get("SERVFAIL") is True)):
                    # blitiri's copies write TIMEOUT and SERVFAIL as maps.
                    rows.append(("TIMEOUT", None))
                    continue
                for rdtype, value in entry.items():
                    if rdtype == "SPF":
                        if not has_txt:
                            generated.append(("TXT", value))
                        continue
                    if rdtype == "TXT" and value == "NONE":
                        continue
                    rows.append((rdtype, value))
            rows.extend(generated)
            self.zone[normalize_qname(str(name))] = rows

    def _lookup(self, name: str, rdtype: RRType, depth: int = 0) -> Answer:
        q = Query(name, rdtype)
        key = normalize_qname(name)
        if any(not label or len(label) > 63 for label in key.split(".")):
            return Answer(q, Outcome.NXDOMAIN, reason="invalid name")
        rows = self.zone.get(key)
        if rows is None:
            if key.startswith("error."):
                return Answer(q, Outcome.TEMPFAIL, reason="timeout (suite)")
            return Answer(q, Outcome.NXDOMAIN)
        found: list[Any] = []
        for row_type, value in rows:
            if row_type == "TIMEOUT":
                if not found:
                    return Answer(q, Outcome.TEMPFAIL, reason="timeout (suite)")
                break
            if row_type == rdtype:
                if value == "TIMEOUT":
                    return Answer(q, Outcome.TEMPFAIL, reason="timeout (suite)")
                found.append(value)
            elif row_type == "CNAME" and rdtype != "CNAME" and depth < 8:
                return self._lookup(str(value), rdtype, depth + 1)
        if not found:
            return Answer(q, Outcome.NODATA)
        return Answer(q, Outcome.OK, tuple(_typed(rdtype, v) for v in found))

    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        self.queries.append(query)
        answer = self._lookup(query.name, cast(RRType, query.rdtype.upper()))
        return Answer(query, answer.outcome, answer.records, reason=answer.reason)

    async def aresolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        return self.resolve(query, timeout=timeout)


def _typed(rdtype: str, value: Any) -> Any:
    if rdtype == "TXT":
        return _txt(value)
    if rdtype == "A":
        return ipaddress.IPv4Address(str(value))
    if rdtype == "AAAA":
        return ipaddress.IPv6Address(str(value))
    if rdtype == "MX":
        pref, exchange = value
        return MX(int(pref), str(exchange).rstrip(".") or ".")
    return str(value).rstrip(".")
