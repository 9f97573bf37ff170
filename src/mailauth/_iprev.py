"""The "iprev" method of RFC 8601 §3: does the client's address name itself?

The client's address is looked up in the reverse tree (a PTR query of its
``in-addr.arpa`` or ``ip6.arpa`` name); each name found is looked up forward (A for
IPv4, AAAA for IPv6); the method passes when some name maps back to the address.
Results are RFC 8601 §2.7.3's:

- pass: a PTR name has the address among its A/AAAA records;
- fail: PTR names were found but none maps back (their forward lookups were
  NXDOMAIN, NODATA or other addresses), or none is a usable domain name;
- temperror: the PTR lookup failed transiently, or no name mapped back and some
  forward lookup failed transiently (a later attempt may pass);
- permerror: no PTR data are published for the address (NXDOMAIN or NODATA).

The forward lookups are independent, so they are asked as one tuple: ``arun()``
sends them together. At most ``max_names`` PTR names are looked up (the PTR data is
the client's to write; RFC 7208 §4.6.4 caps SPF's ``ptr`` the same way, at 10).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TypeAlias

from ._display import Card, Displayed
from ._domain import is_host_name, parse_ip
from ._flow import Answer, Check, Flow, Outcome, Query, RRType, query, query_all
from ._headerfmt import comment, resinfo
from .errors import ArgumentTypeError, UsageError
from .status import Status

__all__ = ["IPRevResult", "check_iprev", "iprev_flow"]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_MAX_NAMES = 10

# The short words of ``reason=`` in the Authentication-Results fragment, by what
# decided the result (RFC 8601 §2.7.3 describes each).
_NO_PTR = "no PTR record"
_PTR_FAILED = "PTR lookup failed"
_NO_MATCH = "no PTR name resolves back to the address"
_FORWARD_FAILED = "forward lookup failed"


@dataclass(frozen=True, slots=True, repr=False)
class IPRevResult(Displayed):
    """The result of the "iprev" method (RFC 8601 §3, results of §2.7.3).

    :param status: pass, fail, temperror or permerror.
    :param ip: the address checked (an IPv4-mapped IPv6 address is shown as IPv4).
    :param reason: a sentence saying why, for people.
    :param names: the PTR names found, lower case, without the trailing dot, in the
        order of the answer (duplicates once).
    :param verified: the PTR name whose A/AAAA records include the address, or None.
    :param answers: the DNS answers the check saw: the PTR answer, then the forward
        answers in the order they were asked.
    """

    status: Status
    ip: str
    reason: str
    names: tuple[str, ...] = ()
    verified: str | None = None
    answers: tuple[Answer, ...] = ()

    @property
    def reverse_name(self) -> str:
        """The name that was asked for PTR records (``7.2.0.192.in-addr.arpa``), or
        ``""`` when :attr:`ip` is not an address (a result built by hand)."""
        try:
            return _reverse_name(parse_ip(self.ip))
        except ValueError:
            return ""

    def authres(self) -> str:
        """The Authentication-Results ``iprev=`` resinfo (RFC 8601 §2.7.3, §3).

        ``policy.iprev`` is the address checked (§2.7.3: SHOULD be included); a
        comment gives the verified name, or the first PTR name when none verified
        (§2.7.3: MAY be included): ``iprev=pass policy.iprev=192.0.2.7
        (mail.example.org)``. Unless the result is pass, ``reason=`` says in a few
        words what decided it. ASCII only (``_headerfmt``); an IPv6 address is a
        quoted-string, since ":" cannot stand in an RFC 2045 token.
        """
        reason = None if self.status is Status.PASS else self._short_reason()
        words = resinfo("iprev", str(self.status), reason=reason,
                        properties=[("policy.iprev", self.ip)])
        shown = self.verified or next((n for n in self.names if is_host_name(n)), None)
        if shown is not None:
            # RFC 8601 §2.2: CFWS may follow a propspec; the comment comes last, as in
            # the examples of Appendix B.
            words += tuple(comment(shown).split())
        return " ".join(words)

    def _short_reason(self) -> str:
        if self.status is Status.PERMERROR:
            return _NO_PTR
        if self.status is Status.TEMPERROR:
            return _FORWARD_FAILED if self.names else _PTR_FAILED
        return _NO_MATCH

    def _card(self, *, full: bool = True) -> Card:
        """The result as :mod:`mailauth._display` shows it; without ``full``, only the
        verdict and reason (what ``str()`` and ``repr()`` show)."""
        if not full:
            return Card(method="iprev", status=str(self.status), reason=self.reason)
        facts = [("ip", self.ip), ("reverse name", self.reverse_name),
                 ("PTR names", ", ".join(self.names) or "none")]
        if self.verified is not None:
            facts.append(("verified", self.verified))
        return Card(method="iprev", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), trace=tuple(a.describe() for a in self.answers),
                    header=self.authres())


# --- arguments --------------------------------------------------------------------------


def _client(ip: object) -> IPAddress:
    """The address a caller gave; an IPv4-mapped IPv6 address is IPv4 (RFC 7208 §5,
    as the SPF check reads it: the client is the IPv4 host)."""
    if isinstance(ip, str):
        try:
            return parse_ip(ip)
        except ValueError as exc:
            raise UsageError(f"ip: {exc}") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    raise ArgumentTypeError(f"ip is a str or an ipaddress address, not {type(ip).__name__}")


def _limit(max_names: object) -> int:
    if type(max_names) is not int:
        raise ArgumentTypeError(f"max_names is an int, not {type(max_names).__name__}")
    if max_names < 1:
        raise UsageError(f"max_names is the number of PTR names looked up: 1 or more, "
                         f"not {max_names}")
    return max_names


# --- the flow ---------------------------------------------------------------------------


def _reverse_name(ip: IPAddress) -> str:
    # RFC 1035 §3.5 (in-addr.arpa), RFC 3596 §2.5 (ip6.arpa, one label a nibble).
    return ip.reverse_pointer


def _ptr_names(answer: Answer) -> tuple[str, ...]:
    """The PTR targets, lower case, no trailing dot, duplicates once, in answer order."""
    seen: dict[str, None] = {}
    for name in answer.names():
        # A usable name is ASCII (a host name, is_host_name): lower case is its canonical form.
        seen.setdefault(name.rstrip(".").lower(), None)
    return tuple(seen)


def iprev_flow(ip: str | IPAddress, *, max_names: int = DEFAULT_MAX_NAMES
               ) -> Flow[IPRevResult]:
    """The "iprev" method (RFC 8601 §3) as a flow: the PTR query, then the A or AAAA
    queries of the names found, as one tuple.

    :param ip: the SMTP client's address (str or ipaddress); IPv4-mapped IPv6 is IPv4.
    :param max_names: how many PTR names are looked up forward; the rest are ignored
        and the reason says how many.
    :raises UsageError: (a ``ValueError``) for text that is not an IP address, or a
        ``max_names`` below 1.
    :raises ArgumentTypeError: (a ``TypeError``) for an ip that is neither a str nor
        an address, or a ``max_names`` that is not an int.
    """
    return _iprev(_client(ip), _limit(max_names))


def check_iprev(ip: str | IPAddress, *, max_names: int = DEFAULT_MAX_NAMES,
                budget: float = 20.0) -> Check[IPRevResult]:
    """The "iprev" method (RFC 8601 §3), ready to run: ``.run()`` or ``await .arun()``.

    :param ip: the SMTP client's address (str or ipaddress); IPv4-mapped IPv6 is IPv4.
    :param max_names: how many PTR names are looked up forward (default 10).
    :param budget: wall-clock seconds for all its DNS work; past it, temperror.
    The exceptions are :func:`iprev_flow`'s.
    """
    addr = _client(ip)
    limit = _limit(max_names)

    def flow() -> Flow[IPRevResult]:
        return _iprev(addr, limit)

    return Check(flow, budget=budget)


def _iprev(ip: IPAddress, max_names: int) -> Flow[IPRevResult]:
    text = str(ip)
    reverse = _reverse_name(ip)
    ptr = yield from query(reverse, "PTR")
    if ptr.outcome is Outcome.TEMPFAIL:
        why = f": {ptr.reason}" if ptr.reason else ""
        return IPRevResult(Status.TEMPERROR, text,
                           f"the PTR lookup of {reverse} failed{why}", answers=(ptr,))
    names = _ptr_names(ptr) if ptr.ok else ()
    if not names:
        # RFC 8601 §2.7.3 permerror: no PTR data are published for the address.
        what = ptr.outcome.name if not ptr.ok else "no records"
        return IPRevResult(Status.PERMERROR, text,
                           f"{text} has no PTR record ({reverse}: {what})", answers=(ptr,))
    considered = names[:max_names]
    notes = []
    if len(names) > max_names:
        extra = len(names) - max_names
        notes.append(f"{extra} more PTR name{'s' if extra > 1 else ''} ignored "
                     f"(max_names={max_names})")
    targets = tuple(n for n in considered if is_host_name(n))
    skipped = len(considered) - len(targets)
    if skipped:
        notes.append(f"{skipped} PTR name{'s' if skipped > 1 else ''} not a domain name, "
                     "skipped")
    rdtype: RRType = "A" if ip.version == 4 else "AAAA"
    forward = yield from query_all(tuple(Query(n, rdtype) for n in targets))
    answers = (ptr, *forward)
    note = "".join(f"; {n}" for n in notes)
    for name, answer in zip(targets, forward, strict=True):
        if answer.ok and ip in answer.addresses():
            return IPRevResult(Status.PASS, text,
                               f"{text} has PTR {name}, which resolves back to it{note}",
                               names, name, answers)
    shown = ", ".join(considered)
    failed = [a for a in forward if a.outcome is Outcome.TEMPFAIL]
    if failed:
        # RFC 8601 §2.7.3 temperror: the evaluation could not be completed; a later
        # attempt may find the name that maps back.
        which = "; ".join(_forward_text(a) for a in failed)
        return IPRevResult(Status.TEMPERROR, text,
                           f"{text} has PTR {shown}; no name resolved back to it and "
                           f"a forward lookup failed ({which}){note}", names,
                           answers=answers)
    # RFC 8601 §2.7.3 fail: the reverse and forward lookups disagree, or the forward
    # lookups completed with no result.
    if not targets:
        return IPRevResult(Status.FAIL, text,
                           f"{text} has PTR {shown}, none of which is a domain name{note}",
                           names, answers=answers)
    seen = "; ".join(_forward_text(a) for a in forward)
    return IPRevResult(Status.FAIL, text,
                       f"{text} has PTR {shown}, but none resolves back to it "
                       f"({seen}){note}", names, answers=answers)


def _forward_text(answer: Answer) -> str:
    """``name A: 198.51.100.1`` or ``name A: NXDOMAIN``, for a reason."""
    if answer.ok:
        shown = ", ".join(str(a) for a in answer.addresses()[:3])
        more = "" if len(answer.records) <= 3 else f" (+{len(answer.records) - 3} more)"
        return f"{answer.query.name} {answer.query.rdtype}: {shown or 'no address'}{more}"
    why = f" ({answer.reason})" if answer.reason else ""
    return f"{answer.query.name} {answer.query.rdtype}: {answer.outcome.name}{why}"
