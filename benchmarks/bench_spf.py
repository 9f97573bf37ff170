"""SPF evaluations per second: mailauth vs pyspf, same workload, in-memory DNS.

    python benchmarks/bench_spf.py [--cases 2000] [--seconds 3] [--profile]

Both libraries answer from the same zone: mailauth through ``FakeResolver``, pyspf
through a replacement for its ``spf.DNSLookup`` (done here only). Each evaluation
starts with an empty DNS cache on both sides. Prints evaluations per second and the
ratio; the verdicts of both are compared as a sanity check.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any, cast

from mailauth import Answer, Query
from mailauth.spf import check_host, check_host_flow
from mailauth.testing import FakeResolver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pyspf_fake import pyspf_dnslookup  # pyspf answering from FakeResolver

PROVIDERS = {
    "_spf.mailhost.example": "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/25 "
                             "ip6:2001:db8:100::/48 include:_netblocks.mailhost.example ~all",
    "_netblocks.mailhost.example": "v=spf1 ip4:192.0.2.128/25 ip4:100.64.0.0/16 "
                                   "ip4:100.65.0.0/16 ip4:100.66.0.0/16 ip6:2001:db8:200::/40 ~all",
    "spf.sender.example": "v=spf1 ip4:100.70.0.0/20 ip4:100.71.0.0/20 include:spf2.sender.example "
                          "-all",
    "spf2.sender.example": "v=spf1 ip4:100.72.0.0/16 ip6:2001:db8:300::/48 -all",
    "spf.crm.example": "v=spf1 a:relay.crm.example mx:crm.example -all",
    "_spf.bl.example": "v=spf1 exists:%{ir}.%{l1r+}._spf.bl.example -all",
}


def build_zone(n_domains: int, rng: random.Random) -> tuple[FakeResolver, list[str]]:
    fake = FakeResolver()
    for name, text in PROVIDERS.items():
        fake.add(name, "TXT", text)
    fake.add("relay.crm.example", "A", "100.80.0.1", "100.80.0.2")
    fake.add("crm.example", "MX", "10 mx1.crm.example", "20 mx2.crm.example")
    fake.add("mx1.crm.example", "A", "100.80.1.1")
    fake.add("mx2.crm.example", "A", "100.80.1.2")
    for i in range(50):
        fake.add(f"100.90.0.{i}.info._spf.bl.example", "A", "127.0.0.2")
    domains = []
    for d in range(n_domains):
        dom = f"org{d}.example"
        domains.append(dom)
        kind = d % 5
        own = f"ip4:100.{100 + d}.0.0/24 ip6:2001:db8:{d:x}::/64"
        fake.add(f"mail.{dom}", "A", f"100.{100 + d}.1.1")
        fake.add(f"mail.{dom}", "AAAA", f"2001:db8:{d:x}:1::1")
        fake.add(dom, "MX", f"10 mail.{dom}")
        if kind == 0:
            text = f"v=spf1 {own} include:_spf.mailhost.example include:spf.sender.example -all"
        elif kind == 1:
            text = f"v=spf1 a:mail.{dom} mx include:spf.crm.example ~all"
        elif kind == 2:
            text = f"v=spf1 redirect=_spf.{dom}"
            fake.add(f"_spf.{dom}", "TXT",
                     f"v=spf1 {own} include:_spf.mailhost.example ?all")
        elif kind == 3:
            text = f"v=spf1 {own} exists:%{{i}}.info._spf.bl.example include:_spf.bl.example -all"
        else:
            text = (f"v=spf1 ip4:100.{100 + d}.2.0/24 mx a include:spf.sender.example "
                    "include:_spf.mailhost.example -all")
        fake.add(dom, "TXT", text, "google-site-verification=abcdefghijkl")
    return fake, domains


def make_cases(domains: list[str], n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    pools = ["198.51.100.{}", "192.0.2.{}", "100.64.{}.7", "100.71.{}.9", "100.80.0.{}",
             "100.90.0.{}", "100.{}.0.5", "100.100.1.{}", "203.0.113.{}"]
    cases = []
    for _ in range(n):
        dom = rng.choice(domains)
        if rng.random() < 0.15:
            block = rng.choice([0x100, 0x200, 0x300, rng.randrange(25)])
            ip = f"2001:db8:{block:x}::{rng.randrange(9)}"
        else:
            ip = rng.choice(pools).format(rng.randrange(0, 255))
        cases.append((ip, f"user{rng.randrange(100)}@{dom}", f"mail.{dom}"))
    return cases


class TableResolver:
    """Answers from a table filled once from a FakeResolver, so that the DNS layer
    costs next to nothing on both sides and the SPF engines are what is measured."""

    def __init__(self, fake: FakeResolver) -> None:
        self.fake = fake
        self.table: dict[tuple[str, str], Answer] = {}

    def answer(self, query: Query) -> Answer:
        key = (query.name.lower().rstrip("."), query.rdtype)
        hit = self.table.get(key)
        if hit is None:
            hit = self.table[key] = self.fake.answer(query)
        return hit

    def resolve(self, query: Query, *, timeout: float = 5.0) -> Answer:
        return self.answer(query)


def run_mailauth(fake: TableResolver, cases: list[tuple[str, str, str]]) -> list[str]:
    return [str(check_host(ip, s.rpartition("@")[2], s, helo=h).run(fake).status)
            for ip, s, h in cases]


def run_engine(fake: TableResolver, cases: list[tuple[str, str, str]]) -> list[str]:
    """The same check_host() flow driven by hand (sans-I/O), without Check's session:
    the SPF engine's own cost."""
    out = []
    answer = fake.answer
    now = time.time()  # a flow reads no clock: its caller gives the time
    for ip, s, h in cases:
        flow = check_host_flow(ip, s.rpartition("@")[2], s, helo=h, now=now)
        reply: Any = None
        try:
            while True:
                effect = flow.send(reply)
                if isinstance(effect, Query):
                    reply = answer(effect)
                else:  # a tuple of queries: SPF asks nothing else
                    reply = tuple(answer(cast(Query, q)) for q in cast(tuple[Any, ...], effect))
        except StopIteration as stop:
            out.append(str(stop.value.status))
    return out


def run_pyspf(cases: list[tuple[str, str, str]]) -> list[str]:
    import spf
    out = []
    for ip, s, h in cases:
        res, _, _ = spf.query(i=ip, s=s, h=h).check()
        out.append(res)
    return out


def timed(fn: Any, *args: Any, seconds: float) -> tuple[float, Any]:
    n = 0
    result = None
    start = time.perf_counter()
    while True:
        result = fn(*args)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--domains", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7208)
    parser.add_argument("--profile", action="store_true", help="cProfile mailauth's run")
    args = parser.parse_args()
    import spf

    rng = random.Random(args.seed)
    zone, domains = build_zone(args.domains, rng)
    cases = make_cases(domains, args.cases, rng)
    fake = TableResolver(zone)
    saved = spf.DNSLookup
    spf.DNSLookup = pyspf_dnslookup(zone, memo=True)
    try:
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(run_mailauth, fake, cases)
            pstats.Stats(prof).sort_stats("tottime").print_stats(18)
            return
        rate_m, ours = timed(run_mailauth, fake, cases, seconds=args.seconds)
        rate_e, engine = timed(run_engine, fake, cases, seconds=args.seconds)
        assert engine == ours
        rate_p, theirs = timed(run_pyspf, cases, seconds=args.seconds)
    finally:
        spf.DNSLookup = saved
    ours_rate = rate_m * len(cases)
    theirs_rate = rate_p * len(cases)
    agree = sum(a == b for a, b in zip(ours, theirs, strict=True))
    print(f"workload: {len(domains)} domains, {len(cases)} cases (seed {args.seed})")
    engine_rate = rate_e * len(cases)
    print(f"mailauth check_host().run(): {ours_rate:8.0f} evaluations/s "
          f"({ours_rate / theirs_rate:.2f}x pyspf)")
    print(f"mailauth flow driven by hand: {engine_rate:7.0f} evaluations/s "
          f"({engine_rate / theirs_rate:.2f}x pyspf)")
    print(f"pyspf query().check():       {theirs_rate:8.0f} evaluations/s")
    print(f"verdicts agree on {agree}/{len(cases)} cases")


if __name__ == "__main__":
    main()
