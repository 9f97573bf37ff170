"""What an MTA-STS policy lookup gives, and the delivery decision (RFC 8461 §4, §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._display import Card, Displayed
from ..errors import ArgumentTypeError
from ..status import Status
from ._cache import CachedPolicy
from ._policy import Mode, Policy
from ._record import STSRecord

__all__ = ["Delivery", "MTASTSPolicyResult", "Source", "may_deliver"]

Source = Literal["fetched", "cache", "none"]


@dataclass(frozen=True, slots=True, repr=False)
class Delivery(Displayed):
    """May a message go to this MX host with this TLS outcome? (RFC 8461 §4, §5)

    :param allowed: deliver (True) or try the next MX host / defer (False).
    :param reason: why, citing the RFC.
    :param mode: the policy's mode, or None without a policy.
    :param mx: the MX host asked about; ``pattern`` the policy pattern it matched.
    :param report: a failure to report with TLS-RPT (RFC 8460): the host or its TLS
        failed the policy, in ``enforce`` or ``testing`` mode.
    """

    allowed: bool
    reason: str
    mode: Mode | None
    mx: str
    pattern: str | None = None
    report: bool = False

    def _card(self, *, full: bool = True) -> Card:
        status = "pass" if self.allowed and not self.report else \
            "neutral" if self.allowed else "fail"
        facts = (("mx", self.mx), ("mode", self.mode or "(no policy)"),
                 ("matched", self.pattern or "(none)"))
        return Card(method="mta-sts", status=status, reason=self.reason,
                    facts=facts if full else ())


def may_deliver(policy: Policy | None, mx: str, *, starttls: bool,
                certificate_valid: bool) -> Delivery:
    """The delivery decision for one MX host under a policy (RFC 8461 §4, §5).

    :param policy: the policy in force, or None (no MTA-STS: deliver as before).
    :param mx: the MX host name.
    :param starttls: the host offered STARTTLS and the TLS session was set up.
    :param certificate_valid: its certificate chains to a trusted root and is valid
        for the MX host name (§4.2).

    ``enforce``: deliver only when the host matches the policy and TLS is valid;
    ``testing``: deliver anyway and report a failure; ``none``: deliver.
    """
    if not isinstance(mx, str):
        raise ArgumentTypeError(f"an MX host name is a str, not {type(mx).__name__}")
    for name, flag in (("starttls", starttls), ("certificate_valid", certificate_valid)):
        if not isinstance(flag, bool):
            raise ArgumentTypeError(f"{name}= is True or False, not {type(flag).__name__}")
    if policy is None:
        return Delivery(True, "no MTA-STS policy applies: deliver as before "
                              "(RFC 8461 §3.3)", None, mx)
    if policy.mode == "none":
        return Delivery(True, "the policy's mode is none: MTA-STS asks nothing "
                              "(RFC 8461 §5)", "none", mx)
    pattern = policy.matching_pattern(mx)
    problems = []
    if pattern is None:
        problems.append(f"{mx} matches no mx pattern of the policy (RFC 8461 §4.1)")
    if not starttls:
        problems.append("no TLS session: STARTTLS was not offered or failed (RFC 8461 §4)")
    elif not certificate_valid:
        problems.append("the certificate is not valid for the host or not trusted "
                        "(RFC 8461 §4.2)")
    if not problems:
        return Delivery(True, f"{mx} matches {pattern} and TLS is valid", policy.mode, mx,
                        pattern)
    why = "; ".join(problems)
    if policy.mode == "testing":
        return Delivery(True, f"testing mode: deliver, and report the failure: {why} "
                              "(RFC 8461 §5)", "testing", mx, pattern, report=True)
    return Delivery(False, f"enforce mode: do not deliver to this host: {why}; try the "
                           "next MX host, else defer (RFC 8461 §5)",
                    "enforce", mx, pattern, report=True)


@dataclass(frozen=True, slots=True, repr=False)
class MTASTSPolicyResult(Displayed):
    """The MTA-STS policy of a domain, as a sending MTA applies it (RFC 8461 §3, §5).

    :param status: ``pass``: a policy applies (``policy``), fetched now or cached;
        ``none``: the domain publishes no usable ``_mta-sts`` record and nothing is
        cached; ``temperror``: DNS failed, or the policy could not be fetched (network,
        TLS, timeout) and nothing valid is cached; ``permerror``: the policy host
        answered with something that is not a policy (an HTTP status other than 200,
        another media type, too large, invalid text) and nothing valid is cached.
        With every status but ``pass`` a sender delivers as though the domain had no
        MTA-STS (§3.3); a temperror only says that this may change soon.
    :param reason: a sentence saying why.
    :param domain: the Policy Domain (A-labels).
    :param policy: the policy that applies, or None.
    :param record: the ``_mta-sts`` TXT record found, if any.
    :param source: ``fetched`` (over HTTPS in this run), ``cache``, or ``none``.
    :param cached: the cache entry after this run (what the store holds), or None.
    :param url: the policy URL.
    :param refresh_error: why DNS or the fetch failed while a cached policy was
        applied instead (§3.3: MTAs SHOULD alert administrators), else None.
    :param trace: what was asked and answered, in order.
    """

    status: Status
    reason: str
    domain: str
    policy: Policy | None = None
    record: STSRecord | None = None
    source: Source = "none"
    cached: CachedPolicy | None = None
    url: str = ""
    refresh_error: str | None = None
    trace: tuple[str, ...] = ()

    @property
    def mode(self) -> Mode | None:
        """The mode of the policy that applies, or None."""
        return self.policy.mode if self.policy is not None else None

    def may_deliver(self, mx: str, *, starttls: bool, certificate_valid: bool) -> Delivery:
        """The delivery decision for one MX host (see :func:`may_deliver`)."""
        return may_deliver(self.policy, mx, starttls=starttls,
                           certificate_valid=certificate_valid)

    def _card(self, *, full: bool = True) -> Card:
        if not full:
            return Card(method="mta-sts", status=str(self.status), reason=self.reason)
        facts: list[tuple[str, str]] = [("domain", self.domain)]
        if self.record is not None:
            facts.append(("record", str(self.record)))
        if self.policy is not None:
            facts += [("mode", self.policy.mode), ("mx", ", ".join(self.policy.mx) or "(none)"),
                      ("max_age", f"{self.policy.max_age} s"), ("source", self.source)]
        if self.cached is not None:
            facts.append(("cached under id", self.cached.id))
        if self.refresh_error:
            facts.append(("refresh failed", self.refresh_error))
        extra = (("policy", self.policy.text),) if self.policy and self.policy.text else ()
        return Card(method="mta-sts", status=str(self.status), reason=self.reason,
                    facts=tuple(facts), trace=self.trace, extra=extra)
