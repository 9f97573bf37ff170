"""DMARC evaluation as a flow: author domain, alignment, policy, disposition.

RFC 9989 §5.3 (§4.4 for alignment, §4.10 for discovery); RFC 7489 §6.6 in ``"psl"``
mode. The flow takes SPF's and DKIM's results: it never runs them itself, so the
umbrella (:func:`mailauth.authenticate`) can run all three together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, NamedTuple

from .._address import from_domains
from .._flow import Flow, gather, returned
from .._message import Message
from ..dkim import DKIMResult
from ..errors import ParseError
from ..psl import PublicSuffixList
from ..spf import SPFResult
from ..status import Status
from ._discovery import (
    Discovery,
    OrganizationalDomain,
    RecordLookup,
    discover_policy_flow,
    domain_exists_flow,
    organizational_domain_flow,
)
from ._override import ARCChainLike, trusted_forwarder_flow
from ._record import Mode, Policy
from ._result import Alignment, Disposition, DMARCResult

__all__ = ["MAX_AUTHOR_DOMAINS", "author_domains", "check_dmarc_flow", "combine", "evaluate_flow",
           "problem_result"]

_LOWER: dict[Policy, Disposition] = {"reject": "quarantine", "quarantine": "none",
                                     "none": "none"}


def author_domains(message: Message) -> tuple[tuple[str, ...], str | None]:
    """The author domains of a message and, when there is not exactly one, why.

    RFC 9989 §5.3.1 ("Extract Author Domain"): one From field (RFC 5322 §3.6) whose
    addresses share one domain. U-labels are turned into A-labels. Returns the domains
    found (each once, in order) and a problem sentence, or None when there is one
    author domain. Never raises.
    """
    fields = message.get_all("From")
    if not fields:
        return (), "the message has no From field (RFC 5322 §3.6 requires exactly one)"
    domains: list[str] = []
    unreadable: str | None = None
    for f in fields:
        try:
            domains += from_domains(f.value)
        except ParseError as exc:
            unreadable = unreadable or f"the From field cannot be read: {exc}"
    found = tuple(dict.fromkeys(domains))
    if len(fields) > 1:
        return found, (f"the message has {len(fields)} From fields "
                       "(RFC 5322 §3.6 allows exactly one)")
    if unreadable:
        return found, unreadable
    if len(found) > 1:
        return found, (f"the From field names {len(found)} author domains ("
                       + ", ".join(found) + "); RFC 9989 §5.3.1 needs exactly one")
    return found, None


def _share_suffix(a: str, b: str) -> bool:
    """Whether two names have a common last label: without one, no organizational
    domain can be shared (it is a suffix of each)."""
    return a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]


class _Identifier(NamedTuple):
    method: Literal["spf", "dkim"]
    domain: str
    result: Status
    label: str
    reason: str
    selector: str | None = None
    testing: bool = False        # a DKIM key with t=y (RFC 6376 §3.6.1)

    @property
    def counts(self) -> bool:
        """A pass that can make DMARC pass: not one whose key is in testing mode."""
        return self.result is Status.PASS and not self.testing


def _normalized(domain: str) -> str | None:
    from .._domain import normalize_domain

    try:
        return normalize_domain(domain)
    except (ValueError, TypeError):
        return None


def _identifiers(spf: SPFResult | None, dkim: DKIMResult | None) -> list[_Identifier]:
    """SPF's MAIL FROM identity (never the HELO identity's own result, RFC 9989 §4.4.2)
    and every DKIM signature with a ``d=``."""
    found: list[_Identifier] = []
    if spf is not None and spf.identity == "mailfrom" and spf.domain:
        domain = _normalized(spf.domain)
        if domain is not None:
            null = spf.sender.lower().startswith("postmaster@") and spf.helo_domain and (
                spf.domain.lower() == spf.helo_domain.lower().rstrip("."))
            label = (f"SPF {domain} (the HELO name: the reverse-path is null)" if null
                     else f"SPF {domain}")
            found.append(_Identifier("spf", domain, spf.status, label, spf.reason))
    if dkim is not None:
        for sig in dkim.signatures:
            if not sig.domain:
                continue
            domain = _normalized(sig.domain)
            if domain is None:
                continue
            found.append(_Identifier("dkim", domain, sig.status,
                                     f"DKIM d={domain} s={sig.selector}", sig.reason,
                                     sig.selector, sig.testing))
    return found


def _explain(ident: _Identifier, author: str, mode: Literal["r", "s"], aligned: bool | None,
             orgs: dict[str, OrganizationalDomain]) -> str:
    """The sentence a postmaster reads about one identifier."""
    kind = "relaxed" if mode == "r" else "strict"
    if ident.testing and ident.result is Status.PASS:
        return (f"{ident.label} passed, but its key has t=y (testing): RFC 6376 §3.6.1 says "
                "to treat the message as unsigned, so it cannot make DMARC pass")
    if ident.result is not Status.PASS:
        why = f": {ident.reason}" if ident.reason else ""
        return (f"{ident.label} did not pass ({ident.result}{why}), so it cannot make DMARC "
                "pass, aligned or not")
    if ident.domain == author:
        return f"{ident.label} passed and is the From domain itself, aligned ({kind})"
    if mode == "s":
        return (f"{ident.label} passed but is not aligned with From domain {author} "
                f"(strict: the names must be identical)")
    if aligned is None:
        failed = orgs.get(ident.domain) or orgs.get(author)
        why = failed.how if failed is not None else "a DNS error"
        return (f"{ident.label} passed, but its alignment with From domain {author} is "
                f"unknown (relaxed: organizational domain {why})")
    ours = orgs[ident.domain].org_domain if ident.domain in orgs else ident.domain
    theirs = orgs[author].org_domain if author in orgs else author
    if aligned:
        return (f"{ident.label} passed and is aligned with From domain {author} "
                f"(relaxed: both under organizational domain {theirs})")
    return (f"{ident.label} passed but is not aligned with From domain {author} "
            f"(relaxed: organizational domains {ours} ≠ {theirs})")


def _org_walks(discovery: Discovery, needed: Sequence[str], *, mode: Mode,
               psl: PublicSuffixList | None) -> Flow[dict[str, OrganizationalDomain]]:
    """The organizational domains of ``needed`` (the author's first), walked together."""
    known = discovery.known()
    flows = []
    for domain in needed:
        if domain == discovery.author_domain and discovery.org_domain is not None:
            flows.append(returned(OrganizationalDomain(domain, discovery.lookups,
                                                    discovery.org_domain, discovery.how)))
        else:
            flows.append(organizational_domain_flow(domain, mode=mode, psl=psl, known=known))
    walks = yield from gather(*flows)
    return dict(zip(needed, walks, strict=True))


def _policy(discovery: Discovery, mode: Mode, exists: bool | None
            ) -> tuple[Policy, Literal["p", "sp", "np"], str]:
    """Which of p, sp and np applies (RFC 9989 §4.10.1), and why."""
    record = discovery.record
    assert record is not None and discovery.policy_domain is not None
    p, sp, np = record.effective(mode)
    author, where = discovery.author_domain, discovery.policy_domain
    rescued = "" if (p, sp, np) == (record.p or "none", record.sp, record.np) else (
        "; the record's policy is unusable, so p=none (it has a valid rua, "
        + ("RFC 7489 §6.6.3)" if mode == "psl" else "RFC 9989 §4.10.1)"))
    if author == where:
        return p, "p", f"the record is the author domain's own{rescued}"
    if exists is False and np is not None:   # existence is asked only when np is set
        how = ("no A, AAAA or MX, RFC 9091" if mode == "psl"
               else "NXDOMAIN, RFC 9989 §3.2")
        return np, "np", (f"{author} does not exist ({how}) and the record at "
                          f"_dmarc.{where} has np{rescued}")
    if sp is not None:
        return sp, "sp", f"{author} is a subdomain of {where}{rescued}"
    return p, "p", f"{author} is a subdomain of {where}, whose record has no sp{rescued}"


def evaluate_flow(discovery: Discovery, *, spf: SPFResult | None, dkim: DKIMResult | None,
                  psl: PublicSuffixList | None = None,
                  sample: Callable[[], float] | None = None) -> Flow[DMARCResult]:
    """Alignment, pass or fail, and the policy for one author domain (RFC 9989 §5.3).

    :param discovery: what :func:`discover_policy_flow` found.
    :param spf: check_spf's result (its MAIL FROM identity), or None without an envelope.
    :param dkim: verify_dkim's result, or None.
    :param sample: in RFC 7489 mode, a function returning a float in [0, 1) that decides
        whether a message falls inside ``pct=`` (``random.random`` by default).
    """
    mode, author = discovery.mode, discovery.author_domain

    def result(status: Status, reason: str, **facts: Any) -> DMARCResult:
        """The result, made once (dataclasses.replace would make it twice)."""
        facts.setdefault("lookups", discovery.lookups)
        facts.setdefault("org_domain", discovery.org_domain)
        return DMARCResult(status=status, reason=reason, author_domain=author, mode=mode,
                           authors=(author,), policy_domain=discovery.policy_domain,
                           record=discovery.record, **facts)

    if discovery.tempfail is not None:
        return result(Status.TEMPERROR, f"the DMARC policy of {author} cannot be found: "
                                        f"{discovery.tempfail.describe()}")
    record = discovery.record
    if record is None:
        return result(Status.NONE, f"{author} has no DMARC policy: {discovery.how}")
    warnings = record.warnings
    if not record.usable(mode):
        first: dict[str, str] = {}
        for name, value in record.tags:
            first.setdefault(name, value)
        bad = ", ".join(f"{t}={first.get(t, '')!r}" for t in record.invalid
                        if t in ("p", "sp", "np")) or "p is missing"
        rfc = "RFC 7489 §6.6.3" if mode == "psl" else "RFC 9989 §4.10.1"
        return result(Status.NONE, f"the DMARC record at _dmarc.{discovery.policy_domain} "
                                   f"cannot be used ({bad}, and no valid rua): {rfc} says "
                                   "to apply no DMARC processing", warnings=warnings)
    idents = _identifiers(spf, dkim)
    modes = {"spf": record.aspf, "dkim": record.adkim}
    needed = [i.domain for i in idents if i.counts and i.domain != author
              and modes[i.method] == "r" and _share_suffix(i.domain, author)]
    orgs: dict[str, OrganizationalDomain] = {}
    if needed:
        orgs = yield from _org_walks(discovery, list(dict.fromkeys([author, *needed])),
                                     mode=mode, psl=psl)
    rows = []
    author_org = orgs[author].org_domain if author in orgs else discovery.org_domain
    for ident in idents:
        mode_i = modes[ident.method]
        aligned: bool | None
        if ident.domain == author:
            aligned = True
        elif mode_i == "s" or not _share_suffix(ident.domain, author):
            aligned = False
        elif ident.domain in orgs and ident.counts:
            theirs = orgs[ident.domain].org_domain
            aligned = None if theirs is None or author_org is None else theirs == author_org
        else:
            aligned = None                        # did not pass: not evaluated
        rows.append(Alignment(ident.method, ident.domain, ident.result, aligned, mode_i,
                              orgs[ident.domain].org_domain if ident.domain in orgs else None,
                              ident.selector, _explain(ident, author, mode_i, aligned, orgs),
                              ident.testing))
    alignment = tuple(rows)
    lookups = _all_lookups(discovery.lookups, orgs)
    org_domain = author_org
    passing = [a for a in alignment if a.passed]
    if passing:
        policy, tag, why = _policy(discovery, mode, True)
        testing = mode == "tree-walk" and record.t and policy != "none"
        return result(Status.PASS, "aligned pass: " + ", ".join(_short(a) for a in passing),
                      alignment=alignment, lookups=lookups, org_domain=org_domain,
                      policy=policy, policy_tag=tag, policy_reason=why, warnings=warnings,
                      testing=testing)
    unknown = [a for a in alignment if a.counts and a.aligned is None]
    exists: bool | None = True
    if discovery.policy_domain != author:
        _, _, np = record.effective(mode)
        if np is not None:
            exists = yield from domain_exists_flow(author, mode=mode)
    policy, tag, why = _policy(discovery, mode, exists)
    if exists is None:
        why += " (whether it exists could not be told: a DNS error; np not applied)"
    if unknown:
        return result(Status.TEMPERROR,
                      "no identifier is known to be aligned: " + unknown[0].explanation,
                      alignment=alignment, lookups=lookups, org_domain=org_domain,
                      policy=policy, policy_tag=tag, policy_reason=why, warnings=warnings)
    disposition, testing, note = _disposition(policy, record_t=record.t, pct=record.pct,
                                              mode=mode, sample=sample)
    if not alignment:
        why_fail = "the message has no SPF or DKIM identifier to align"
    elif not any(a.counts for a in alignment):
        why_fail = "no SPF or DKIM identifier passed"
    else:
        why_fail = "no identifier that passed is aligned with " + author
    return result(Status.FAIL,
                  f"{why_fail}; policy {tag}={policy}, disposition {disposition}{note}",
                  alignment=alignment, lookups=lookups, org_domain=org_domain, policy=policy,
                  policy_tag=tag, policy_reason=why, disposition=disposition,
                  testing=testing, warnings=warnings)


def _short(a: Alignment) -> str:
    return a.label if a.method == "dkim" else f"SPF {a.domain}"


def _disposition(policy: Policy, *, record_t: bool, pct: int | None, mode: Mode,
                 sample: Callable[[], float] | None) -> tuple[Disposition, bool, str]:
    """The disposition of a failing message: the policy, lowered one level by ``t=y``
    (RFC 9989 §4.7) or, in RFC 7489 mode, outside ``pct``'s sample (RFC 7489 §6.6.4)."""
    if policy == "none":
        return "none", False, ""
    if mode == "tree-walk":
        if record_t:
            return _LOWER[policy], True, " (t=y: lowered one level)"
        return policy, False, ""
    if pct is None or pct >= 100:
        return policy, False, ""
    roll = (sample or random.random)() * 100
    if roll < pct:
        return policy, False, f" (inside pct={pct})"
    return _LOWER[policy], True, f" (outside pct={pct}: lowered one level)"


def _all_lookups(first: tuple[RecordLookup, ...], orgs: dict[str, OrganizationalDomain]
                 ) -> tuple[RecordLookup, ...]:
    seen = {x.domain: x for x in first}
    for walk in orgs.values():
        for x in walk.lookups:
            seen.setdefault(x.domain, x)
    return tuple(seen.values())


MAX_AUTHOR_DOMAINS = 8
"""With ``strict_authors=False``, the most author domains evaluated; a message with more
is a permerror to reject (each domain costs a policy discovery of up to eight queries:
RFC 9989 §4.10 bounds the work a message can cause, and §5.3.1 lets a receiver refuse)."""


def problem_result(domains: tuple[str, ...], problem: str, mode: Mode, strict: bool
                   ) -> DMARCResult:
    """The permerror for a message without exactly one author domain (RFC 9989 §5.3.1):
    disposition ``reject`` under ``strict_authors`` or with more than
    :data:`MAX_AUTHOR_DOMAINS`, else ``none``."""
    many = len(domains) > MAX_AUTHOR_DOMAINS
    disposition: Disposition = "reject" if strict or many else "none"
    if strict:
        tail = (" DMARC cannot be applied; strict_authors=True treats such a message as one "
                "to reject")
    elif many:
        tail = (f" More than {MAX_AUTHOR_DOMAINS} author domains are not evaluated; such a "
                "message is one to reject")
    else:
        tail = " DMARC cannot be applied"
    if len(problem) > 300:
        problem = problem[:297] + "..."
    domains = domains[:MAX_AUTHOR_DOMAINS * 4]
    return DMARCResult(status=Status.PERMERROR, reason=problem + "." + tail,
                       author_domain=domains[0] if len(domains) == 1 else None, mode=mode,
                       disposition=disposition, authors=domains, author_problem=problem)


def check_dmarc_flow(message: Message, *, spf: SPFResult | None, dkim: DKIMResult | None,
                     mode: Mode = "tree-walk", psl: PublicSuffixList | None = None,
                     strict_authors: bool = True,
                     sample: Callable[[], float] | None = None,
                     arc: ARCChainLike | None = None,
                     trusted_sealers: frozenset[str] = frozenset(),
                     apply_override: bool = False) -> Flow[DMARCResult]:
    """DMARC for a message whose SPF and DKIM results are known (RFC 9989 §5.3).

    The flow behind :func:`mailauth.check_dmarc`; see there for the parameters
    (``trusted_sealers`` in canonical form: :func:`normalize_sealers`).
    """
    domains, problem = author_domains(message)
    if problem is not None and (strict_authors or not domains
                                or len(domains) > MAX_AUTHOR_DOMAINS):
        return problem_result(domains, problem, mode, strict_authors)
    discoveries = yield from gather(*(discover_policy_flow(d, mode=mode, psl=psl)
                                      for d in domains))
    results = []
    for discovery in discoveries:
        result = yield from evaluate_flow(discovery, spf=spf, dkim=dkim, psl=psl,
                                          sample=sample)
        result = yield from trusted_forwarder_flow(result, arc, trusted_sealers,
                                                   apply=apply_override, psl=psl)
        results.append(result)
    return combine(results, domains, problem)


_WORST = (Status.TEMPERROR, Status.FAIL, Status.PERMERROR, Status.NONE, Status.PASS)


def combine(results: Sequence[DMARCResult], domains: tuple[str, ...], problem: str | None
            ) -> DMARCResult:
    """One result for several author domains (``strict_authors=False``): the worst, by
    temperror, fail, permerror, none, pass; a pass only when every domain passes."""
    if len(results) == 1:
        return results[0]
    worst = min(results, key=lambda r: _WORST.index(r.status))
    others = "; ".join(f"{r.author_domain}: {r.status}" for r in results if r is not worst)
    lookups = {x.domain: x for r in results for x in r.lookups}
    return replace(worst, authors=domains, author_problem=problem,
                   lookups=tuple(lookups.values()),
                   reason=f"{worst.reason} (of {len(results)} author domains; {others})")
