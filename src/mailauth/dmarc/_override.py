"""A local policy override of a DMARC fail on the word of a trusted ARC sealer.

RFC 8617 §7.2 lets a receiver that trusts an intermediary accept what that
intermediary recorded when the message reached it: when DMARC fails here because a
mailing list or forwarder changed the message, but the ARC chain passes and a sealer
the receiver trusts recorded, in its ARC-Authentication-Results, a DMARC pass (or an
aligned DKIM or SPF pass) for the same From domain, the receiver may apply a local
policy override. RFC 9989 §5.3.6 leaves the final disposition to the receiver, and
RFC 9990's aggregate report names the reason: ``trusted_forwarder``.

Which sealers are trusted is the receiver's decision alone: nothing is trusted by
default, and the list names sealing domains (the ARC-Seal ``d=``) exactly.

A hop counts only when its own ARC-Message-Signature still verifies: then nothing it
signed (the body and the header fields it chose) changed after it vouched, so an
untrusted hop further down the chain cannot borrow its word for content it did not
see. The newest such hop is used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Literal, Protocol

from .._flow import Flow
from ..psl import PublicSuffixList
from ..status import Status
from ._discovery import organizational_domain_flow
from ._result import DMARCResult, OverrideType, PolicyOverride

__all__ = ["ARCChainLike", "ARCHopLike", "normalize_sealers", "trusted_forwarder_flow"]


class _ResInfoLike(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def result(self) -> str: ...
    def get(self, key: str) -> str | None: ...


class _AuthResultsLike(Protocol):
    @property
    def results(self) -> Sequence[_ResInfoLike]: ...


class ARCHopLike(Protocol):
    """What the override reads of one ARC set (``mailauth.arc.ARCSet``)."""

    @property
    def instance(self) -> int: ...
    @property
    def seal_domain(self) -> str | None: ...
    @property
    def ams_status(self) -> object: ...
    @property
    def auth_results(self) -> _AuthResultsLike | None: ...


class ARCChainLike(Protocol):
    """What the override reads of a chain's result (``mailauth.arc.ARCResult``)."""

    @property
    def status(self) -> object: ...
    @property
    def oldest_pass(self) -> int | None: ...
    @property
    def sets(self) -> Sequence[ARCHopLike]: ...


def normalize_sealers(sealers: Collection[str]) -> frozenset[str]:
    """The trusted sealing domains in canonical form (A-labels, lower case).

    :raises ArgumentTypeError: for a str (one domain must be given as a list of one), or
        an item that is not a str; :class:`UsageError` for one that is not a domain name.
    """
    from .._arguments import check_domain
    from .._domain import is_host_name
    from ..errors import ArgumentTypeError, UsageError

    if isinstance(sealers, str | bytes) or not isinstance(sealers, Collection):
        raise ArgumentTypeError(f"trusted_sealers= is a collection of domain names (a list "
                                f"or set of str), not {type(sealers).__name__}")
    names = frozenset(check_domain("trusted_sealers", s) for s in sealers)
    for name in sorted(names):
        if not is_host_name(name):    # a d= is LDH labels (RFC 6376 §3.5 domain-name)
            raise UsageError(f"trusted_sealers: {name!r} is not a sealing domain name "
                             "(letters, digits and hyphens, in dot-separated labels)")
    return names


def _domain_of(value: str | None) -> str | None:
    """The domain of a property value: ``user@example.org``, ``@example.org`` or a bare
    domain; None when it is not a domain name."""
    if not value:
        return None
    from .._domain import normalize_domain

    try:
        return normalize_domain(value.rpartition("@")[2])
    except (ValueError, TypeError):
        return None


def _verified(hop: ARCHopLike, chain: ARCChainLike) -> bool:
    """Whether the hop's AMS verifies on the message as it is now (RFC 8617 §5.2 step 6:
    oldest-pass is the oldest instance whose AMS still validates, 0 when all do)."""
    if str(hop.ams_status) == "pass":
        return True
    oldest = chain.oldest_pass
    return str(hop.ams_status) in ("", "none") and oldest is not None and (
        oldest == 0 or hop.instance >= oldest)


_Claim = tuple[Literal["dmarc", "dkim", "spf"], str, str]   # method, domain, evidence


def _claims(hop: ARCHopLike, author: str) -> list[_Claim]:
    """The passes the hop recorded that could vouch for ``author``, strongest first: a
    DMARC pass for the author domain, then DKIM and SPF passes (alignment decided by
    the caller)."""
    ar = hop.auth_results
    if ar is None:
        return []
    found: list[_Claim] = []
    for res in ar.results:
        if res.result.lower() != "pass":
            continue
        method = res.method.lower()
        if method == "dmarc":
            domain = _domain_of(res.get("header.from"))
            if domain == author:
                found.append(("dmarc", domain, f"dmarc=pass header.from={domain}"))
        elif method == "dkim":
            domain = _domain_of(res.get("header.d") or res.get("header.i"))
            if domain is not None:
                found.append(("dkim", domain, f"dkim=pass header.d={domain}"))
        elif method == "spf":
            domain = _domain_of(res.get("smtp.mailfrom"))
            if domain is not None:
                found.append(("spf", domain, f"spf=pass smtp.mailfrom domain {domain}"))
    order = {"dmarc": 0, "dkim": 1, "spf": 2}
    return sorted(found, key=lambda c: order[c[0]])


def trusted_forwarder_flow(result: DMARCResult, arc: ARCChainLike | None,
                           trusted: frozenset[str], *, apply: bool = False,
                           psl: PublicSuffixList | None = None) -> Flow[DMARCResult]:
    """``result`` with :attr:`DMARCResult.override` set when a trusted sealer vouched.

    The override is considered only for a DMARC ``fail`` whose disposition is not
    ``none`` (otherwise there is nothing to override), with an ARC chain that passes.
    Each hop, newest first, whose sealing domain is in ``trusted`` and whose AMS still
    verifies is read: a recorded ``dmarc=pass`` with ``header.from`` the author domain
    counts; a ``dkim=pass`` (``header.d``) or ``spf=pass`` (``smtp.mailfrom``) counts
    when that domain is aligned with the author domain under the record's ``adkim`` /
    ``aspf`` (relaxed alignment asks for organizational domains as DMARC does).

    :param apply: make the disposition ``none`` (the override applied); otherwise the
        disposition DMARC computed is kept and the override only says it would apply.
    :param psl: the Public Suffix List for ``"psl"`` mode.
    """
    author = result.author_domain
    if (arc is None or not trusted or author is None or result.status is not Status.FAIL
            or result.disposition == "none" or str(arc.status) != "pass"):
        return result
    record = result.record
    modes = {"dkim": record.adkim if record else "r", "spf": record.aspf if record else "r"}
    known = {x.domain: x for x in result.lookups}
    orgs: dict[str, str | None] = {}

    def org_of(domain: str) -> Flow[str | None]:
        if domain not in orgs:
            walk = yield from organizational_domain_flow(
                domain, mode=result.mode, psl=psl, known=known)
            known.update({x.domain: x for x in walk.lookups})
            orgs[domain] = walk.org_domain
        return orgs[domain]

    if result.org_domain is not None:
        orgs[author] = result.org_domain
    for hop in sorted(arc.sets, key=lambda s: s.instance, reverse=True):
        sealer = _domain_of(hop.seal_domain)
        if sealer is None or sealer not in trusted or not _verified(hop, arc):
            continue
        for method, domain, evidence in _claims(hop, author):
            if method != "dmarc" and domain != author:
                if modes[method] == "s" or domain.rsplit(".", 1)[-1] != author.rsplit(".", 1)[-1]:
                    continue
                theirs = yield from org_of(domain)
                ours = yield from org_of(author)
                if theirs is None or theirs != ours:
                    continue
                evidence += f" (aligned: organizational domain {ours})"
            return _overridden(result, sealer, hop.instance, evidence, apply)
    return result


def _overridden(result: DMARCResult, sealer: str, instance: int, evidence: str,
                apply: bool) -> DMARCResult:
    kind: OverrideType = "trusted_forwarder"
    comment = (f"ARC sealer {sealer} (i={instance}), trusted, recorded {evidence}; "
               "the ARC chain passes")
    override = PolicyOverride(type=kind, comment=comment, sealer=sealer, instance=instance,
                              evidence=evidence, applied=apply)
    if not apply:
        return replace(result, override=override)
    return replace(result, override=override, disposition="none",
                   reason=f"{result.reason}; disposition none instead: a local policy "
                          f"override (trusted_forwarder): {comment}")

