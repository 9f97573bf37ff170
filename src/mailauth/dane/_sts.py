"""The MTA-STS view of an MX host, beside its DANE verdict (RFC 8461 §4, §5).

A sending MTA that implements both looks at the recipient domain's MTA-STS policy
too: does the host match one of the policy's ``mx`` patterns (§4.1), and is the
certificate it presents valid for the host under the WebPKI (§4.2)? This module
answers both for :func:`mailauth.check_dane` (``domain=``), offline: the policy comes
from :mod:`mailauth.mta_sts`'s flow, the chain from the check, and the trust anchors
are the caller's (reading a trust store from disk is the driver's business).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from .._display import Card, Displayed
from ..mta_sts import Delivery, MTASTSPolicyResult, may_deliver
from ..status import Status
from ._cert import load

__all__ = ["MTASTSView", "mta_sts_view", "webpki_verify"]


@dataclass(frozen=True, slots=True, repr=False)
class MTASTSView(Displayed):
    """What MTA-STS says about one MX host of a recipient domain (RFC 8461 §4, §5).

    :param status: the status of the domain's policy lookup (``pass`` when a policy
        applies; see :class:`mailauth.mta_sts.MTASTSPolicyResult`).
    :param reason: a sentence joining the verdicts below.
    :param domain: the recipient (policy) domain; ``host`` the MX host.
    :param mode: the policy's mode (``enforce``, ``testing``, ``none``), or None
        without a policy.
    :param mx: the policy's ``mx`` patterns.
    :param matched_pattern: the pattern the host matches (RFC 8461 §4.1), or None.
    :param host_matches: whether the host matches a pattern; None without a policy.
    :param webpki_valid: whether the presented chain is valid for the host under the
        WebPKI with the trust anchors given (§4.2); None when it could not be judged
        (no chain, no trust anchors).
    :param webpki_reason: why.
    :param delivery: what a sender applying only MTA-STS would do with this host
        (:func:`mailauth.mta_sts.may_deliver`), or None when the WebPKI verdict is
        unknown.
    :param dane_applies: DANE applies to the host; a sender that does both uses
        DANE, and MTA-STS never overrides a failing DANE validation (RFC 8461 §2).
    :param policy: the policy lookup itself.
    """

    status: Status
    reason: str
    domain: str
    host: str
    mode: str | None = None
    mx: tuple[str, ...] = ()
    matched_pattern: str | None = None
    host_matches: bool | None = None
    webpki_valid: bool | None = None
    webpki_reason: str = ""
    delivery: Delivery | None = None
    dane_applies: bool = False
    policy: MTASTSPolicyResult | None = None

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="mta-sts", status=str(self.status), reason=self.reason)
        facts = [("domain", self.domain), ("host", self.host),
                 ("mode", self.mode or "(no policy)"),
                 ("mx", ", ".join(self.mx) or "(none)"),
                 ("host matches", "(no policy)" if self.host_matches is None
                  else self.matched_pattern or "no pattern"),
                 ("WebPKI", self.webpki_reason)]
        if self.delivery is not None:
            facts.append(("delivery", self.delivery.reason))
        trace = self.policy.trace if self.policy is not None else ()
        return Card(method="mta-sts", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), trace=trace)


def webpki_verify(chain: Sequence[bytes | x509.Certificate], host: str,
                  roots: Sequence[x509.Certificate], *, now: float) -> tuple[bool, str]:
    """Whether ``chain`` (leaf first) is valid for ``host`` under the WebPKI with the
    trust anchors ``roots`` at ``now`` (RFC 8461 §4.2: RFC 5280 path validation and
    RFC 6125 name checks, as cryptography's ``x509.verification`` does them), and why.
    Certificates that cannot be read are a verdict, never an exception."""
    if not chain:
        return False, "no certificate was presented"
    if not roots:
        return False, "no trust anchors to verify against"
    from cryptography.x509 import DNSName
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
    certs: list[x509.Certificate] = []
    for index, item in enumerate(chain[:16]):
        presented = load(index, item)
        if presented.cert is None:
            return False, f"certificate {index} is not readable: {presented.error}"
        certs.append(presented.cert)
    when = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    try:
        verifier = (PolicyBuilder().store(Store(list(roots))).time(when)
                    .build_server_verifier(DNSName(host)))
        path = verifier.verify(certs[0], certs[1:])
    except VerificationError as exc:
        why = _first_line(exc).removeprefix("validation failed: ")
        return False, f"not valid for {host}: {why.split(' (encountered processing')[0]}"
    except ValueError as exc:  # a name or store cryptography refuses
        return False, f"cannot be verified: {_first_line(exc)}"
    anchor = path[-1].subject.rfc4514_string() if path else "?"
    return True, f"valid for {host}, issued under the trusted {anchor}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def mta_sts_view(policy: MTASTSPolicyResult, host: str, *,
                 chain: Sequence[bytes | x509.Certificate] | None,
                 tls_error: str | None, roots: Sequence[x509.Certificate] | None,
                 now: float, dane_applies: bool) -> MTASTSView:
    """The MTA-STS view of ``host`` from the domain's policy lookup and what the host
    presented.

    :param chain: the presented chain, or None when the server was not contacted.
    :param tls_error: why no TLS session was had (the probe's error), or None.
    :param roots: the WebPKI trust anchors, or None when none were given.
    """
    active = policy.policy
    matched = active.matching_pattern(host) if active is not None else None
    if chain is None and tls_error is None:
        valid: bool | None = None
        why = "not judged: the server was not contacted"
    elif tls_error is not None:
        valid, why = False, f"no TLS session: {tls_error}"
    elif roots is None:
        valid, why = None, "not judged: no trust anchors were given (roots=)"
    else:
        valid, why = webpki_verify(chain or (), host, roots, now=now)
    delivery = None
    if valid is not None:
        delivery = may_deliver(active, host, starttls=tls_error is None,
                               certificate_valid=valid)
    words: list[str] = []
    if active is None:
        words.append(f"no MTA-STS policy applies to {policy.domain} ({policy.status}: "
                     f"{policy.reason})")
    else:
        words.append(f"{policy.domain} has an MTA-STS policy in {active.mode} mode")
        words.append(f"{host} matches {matched}" if matched is not None
                     else f"{host} matches none of its mx patterns "
                          f"({', '.join(active.mx) or 'none'})")
    words.append(f"WebPKI: {why}")
    if delivery is not None and active is not None:
        words.append("a sender applying MTA-STS " + (
            "delivers" if delivery.allowed and not delivery.report else
            "delivers and reports the failure (testing mode)" if delivery.allowed else
            "does not deliver to this host (enforce mode)"))
    if dane_applies:
        words.append("DANE applies to this host: a sender doing both uses DANE, and "
                     "MTA-STS never overrides a failing DANE validation (RFC 8461 §2)")
    return MTASTSView(policy.status, "; ".join(words), policy.domain, host,
                      active.mode if active is not None else None,
                      tuple(active.mx) if active is not None else (), matched,
                      None if active is None else matched is not None, valid, why,
                      delivery, dane_applies, policy)
