"""The results of ARC chain validation (RFC 8617 §5.2): one :class:`ARCSet` per
instance and the :class:`ARCResult` of the whole chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .._display import Card, Displayed, Part
from .._headerfmt import ascii_text, resinfo
from ..authres import AuthenticationResults
from ..authres import parse as parse_authres
from ..errors import ParseError
from ..status import Status

__all__ = ["ARCResult", "ARCSet"]

_INSTANCE_PREFIX = re.compile(r"instance [0-9]+: ")


@dataclass(frozen=True, slots=True, repr=False)
class ARCSet(Displayed):
    """One ARC Set (RFC 8617 §4.1): the ARC-Seal (AS), ARC-Message-Signature (AMS)
    and ARC-Authentication-Results (AAR) of one instance, and what was found of each.

    ``seal_status`` and ``ams_status`` are pass or fail once checked, none when the
    validation stopped before checking them (RFC 8617 §5.2 stops at the first failure
    that decides the chain). ``auth_results`` is the AAR parsed with
    :func:`mailauth.authres.parse` (``arc=True``), or None with the reason in
    ``auth_results_error``; ``auth_results_text`` is the field as written.
    """

    instance: int
    seal_domain: str | None = None
    seal_selector: str | None = None
    seal_algorithm: str | None = None
    cv: str | None = None                     # none | pass | fail, as the AS says
    seal_status: Status = Status.NONE
    ams_domain: str | None = None
    ams_selector: str | None = None
    ams_algorithm: str | None = None
    ams_status: Status = Status.NONE
    reason: str = ""
    auth_results_text: str = ""               # the AAR field as written ("" if not one)
    ams_headers: tuple[str, ...] = ()         # the AMS h=
    timestamp: int | None = None              # the AS t=

    @property
    def auth_results(self) -> AuthenticationResults | None:
        """The AAR parsed with :func:`mailauth.authres.parse` (``arc=True``), or None
        when there is not exactly one or it cannot be read (read on first use: a
        validator that does not look at it does not pay for it)."""
        return _parse_aar(self.auth_results_text)[0]

    @property
    def auth_results_error(self) -> str | None:
        """Why :attr:`auth_results` is None."""
        return _parse_aar(self.auth_results_text)[1]

    def describe(self) -> str:
        """One line: ``i=1 seal=pass d=example.org s=sel cv=none ams=pass ...``."""
        return (f"i={self.instance} seal={self.seal_status} d={self.seal_domain} "
                f"s={self.seal_selector} cv={self.cv} ams={self.ams_status} "
                f"d={self.ams_domain} s={self.ams_selector}"
                + (f": {self.reason}" if self.reason else ""))

    def _card(self, *, full: bool = True) -> Card:
        status = _set_status(self)
        return Card(method=f"arc i={self.instance}", status=str(status),
                    reason=self.reason or self.describe(),
                    facts=_set_facts(self) if full else ())


@lru_cache(maxsize=256)
def _parse_aar(text: str) -> tuple[AuthenticationResults | None, str | None]:
    if not text:
        return None, "there is not exactly one ARC-Authentication-Results field"
    try:
        return parse_authres(text, arc=True), None
    except ParseError as exc:
        return None, str(exc)
    except Exception as exc:  # a safety net: network input never raises
        return None, f"{type(exc).__name__}: {exc}"


def _set_status(s: ARCSet) -> Status:
    if Status.FAIL in (s.seal_status, s.ams_status):
        return Status.FAIL
    if s.seal_status is Status.PASS and s.ams_status is Status.PASS:
        return Status.PASS
    return Status.NONE


def _set_facts(s: ARCSet) -> tuple[tuple[str, str], ...]:
    facts = [("ARC-Seal", f"{s.seal_status} d={s.seal_domain} s={s.seal_selector} "
                          f"a={s.seal_algorithm} cv={s.cv}"),
             ("ARC-Message-Signature", f"{s.ams_status} d={s.ams_domain} "
                                       f"s={s.ams_selector} a={s.ams_algorithm}")]
    if s.ams_headers:
        facts.append(("AMS h=", ":".join(s.ams_headers)))
    if s.auth_results is not None:
        facts.append(("recorded by", s.auth_results.authserv_id))
        facts += [("recorded", str(r)) for r in s.auth_results.results]
    elif s.auth_results_error:
        facts.append(("ARC-Authentication-Results", f"unreadable: {s.auth_results_error}"))
    return tuple(facts)


@dataclass(frozen=True, slots=True, repr=False)
class ARCResult(Displayed):
    """The ARC chain validation status of a message (RFC 8617 §5.2).

    ``status`` is pass, fail or none (no ARC Sets). ``code`` is a stable machine
    reason (``ok``, ``no_arc_sets``, ``missing_ams``, ``ams_failed``, ``seal_failed``,
    ``chain_marked_failed``, ...); ``reason`` a sentence. ``failed_instance`` is the
    instance whose set decided a fail (None when no single instance did).
    ``oldest_pass`` is RFC 8617 §5.2 step 5's value: the lowest instance from which
    every AMS up to the newest still validates, 0 when all of them do; None unless
    the chain passes. ``sets`` is oldest first; ``chain`` the sealing domains (AS
    ``d=``) for instances 1..n.
    """

    status: Status
    reason: str
    code: str = "ok"
    failed_instance: int | None = None
    oldest_pass: int | None = None
    sets: tuple[ARCSet, ...] = ()
    chain: tuple[str, ...] = ()

    @property
    def instances(self) -> int:
        """The highest instance of the chain (0 for none)."""
        return max((s.instance for s in self.sets), default=0)

    def authres(self, *, remote_ip: str | None = None, chain: bool = True) -> str:
        """The ``arc=`` resinfo for Authentication-Results (RFC 8617 §6, RFC 8601
        §2.2): ``arc=pass (arc.chain=example.org:lists.example.net)
        smtp.remote-ip=192.0.2.1 header.oldest-pass=0``.

        ``smtp.remote-ip`` is written when ``remote_ip`` is given, and
        ``header.oldest-pass`` when the chain passed: the two properties IANA registers
        for the arc method. The sealing domains of a passing chain, oldest first and
        separated by ":", go in a comment as ``arc.chain=...`` (``chain=False`` leaves
        it out): IANA's registry has no "arc" ptype, so as a property it would be
        unregistered, while a comment may carry any text, and readers of OpenARC's
        fields still find ``arc.chain=`` in it. Unless the chain passes or is none,
        ``reason=`` gives the first clause of :attr:`reason` and the failed instance.
        """
        properties: list[tuple[str, str]] = []
        if remote_ip:
            properties.append(("smtp.remote-ip", remote_ip))
        if self.status is Status.PASS and self.oldest_pass is not None:
            properties.append(("header.oldest-pass", str(self.oldest_pass)))
        note = None
        if chain and self.chain and self.status is Status.PASS:
            note = "arc.chain=" + ":".join(self.chain)
        reason = None
        if self.status not in (Status.PASS, Status.NONE):
            reason = _first_clause(_INSTANCE_PREFIX.sub("", self.reason))
            if self.failed_instance is not None:
                reason += f" (i={self.failed_instance})"
        return " ".join(resinfo("arc", str(self.status), reason=reason,
                                properties=properties, comment_text=note))

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="arc", status=str(self.status), reason=self.reason)
        facts = [("code", self.code), ("sets", str(len(self.sets)))]
        if self.chain:
            facts.append(("sealers", " > ".join(self.chain)))
        if self.failed_instance is not None:
            facts.append(("failed at", f"i={self.failed_instance}"))
        if self.oldest_pass is not None:
            facts.append(("oldest-pass", str(self.oldest_pass)))
        parts = tuple(Part(title=f"i={s.instance} {s.seal_domain}", status=str(_set_status(s)),
                           reason=s.reason, facts=_set_facts(s)) for s in self.sets)
        return Card(method="arc", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), parts=parts, header=self.authres())


def _first_clause(reason: str) -> str:
    """The reason up to its first ":" or ";", at most 100 characters, for
    ``reason=`` in Authentication-Results."""
    cut = min([i for i in (reason.find(":"), reason.find(";")) if i > 0], default=len(reason))
    return ascii_text(reason[:cut].strip(), 100)
