"""What an SPF check returns: :class:`SPFResult` and its trace (docs/architecture.md).

A result shows itself as ``mailauth._display`` shows every result: ``str()`` is one
verdict line, ``repr()`` is short, and notebooks get an HTML card (``_repr_html_``)
and IPython's text display (``_repr_pretty_``) with the facts, the HELO identity's
result, the header fields and the trace folded away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias

from .._display import Card, Displayed, Part
from .._flow import Answer
from .._headerfmt import ascii_text, received_spf, resinfo
from ..status import Status

__all__ = ["SPFResult", "TraceStep"]


class TraceStep(NamedTuple):
    """One step of an evaluation, for people reading why a verdict was reached.

    ``depth`` is the include/redirect nesting (0 for the checked domain), ``domain``
    the <domain> being evaluated, ``term`` the term as written (or ``"record"`` for the
    record lookup), ``target`` the name after macro expansion, ``answers`` the DNS
    answers the step saw, ``outcome`` what the step concluded, and
    ``lookups``/``void_lookups`` the running counts after it (RFC 7208 §4.6.4).

    A result keeps its steps as plain tuples of these fields (:data:`Step`) and makes
    them TraceSteps when :attr:`SPFResult.trace` is read.
    """

    depth: int
    domain: str
    term: str
    outcome: str
    target: str | None = None
    answers: tuple[Answer, ...] = ()
    lookups: int = 0
    void_lookups: int = 0

    def __str__(self) -> str:
        indent = "  " * self.depth
        target = f" -> {self.target}" if self.target and self.target != self.term else ""
        line = (f"{indent}{self.term}{target}: {self.outcome} "
                f"[lookups {self.lookups}, void {self.void_lookups}]")
        for answer in self.answers:
            line += f"\n{indent}    dns {answer.describe()}"
        return line


# One step as an evaluation records it: TraceStep's fields, in order, in a plain tuple
# (an evaluation records a dozen or more; a plain tuple is the cheapest value to make).
Step: TypeAlias = tuple[int, str, str, str, str | None, tuple[Answer, ...], int, int]


# Header field text is ASCII (RFC 7208 §9.1 uses RFC 5322's comment and quoted-string;
# RFC 8601 §2.2 values are ASCII) in lines of at most 998 characters, 78 recommended
# (RFC 5322 §2.1.1). Values are cut to these lengths: 256 holds any RFC 5321 path or
# domain; problems are cut shorter.
_MAX_VALUE = 256
_MAX_PROBLEM = 200


@dataclass(frozen=True, slots=True, repr=False)
class SPFResult(Displayed):
    """The result of check_host() for one identity (RFC 7208 §2.6, §4).

    :param status: the RFC 7208 §2.6 result.
    :param identity: ``"mailfrom"`` or ``"helo"`` (RFC 7208 §2.3, §2.4).
    :param domain: the <domain> checked; ``sender`` the <sender> (§4.1).
    :param ip: the client address as given (IPv4-mapped IPv6 shown as IPv4).
    :param explanation: the ``exp=`` text after a fail (§6.2), or the default one.
    :param matched: the term that decided the result, as written, or None.
    :param reason: a sentence saying why, for people.
    :param problem: for permerror and temperror, what went wrong.
    :param lookups: DNS-querying terms used of ``max_lookups`` (§4.6.4).
    :param void_lookups: void lookups used of ``max_void_lookups`` (§4.6.4).
    :param _steps: the steps taken, in order, as plain tuples of :class:`TraceStep`'s
        fields; read them as :attr:`trace`.
    :param helo_domain: the HELO/EHLO name given, ``receiver`` the checking host.
    :param helo: for :func:`check_spf`'s MAIL FROM result, the HELO identity's result.
    """

    status: Status
    identity: str
    domain: str
    sender: str
    ip: str
    explanation: str = ""
    matched: str | None = None
    reason: str = ""
    problem: str = ""
    lookups: int = 0
    void_lookups: int = 0
    max_lookups: int = 10
    max_void_lookups: int = 2
    _steps: tuple[Step, ...] = field(default=(), repr=False)
    helo_domain: str | None = None
    receiver: str | None = None
    record: str | None = None
    helo: SPFResult | None = None

    @property
    def trace(self) -> tuple[TraceStep, ...]:
        """Every step taken, in order, as :class:`TraceStep` values (made when read)."""
        return tuple(map(TraceStep._make, self._steps))

    def trace_text(self) -> str:
        """The trace, one step a line, indented by include depth."""
        return "\n".join(str(step) for step in self.trace)

    def comment(self) -> str:
        """The human comment of RFC 7208 §9.1's example wording."""
        return self._comment_text(self.receiver, self.sender, self.ip, self.domain,
                                  self.problem)

    def _comment_text(self, who: str | None, sender: str, ip: str, domain: str,
                      problem: str) -> str:
        s = self.status
        if s is Status.PASS:
            text = f"domain of {sender} designates {ip} as permitted sender"
        elif s is Status.FAIL:
            text = f"domain of {sender} does not designate {ip} as permitted sender"
        elif s is Status.SOFTFAIL:
            text = (f"domain of transitioning {sender} does not designate {ip} "
                    "as permitted sender")
        elif s is Status.NEUTRAL:
            text = f"{ip} is neither permitted nor denied by domain of {sender}"
        elif s is Status.NONE:
            text = f"domain of {sender} does not provide an SPF record"
        elif s is Status.TEMPERROR:
            text = f"error in processing during lookup of {sender}: {problem}"
        else:
            text = f"permanent error in processing domain of {domain}: {problem}"
        # RFC 7208 §9.1's example starts with the receiving host; without one, none.
        return f"{who}: {text}" if who else text

    def received_spf(self) -> str:
        """The Received-SPF header field (RFC 7208 §9.1), folded, without the final CRLF.

        The field is ASCII only: "§" is written "section" and other characters outside
        printable ASCII "?"; values are cut to 256 characters and the problem to 200,
        ending in "...". It is folded (CRLF and a space) between the words of the
        comment, between key=value pairs and, in a value too long for a line, at its
        spaces, to lines of at most 78 characters where a space allows (never over
        998, RFC 5322 §2.1.1). Unfolding gives the field on one line.
        :attr:`reason`, :attr:`problem` and :meth:`comment` are not changed: they are
        for people, not for the header.
        """
        problem = ascii_text(self.problem, _MAX_PROBLEM)
        sender = ascii_text(self.sender, _MAX_VALUE)
        ip = ascii_text(self.ip, _MAX_VALUE)
        pairs = [("client-ip", ip), ("envelope-from", sender)]
        if self.helo_domain:
            pairs.append(("helo", ascii_text(self.helo_domain, _MAX_VALUE)))
        if problem and self.status.is_error:
            pairs.append(("problem", problem))
        if self.receiver:
            pairs.append(("receiver", ascii_text(self.receiver, _MAX_VALUE)))
        pairs.append(("identity", ascii_text(self.identity, _MAX_VALUE)))
        if self.matched:
            pairs.append(("mechanism", ascii_text(self.matched, _MAX_VALUE)))
        who = ascii_text(self.receiver, _MAX_VALUE) if self.receiver else None
        comment = self._comment_text(who, sender, ip, ascii_text(self.domain, _MAX_VALUE),
                                     problem)
        return received_spf(str(self.status), comment_text=comment, pairs=pairs)

    def authres(self) -> str:
        """The Authentication-Results ``spf=`` resinfo (RFC 8601 §2.7.2, RFC 7208 §9.2).

        ``smtp.mailfrom`` (or ``smtp.helo``) is an RFC 8601 §2.2 pvalue: bare when it is
        an address whose domain has two or more labels, or a dot-atom token, else a
        quoted-string (``"user@localhost"``). ASCII only, as :meth:`received_spf`; the
        value is cut to 256 characters.
        """
        helo = self.identity == "helo"
        value = ascii_text(self.domain if helo else self.sender, _MAX_VALUE)
        prop = "smtp.helo" if helo else "smtp.mailfrom"
        return " ".join(resinfo("spf", str(self.status), properties=[(prop, value)]))

    def _facts(self) -> tuple[tuple[str, str], ...]:
        """What a person checks first, in the order of the evaluation."""
        facts = [("identity", self.identity), ("domain", self.domain),
                 ("sender", self.sender), ("ip", self.ip)]
        if self.record is not None:
            facts.append(("record", self.record))
        facts.append(("matched", self.matched or "(no term)"))
        if self.explanation:
            facts.append(("explanation", self.explanation))
        facts += [("lookups", f"{self.lookups}/{self.max_lookups}"),
                  ("void lookups", f"{self.void_lookups}/{self.max_void_lookups}")]
        return tuple(facts)

    def _card(self, *, full: bool = True) -> Card:
        """The result as :mod:`mailauth._display` shows it; without ``full``, only the
        verdict and reason (what ``str()`` and ``repr()`` show: a milter may log one per
        message, and writing the trace and header fields costs twice the check)."""
        if not full:
            return Card(method="spf", status=str(self.status), reason=self.reason)
        parts: tuple[Part, ...] = ()
        extra = [("Authentication-Results fragment", self.authres())]
        if self.helo is not None:
            helo = self.helo
            parts = (Part(title=f"HELO {helo.domain}", status=str(helo.status),
                          reason=helo.reason, facts=helo._facts()),)
            extra.append((f"HELO trace ({len(helo._steps)} steps)", helo.trace_text()))
        return Card(method="spf", status=str(self.status), reason=self.reason,
                    facts=self._facts(), parts=parts,
                    trace=tuple(str(step) for step in self.trace),
                    header=self.received_spf().replace("\r\n", "\n"), extra=tuple(extra))
