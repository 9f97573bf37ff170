"""SPF, DKIM, ARC and DMARC (and iprev) for one message, as one check.

:func:`authenticate` (``mailauth.authenticate``) is what a receiver, a milter or a
person with a saved message calls: one :class:`~mailauth.Check` whose result,
:class:`AuthResults`, holds each method's result and writes the Authentication-Results
header field (RFC 8601). Under ``await`` the independent questions go out together:
the SPF records of both identities, every DKIM key, the ARC keys, the ``_dmarc``
record of the author domain and the client's PTR record are one step
(:func:`mailauth.flows.gather`).

ARC (RFC 8617) is verified by default. With ``trusted_sealers``, a DMARC fail that a
trusted sealer's recorded results vouch for carries a local policy override
(:class:`mailauth.dmarc.PolicyOverride`, RFC 9990 reason ``trusted_forwarder``); the
disposition changes only with ``apply_override=True``.

A saved message has no SMTP envelope. Without ``ip``/``helo``/``mail_from``, SPF is
``none`` with the reason, unless ``trust_received=True`` reads them from the topmost
Received field and Return-Path (see docs/dmarc.md on when that is safe).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cache

from ._arguments import (
    check_bool,
    check_int,
    check_message,
    check_mode,
    check_number,
    check_psl,
)
from ._display import Card, Displayed, Part
from ._flow import Check, Flow, gather, returned, work
from ._headerfmt import authentication_results, resinfo
from ._iprev import IPRevResult, check_iprev, iprev_flow
from ._message import Message, MessageSource, parse_message
from .arc import ARCResult, verify_arc_flow
from .dkim import DKIMResult, verify_dkim_flow
from .dmarc import DMARCResult, Mode, discover_policy_flow
from .dmarc._evaluate import author_domains, combine, evaluate_flow, problem_result
from .dmarc._override import normalize_sealers, trusted_forwarder_flow
from .errors import ArgumentTypeError, UsageError
from .psl import PublicSuffixList
from .spf import SPFResult, check_spf_flow
from .status import Status

__all__ = ["AuthResults", "IPRevResult", "authenticate", "authenticate_flow", "check_iprev",
           "iprev_flow"]

_NO_ENVELOPE = ("no SMTP envelope: ip, helo and mail_from were not given (a saved "
                "message?); pass them, or trust_received=True to read them from the "
                "topmost Received field and Return-Path")


@dataclass(frozen=True, slots=True, repr=False)
class AuthResults(Displayed):
    """SPF, DKIM, DMARC and iprev for one message.

    :param spf: the SPF result of the MAIL FROM identity (with the HELO identity's in
        ``spf.helo``); ``none`` when there was no envelope.
    :param dkim: every DKIM signature's result.
    :param dmarc: the DMARC verdict, with its alignment table.
    :param iprev: the client address's reverse-DNS check (RFC 8601 §3), when an ``ip``
        was known and ``iprev`` was asked for.
    :param envelope: ``(name, value)`` pairs of the envelope used and where each came
        from (``("ip", "192.0.2.1 (given)")``).
    :param arc: the ARC chain's validation (RFC 8617 §5.2): pass, fail or none (no ARC
        sets); None when ``arc=False``.
    """

    spf: SPFResult
    dkim: DKIMResult
    dmarc: DMARCResult
    iprev: IPRevResult | None = None
    envelope: tuple[tuple[str, str], ...] = field(default=())
    arc: ARCResult | None = None

    @property
    def status(self) -> Status:
        """The DMARC verdict (what a message's authenticity comes down to)."""
        return self.dmarc.status

    def resinfos(self) -> tuple[str, ...]:
        """Each method's RFC 8601 resinfo, in the order the header lists them: spf
        (``smtp.mailfrom``, then the HELO identity's with ``smtp.helo`` when it was
        checked), dkim (one per signature), arc (when checked), dmarc, iprev."""
        out = []
        if self.spf.ip:
            out.append(self.spf.authres())
            if self.spf.helo is not None:   # the HELO identity's own check: smtp.helo
                out.append(self.spf.helo.authres())
        else:
            out.append(" ".join(resinfo("spf", "none", comment_text="no SMTP envelope")))
        out += self.dkim.authres().split("; ")
        if self.arc is not None:
            out.append(self.arc_resinfo())
        out.append(self.dmarc.authres())
        if self.iprev is not None:
            out.append(self.iprev.authres())
        return tuple(out)

    def arc_resinfo(self) -> str:
        """The ``arc=`` resinfo (RFC 8617 §6, with the properties its IANA registration
        lists), or "" when ARC was not checked.

        ``arc=pass (arc.chain=example.org:lists.example.net) smtp.remote-ip=192.0.2.1
        header.oldest-pass=0``; ``arc=fail reason="..." smtp.remote-ip=...``;
        ``arc=none`` for a message without ARC sets. ``smtp.remote-ip`` is written when
        the client address is known.
        """
        arc = self.arc
        if arc is None:
            return ""
        remote_ip = self.spf.ip if arc.status is not Status.NONE and self.spf.ip else None
        # The sealers of a passing chain go in a comment (ARCResult.authres says why).
        return arc.authres(remote_ip=remote_ip)

    def header(self, authserv_id: str, *, width: int = 78) -> str:
        """The Authentication-Results header field (RFC 8601 §2.2), without the CRLF.

        One field with every method: ``Authentication-Results: mx.example.net;
        spf=pass smtp.mailfrom=...; dkim=pass header.d=... header.s=...; dmarc=pass
        (p=reject dis=none) header.from=...``. Reasons are comments or ``reason=``;
        folded at ``width`` (78) columns between words; ASCII only.

        :param authserv_id: this host's authserv-id (usually its host name).
        :raises UsageError: for an authserv-id that cannot be written.
        """
        if not isinstance(authserv_id, str):
            raise ArgumentTypeError(f"authserv_id is a str, not {type(authserv_id).__name__}")
        if not authserv_id.strip() or not authserv_id.isascii() or any(
                c in authserv_id for c in "\r\n"):
            raise UsageError(f"authserv_id {authserv_id!r} is not an RFC 8601 authserv-id "
                             "(a non-empty ASCII value)")
        words = [r.split(" ") for r in self.resinfos()]
        return authentication_results(authserv_id.strip(), words, width=width)

    def stamp(self, message: bytes, authserv_id: str) -> bytes:
        """The message with this result's Authentication-Results field on top, after
        removing every field that claims ``authserv_id`` (RFC 8601 §5: those came from
        outside and are forged). The field's line ends follow the message's (CRLF, or
        LF for a message with bare LF line ends); the rest is unchanged.
        """
        if not isinstance(message, bytes | bytearray):
            raise ArgumentTypeError(f"the message is bytes, not {type(message).__name__}")
        from .authres import remove_forged

        field = self.header(authserv_id).encode("ascii") + b"\r\n"
        first = bytes(message[:message.find(b"\n") + 1])
        if first.endswith(b"\n") and not first.endswith(b"\r\n"):
            field = field.replace(b"\r\n", b"\n")
        return field + remove_forged(bytes(message), authserv_id)

    def __str__(self) -> str:
        parts = [f"spf={self.spf.status}", f"dkim={self.dkim.status}"]
        if self.arc is not None and self.arc.status is not Status.NONE:
            parts.append(f"arc={self.arc.status}")   # a message with a chain only
        parts.append(f"dmarc={self.dmarc.status}")
        if self.iprev is not None:
            parts.append(f"iprev={self.iprev.status}")
        return " ".join(parts) + f": {self.dmarc.reason}"

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dmarc", status=str(self.dmarc.status), reason=self.dmarc.reason)
        parts = [Part(title=f"SPF {self.spf.domain or '(no envelope)'}",
                      status=str(self.spf.status), reason=self.spf.reason)]
        parts += [Part(title=f"DKIM d={s.domain} s={s.selector}" if s.domain else "DKIM",
                       status=str(s.status), reason=s.reason)
                  for s in self.dkim.signatures]
        if not self.dkim.signatures:
            parts.append(Part(title="DKIM", status=str(self.dkim.status),
                              reason=self.dkim.reason))
        if self.arc is not None and self.arc.status is not Status.NONE:
            chain = ", ".join(f"i={i} {d}" for i, d in enumerate(self.arc.chain, 1))
            parts.append(Part(title=f"ARC {chain}".rstrip(), status=str(self.arc.status),
                              reason=self.arc.reason))
        parts += [Part(title=a.label, status="pass" if a.passed else str(a.result),
                       reason=a.explanation) for a in self.dmarc.alignment]
        if self.iprev is not None:
            parts.append(Part(title=f"iprev {self.iprev.ip}", status=str(self.iprev.status),
                              reason=self.iprev.reason))
        facts = list(self.envelope)
        if self.dmarc.policy is not None:
            facts.append(("DMARC policy", f"{self.dmarc.policy_tag}={self.dmarc.policy} "
                                          f"(disposition {self.dmarc.disposition})"))
        override = self.dmarc.override
        if override is not None:
            facts.append((f"DMARC override ({override.type})",
                          ("applied: " if override.applied else "would apply: ")
                          + override.comment))
        return Card(method="dmarc", status=str(self.dmarc.status), reason=self.dmarc.reason,
                    facts=tuple(facts), parts=tuple(parts),
                    header=self.header("(authserv-id)").replace("\r\n", "\n"))


_ARC_FIELDS = frozenset({"arc-seal", "arc-message-signature", "arc-authentication-results"})
_SPOOL_IN_MEMORY = 8 << 20   # a body beyond this goes to a temporary file


@cache
def _no_arc_sets() -> ARCResult:
    """verify_arc's result for a message without ARC fields (RFC 8617 §5.2 step 1:
    none), made once by the ARC flow itself and shared (it is frozen)."""
    flow = verify_arc_flow(parse_message(b"From: a@example.org\r\n\r\n"), now=0.0)
    try:
        flow.send(None)
    except StopIteration as done:
        result: ARCResult = done.value
        return result
    raise AssertionError("the ARC flow asked a question about a message without ARC")


def _spooled(message: Message) -> tuple[Message, tempfile.SpooledTemporaryFile[bytes]]:
    """The message with its body copied to a temporary file (in memory up to 8 MB),
    so that it can be read more than once, and that file, for the caller to close.
    Blocking: run as :func:`work`."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    for chunk in message.iter_body(normalize=False):
        spool.write(chunk)
    spool.seek(0)
    return Message(message.headers, message.separator, message.defects,
                   file=spool, file_pos=0), spool  # type: ignore[arg-type]


def _no_spf(reason: str, ip: str = "") -> SPFResult:
    return SPFResult(status=Status.NONE, identity="mailfrom", domain="", sender="", ip=ip,
                     reason=reason)


def authenticate_flow(message: Message, *, ip: str | None, helo: str | None,
                      mail_from: str | None, now: float, trust_received: bool = False,
                      iprev: bool = True, dmarc_mode: Mode = "tree-walk",
                      psl: PublicSuffixList | None = None, strict_authors: bool = True,
                      min_rsa_bits: int = 1024, allow_sha1: bool = False,
                      receiver: str | None = None,
                      sample: Callable[[], float] | None = None, arc: bool = True,
                      trusted_sealers: frozenset[str] = frozenset(),
                      apply_override: bool = False) -> Flow[AuthResults]:
    """The flow behind :func:`authenticate` (for driving by hand); ``now`` in seconds,
    ``trusted_sealers`` in canonical form (:func:`mailauth.dmarc._override.normalize_sealers`)."""
    envelope: list[tuple[str, str]] = []
    if ip is None and trust_received:
        from ._received import envelope_from_headers

        found = envelope_from_headers(message)
        ip, helo, mail_from = found.ip, found.helo, found.mail_from
        source = ", ".join(found.source) or "nothing usable"
        envelope.append(("envelope", f"read from the message ({source}): trust_received"))
    elif ip is not None:
        envelope.append(("envelope", "given by the caller"))
    if ip is not None:
        envelope += [("ip", ip), ("helo", helo or "(none)"),
                     ("mail from", "<>" if mail_from == "" else (mail_from or "(none)"))]
    spf_flow: Flow[SPFResult]
    if ip is None:
        spf_flow = returned(_no_spf(_NO_ENVELOPE if not trust_received else
                                    "no SMTP envelope: the message has no Received field "
                                    "naming the client's address"))
    elif mail_from is None:
        spf_flow = returned(_no_spf(
            "no MAIL FROM: the message has no usable Return-Path field" if trust_received
            else "no MAIL FROM: the reverse-path is unknown (give mail_from, '' for a null "
                 "reverse-path)", ip))
    else:
        spf_flow = check_spf_flow(ip, mail_from, helo, now=now, receiver=receiver)
    spool = None
    sealed = arc and any(h.lname in _ARC_FIELDS for h in message.headers)
    if sealed and not message.seekable and "dkim-signature" in message:
        # DKIM and ARC each read the body; a pipe can be read once: copy it first.
        message, spool = yield from work(_spooled, message)
    dkim_flow = verify_dkim_flow(message, now=now, min_rsa_bits=min_rsa_bits,
                                 allow_sha1=allow_sha1)
    rev_flow: Flow[IPRevResult | None] = (iprev_flow(ip) if ip is not None and iprev
                                          else returned(None))
    arc_flow: Flow[ARCResult | None] = returned(None)
    if sealed:
        arc_flow = verify_arc_flow(message, now=now, min_rsa_bits=min_rsa_bits)
    elif arc:   # most mail: no ARC fields, nothing to ask or hash
        arc_flow = returned(_no_arc_sets())
    domains, problem = author_domains(message)
    evaluate = domains if problem is None or (not strict_authors and domains) else ()
    try:
        spf, dkim, rev, arc_result, discoveries = yield from gather(
            spf_flow, dkim_flow, rev_flow, arc_flow,
            gather(*(discover_policy_flow(d, mode=dmarc_mode, psl=psl) for d in evaluate)))
    finally:
        if spool is not None:
            spool.close()
    if not evaluate:
        assert problem is not None
        dmarc = problem_result(domains, problem, dmarc_mode, strict_authors)
    else:
        results = []
        for discovery in discoveries:
            result = yield from evaluate_flow(discovery, spf=spf, dkim=dkim, psl=psl,
                                              sample=sample)
            if trusted_sealers and arc_result is not None:
                result = yield from trusted_forwarder_flow(
                    result, arc_result, trusted_sealers, apply=apply_override, psl=psl)
            results.append(result)
        dmarc = combine(results, domains, problem)
    return AuthResults(spf=spf, dkim=dkim, dmarc=dmarc, iprev=rev, envelope=tuple(envelope),
                       arc=arc_result)


def authenticate(message: MessageSource | Message, *, ip: str | None = None,
                 helo: str | None = None, mail_from: str | None = None,
                 trust_received: bool = False, iprev: bool = True,
                 dmarc_mode: Mode = "tree-walk", psl: PublicSuffixList | None = None,
                 strict_authors: bool = True, now: float | None = None,
                 min_rsa_bits: int = 1024, allow_sha1: bool = False,
                 receiver: str | None = None, sample: Callable[[], float] | None = None,
                 arc: bool = True, trusted_sealers: Collection[str] = (),
                 apply_override: bool = False, budget: float = 20.0) -> Check[AuthResults]:
    """SPF, DKIM, ARC and DMARC for a message, as one check (RFC 7208, 6376, 8617, 9989,
    8601).

    :param message: the raw message, bytes or a binary file (the body is streamed).
    :param ip: the SMTP client's address; ``helo`` its HELO/EHLO name; ``mail_from``
        the reverse-path (``""`` for a null one). Without them (a saved message), SPF
        is ``none`` and DMARC can pass only on DKIM.
    :param trust_received: without ``ip``, read ip and helo from the topmost Received
        field and mail_from from Return-Path. Only safe when the topmost Received field
        was written by your own MTA (docs/dmarc.md).
    :param iprev: check the client address's reverse DNS (RFC 8601 §3) when ip is known.
    :param dmarc_mode: ``"tree-walk"`` (RFC 9989) or ``"psl"`` (RFC 7489).
    :param psl: the Public Suffix List for ``"psl"`` mode.
    :param strict_authors: see :func:`mailauth.check_dmarc`.
    :param now: the time (seconds since the epoch) for DKIM's ``x=`` and SPF's ``%{t}``;
        the clock's at the start of each run by default.
    :param min_rsa_bits, allow_sha1: as :func:`mailauth.verify_dkim`.
    :param receiver: this host's name, for SPF's ``%{r}`` macro.
    :param sample: RFC 7489 mode's ``pct=`` draw (see :func:`mailauth.check_dmarc`).
    :param arc: verify the ARC chain (RFC 8617 §5.2), its key queries sent with SPF's,
        DKIM's and DMARC's; ``result.arc`` and ``arc=`` in the header. On by default, as
        in Node's mailauth; a message without ARC fields costs no query (``arc=none``).
    :param trusted_sealers: sealing domains (ARC-Seal ``d=``) whose recorded results you
        trust, e.g. your own forwarders or the mailing lists your users subscribe to;
        none by default. When DMARC fails, ARC passes and one of them recorded a DMARC
        pass or an aligned DKIM or SPF pass for the From domain (and its own AMS still
        verifies), ``result.dmarc.override`` is a :class:`mailauth.dmarc.PolicyOverride`
        of type ``trusted_forwarder`` (RFC 8617 §7.2, RFC 9990).
    :param apply_override: with such an override, make the disposition ``none``. Off by
        default: ``dmarc.status`` stays ``fail`` either way, and the disposition stays
        what the policy asks unless you ask for the override to be applied.
    :param budget: seconds for all DNS work.
    :raises UsageError: an ``ip`` that is not an address, ``mail_from``/``helo`` without
        ``ip``, or a trusted sealer that is not a domain name; :class:`ArgumentTypeError`
        for wrong types.
    """
    checked = check_mode(dmarc_mode)
    for name, value in (("ip", ip), ("helo", helo), ("mail_from", mail_from),
                        ("receiver", receiver)):
        if value is not None and not isinstance(value, str):
            raise ArgumentTypeError(f"{name} is a str or None, not {type(value).__name__}")
    if ip is None and (helo is not None or mail_from is not None):
        raise UsageError("helo and mail_from need ip: SPF checks the client address")
    if ip is not None:
        from .spf._arguments import client

        client(ip)  # raises UsageError for text that is not an address
    if now is not None and (isinstance(now, bool) or not isinstance(now, int | float)):
        raise ArgumentTypeError(f"now is a number of seconds since the epoch, not "
                                f"{type(now).__name__}")
    check_message(message)
    check_psl(psl)
    for name, flag in (("trust_received", trust_received), ("iprev", iprev),
                       ("strict_authors", strict_authors), ("allow_sha1", allow_sha1),
                       ("arc", arc), ("apply_override", apply_override)):
        check_bool(name, flag)
    trusted = normalize_sealers(trusted_sealers)
    if trusted and not arc:
        raise UsageError("trusted_sealers needs the ARC chain: leave arc=True")
    check_int("min_rsa_bits", min_rsa_bits, minimum=0)
    check_number("budget", budget, positive=True)
    parsed = message if isinstance(message, Message) else parse_message(message)

    def flow() -> Flow[AuthResults]:
        # The edge: the public verb reads the clock, once per run.
        current = time.time() if now is None else float(now)  # noqa: TID251
        return (yield from authenticate_flow(
            parsed, ip=ip, helo=helo, mail_from=mail_from, now=current,
            trust_received=trust_received, iprev=iprev, dmarc_mode=checked, psl=psl,
            strict_authors=strict_authors, min_rsa_bits=min_rsa_bits,
            allow_sha1=allow_sha1, receiver=receiver, sample=sample, arc=arc,
            trusted_sealers=trusted, apply_override=apply_override))

    return Check(flow, budget=budget, reusable=parsed.seekable)
