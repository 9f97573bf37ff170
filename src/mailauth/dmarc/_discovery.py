"""Policy discovery and organizational domains, as flows (RFC 9989 §4.10; RFC 7489 §6.6.3).

Two modes:

- ``"tree-walk"`` (RFC 9989 §4.10): ``_dmarc`` records are looked up from the name
  upward, at most eight queries (a name of eight or more labels jumps to its last
  seven after the first query), single-label parents (``_dmarc.com``) included. The
  walk stops early at a record with ``psd=y`` or ``psd=n``. The organizational domain
  is picked from the records found (§4.10.2), the policy record is the author
  domain's, else the organizational domain's, else the public suffix domain's
  (§4.10.1).
- ``"psl"`` (RFC 7489 §3.2, §6.6.3): the organizational domain is the public suffix
  plus one label by the Public Suffix List; the policy record is the author domain's,
  else the organizational domain's. No walk, at most two queries.

Every ``_dmarc`` query made is kept as a :class:`RecordLookup`, so a result can show
where its policy came from and why other names did not count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .._flow import Answer, Flow, Outcome, Query, query, query_all
from ..psl import PublicSuffixList
from ._record import DMARCRecord, Mode, is_dmarc_record, parse_record

__all__ = [
    "MAX_WALK_QUERIES",
    "Discovery",
    "OrganizationalDomain",
    "RecordLookup",
    "discover_policy_flow",
    "domain_exists_flow",
    "lookup_flow",
    "organizational_domain_flow",
    "walk_names",
]

MAX_WALK_QUERIES = 8  # RFC 9989 §4.10: "no more than eight DNS queries"

LookupOutcome = Literal["record", "none", "several", "tempfail"]


@dataclass(frozen=True, slots=True)
class RecordLookup:
    """One ``_dmarc.<domain>`` TXT query and what it gave.

    :param outcome: ``"record"`` (exactly one DMARC record), ``"none"`` (no DMARC
        record: NXDOMAIN, NODATA or only other TXT records), ``"several"`` (more than
        one ``v=DMARC1`` record: all discarded, RFC 9989 §4.10 step 2) or
        ``"tempfail"`` (the DNS did not answer).
    :param texts: the ``v=DMARC1`` TXT records found.
    :param skipped: how many TXT records there were that are not DMARC records.
    """

    domain: str
    outcome: LookupOutcome
    record: DMARCRecord | None = None
    texts: tuple[str, ...] = ()
    skipped: int = 0
    error: str = ""

    @property
    def name(self) -> str:
        """The name queried: ``_dmarc.<domain>``."""
        return f"_dmarc.{self.domain}"

    def describe(self) -> str:
        """One line for people: the name and what it held."""
        if self.outcome == "record":
            return f"{self.name}: {self.texts[0]}"
        if self.outcome == "several":
            return (f"{self.name}: {len(self.texts)} DMARC records, all discarded "
                    "(RFC 9989 §4.10)")
        if self.outcome == "tempfail":
            return f"{self.name}: DNS error ({self.error or 'no answer'})"
        extra = f" ({self.skipped} other TXT record(s) skipped)" if self.skipped else ""
        return f"{self.name}: no DMARC record{extra}"


def walk_names(domain: str) -> tuple[str, ...]:
    """The names RFC 9989 §4.10's DNS Tree OrganizationalDomain may query for ``domain``, in order.

    The name itself; then, for a name of fewer than eight labels, each parent in turn;
    for a longer one, its last seven labels and their parents. At most eight names,
    the last a single label.
    """
    labels = domain.split(".")
    count = len(labels)
    keep = count - 1 if count < MAX_WALK_QUERIES else MAX_WALK_QUERIES - 1
    return (domain, *(".".join(labels[-k:]) for k in range(keep, 0, -1)))


def _classify(domain: str, answer: Answer) -> RecordLookup:
    if answer.outcome is Outcome.TEMPFAIL:
        return RecordLookup(domain, "tempfail", error=answer.reason or "temporary failure")
    if answer.outcome is not Outcome.OK:
        return RecordLookup(domain, "none")
    texts = answer.txt()
    dmarc = tuple(t for t in texts if is_dmarc_record(t))
    skipped = len(texts) - len(dmarc)
    if not dmarc:
        return RecordLookup(domain, "none", skipped=skipped)
    if len(dmarc) > 1:
        return RecordLookup(domain, "several", texts=dmarc, skipped=skipped)
    return RecordLookup(domain, "record", record=parse_record(dmarc[0]), texts=dmarc,
                        skipped=skipped)


def lookup_flow(domain: str) -> Flow[RecordLookup]:
    """The ``_dmarc.<domain>`` TXT query, classified (RFC 9989 §4.10 steps 1-2)."""
    answer = yield from query(f"_dmarc.{domain}", "TXT")
    return _classify(domain, answer)


@dataclass(frozen=True, slots=True)
class OrganizationalDomain:
    """The organizational domain of ``start`` and how it was found.

    :param org_domain: by RFC 9989 §4.10.2 (the DNS Tree Walk) or RFC 7489 §3.2 (the
        Public Suffix List); None when a DNS error on the way left it unknown.
    :param lookups: the ``_dmarc`` queries of the walk (made or reused), in order.
    :param how: why this domain, for people.
    """

    start: str
    lookups: tuple[RecordLookup, ...]
    org_domain: str | None
    how: str

    @property
    def tempfail(self) -> RecordLookup | None:
        """The first lookup that failed, if any."""
        return next((x for x in self.lookups if x.outcome == "tempfail"), None)


def _stops(lookup: RecordLookup, start: str) -> bool:
    """RFC 9989 §4.10 steps 2 and 6: a single record with psd=y or psd=n stops the walk."""
    return lookup.record is not None and lookup.record.psd in ("y", "n")


def _select_org(start: str, lookups: tuple[RecordLookup, ...]) -> tuple[str | None, str]:
    """RFC 9989 §4.10.2's selection of the organizational domain, with why."""
    failed = next((x for x in lookups if x.outcome == "tempfail"), None)
    if failed is not None:
        return None, f"unknown: {failed.describe()}"
    found = [x for x in lookups if x.record is not None]
    if not found:
        return start, f"no DMARC record on the way up from {start}, so {start} itself"
    last = found[-1]
    assert last.record is not None
    if last.record.psd == "n":
        return last.domain, f"_dmarc.{last.domain} has psd=n"
    if last.record.psd == "y" and last.domain != start:
        labels = start.split(".")
        org = ".".join(labels[-(last.domain.count(".") + 2):])
        return org, f"_dmarc.{last.domain} has psd=y, so the name one label below it"
    return last.domain, f"the record with the fewest labels is at _dmarc.{last.domain}"


def organizational_domain_flow(domain: str, *, mode: Mode = "tree-walk",
                               psl: PublicSuffixList | None = None,
                               known: Mapping[str, RecordLookup] | None = None
                               ) -> Flow[OrganizationalDomain]:
    """The organizational domain of ``domain`` (RFC 9989 §4.10.2 or RFC 7489 §3.2).

    :param domain: a name in canonical form (:func:`mailauth._domain.normalize_domain`).
    :param known: lookups already made in this check, by domain; they are not asked again.
    In ``"psl"`` mode no query is made.
    """
    if mode == "psl":
        from .._domain import organizational_domain_psl

        by_list = organizational_domain_psl(domain, psl=psl)
        return OrganizationalDomain(domain, (), by_list,
                                    "the Public Suffix List (RFC 7489 §3.2)")
    known = known or {}
    lookups: list[RecordLookup] = []
    for name in walk_names(domain):
        lookup = known.get(name)
        if lookup is None:
            lookup = yield from lookup_flow(name)
        lookups.append(lookup)
        if lookup.outcome == "tempfail" or _stops(lookup, domain):
            break
    found = tuple(lookups)
    org, how = _select_org(domain, found)
    return OrganizationalDomain(domain, found, org, how)


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where the DMARC policy for an author domain comes from.

    :param record: the DMARC Policy Record to apply, or None (no DMARC for the domain,
        or a DNS error: see ``tempfail``).
    :param policy_domain: the domain whose ``_dmarc`` holds ``record``.
    :param org_domain: the author domain's organizational domain when discovery
        needed it (else None: the evaluation walks on only if alignment needs it).
    :param how: why this record (and organizational domain), for people.
    """

    author_domain: str
    mode: Mode
    lookups: tuple[RecordLookup, ...]
    record: DMARCRecord | None
    policy_domain: str | None
    org_domain: str | None
    how: str
    tempfail: RecordLookup | None = None

    def known(self) -> dict[str, RecordLookup]:
        """The lookups made, by domain, for later walks in the same check."""
        return {x.domain: x for x in self.lookups}


def discover_policy_flow(author_domain: str, *, mode: Mode = "tree-walk",
                         psl: PublicSuffixList | None = None) -> Flow[Discovery]:
    """DMARC Policy Discovery for an author domain (RFC 9989 §4.10.1; RFC 7489 §6.6.3).

    The first query is ``_dmarc.<author domain>``; a record there is the policy. Else
    the tree walk (or, in ``"psl"`` mode, the organizational domain's record).
    """
    first = yield from lookup_flow(author_domain)
    if first.outcome == "tempfail":
        return Discovery(author_domain, mode, (first,), None, None, None,
                         f"DNS error at {first.name}", tempfail=first)
    if first.record is not None:
        org = author_domain if _stops(first, author_domain) else None
        return Discovery(author_domain, mode, (first,), first.record, author_domain, org,
                         f"the author domain's own record at {first.name}")
    if mode == "psl":
        if first.outcome == "several":
            # RFC 7489 §6.6.3: the Organizational Domain is asked only when no DMARC
            # record is left at the author domain (step 3); several end discovery (step 5).
            return Discovery(author_domain, mode, (first,), None, None, None,
                             f"{len(first.texts)} DMARC records at {first.name}, so no "
                             "DMARC processing (RFC 7489 §6.6.3)")
        return (yield from _discover_psl(author_domain, first, psl))
    walk = yield from organizational_domain_flow(author_domain, known={author_domain: first})
    failed = walk.tempfail
    if failed is not None:
        return Discovery(author_domain, mode, walk.lookups, None, None, None,
                         f"DNS error at {failed.name} during the tree walk", tempfail=failed)
    by_domain = {x.domain: x for x in walk.lookups}
    org = walk.org_domain
    assert org is not None
    at_org = by_domain.get(org)
    if at_org is not None and at_org.record is not None:
        return Discovery(author_domain, mode, walk.lookups, at_org.record, org, org,
                         f"the organizational domain's record at {at_org.name} "
                         f"(organizational domain: {walk.how})")
    last = walk.lookups[-1]
    if last.record is not None and last.record.psd == "y":
        return Discovery(author_domain, mode, walk.lookups, last.record, last.domain, org,
                         f"the public suffix domain's record at {last.name} (psd=y)")
    return Discovery(author_domain, mode, walk.lookups, None, None, org,
                     "no DMARC record at the author domain or on the way up ("
                     + ", ".join(x.name for x in walk.lookups) + ")")


def _discover_psl(author_domain: str, first: RecordLookup, psl: PublicSuffixList | None
                  ) -> Flow[Discovery]:
    from .._domain import organizational_domain_psl

    org = organizational_domain_psl(author_domain, psl=psl)
    if org == author_domain:
        return Discovery(author_domain, "psl", (first,), None, None, org,
                         f"no record at {first.name}, and {org} is its own organizational "
                         "domain by the Public Suffix List")
    second = yield from lookup_flow(org)
    lookups = (first, second)
    if second.outcome == "tempfail":
        return Discovery(author_domain, "psl", lookups, None, None, org,
                         f"DNS error at {second.name}", tempfail=second)
    if second.record is not None:
        return Discovery(author_domain, "psl", lookups, second.record, org, org,
                         f"the organizational domain's record at {second.name} "
                         "(organizational domain by the Public Suffix List)")
    return Discovery(author_domain, "psl", lookups, None, None, org,
                     f"no DMARC record at {first.name} or {second.name}")


def domain_exists_flow(domain: str, *, mode: Mode = "tree-walk") -> Flow[bool | None]:
    """Whether a domain exists, for ``np=`` (RFC 9989 §4.7 np, §3.2 "Non-existent Domains").

    RFC 9989 takes RFC 8020's meaning: a name whose query gets NXDOMAIN does not exist
    (nor does any name below it); an answer with records, or NODATA (the name exists
    without records of that type, or has names below it), means it exists. One A query
    tells. In ``"psl"`` mode the older, broader definition of RFC 9091 (where ``np``
    comes from, as an extension of RFC 7489) is kept: a domain does not exist when its
    A, AAAA and MX queries all get NXDOMAIN or NODATA; the three go out together.
    None when a query failed and the answers do not tell.
    """
    if mode == "psl":
        answers = yield from query_all((Query(domain, "A"), Query(domain, "AAAA"),
                                        Query(domain, "MX")))
        if any(a.outcome is Outcome.OK for a in answers):
            return True
        if any(a.outcome is Outcome.TEMPFAIL for a in answers):
            return None
        return False
    answer = yield from query(domain, "A")
    if answer.outcome is Outcome.TEMPFAIL:
        return None
    return answer.outcome is not Outcome.NXDOMAIN
