"""DMARC results: the verdict, the policy that applied and why, and the alignment table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._display import Card, Displayed, Part
from .._headerfmt import ascii_text, resinfo
from ..status import Status
from ._discovery import RecordLookup
from ._record import DMARCRecord, Mode, Policy

__all__ = ["Alignment", "DMARCResult", "Disposition", "OverrideType", "PolicyOverride"]

Disposition = Literal["none", "quarantine", "reject"]
# RFC 9990's PolicyOverrideType: why a receiver applied another disposition than the
# policy asked for (the aggregate report's <reason><type>).
OverrideType = Literal["trusted_forwarder", "mailing_list", "local_policy",
                       "policy_test_mode", "other"]
_ONE_LOWER: dict[Policy, Policy] = {"reject": "quarantine", "quarantine": "none",
                                    "none": "none"}


@dataclass(frozen=True, slots=True)
class Alignment:
    """One identifier DMARC looked at, its own result, and whether it aligned.

    :param method: ``"spf"`` (the MAIL FROM domain, or the HELO name for a null
        reverse-path, RFC 7208 §2.4) or ``"dkim"`` (a signature's ``d=``).
    :param domain: the identifier's domain.
    :param result: its own SPF or DKIM result.
    :param aligned: whether it is aligned with the author domain (None when that could
        not be told: a DNS error during a tree walk, or not evaluated for an identifier
        that did not pass).
    :param mode: ``"r"`` relaxed or ``"s"`` strict (the record's ``aspf``/``adkim``).
    :param org_domain: the identifier's organizational domain, when it was needed.
    :param selector: for DKIM, the signature's ``s=``.
    :param explanation: the sentence a postmaster reads.
    :param testing: a DKIM signature whose key has ``t=y``: its pass does not count.
    """

    method: Literal["spf", "dkim"]
    domain: str
    result: Status
    aligned: bool | None
    mode: Literal["r", "s"]
    org_domain: str | None = None
    selector: str | None = None
    explanation: str = ""
    testing: bool = False

    @property
    def counts(self) -> bool:
        """A pass that can make DMARC pass: not a DKIM pass whose key has t=y (RFC 6376
        §3.6.1: such mail is treated as unsigned)."""
        return self.result is Status.PASS and not self.testing

    @property
    def passed(self) -> bool:
        """True for an aligned pass that counts: what makes DMARC pass."""
        return self.aligned is True and self.counts

    @property
    def label(self) -> str:
        """``SPF example.org`` or ``DKIM d=example.org s=sel``."""
        if self.method == "spf":
            return f"SPF {self.domain}"
        return f"DKIM d={self.domain}" + (f" s={self.selector}" if self.selector else "")


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A local policy override of a DMARC fail: what the receiver may do instead of the
    policy, and why (RFC 9989 §5.3.6; RFC 9990's aggregate report ``<reason>``).

    mailauth makes one kind: ``trusted_forwarder``, when a trusted ARC sealer recorded an
    authentication pass for the From domain (RFC 8617 §7.2; see
    :func:`mailauth.authenticate`'s ``trusted_sealers``).

    :param type: RFC 9990's PolicyOverrideType (the report's ``<type>``).
    :param comment: one sentence naming the sealer and instance (the report's
        ``<comment>``).
    :param sealer: the trusted sealing domain (ARC-Seal ``d=``); ``instance`` its ``i=``.
    :param evidence: what that sealer recorded (``dmarc=pass header.from=example.org``).
    :param applied: whether the disposition was changed to ``none``
        (``apply_override=True``); otherwise the override only says it would apply.
    """

    type: OverrideType
    comment: str
    sealer: str = ""
    instance: int = 0
    evidence: str = ""
    applied: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class DMARCResult(Displayed):
    """The DMARC verdict for a message (RFC 9989 §5.3, RFC 7489 §6.6).

    :param status: pass, fail, none (no policy), temperror (a DNS error), permerror (an
        author domain DMARC cannot work with).
    :param reason: a sentence saying why.
    :param author_domain: the RFC5322.From domain (A-labels), or None.
    :param policy: the Domain Owner Assessment Policy that applies (``p``, ``sp`` or
        ``np`` of the record), before ``t=y``/``pct``; None without a record.
    :param policy_tag: which tag it came from; ``policy_reason`` why that tag.
    :param disposition: what the policy asks for this message: ``none`` on a pass,
        the policy on a fail (one level lower with ``t=y``, or outside ``pct``'s
        sample in RFC 7489 mode).
    :param record: the record applied; ``policy_domain`` where it was found (the author
        domain, its organizational domain, or a public suffix domain with ``psd=y``).
    :param org_domain: the author domain's organizational domain, when it was needed.
    :param mode: ``"tree-walk"`` (RFC 9989) or ``"psl"`` (RFC 7489).
    :param alignment: every identifier, its result, and why it aligned or not.
    :param lookups: every ``_dmarc`` query, in order.
    :param testing: the policy applies one level lower: the record has ``t=y`` (RFC 9989
        mode), or the message fell outside ``pct``'s sample (RFC 7489 mode).
    :param authors: every author domain found in From.
    :param author_problem: why the From field(s) gave no single author domain.
    :param override: a local policy override that applies (or would, when not
        ``applied``) to this fail: a trusted ARC sealer vouched for the From domain.
        None otherwise, and always None unless trusted sealers were given.
    """

    status: Status
    reason: str
    author_domain: str | None = None
    policy: Policy | None = None
    policy_tag: Literal["p", "sp", "np"] | None = None
    policy_reason: str = ""
    disposition: Disposition = "none"
    record: DMARCRecord | None = None
    policy_domain: str | None = None
    org_domain: str | None = None
    mode: Mode = "tree-walk"
    alignment: tuple[Alignment, ...] = ()
    lookups: tuple[RecordLookup, ...] = ()
    testing: bool = False
    authors: tuple[str, ...] = ()
    author_problem: str | None = None
    warnings: tuple[str, ...] = ()
    override: PolicyOverride | None = None

    @property
    def applied_policy(self) -> Policy | None:
        """The policy applied after ``t=y`` or ``pct`` (``policy.dmarc`` of RFC 8601's
        registry: "the evaluated DMARC policy applied/to be applied after policy
        options including pct: and sp: have been processed")."""
        if self.policy is None or not self.testing:
            return self.policy
        return _ONE_LOWER[self.policy]

    @property
    def aligned_passes(self) -> tuple[Alignment, ...]:
        """The identifiers that passed and are aligned."""
        return tuple(a for a in self.alignment if a.passed)

    def authres(self) -> str:
        """The Authentication-Results ``dmarc=`` resinfo (RFC 7489 §11.2, RFC 9989 §11).

        ``dmarc=fail (p=reject dis=reject) header.from=example.org policy.dmarc=reject``:
        the comment gives the policy and disposition, ``header.from`` the author
        domain, ``policy.dmarc`` the policy that applied. Unless pass or none,
        ``reason=`` says why briefly. ASCII only.
        """
        comment = None
        if self.policy is not None:
            comment = f"p={self.policy} dis={self.disposition}"
            if self.policy_tag and self.policy_tag != "p":
                comment = f"{self.policy_tag}={self.policy} dis={self.disposition}"
            if self.override is not None and self.override.applied:
                comment += f" override={self.override.type}"
        elif self.status is Status.PERMERROR and self.disposition != "none":
            comment = f"dis={self.disposition}"
        properties: list[tuple[str, str]] = []
        if self.author_domain:
            properties.append(("header.from", ascii_text(self.author_domain, 256)))
        if self.policy is not None:
            properties.append(("policy.dmarc", self.applied_policy or self.policy))
        reason = None
        if self.status in (Status.TEMPERROR, Status.PERMERROR):
            reason = ascii_text(self.reason, 120)
        return " ".join(resinfo("dmarc", str(self.status), reason=reason,
                                properties=properties, comment_text=comment))

    def _facts(self) -> tuple[tuple[str, str], ...]:
        facts = [("author domain", self.author_domain or "(none)")]
        if len(self.authors) > 1:
            facts.append(("author domains", ", ".join(self.authors)))
        if self.author_problem:
            facts.append(("From problem", self.author_problem))
        facts.append(("mode", "DNS tree walk (RFC 9989)" if self.mode == "tree-walk"
                      else "Public Suffix List (RFC 7489)"))
        if self.record is not None:
            facts.append(("record", self.record.text))
            facts.append(("found at", f"_dmarc.{self.policy_domain}"))
        if self.org_domain:
            facts.append(("organizational domain", self.org_domain))
        if self.policy is not None:
            facts.append(("policy", f"{self.policy_tag}={self.policy}: {self.policy_reason}"))
        facts.append(("disposition", self.disposition))
        if self.testing:
            facts.append(("testing", f"the policy applies one level lower: "
                                     f"{self.applied_policy} (t=y, or outside pct)"))
        if self.override is not None:
            state = "applied" if self.override.applied else "would apply (not applied)"
            facts.append((f"override {self.override.type}",
                          f"{state}: {self.override.comment}"))
        facts += [("warning", w) for w in self.warnings]
        return tuple(facts)

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="dmarc", status=str(self.status), reason=self.reason)
        parts = tuple(Part(title=a.label, status=str(a.result),
                           reason=a.explanation,
                           facts=(("aligned", {True: "yes", False: "no", None: "unknown"}
                                   [a.aligned]), ("mode", "strict" if a.mode == "s"
                                                  else "relaxed")))
                      for a in self.alignment)
        return Card(method="dmarc", status=str(self.status), reason=self.reason,
                    facts=self._facts(), parts=parts,
                    trace=tuple(x.describe() for x in self.lookups), header=self.authres())
