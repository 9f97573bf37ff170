"""check_host() as a flow (RFC 7208 §4, §5, §6, §7): sans-I/O, driven by ``Check``."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Generator
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

from .._domain import parse_ip
from .._flow import Answer, Check, Effect, Flow, Outcome, Query, query, query_all
from ..status import Status
from ._record import (
    Macro,
    MacroString,
    Mechanism,
    Modifier,
    Record,
    is_spf_record,
    parse_explain_string,
    parse_record,
)
from ._result import PendingTrace, SPFResult, make_result

__all__ = ["check_host", "check_host_flow", "check_spf", "check_spf_flow"]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

T = TypeVar("T")
# The evaluation's own generators: a Flow whose replies are taken as what was asked (an
# Answer for a Query, a tuple of them for a tuple), without a cast per question.
_Flow: TypeAlias = Generator[Effect, Any, T]

# RFC 7208 §4.6.2: qualifier → result of a matching mechanism.
QUALIFIER_RESULT = {"+": Status.PASS, "-": Status.FAIL, "~": Status.SOFTFAIL,
                    "?": Status.NEUTRAL}

# Deeper nesting than this cannot happen within 10 DNS-querying terms; a guard only.
_MAX_DEPTH = 64


class _Abort(Exception):
    """Ends check_host() with permerror or temperror (internal; never escapes)."""

    def __init__(self, status: Status, problem: str) -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem


class _State:
    """What one check_host() evaluation shares across includes and redirects."""

    __slots__ = ("default_explanation", "helo", "ip", "ip_int", "ip_text", "local",
                 "lookups", "max_lookups", "max_mx", "max_ptr", "max_voids", "now",
                 "ptr_names", "ptr_void", "receiver", "record", "sender",
                 "sender_domain", "trace", "v4", "version", "voids")

    def __init__(self, ip: IPAddress, sender: str, helo: str | None,  # noqa: PLR0917
                 receiver: str | None, max_lookups: int, max_voids: int, max_mx: int,
                 max_ptr: int, now: float | None, default_explanation: str) -> None:
        self.ip = ip
        self.version = ip.version
        self.v4 = self.version == 4
        self.ip_text = _ip_text(ip)
        self.ip_int = int(ip)
        local, at, domain = sender.rpartition("@")
        if not at:
            local, domain = "", sender
        # RFC 7208 §4.3: a <sender> with no local-part gets "postmaster".
        self.local = local or "postmaster"
        self.sender_domain = domain
        self.sender = f"{self.local}@{domain}"
        self.helo = helo
        self.receiver = receiver
        self.lookups = 0
        self.voids = 0
        self.max_lookups = max_lookups
        self.max_voids = max_voids
        self.max_mx = max_mx
        self.max_ptr = max_ptr
        self.now = now
        self.default_explanation = default_explanation
        self.trace = PendingTrace()
        self.ptr_names: list[str] | None = None
        self.ptr_void: Answer | None = None
        self.record: str | None = None

    def step(self, depth: int, domain: str, term: str, outcome: str,  # noqa: PLR0917
             target: str | None = None, answers: tuple[Answer, ...] = ()) -> None:
        self.trace.append((depth, domain, term, outcome, target, answers, self.lookups,
                           self.voids))

    def count_lookup(self, term: str) -> None:
        # RFC 7208 §4.6.4: at most 10 mechanisms and modifiers that query DNS.
        self.lookups += 1
        if self.lookups > self.max_lookups:
            raise self.too_many_lookups(term)

    def too_many_lookups(self, term: str) -> _Abort:
        return _Abort(Status.PERMERROR,
                      f"more than {self.max_lookups} DNS-querying terms (at {term!r}), "
                      "RFC 7208 §4.6.4")

    def count_void(self, answer: Answer) -> None:
        # RFC 7208 §4.6.4: at most 2 lookups that return NXDOMAIN or no answers.
        self.voids += 1
        if self.voids > self.max_voids:
            raise _Abort(Status.PERMERROR,
                         f"more than {self.max_voids} void lookups (last: {answer.describe()}), "
                         "RFC 7208 §4.6.4")


# str() of an IPv6 address runs Python code (zero compression); clients recur.
_ip_text: Callable[[IPAddress], str] = lru_cache(maxsize=4096)(str)


# --- domains ----------------------------------------------------------------------

@lru_cache(maxsize=8192)
def _is_checkable_domain(domain: str) -> bool:
    """RFC 7208 §4.3: a well-formed, multi-label domain name."""
    name = domain[:-1] if domain.endswith(".") else domain
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if len(labels) < 2:
        return False
    return all(0 < len(label) <= 63 for label in labels)


# A label of a host name (RFC 1123 §2.1) or of a name like _spf.example.com: letters,
# digits, hyphens and underscores.
_NAME_LABEL = re.compile(r"[A-Za-z0-9_\-]+\Z")


@lru_cache(maxsize=8192)
def _domain_problem(domain: str) -> str | None:
    """Why check_host()'s <domain> cannot be checked, or None (RFC 7208 §4.3).

    §4.3: a malformed <domain>, or one that is not a multi-label domain name, gives
    "none" at once, with no DNS query. An address literal (a HELO of ``[192.0.2.1]``)
    or an IP address is not a fully qualified domain name (§2.3); a label of other
    characters is not a host name (and an internationalized name is checked in its
    A-label form, §4.3).
    """
    if domain.startswith("["):
        return f"{domain!r} is an address literal, not a domain name (RFC 7208 §2.3, §4.3)"
    if ":" in domain or domain.replace(".", "").isdigit():  # only then can it be one
        try:
            ipaddress.ip_address(domain)
        except ValueError:
            pass
        else:
            return f"{domain!r} is an IP address, not a domain name (RFC 7208 §2.3, §4.3)"
    if not _is_checkable_domain(domain):
        return f"{domain!r} is not a valid multi-label domain name (RFC 7208 §4.3)"
    labels = domain.split(".")
    if not all(_NAME_LABEL.match(label) for label in labels):
        return (f"{domain!r} has a label of characters other than letters, digits, '-' and "
                "'_' (RFC 7208 §4.3)")
    if labels[-1].isdigit():
        return f"{domain!r} ends in an all-numeric label, not a domain name (RFC 7208 §4.3)"
    return None


@lru_cache(maxsize=8192)
def _query_name(expanded: str) -> str | None:
    """The DNS name an expanded target-name stands for, or None when it cannot be one.

    RFC 7208 §7.3: over 253 characters, labels are removed from the left until it
    fits. A name with an empty label or a label over 63 octets cannot be queried and is
    treated as non-existent (RFC 7208 §4.3 by analogy; the suite's preferred answer).
    """
    name = expanded[:-1] if expanded.endswith(".") else expanded
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    if not name or len(name) > 253:
        return None
    for label in name.split("."):
        if not label or len(label) > 63:
            return None
    return name


# --- macros (RFC 7208 §7) -----------------------------------------------------------

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _url_escape(text: str) -> str:
    """RFC 7208 §7.3: upper-case macros are URL-escaped (RFC 3986 unreserved kept)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _ip_macro(ip: IPAddress, *, explanation: bool = False) -> str:
    """The ``i`` macro (RFC 7208 §7.3): IPv6 addresses are dot-separated nibbles.

    In a target name they are lower case, as in §7.4's example
    (``1.0.b.c.0.0...8.b.d.0.1.0.0.2.ip6._spf.example.com``). §7.3 fixes no case, and
    in explanation text (§6.2, for people only, never queried) they stay upper case,
    the form the RFC 7208 test suite's v-macro-ip6 case expects.
    """
    if ip.version == 4:
        return str(ip)
    nibbles = ip.exploded.replace(":", "")
    return ".".join(nibbles.upper() if explanation else nibbles)


def _transform(value: str, macro: Macro) -> str:
    """Split on the delimiters, reverse, keep the rightmost parts, join with '.'."""
    delimiters = macro.delimiters or "."
    if not macro.reverse and macro.digits is None and delimiters == ".":
        return value
    for d in delimiters:
        if d != ".":
            value = value.replace(d, ".")
    parts = value.split(".")
    if macro.reverse:
        parts.reverse()
    if macro.digits is not None and macro.digits < len(parts):
        parts = parts[-macro.digits:]
    return ".".join(parts)


def _letter(st: _State, letter: str, domain: str, explanation: bool) -> str:
    if letter == "d":
        return domain
    if letter == "i":
        return st.ip_text if st.v4 else _ip_macro(st.ip, explanation=explanation)
    if letter == "s":
        return st.sender
    if letter == "l":
        return st.local
    if letter == "o":
        return st.sender_domain
    if letter == "v":
        return "in-addr" if st.v4 else "ip6"
    if letter == "h":
        return st.helo or "unknown"
    if letter == "c":
        return st.ip_text
    if letter == "r":
        return st.receiver or "unknown"
    if letter == "t":
        return str(int(st.now if st.now is not None else time.time()))
    raise AssertionError(letter)  # the parser admits no other letter


def _expand(st: _State, ms: MacroString, domain: str, depth: int, *,
            explanation: bool = False) -> Flow[str]:
    """Expand a macro-string for the current <domain> (RFC 7208 §7.3).

    ``explanation`` is set for explain-string text (§6.2), which is never queried.
    Only the ``p`` macro needs DNS: its lookups are made first, the rest by
    :func:`_expand_now`.
    """
    if ms.literal is not None:
        return ms.literal
    validated = None
    if "p" in ms.letters:
        validated = yield from _validated_name(st, domain, depth)
    return _expand_now(st, ms, domain, explanation, validated)


def _expand_now(st: _State, ms: MacroString, domain: str, explanation: bool = False,
                validated: str | None = None) -> str:
    """Expand a macro-string whose ``p`` macros, if any, stand for ``validated``."""
    out: list[str] = []
    for part in ms.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if part.letter == "p":
            assert validated is not None
            value = validated
        else:
            value = _letter(st, part.letter, domain, explanation)
        value = _transform(value, part)
        out.append(_url_escape(value) if part.url_escape else value)
    return "".join(out)


def _validated_names(st: _State, depth: int, domain: str) -> Flow[list[str]]:
    """The client's validated domain names (RFC 7208 §5.5): PTR names whose A/AAAA
    records include the client address, from at most ``max_ptr`` PTR names (§4.6.4)."""
    if st.ptr_names is not None:
        return st.ptr_names
    reverse_name = st.ip.reverse_pointer
    answer = yield from query(reverse_name, "PTR")
    names: list[str] = []
    if answer.ok:
        candidates = [str(n) for n in answer.records[: st.max_ptr]]
        rdtype = "A" if st.v4 else "AAAA"
        checks = yield from query_all(tuple(Query(n, rdtype) for n in candidates
                                            if _query_name(n) is not None))
        for check in checks:
            if check.ok and st.ip in check.records:
                names.append(check.query.name)
        st.step(depth, domain, "validated names", ", ".join(names) or "none",
                reverse_name, (answer, *checks))
    else:
        st.step(depth, domain, "validated names", "none", reverse_name, (answer,))
    st.ptr_names = names
    st.ptr_void = answer if answer.void else None
    return names


def _validated_name(st: _State, domain: str, depth: int) -> Flow[str]:
    """The ``p`` macro (RFC 7208 §7.3): the domain itself, a subdomain, any, or unknown."""
    names = yield from _validated_names(st, depth, domain)
    target = domain.lower().rstrip(".")
    for name in names:
        if name.lower() == target:
            return name
    for name in names:
        if name.lower().endswith("." + target):
            return name
    return names[0] if names else "unknown"


# --- check_host() -------------------------------------------------------------------

# Query values are frozen: one per distinct question is made and then reused, which
# saves building a dataclass per question (and a caching resolver's answer then
# carries the very Query asked, so the driver's cache needs no comparison).
_query: Callable[[str, str], Query] = lru_cache(maxsize=8192)(Query)

_OK = Outcome.OK

# What the evaluation loop does with a mechanism (RFC 7208 §5), decided at parse time.
_ALL, _IP, _A, _EXISTS, _MX, _PTR, _INCLUDE = range(7)
_KINDS = {"all": _ALL, "ip4": _IP, "ip6": _IP, "a": _A, "exists": _EXISTS, "mx": _MX,
          "ptr": _PTR, "include": _INCLUDE}

# How a DNS term's target-name is had: the current <domain>, a name fixed by the
# record (no macros), a macro expansion at evaluation time (RFC 7208 §4.8, §7), or one
# that needs the client's validated names first (the p macro, §7.3).
_CURRENT, _FIXED, _MACROS, _MACROS_PTR = range(4)

# A mechanism ready to evaluate: its kind, the result it gives when it matches
# (§4.6.2), its text as written, the mechanism, and how its target-name is had (the
# name itself when fixed; None when that name cannot be queried).
_Term: TypeAlias = tuple[int, Status, str, Mechanism, int, str | None]
_Program: TypeAlias = tuple[Record, tuple[_Term, ...], Modifier | None]

# A matching include's outcome in the trace, by the included result (§5.2).
_INCLUDED = {s: f"{'match' if s is Status.PASS else 'no match'} (included result {s})"
             for s in Status}


@lru_cache(maxsize=4096)
def _compile(text: str) -> _Program:
    """A record ready to evaluate: the parsed record, its mechanisms as :data:`_Term`
    values, and its redirect modifier when that applies (§6.1: only in a record
    without "all"). Raises ParseError as :func:`parse_record` does."""
    record = parse_record(text)
    terms: list[_Term] = []
    for mech in record.mechanisms:
        spec = mech.target
        if spec is None:
            how, name = _CURRENT, None
        elif spec.literal is not None:
            how, name = _FIXED, _query_name(spec.literal)
        else:
            how, name = _MACROS_PTR if "p" in spec.letters else _MACROS, None
        terms.append((_KINDS[mech.name], QUALIFIER_RESULT[mech.qualifier],
                      mech.text or mech.render(), mech, how, name))
    return record, tuple(terms), None if record.has_all else record.redirect


# The same TXT answers come back check after check (a provider's _spf record, a
# domain's verification tokens): which of them are SPF records is worked out once.
@lru_cache(maxsize=4096)
def _spf_records(records: tuple[object, ...]) -> tuple[str, ...]:
    """The v=spf1 records among a TXT answer's strings (RFC 7208 §4.5)."""
    return tuple(r for r in records if isinstance(r, str) and is_spf_record(r))


def _select_record(st: _State, answer: Answer, domain: str) -> str | None:
    """RFC 7208 §4.4, §4.5: the one v=spf1 TXT record, None, or an error."""
    if answer.outcome is Outcome.TEMPFAIL:
        raise _Abort(Status.TEMPERROR, f"DNS lookup of {domain} TXT failed "
                                       f"({answer.reason or 'timeout or SERVFAIL'})")
    if answer.outcome is not _OK:
        return None
    try:
        found = _spf_records(answer.records)
    except TypeError:  # a record that cannot be hashed: not a string, not SPF
        found = _spf_records.__wrapped__(answer.records)
    if len(found) > 1:
        raise _Abort(Status.PERMERROR, f"{len(found)} v=spf1 records at {domain} "
                                       "(RFC 7208 §4.5)")
    return found[0] if found else None


def _program(text: str, domain: str) -> _Program:
    # RFC 7208 §4.6: a record that does not parse is permerror. ParseError is a
    # ValueError; catching the base too keeps any parser slip a permerror, not a crash.
    try:
        return _compile(text)
    except ValueError as exc:
        raise _Abort(Status.PERMERROR, f"syntax error in the record of {domain}: "
                                       f"{exc}") from None


def _address_match(st: _State, records: tuple[object, ...], mech: Mechanism) -> bool:
    """Whether the client is among the addresses, or in a network of the mechanism's
    CIDR length around one of them (RFC 7208 §5.3, §5.4); integer arithmetic."""
    length = mech.cidr4 if st.v4 else mech.cidr6
    ip = st.ip
    if length is None:
        return ip in records
    shift = (32 if st.v4 else 128) - length
    want = st.ip_int >> shift
    version = ip.version
    return any(isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address)
               and addr.version == version and int(addr) >> shift == want
               for addr in records)


def _check_dns(st: _State, answer: Answer, what: str) -> None:
    if answer.outcome is Outcome.TEMPFAIL:
        raise _Abort(Status.TEMPERROR, f"DNS lookup {answer.query} failed during {what} "
                                       f"({answer.reason or 'timeout or SERVFAIL'})")
    if answer.outcome is not Outcome.OK or not answer.records:
        st.count_void(answer)


def _mx(st: _State, mech: Mechanism, term: str, target: str, domain: str,  # noqa: PLR0917
        depth: int) -> _Flow[bool]:
    """Whether an mx mechanism matches (RFC 7208 §5.4), recording a trace step."""
    answer: Answer = yield _query(target, "MX")
    _check_dns(st, answer, term)
    if not answer.ok:
        st.step(depth, domain, term, "no match", target, (answer,))
        return False
    # RFC 7208 §4.6.4: no more than 10 address lookups per mx mechanism.
    if len(answer.records) > st.max_mx:
        st.step(depth, domain, term, f"more than {st.max_mx} MX names", target, (answer,))
        raise _Abort(Status.PERMERROR, f"{term}: {len(answer.records)} MX records, "
                                       f"more than {st.max_mx} (RFC 7208 §4.6.4)")
    hosts = [mx.exchange for mx in answer.records
             if getattr(mx, "exchange", ".") not in (".", "")]
    names = [h for h in (_query_name(h) for h in hosts) if h is not None]
    rdtype = "A" if st.v4 else "AAAA"
    replies: tuple[Answer, ...] = (yield tuple(_query(h, rdtype) for h in names)) if names else ()
    hit = False
    for reply in replies:
        if reply.outcome is Outcome.TEMPFAIL:
            st.step(depth, domain, term, "temperror", target, (answer, *replies))
            _check_dns(st, reply, term)
        if reply.ok and _address_match(st, reply.records, mech):
            hit = True
            break
    # RFC 7208 §4.6.4 counts void lookups per term: the MX lookup is this term's
    # lookup; its hosts' address lookups are not counted (blitiri's suite agrees).
    st.step(depth, domain, term, "match" if hit else "no match", target, (answer, *replies))
    return hit


def _ptr(st: _State, term: str, target: str, domain: str, depth: int) -> _Flow[bool]:
    """Whether a ptr mechanism matches (RFC 7208 §5.5); DNS errors make it not match."""
    names = yield from _validated_names(st, depth, domain)
    if st.ptr_void is not None:
        # RFC 7208 §4.6.4: a ptr term whose PTR lookup found nothing is a void lookup.
        st.count_void(st.ptr_void)
    want = target.lower()
    hit = any(n.lower() == want or n.lower().endswith("." + want) for n in names)
    st.step(depth, domain, term, "match" if hit else "no match", target)
    return hit


def _explanation(st: _State, record: Record, domain: str, depth: int) -> Flow[str]:
    """RFC 7208 §6.2: the exp= text; any failure means the default explanation."""
    assert record.exp is not None
    try:
        target = yield from _expand(st, record.exp.value, domain, depth)
    except _Abort:
        return st.default_explanation
    name = _query_name(target)
    if name is None:
        return st.default_explanation
    answer = yield from query(name, "TXT")
    st.step(depth, domain, str(record.exp), "explanation", name, (answer,))
    if not answer.ok or len(answer.records) != 1:
        return st.default_explanation
    # RFC 7208 §6.2: any error in the explanation (a syntax error included) means the
    # default explanation, never a different result.
    try:
        text = parse_explain_string(str(answer.records[0]))
        return (yield from _expand(st, text, domain, depth, explanation=True))
    except (ValueError, _Abort):
        return st.default_explanation


_Verdict: TypeAlias = tuple[Status, str | None, str]


def _invalid_target(term: str, section: str) -> _Abort:
    # An include (§5.2) or redirect (§6.1) target that is not a valid name: permerror.
    return _Abort(Status.PERMERROR, f"{term}: the target is not a valid domain name "
                                    f"(RFC 7208 {section})")


def _no_record(term: str, target: str, section: str) -> _Abort:
    # An include (§5.2) or redirect (§6.1) target with no SPF record: permerror.
    return _Abort(Status.PERMERROR, f"{term}: {target} has no SPF record (RFC 7208 {section})")


def _check_host(st: _State, domain: str, depth: int, want_exp: bool) -> _Flow[_Verdict]:
    """check_host() (RFC 7208 §4): (result, deciding term, explanation).

    The hot path of every evaluation. The common mechanisms are evaluated here, and
    their questions yielded from here, so that an answer reaches the term that asked
    through one generator per include level; trace steps are appended directly.
    """
    if depth > _MAX_DEPTH:
        raise _Abort(Status.PERMERROR, "include/redirect nesting too deep")
    if not _is_checkable_domain(domain):
        st.step(depth, domain, "record", "none (not a valid multi-label domain name)")
        return Status.NONE, None, ""
    answer: Answer = yield _query(domain, "TXT")
    if depth and answer.outcome is not _OK and answer.void:
        st.count_void(answer)
    text = _select_record(st, answer, domain)
    if text is None:
        st.step(depth, domain, "record", "no SPF record", domain, (answer,))
        return Status.NONE, None, ""
    record, terms, redirect = _program(text, domain)
    if depth == 0:
        st.record = text
    trace = st.trace
    trace.append((depth, domain, "record", f"found: {text}", domain, (answer,), st.lookups,
                  st.voids))
    version = st.version
    for kind, status, term, mech, how, name in terms:
        if kind == _IP:
            # RFC 7208 §5.6: an ip4 network never matches an IPv6 client, and back.
            hit = mech.version == version and st.ip_int & mech.mask == mech.net_int
            trace.append((depth, domain, term, "match" if hit else "no match", None, (),
                          st.lookups, st.voids))
        elif kind == _ALL:
            hit = True
            trace.append((depth, domain, term, "match", None, (), st.lookups, st.voids))
        else:
            # RFC 7208 §4.6.4: at most 10 mechanisms and modifiers that query DNS.
            st.lookups += 1
            if st.lookups > st.max_lookups:
                raise st.too_many_lookups(term)
            if how == _CURRENT:
                target: str | None = domain
            elif how == _FIXED:
                target = name
            elif how == _MACROS:
                assert mech.target is not None
                target = _query_name(_expand_now(st, mech.target, domain))
            else:
                assert mech.target is not None
                target = _query_name((yield from _expand(st, mech.target, domain, depth)))
            if kind == _INCLUDE:
                trace.append((depth, domain, term, "evaluating", target, (), st.lookups,
                              st.voids))
                if target is None or not _is_checkable_domain(target):
                    raise _invalid_target(term, "§5.2")
                included = (yield from _check_host(st, target, depth + 1, False))[0]
                if included is Status.NONE:
                    raise _no_record(term, target, "§5.2")
                hit = included is Status.PASS
                trace.append((depth, domain, term, _INCLUDED[included], target, (),
                              st.lookups, st.voids))
            elif target is None:
                st.step(depth, domain, term, "no match (target is not a valid domain name)")
                hit = False
            elif kind in (_A, _EXISTS):
                answer = yield _query(target, "A" if st.v4 or kind == _EXISTS else "AAAA")
                if answer.outcome is not _OK or not answer.records:
                    _check_dns(st, answer, term)
                    hit = False
                else:
                    hit = kind == _EXISTS or _address_match(st, answer.records, mech)
                trace.append((depth, domain, term, "match" if hit else "no match", target,
                              (answer,), st.lookups, st.voids))
            elif kind == _MX:
                hit = yield from _mx(st, mech, term, target, domain, depth)
            else:
                hit = yield from _ptr(st, term, target, domain, depth)
        if hit:
            explanation = ""
            if status is Status.FAIL and want_exp:
                explanation = st.default_explanation
                if record.exp is not None:
                    explanation = yield from _explanation(st, record, domain, depth)
            return status, term, explanation
    # RFC 7208 §6.1: redirect applies when nothing matched and there is no "all".
    if redirect is not None:
        term = str(redirect)
        st.count_lookup(term)
        spec = redirect.value
        expanded = spec.literal
        if expanded is None:
            expanded = yield from _expand(st, spec, domain, depth)
        target = _query_name(expanded)
        st.step(depth, domain, term, "redirecting", target)
        if target is None or not _is_checkable_domain(target):
            raise _invalid_target(term, "§6.1")
        verdict = yield from _check_host(st, target, depth + 1, want_exp)
        if verdict[0] is Status.NONE:
            raise _no_record(term, target, "§6.1")
        return verdict
    st.step(depth, domain, "(end)", "neutral: no mechanism matched")
    return Status.NEUTRAL, None, ""


_REASONS: dict[Status, Callable[[str, str, str | None], str]] = {
    Status.PASS: lambda ip, d, m: f"{d} designates {ip} as permitted sender ({m})",
    Status.FAIL: lambda ip, d, m: f"{d} does not designate {ip} as permitted sender ({m})",
    Status.SOFTFAIL: lambda ip, d, m: f"{d} does not designate {ip}, softly ({m})",
    Status.NEUTRAL: lambda ip, d, m: (f"{d} says nothing definite about {ip} ({m})" if m
                                      else f"no mechanism of {d} matched {ip}"),
    Status.NONE: lambda ip, d, m: f"{d} publishes no SPF record",
}


def check_host_flow(ip: str | IPAddress, domain: str, sender: str, *,
                    helo: str | None = None, receiver: str | None = None,
                    identity: str = "mailfrom", max_lookups: int = 10,
                    max_void_lookups: int = 2, max_mx: int = 10, max_ptr: int = 10,
                    default_explanation: str = "",
                    now: float | None = None) -> Flow[SPFResult]:
    """check_host() as a flow, for composing into other checks (RFC 7208 §4)."""
    return _start(_ip(ip), domain, sender, identity, (
        helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr, now,
        default_explanation))


def _start(addr: IPAddress, domain: str, sender: str, identity: str,
           options: tuple[Any, ...], *, helo: SPFResult | None = None) -> Flow[SPFResult]:
    """check_host_flow() for a parsed address; ``options`` are _State's other
    arguments, in order (the caller's keyword arguments are matched once, not per
    run); ``helo`` is the HELO identity's result for a MAIL FROM result."""
    if not isinstance(domain, str) or not isinstance(sender, str):
        raise TypeError("domain and sender are str")
    # One trailing dot (a fully qualified name written absolutely) is dropped, so that
    # %{d}, ptr suffix matching and the result see the same form as the record's names.
    if domain.endswith(".") and domain != ".":
        domain = domain[:-1]
    return _run(_State(addr, sender, *options), domain, identity, helo)


def _ip(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        return ip
    if not isinstance(ip, str):
        raise TypeError(f"ip is a str or an ipaddress address, not {type(ip).__name__}")
    return parse_ip(ip)  # RFC 7208 §5: IPv4-mapped IPv6 is treated as IPv4


def _run(st: _State, domain: str, identity: str,
         helo: SPFResult | None = None) -> Flow[SPFResult]:
    problem = ""
    matched: str | None = None
    explanation = ""
    try:
        invalid = _domain_problem(domain)
        if invalid is not None:
            st.step(0, domain, "record", f"none: {invalid}")
            status, reason = Status.NONE, invalid
        else:
            status, matched, explanation = yield from _check_host(st, domain, 0, True)
            reason = _REASONS[status](st.ip_text, domain, matched)
    except _Abort as abort:
        status, problem = abort.status, abort.problem
        st.step(0, domain, "(error)", f"{status}: {problem}")
        reason = problem
    except Exception as exc:  # a bug must not take the caller's mail server down
        status, problem = Status.TEMPERROR, f"internal error: {type(exc).__name__}: {exc}"
        reason = problem
    return make_result(status, identity, domain, st.sender, st.ip_text, explanation, matched,
                       reason, problem, st.lookups, st.voids, st.max_lookups, st.max_voids,
                       st.trace, st.helo, st.receiver, st.record, helo)


def check_host(ip: str | IPAddress, domain: str, sender: str, *, helo: str | None = None,
               receiver: str | None = None, identity: str = "mailfrom",
               max_lookups: int = 10, max_void_lookups: int = 2, max_mx: int = 10,
               max_ptr: int = 10, default_explanation: str = "", now: float | None = None,
               budget: float = 20.0) -> Check[SPFResult]:
    """check_host(<ip>, <domain>, <sender>) of RFC 7208 §4, ready to run.

    :param ip: the SMTP client's address (str or ipaddress); IPv4-mapped IPv6 is IPv4.
    :param domain: the domain whose SPF record is checked.
    :param sender: the MAIL FROM address or ``postmaster@<helo>`` (§4.1).
    :param helo: the HELO/EHLO name, for the ``h`` macro; ``receiver`` for ``r``.
    :param max_lookups, max_void_lookups, max_mx, max_ptr: the §4.6.4 limits.
    :param default_explanation: the explanation after a fail without a usable exp=.
    :param now: the time for the ``t`` macro (seconds since the epoch).
    :param budget: wall-clock seconds for all DNS work (§4.6.4); past it, temperror.
    :raises ValueError: when ``ip`` is not an IP address.
    """
    addr = _ip(ip)
    options = (helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr, now,
               default_explanation)

    def flow() -> Flow[SPFResult]:
        return _start(addr, domain, sender, identity, options)

    return Check(flow, budget=budget)


def check_spf_flow(ip: str | IPAddress, mail_from: str, helo: str | None, *,
                   receiver: str | None = None, max_lookups: int = 10,
                   max_void_lookups: int = 2, max_mx: int = 10, max_ptr: int = 10,
                   default_explanation: str = "", now: float | None = None,
                   check_helo: bool = True) -> Flow[SPFResult]:
    """Both SPF identities as one flow (RFC 7208 §2.3, §2.4)."""
    addr = _ip(ip)
    helo_result: SPFResult | None = None
    helo_name = (helo or "").strip() or None
    if helo_name is not None and check_helo:
        # RFC 7208 §2.3: the HELO identity, with <sender> postmaster@<helo>.
        helo_result = yield from check_host_flow(
            addr, helo_name, f"postmaster@{helo_name}", helo=helo_name, receiver=receiver,
            identity="helo", max_lookups=max_lookups, max_void_lookups=max_void_lookups,
            max_mx=max_mx, max_ptr=max_ptr, default_explanation=default_explanation, now=now)
    reverse_path = (mail_from or "").strip()
    if reverse_path.startswith("<") and reverse_path.endswith(">"):
        reverse_path = reverse_path[1:-1]
    if reverse_path:
        sender = reverse_path
        domain = reverse_path.rpartition("@")[2]
    else:
        # RFC 7208 §2.4: a null reverse-path is checked as postmaster@<helo>.
        sender = f"postmaster@{helo_name or ''}"
        domain = helo_name or ""
    return (yield from _start(addr, domain, sender, "mailfrom", (
        helo_name, receiver, max_lookups, max_void_lookups, max_mx, max_ptr, now,
        default_explanation), helo=helo_result))


def check_spf(ip: str | IPAddress, mail_from: str, helo: str | None, *,
              receiver: str | None = None, max_lookups: int = 10, max_void_lookups: int = 2,
              max_mx: int = 10, max_ptr: int = 10, default_explanation: str = "",
              now: float | None = None, check_helo: bool = True,
              budget: float = 20.0) -> Check[SPFResult]:
    """SPF for a message's MAIL FROM and HELO identities (RFC 7208 §2.3, §2.4).

    The result is the MAIL FROM identity's (the verdict; with a null reverse-path
    that is ``postmaster@<helo>``), with the HELO identity's result in ``.helo``.

    :param ip: the SMTP client's address; ``mail_from`` the reverse-path ("" or "<>"
        when null); ``helo`` the HELO/EHLO name; ``receiver`` this host's name.
    :param check_helo: set False to skip the HELO identity.
    Other parameters as :func:`check_host`.
    :raises ValueError: when ``ip`` is not an IP address.
    """
    addr = _ip(ip)

    def flow() -> Flow[SPFResult]:
        return check_spf_flow(addr, mail_from, helo, receiver=receiver,
                              max_lookups=max_lookups, max_void_lookups=max_void_lookups,
                              max_mx=max_mx, max_ptr=max_ptr,
                              default_explanation=default_explanation, now=now,
                              check_helo=check_helo)

    return Check(flow, budget=budget)
