"""DMARC aggregate report parsing speed: mailauth vs parsedmarc, same bytes, one run.

Corpus: every aggregate report sample of the shared vectors that both parsers read
(parsedmarc-samples aggregate/, aggregate_invalid/ and extract_report/, mox-reports
dmarc-reports/, stalwart-mail-auth dmarc-feedback/: XML, gzip, zip and whole mail
messages, from one record to 2,286), repeated until there are ``--files`` of them
(5,000 by default). Files either parser refuses are left out of the corpus and listed.

- mailauth:   ``mailauth.reports.parse_aggregate(data)`` per file, or
              ``parse_many(paths, jobs=N)`` over the same bytes written to a temporary
              folder with ``--jobs N`` (N > 1; the files are read in the workers).
- parsedmarc: ``parsedmarc.parse_report_file(data, offline=True,
              always_use_local_files=True)`` per file (its container detection, its
              XML parser, its record normalisation; no network).

The two are timed in turn within each of ``--repeat`` rounds and each keeps its best
round, so a machine that speeds up or slows down during the run moves both alike.
The record counts must be equal (the exit status says so).

Run: ``python benchmarks/bench_reports.py [--files 5000] [--repeat 3] [--jobs 1]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import parsedmarc

from mailauth.errors import ParseError
from mailauth.reports import parse_aggregate, parse_many

SHARED = Path(os.environ.get("MAILAUTH_SHARED_VECTORS")
              or Path(__file__).resolve().parents[2] / "shared" / "vectors")
SOURCES = ("parsedmarc-samples/aggregate/*", "parsedmarc-samples/aggregate_invalid/*",
           "parsedmarc-samples/extract_report/*", "mox-reports/dmarc-reports/*.eml",
           "stalwart-mail-auth/resources/dmarc-feedback/*.xml",
           "stalwart-mail-auth/resources/dmarc-feedback/*.eml")


def theirs(data: bytes) -> int:
    result: Any = parsedmarc.parse_report_file(data, offline=True,
                                               always_use_local_files=True)
    if result["report_type"] != "aggregate":
        raise ValueError(f"not an aggregate report: {result['report_type']}")
    return len(result["report"]["records"])


def ours(data: bytes) -> int:
    return len(parse_aggregate(data).records)


def samples() -> tuple[list[tuple[str, bytes]], list[str]]:
    """The samples both parsers read, and the names of those left out (with why)."""
    kept, left = [], []
    for pattern in SOURCES:
        for path in sorted(SHARED.glob(pattern)):
            data = path.read_bytes()
            try:
                a = ours(data)
            except ParseError as exc:
                left.append(f"{path.name}: mailauth: {exc}")
                continue
            try:
                b = theirs(data)
            except Exception as exc:
                left.append(f"{path.name}: parsedmarc: {type(exc).__name__}: {exc}")
                continue
            if a != b:
                left.append(f"{path.name}: record counts differ ({a} vs {b})")
                continue
            kept.append((path.name, data))
    return kept, left


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # parsedmarc logs every normalisation it makes
    kept, left = samples()
    if not kept:
        print(f"no samples found under {SHARED}")
        return 2
    corpus = [kept[i % len(kept)] for i in range(max(args.files, len(kept)))]
    size = sum(len(d) for _, d in corpus)
    print(f"corpus: {len(corpus)} files from {len(kept)} samples, {size / 1e6:.1f} MB")
    for why in left:
        print(f"  left out: {why}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (name, data) in enumerate(corpus):
            path = Path(tmp) / f"{i:05d}-{name}"
            path.write_bytes(data)
            paths.append(path)

        def run_ours() -> int:
            if args.jobs == 1:
                return sum(ours(data) for _, data in corpus)
            n = 0
            for _, report in parse_many(paths, jobs=args.jobs):
                if isinstance(report, Exception):
                    raise report
                n += len(report.records)
            return n

        def run_theirs() -> int:
            return sum(theirs(data) for _, data in corpus)

        t_ma = t_pd = float("inf")
        n_ma = n_pd = 0
        for _ in range(args.repeat):
            t, n_ma = timed(run_ours)
            t_ma = min(t_ma, t)
            t, n_pd = timed(run_theirs)
            t_pd = min(t_pd, t)
    n = len(corpus)
    print(f"mailauth (jobs={args.jobs}): {n / t_ma:9.0f} reports/s  ({t_ma:.2f} s, "
          f"{n_ma} records)")
    print(f"parsedmarc      : {n / t_pd:9.0f} reports/s  ({t_pd:.2f} s, {n_pd} records)")
    print(f"mailauth vs parsedmarc : {t_pd / t_ma:.2f}x faster (target >= 5x); record "
          f"counts {'equal' if n_ma == n_pd else 'DIFFER'}")
    return 0 if n_ma == n_pd else 1


if __name__ == "__main__":
    sys.exit(main())
