"""TLS-RPT report parsing speed: mailauth vs parsedmarc, on the same gzip files, in one run.

Corpus: gzip-compressed JSON reports (RFC 8460 §5.2) generated with mailauth's builder:
one to three policies each, 0-40 failure details, from 0.5 KB to about 20 KB of JSON;
plus the shared samples' JSON reports (gzipped here) when ../shared/vectors is there.

- mailauth:   ``mailauth.tlsrpt.parse_report(data)`` per file (gunzip, JSON, the typed
              model with its checks and warnings).
- parsedmarc: ``parse_smtp_tls_report_json(extract_report(data))`` per file: its
              gunzip and its parser, the lean path (``parse_report_file`` does more).

The two are timed in turn within each of ``--repeat`` rounds and each keeps its best
round, so a machine that speeds up or slows down during the run moves both alike.

Run: ``python benchmarks/bench_tlsrpt.py [--reports 2000] [--repeat 7] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parsedmarc import (
    extract_report,
    parse_smtp_tls_report_json,
)

from mailauth.tlsrpt import AppliedPolicy, ReportBuilder, ResultType, parse_report

SHARED = Path(os.environ.get("MAILAUTH_SHARED_VECTORS")
              or Path(__file__).resolve().parents[2] / "shared" / "vectors")


def make_report(rng: random.Random, i: int) -> bytes:
    domain = f"d{i}.example"
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i % 365)
    b = ReportBuilder(policy_domain=domain, organization_name="Bench Sender Inc.",
                      contact_info="tlsrpt@sender.example", start=start,
                      end=start + timedelta(seconds=86399))
    sts = AppliedPolicy.sts(domain, f"version: STSv1\nmode: enforce\nmx: mx1.{domain}\n"
                                    f"mx: *.mail.{domain}\nmax_age: 604800\n")
    tlsa = AppliedPolicy.tlsa(domain, ["3 1 1 " + "ab" * 32], f"mx1.{domain}")
    for policy in rng.sample([sts, tlsa, None], rng.randint(1, 3)):
        b.success(policy, count=rng.randint(1, 100_000))
        for _ in range(int(40 * rng.random() ** 3)):
            b.failure(rng.choice(list(ResultType)), policy,
                      sending_mta_ip=f"192.0.2.{rng.randint(1, 254)}",
                      receiving_mx_hostname=f"mx{rng.randint(1, 3)}.{domain}",
                      receiving_ip=f"198.51.100.{rng.randint(1, 254)}",
                      failure_reason_code=rng.choice([None, "X509_V_ERR_CERT_HAS_EXPIRED"]),
                      count=rng.randint(1, 500))
    return b.build().to_gzip()


def shared_samples() -> list[bytes]:
    out = []
    for path in sorted(SHARED.glob("parsedmarc-samples/smtp_tls/*.json")) + \
            sorted(SHARED.glob("stalwart-mail-auth/resources/tlsrpt/rpt0[12].json")):
        out.append(gzip.compress(path.read_bytes()))
    return out


def run_mailauth(corpus: list[bytes]) -> int:
    return sum(len(parse_report(data).policies) for data in corpus)


def run_parsedmarc(corpus: list[bytes]) -> int:
    return sum(len(parse_smtp_tls_report_json(extract_report(data))["policies"])
               for data in corpus)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    corpus = [make_report(rng, i) for i in range(args.reports)] + shared_samples()
    inflated = sum(len(gzip.decompress(d)) for d in corpus)
    print(f"corpus: {len(corpus)} gzip reports, {sum(map(len, corpus)) / 1e6:.2f} MB "
          f"({inflated / 1e6:.2f} MB of JSON)")
    # Timed in turn within each round; each keeps its best round.
    t_ma = t_pd = float("inf")
    n_ma = n_pd = 0
    for _ in range(args.repeat):
        t, n_ma = timed(lambda: run_mailauth(corpus))
        t_ma = min(t_ma, t)
        t, n_pd = timed(lambda: run_parsedmarc(corpus))
        t_pd = min(t_pd, t)
    n = len(corpus)
    print(f"mailauth   : {n / t_ma:9.0f} reports/s  ({t_ma:.3f} s, {n_ma} policies)")
    print(f"parsedmarc : {n / t_pd:9.0f} reports/s  ({t_pd:.3f} s, {n_pd} policies)")
    print(f"mailauth vs parsedmarc : {t_pd / t_ma:.2f}x faster (target >= 5x)")
    return 0 if n_ma == n_pd else 1


if __name__ == "__main__":
    sys.exit(main())
