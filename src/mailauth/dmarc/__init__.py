"""DMARC: Domain-based Message Authentication, Reporting, and Conformance.

RFC 9989 (with its DNS Tree Walk) by default; RFC 7489's Public Suffix List mode as an
option (``mode="psl"``). :func:`check_dmarc` (``mailauth.check_dmarc``) evaluates a
message whose SPF and DKIM results are known; :func:`mailauth.authenticate` runs all
three together. The expert tier: :func:`parse_record`, :func:`organizational_domain`,
and the flows (:func:`check_dmarc_flow`, :func:`discover_policy_flow`,
:func:`evaluate_flow`, :func:`organizational_domain_flow`) for driving by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from .._arguments import (
    check_bool,
    check_domain,
    check_message,
    check_mode,
    check_number,
    check_psl,
)
from .._flow import Check, Flow
from .._message import Message, MessageSource, parse_message
from ..dkim import DKIMResult
from ..errors import ArgumentTypeError
from ..psl import PublicSuffixList
from ..spf import SPFResult
from ._discovery import (
    MAX_WALK_QUERIES,
    Discovery,
    OrganizationalDomain,
    RecordLookup,
    discover_policy_flow,
    organizational_domain_flow,
    walk_names,
)
from ._evaluate import author_domains, check_dmarc_flow, evaluate_flow
from ._override import ARCChainLike, normalize_sealers, trusted_forwarder_flow
from ._record import REMOVED_TAGS, DMARCRecord, Mode, Policy, is_dmarc_record, parse_record
from ._result import Alignment, Disposition, DMARCResult, OverrideType, PolicyOverride

__all__ = [
    "MAX_WALK_QUERIES",
    "REMOVED_TAGS",
    "ARCChainLike",
    "Alignment",
    "DMARCRecord",
    "DMARCResult",
    "Discovery",
    "Disposition",
    "Mode",
    "OrganizationalDomain",
    "OverrideType",
    "Policy",
    "PolicyOverride",
    "RecordLookup",
    "author_domains",
    "check_dmarc",
    "check_dmarc_flow",
    "discover_policy_flow",
    "evaluate_flow",
    "is_dmarc_record",
    "organizational_domain",
    "organizational_domain_flow",
    "parse_record",
    "trusted_forwarder_flow",
    "walk_names",
]

def _check_results(spf: object, dkim: object) -> None:
    from ..dkim import DKIMResult
    from ..spf import SPFResult

    if spf is not None and not isinstance(spf, SPFResult):
        raise ArgumentTypeError(f"spf is an SPFResult (from check_spf) or None, not "
                                f"{type(spf).__name__}")
    if dkim is not None and not isinstance(dkim, DKIMResult):
        raise ArgumentTypeError(f"dkim is a DKIMResult (from verify_dkim) or None, not "
                                f"{type(dkim).__name__}")


def check_dmarc(message: MessageSource | Message, *, spf: SPFResult | None,
                dkim: DKIMResult | None, mode: Mode = "tree-walk",
                psl: PublicSuffixList | None = None, strict_authors: bool = True,
                sample: Callable[[], float] | None = None,
                arc: ARCChainLike | None = None, trusted_sealers: Collection[str] = (),
                apply_override: bool = False, budget: float = 20.0) -> Check[DMARCResult]:
    """DMARC for a message whose SPF and DKIM results are known (RFC 9989 §5.3).

    :param message: the raw message (bytes or a binary file; only the header is read).
    :param spf: the result of :func:`mailauth.check_spf` (its MAIL FROM identity counts;
        with a null reverse-path that is the HELO name, RFC 7208 §2.4), or None when
        there is no SMTP envelope.
    :param dkim: the result of :func:`mailauth.verify_dkim`, or None.
    :param mode: ``"tree-walk"`` (RFC 9989 §4.10, the default) or ``"psl"`` (RFC 7489:
        the Public Suffix List, ``pct=`` honoured).
    :param psl: the list for ``"psl"`` mode (:func:`mailauth.psl.load_public_suffix_list`);
        the default list otherwise.
    :param strict_authors: a message without exactly one From field naming one author
        domain is a permerror with disposition ``reject`` (the default: a second From
        field or address must not let a message through unchecked). With False, every
        author domain is evaluated and the worst result is returned, and a message
        with no author domain is a permerror with disposition ``none``.
    :param sample: RFC 7489 mode's ``pct=`` draw: a function returning a float in
        [0, 1), ``random.random`` by default.
    :param arc: the message's ARC result (:func:`mailauth.verify_arc`), for
        ``trusted_sealers``.
    :param trusted_sealers: sealing domains (ARC-Seal ``d=``) whose recorded results you
        trust; none by default. When DMARC fails, ``arc`` passes and one of them recorded
        a DMARC pass or an aligned DKIM or SPF pass for the From domain, the result's
        ``override`` says so (RFC 8617 §7.2; RFC 9990 reason ``trusted_forwarder``).
    :param apply_override: also make such a fail's disposition ``none``; by default the
        disposition DMARC computed is kept and ``override.applied`` is False.
    :param budget: seconds for all DNS work.
    :raises ArgumentTypeError: for an argument of the wrong type.
    :raises UsageError: for a mode that is neither, or a trusted sealer that is not a
        domain name.
    """
    checked = check_mode(mode)
    _check_results(spf, dkim)
    check_message(message)
    check_psl(psl)
    check_bool("strict_authors", strict_authors)
    check_bool("apply_override", apply_override)
    trusted = normalize_sealers(trusted_sealers)
    if arc is not None and not hasattr(arc, "sets"):
        raise ArgumentTypeError(f"arc= is an ARCResult (from verify_arc) or None, not "
                                f"{type(arc).__name__}")
    check_number("budget", budget, positive=True)
    if sample is not None and not callable(sample):
        raise ArgumentTypeError(f"sample= is a function returning a float in [0, 1), not "
                                f"{type(sample).__name__}")
    parsed = message if isinstance(message, Message) else parse_message(message)

    def flow() -> Flow[DMARCResult]:
        return check_dmarc_flow(parsed, spf=spf, dkim=dkim, mode=checked, psl=psl,
                                strict_authors=strict_authors, sample=sample, arc=arc,
                                trusted_sealers=trusted, apply_override=apply_override)

    return Check(flow, budget=budget)


def organizational_domain(name: str, *, mode: Mode = "tree-walk",
                          psl: PublicSuffixList | None = None,
                          budget: float = 20.0) -> Check[OrganizationalDomain]:
    """The organizational domain of a name (RFC 9989 §4.10.2, or RFC 7489 §3.2 with
    ``mode="psl"``), with the lookups that found it.

    :raises UsageError: for a name that is not a domain name.
    """
    checked = check_mode(mode)
    check_psl(psl)
    check_number("budget", budget, positive=True)
    domain = check_domain("name", name)

    def flow() -> Flow[OrganizationalDomain]:
        return organizational_domain_flow(domain, mode=checked, psl=psl)

    return Check(flow, budget=budget)
