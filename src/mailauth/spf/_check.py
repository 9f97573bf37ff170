"""check_host() as a flow (RFC 7208 §4, §5, §6, §7): sans-I/O, driven by ``Check``.

The flows read no clock: the time for the ``%{t}`` macro is given to them (``now``),
by the public verbs in :mod:`mailauth.spf` or by the caller composing them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Generator
from enum import Enum
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

from .._domain import normalize_domain
from .._flow import MX, Answer, Effect, Flow, Outcome, Query, RRType, gather, query, query_all
from .._grammar import NAME_LABEL_RE
from ..status import Status
from ._arguments import (
    Client,
    Options,
    check_host_arguments,
    check_text,
    check_time,
    client,
    options,
)
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
from ._result import SPFResult, Step

__all__ = ["QUALIFIER_RESULT", "check_host_flow", "check_spf_flow"]

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
                 "sender_domain", "steps", "v4", "version", "voids")

    def __init__(self, client: Client, sender: str, options: Options, now: float) -> None:
        self.ip, self.version, self.ip_text, self.ip_int = client
        self.v4 = self.version == 4
        local, at, domain = sender.rpartition("@")
        if not at:
            local, domain = "", sender
        # RFC 7208 §4.3: a <sender> with no local-part gets "postmaster". RFC 8616 §4:
        # the domain is used in its A-label form; the local-part stays as it is.
        self.local = local or "postmaster"
        self.sender_domain = _a_labels(domain)
        self.sender = f"{self.local}@{self.sender_domain}"
        (helo, self.receiver, self.max_lookups, self.max_voids, self.max_mx, self.max_ptr,
         self.default_explanation) = options
        self.helo = helo if helo is None else _a_labels(helo)
        self.lookups = 0
        self.voids = 0
        self.now = now
        self.steps: list[Step] = []
        self.ptr_names: list[str] | None = None
        self.ptr_void: Answer | None = None
        self.record: str | None = None

    def step(self, depth: int, domain: str, term: str, outcome: str,  # noqa: PLR0917
             target: str | None = None, answers: tuple[Answer, ...] = ()) -> None:
        """Add a step to the trace, with the lookup counts so far (RFC 7208 §4.6.4)."""
        self.steps.append((depth, domain, term, outcome, target, answers, self.lookups,
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


# --- domains ----------------------------------------------------------------------

def _a_labels(name: str) -> str:
    """``name`` with its U-labels as A-labels (IDNA 2008, RFC 8616 §4).

    ASCII names are returned as they are, and so is a name IDNA 2008 refuses: it is
    then not a domain name, which :func:`_domain_problem` says.
    """
    if name.isascii():
        return name
    try:
        return normalize_domain(name)
    except ValueError:
        return name


def _idna_problem(name: str) -> str:
    """Why ``name``, which is not ASCII, has no A-label form (RFC 8616 §4)."""
    try:
        normalize_domain(name)
    except ValueError as exc:
        why = str(exc)
    else:
        why = "it was not converted to A-labels"
    return (f"{name!r} is not a valid internationalized domain name: {why} "
            "(RFC 8616 §4, RFC 7208 §4.3)")


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


@lru_cache(maxsize=8192)
def _domain_problem(domain: str) -> str | None:
    """Why check_host()'s <domain> cannot be checked, or None (RFC 7208 §4.3).

    §4.3: a malformed <domain>, or one that is not a multi-label domain name, gives
    "none" at once, with no DNS query. An address literal (a HELO of ``[192.0.2.1]``)
    or an IP address is not a fully qualified domain name (§2.3); a label of other
    characters is not a host name. An internationalized name is checked in its A-label
    form (RFC 8616 §4): one still holding other characters is one IDNA 2008 refused.
    """
    if not domain.isascii():
        return _idna_problem(domain)
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
    # A label of a host name (RFC 1123 §2.1) or of a name like _spf.example.com.
    if not all(NAME_LABEL_RE.fullmatch(label) for label in labels):
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


# RFC 8616 §4: the macros that give the local-part, which is never converted.
_LOCAL_PART_MACROS = frozenset("sl")


def _expanded_name(st: _State, spec: MacroString, expanded: str) -> str | None:
    """The DNS name a domain-spec expanded to stands for, or None (RFC 7208 §7.3).

    RFC 8616 §4: U-labels become A-labels; a term whose %{s} or %{l} gives a local-part
    that is not ASCII matches nothing (None), for such a local-part is no DNS label.
    """
    if expanded.isascii():
        return _query_name(expanded)
    if _non_ascii_local_part(st, spec):
        return None
    try:
        return _query_name(normalize_domain(expanded))
    except ValueError:
        return None


def _non_ascii_local_part(st: _State, spec: MacroString | None) -> bool:
    """Whether ``spec`` expands a local-part that is not ASCII (RFC 8616 §4)."""
    return (spec is not None and not st.local.isascii()
            and bool(spec.letters & _LOCAL_PART_MACROS))


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
        return str(int(st.now))
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
        rdtype: RRType = "A" if st.v4 else "AAAA"
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
_query: Callable[[str, RRType], Query] = lru_cache(maxsize=8192)(Query)

_OK = Outcome.OK


class _Kind(Enum):
    """What the evaluation loop does with a mechanism (RFC 7208 §5)."""

    ALL = "all"
    IP = "ip4/ip6"
    A = "a"
    EXISTS = "exists"
    MX = "mx"
    PTR = "ptr"
    INCLUDE = "include"


# The members as module names too: the evaluation loop tests several per term, and
# looking one up on its Enum class costs several times a global's lookup.
_ALL, _IP, _A, _EXISTS = _Kind.ALL, _Kind.IP, _Kind.A, _Kind.EXISTS
_MX, _INCLUDE = _Kind.MX, _Kind.INCLUDE

_KINDS = {"all": _Kind.ALL, "ip4": _Kind.IP, "ip6": _Kind.IP, "a": _Kind.A,
          "exists": _Kind.EXISTS, "mx": _Kind.MX, "ptr": _Kind.PTR,
          "include": _Kind.INCLUDE}


class _TargetFrom(Enum):
    """How a DNS term's target-name is had (RFC 7208 §4.8, §7)."""

    CURRENT = "the current <domain>"
    FIXED = "a name written in the record, without macros"
    MACROS = "a macro expansion"
    MACROS_P = "a macro expansion that needs the client's validated names (%{p}, §7.3)"


_CURRENT, _FIXED, _MACROS = _TargetFrom.CURRENT, _TargetFrom.FIXED, _TargetFrom.MACROS


@dataclasses.dataclass(frozen=True, slots=True)
class _Term:
    """A mechanism ready to evaluate.

    A slotted dataclass: the evaluation loop reads its attributes, which is faster
    than unpacking or reading a named tuple.
    """

    kind: _Kind
    result: Status
    """What it gives when it matches (§4.6.2)."""
    text: str
    """The term as written."""
    mechanism: Mechanism
    target_from: _TargetFrom
    name: str | None
    """The target-name when it is FIXED (None when that name cannot be queried)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Program:
    """A record ready to evaluate: its terms, and its redirect when that applies."""

    text: str
    record: Record
    terms: tuple[_Term, ...]
    redirect: Modifier | None
    found: str
    """The record step's outcome in the trace."""

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
        name = None
        if spec is None:
            target = _TargetFrom.CURRENT
        elif spec.literal is not None:
            target, name = _TargetFrom.FIXED, _query_name(spec.literal)
        elif "p" in spec.letters:
            target = _TargetFrom.MACROS_P
        else:
            target = _TargetFrom.MACROS
        terms.append(_Term(_KINDS[mech.name], QUALIFIER_RESULT[mech.qualifier],
                           mech.text or mech.render(), mech, target, name))
    return _Program(text, record, tuple(terms), None if record.has_all else record.redirect,
                    f"found: {text}")


# The same TXT answers come back check after check (a provider's _spf record, a
# domain's verification tokens): which of them are SPF records is worked out once.
@lru_cache(maxsize=4096)
def _spf_records(records: tuple[object, ...]) -> tuple[str, ...]:
    """The v=spf1 records among a TXT answer's strings (RFC 7208 §4.5)."""
    return tuple(r for r in records if isinstance(r, str) and is_spf_record(r))


def _select_program(answer: Answer, domain: str) -> _Program | None:
    """RFC 7208 §4.4, §4.5: the one v=spf1 record of a TXT answer, ready to evaluate,
    or None when there is none. Several records, or one that does not parse (§4.6),
    are permerror; a failed lookup is temperror."""
    outcome = answer.outcome
    if outcome is not _OK:
        if outcome is Outcome.TEMPFAIL:
            raise _Abort(Status.TEMPERROR, f"DNS lookup of {domain} TXT failed "
                                           f"({answer.reason or 'timeout or SERVFAIL'})")
        return None
    try:
        found = _spf_records(answer.records)
    except TypeError:  # a record that cannot be hashed: not a string, not SPF
        found = _spf_records.__wrapped__(answer.records)
    if len(found) != 1:
        if found:
            raise _Abort(Status.PERMERROR, f"{len(found)} v=spf1 records at {domain} "
                                           "(RFC 7208 §4.5)")
        return None
    # ParseError is a ValueError; catching the base too keeps any parser slip a
    # permerror, not a crash.
    try:
        return _compile(found[0])
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
    # The address records of all the MX hosts are asked together.
    rdtype: RRType = "A" if st.v4 else "AAAA"
    questions: list[Query] = []
    for mx in answer.records:
        if isinstance(mx, MX) and mx.exchange not in (".", ""):
            name = _query_name(mx.exchange)
            if name is not None:
                questions.append(_query(name, rdtype))
    replies: tuple[Answer, ...] = (yield tuple(questions)) if questions else ()
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
    name = _expanded_name(st, record.exp.value, target)
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


def _check_host(st: _State, domain: str, depth: int, want_exp: bool,
                record_answer: Answer | None = None) -> _Flow[_Verdict]:
    """check_host() (RFC 7208 §4): (result, deciding term, explanation).

    ``domain`` is a name that can be checked (§4.3): its callers make sure of it
    (:func:`_domain_problem` for the checked domain, :func:`_is_checkable_domain` for
    include and redirect targets). ``record_answer`` is the answer to the <domain>'s
    TXT lookup when it was asked already (by :func:`check_spf_flow`).

    The hot path of every evaluation. The common mechanisms are evaluated here, and
    their questions yielded from here, so that an answer reaches the term that asked
    through one generator per include level. Its common steps are appended to the
    trace here (``add``), as :meth:`_State.step` does: TraceStep's fields in order.
    """
    if depth > _MAX_DEPTH:
        raise _Abort(Status.PERMERROR, "include/redirect nesting too deep")
    if record_answer is None:
        record_answer = yield _query(domain, "TXT")
    answer = record_answer
    if depth and answer.outcome is not _OK and answer.void:
        st.count_void(answer)
    program = _select_program(answer, domain)
    if program is None:
        st.step(depth, domain, "record", "no SPF record", domain, (answer,))
        return Status.NONE, None, ""
    if depth == 0:
        st.record = program.text
    add = st.steps.append
    add((depth, domain, "record", program.found, domain, (answer,), st.lookups, st.voids))
    version = st.version
    for t in program.terms:
        kind, term, mech = t.kind, t.text, t.mechanism
        if kind is _IP:
            # RFC 7208 §5.6: an ip4 network never matches an IPv6 client, and back.
            hit = mech.version == version and st.ip_int & mech.mask == mech.net_int
            add((depth, domain, term, "match" if hit else "no match", None, (), st.lookups,
                 st.voids))
        elif kind is _ALL:
            hit = True
            add((depth, domain, term, "match", None, (), st.lookups, st.voids))
        else:
            # RFC 7208 §4.6.4: at most 10 mechanisms and modifiers that query DNS.
            st.lookups += 1
            if st.lookups > st.max_lookups:
                raise st.too_many_lookups(term)
            how = t.target_from
            if how is _CURRENT:
                target: str | None = domain
            elif how is _FIXED:
                target = t.name
            else:
                spec = mech.target
                assert spec is not None
                if how is _MACROS:
                    expanded = _expand_now(st, spec, domain)
                else:
                    expanded = yield from _expand(st, spec, domain, depth)
                target = _expanded_name(st, spec, expanded)
            if kind is _INCLUDE:
                add((depth, domain, term, "evaluating", target, (), st.lookups, st.voids))
                if target is None or not _is_checkable_domain(target):
                    if not _non_ascii_local_part(st, mech.target):
                        raise _invalid_target(term, "§5.2")
                    hit = False
                    st.step(depth, domain, term, _LOCAL_PART_NO_MATCH)
                else:
                    included = (yield from _check_host(st, target, depth + 1, False))[0]
                    if included is Status.NONE:
                        raise _no_record(term, target, "§5.2")
                    hit = included is Status.PASS
                    add((depth, domain, term, _INCLUDED[included], target, (), st.lookups,
                         st.voids))
            elif target is None:
                st.step(depth, domain, term, "no match (target is not a valid domain name)")
                hit = False
            elif kind is _A or kind is _EXISTS:
                answer = yield _query(target, "A" if st.v4 or kind is _EXISTS else "AAAA")
                if answer.outcome is not _OK or not answer.records:
                    _check_dns(st, answer, term)
                    hit = False
                else:
                    hit = kind is _EXISTS or _address_match(st, answer.records, mech)
                add((depth, domain, term, "match" if hit else "no match", target, (answer,),
                     st.lookups, st.voids))
            elif kind is _MX:
                hit = yield from _mx(st, mech, term, target, domain, depth)
            else:  # _Kind.PTR
                hit = yield from _ptr(st, term, target, domain, depth)
        if hit:
            explanation = ""
            result = t.result
            if result is Status.FAIL and want_exp:
                explanation = st.default_explanation
                if program.record.exp is not None:
                    explanation = yield from _explanation(st, program.record, domain, depth)
            return result, term, explanation
    # RFC 7208 §6.1: redirect applies when nothing matched and there is no "all".
    redirect = program.redirect
    if redirect is not None:
        term = str(redirect)
        st.count_lookup(term)
        spec = redirect.value
        if spec.literal is not None:
            expanded = spec.literal
        else:
            expanded = yield from _expand(st, spec, domain, depth)
        target = _expanded_name(st, spec, expanded)
        st.step(depth, domain, term, "redirecting", target)
        if target is None or not _is_checkable_domain(target):
            raise _invalid_target(term, "§6.1")
        verdict = yield from _check_host(st, target, depth + 1, want_exp)
        if verdict[0] is Status.NONE:
            raise _no_record(term, target, "§6.1")
        return verdict
    st.step(depth, domain, "(end)", "neutral: no mechanism matched")
    return Status.NEUTRAL, None, ""


_LOCAL_PART_NO_MATCH = "no match (a local-part that is not ASCII is no DNS label, RFC 8616 §4)"

_REASONS: dict[Status, Callable[[str, str, str | None], str]] = {
    Status.PASS: lambda ip, d, m: f"{d} designates {ip} as permitted sender ({m})",
    Status.FAIL: lambda ip, d, m: f"{d} does not designate {ip} as permitted sender ({m})",
    Status.SOFTFAIL: lambda ip, d, m: f"{d} does not designate {ip}, softly ({m})",
    Status.NEUTRAL: lambda ip, d, m: (f"{d} says nothing definite about {ip} ({m})" if m
                                      else f"no mechanism of {d} matched {ip}"),
    Status.NONE: lambda ip, d, m: f"{d} publishes no SPF record",
}


def check_host_flow(ip: str | IPAddress, domain: str, sender: str, *, now: float,
                    helo: str | None = None, receiver: str | None = None,
                    identity: str = "mailfrom", max_lookups: int = 10,
                    max_void_lookups: int = 2, max_mx: int = 10, max_ptr: int = 10,
                    default_explanation: str = "") -> Flow[SPFResult]:
    """check_host() as a flow, for composing into other checks (RFC 7208 §4).

    :param now: the time for the ``%{t}`` macro, in seconds since the epoch: a flow
        reads no clock, its caller does (once for all the flows it composes).
    Other parameters as :func:`mailauth.spf.check_host`.
    """
    addr = client(ip)
    check_host_arguments(domain, sender, identity, now, now_required=True)
    settings = options(helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr,
                       default_explanation)
    return start(addr, domain, sender, identity, settings, now=now)


def start(addr: Client, domain: str, sender: str, identity: str, settings: Options, *,
          now: float) -> Flow[SPFResult]:
    """check_host_flow() for checked arguments (the public verbs check them once per
    check, not per run)."""
    st, domain = _prepare(addr, domain, sender, settings, now)
    return _run(st, domain, identity)


def _prepare(addr: Client, domain: str, sender: str, settings: Options,
             now: float) -> tuple[_State, str]:
    """The evaluation's state and its <domain> in the form it is checked in."""
    # One trailing dot (a fully qualified name written absolutely) is dropped, so that
    # %{d}, ptr suffix matching and the result see the same form as the record's names.
    if domain.endswith(".") and domain != ".":
        domain = domain[:-1]
    return _State(addr, sender, settings, now), _a_labels(domain)


def _run(st: _State, domain: str, identity: str,
         record_answer: Answer | None = None) -> Flow[SPFResult]:
    problem = ""
    matched: str | None = None
    explanation = ""
    try:
        invalid = _domain_problem(domain)
        if invalid is not None:
            st.step(0, domain, "record", f"none: {invalid}")
            status, reason = Status.NONE, invalid
        else:
            status, matched, explanation = yield from _check_host(st, domain, 0, True,
                                                                  record_answer)
            reason = _REASONS[status](st.ip_text, domain, matched)
    except _Abort as abort:
        status, problem = abort.status, abort.problem
        st.step(0, domain, "(error)", f"{status}: {problem}")
        reason = problem
    except Exception as exc:  # a bug must not take the caller's mail server down
        status, problem = Status.TEMPERROR, f"internal error: {type(exc).__name__}: {exc}"
        reason = problem
    return SPFResult(status, identity, domain, st.sender, st.ip_text, explanation, matched,
                     reason, problem, st.lookups, st.voids, st.max_lookups, st.max_voids,
                     tuple(st.steps), st.helo, st.receiver, st.record)


def check_spf_flow(ip: str | IPAddress, mail_from: str, helo: str | None, *, now: float,
                   receiver: str | None = None, max_lookups: int = 10,
                   max_void_lookups: int = 2, max_mx: int = 10, max_ptr: int = 10,
                   default_explanation: str = "",
                   check_helo: bool = True) -> Flow[SPFResult]:
    """Both SPF identities as one flow (RFC 7208 §2.3, §2.4).

    :param now: the time for the ``%{t}`` macro (see :func:`check_host_flow`).
    Other parameters as :func:`mailauth.spf.check_spf`.
    """
    addr = client(ip)
    check_text("mail_from", mail_from)
    check_time(now, required=True)
    settings = options(helo, receiver, max_lookups, max_void_lookups, max_mx, max_ptr,
                       default_explanation)
    return spf_flow(addr, mail_from, settings, now, check_helo=check_helo)


def spf_flow(addr: Client, mail_from: str, settings: Options, now: float, *,
             check_helo: bool = True) -> Flow[SPFResult]:
    """check_spf_flow() for checked arguments.

    The MAIL FROM identity gives the verdict, so it goes first: the record lookups of
    both identities are asked together (:func:`gather`), then the MAIL FROM evaluation
    runs to its end, then the HELO evaluation, which starts from the answer it already
    has. Before the verdict the HELO identity asks one question, so however slow its
    DNS, it holds MAIL FROM back by one query timeout at most and cannot spend the
    check's budget on its own; whatever MAIL FROM leaves is the HELO identity's.
    """
    helo_name = (settings.helo or "").strip() or None
    settings = settings._replace(helo=helo_name)
    reverse_path = mail_from.strip()
    if reverse_path.startswith("<") and reverse_path.endswith(">"):
        reverse_path = reverse_path[1:-1]
    if reverse_path:
        sender = reverse_path
        domain = reverse_path.rpartition("@")[2]
    else:
        # RFC 7208 §2.4: a null reverse-path is checked as postmaster@<helo>.
        sender = f"postmaster@{helo_name or ''}"
        domain = helo_name or ""
    mailfrom_st, mailfrom_domain = _prepare(addr, domain, sender, settings, now)
    mailfrom_flow = _run(mailfrom_st, mailfrom_domain, "mailfrom")
    if helo_name is None or not check_helo:
        return (yield from mailfrom_flow)
    # RFC 7208 §2.3: the HELO identity, with <sender> postmaster@<helo>.
    helo_st, helo_domain = _prepare(addr, helo_name, f"postmaster@{helo_name}", settings, now)
    record_answer: Answer | None = None
    if helo_domain == mailfrom_domain or _domain_problem(helo_domain) is not None:
        # Nothing to ask ahead: the same question as MAIL FROM's (answered again from
        # the check's cache), or none at all.
        mailfrom = yield from mailfrom_flow
    else:
        mailfrom, record_answer = yield from gather(mailfrom_flow,
                                                    query(helo_domain, "TXT"))
    helo_result = yield from _run(helo_st, helo_domain, "helo", record_answer)
    return dataclasses.replace(mailfrom, helo=helo_result)
