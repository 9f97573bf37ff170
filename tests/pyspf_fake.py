"""pyspf answering from a :class:`~mailauth.testing.FakeResolver`, for the SPF
differential tests and the SPF benchmark (pyspf is a test dependency only)."""

from __future__ import annotations

import ipaddress
from typing import Any

from mailauth.flows import Outcome, Query
from mailauth.testing import FakeResolver

__all__ = ["pyspf_dnslookup"]


def pyspf_dnslookup(fake: FakeResolver, *, memo: bool = False) -> Any:
    """A stand-in for pyspf's ``spf.DNSLookup`` that answers from ``fake`` (assign it
    to ``spf.DNSLookup``).

    :param memo: keep converted answers, so that repeated lookups cost next to nothing
        (for benchmarks, where only the SPF engines should be measured).
    """
    import spf  # pyspf

    table: dict[tuple[str, str], list[Any]] = {}

    def convert(name: str, qtype: str) -> list[Any]:
        answer = fake.answer(Query(name, qtype))  # type: ignore[arg-type]
        if answer.outcome is Outcome.TEMPFAIL:
            raise spf.TempError(f"DNS {answer.reason}")
        out: list[Any] = []
        for rec in answer.records:
            value: Any
            if qtype == "AAAA":
                value = ipaddress.IPv6Address(str(rec)).packed
            elif qtype == "MX":
                value = (rec.preference, rec.exchange)  # type: ignore[union-attr]
            elif qtype == "TXT":
                value = (str(rec).encode("utf-8"),)
            else:
                value = str(rec)
            out.append(((name, qtype), value))
        return out

    def lookup(name: str, qtype: str, strict: bool = True, timeout: Any = None,
               level: int = 0) -> Any:
        if not memo:
            return iter(convert(name, qtype))
        key = (name.lower().rstrip("."), qtype)
        hit = table.get(key)
        if hit is None:
            hit = table[key] = convert(name, qtype)
        return iter(hit)

    return lookup
