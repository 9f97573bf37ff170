"""Peak memory of DKIM signing and verifying a 100 MB message read from a file.

The message is written to a temporary file in 1 MB pieces; signing and verification
read it through a binary file object, so the body is streamed. ``tracemalloc``
measures the peak of Python allocations above the baseline (the issue's bound:
less than 20 MB). Run: ``python benchmarks/bench_dkim_memory.py [--mb 100]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

from mailauth import Status
from mailauth.dkim import generate_key, sign_dkim, verify_dkim
from mailauth.testing import FakeResolver

HEADER = (b"From: Big Sender <big@example.org>\r\nTo: someone@example.net\r\n"
          b"Subject: a very large message\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
          b"Message-ID: <big@example.org>\r\n\r\n")
LINE = b"lorem ipsum dolor sit amet,  consectetur\tadipiscing elit   \r\n"


def write_message(path: str, megabytes: int, lf: bool) -> None:
    block = LINE * (1_000_000 // len(LINE))
    if lf:
        block = block.replace(b"\r\n", b"\n")
    with open(path, "wb") as f:
        f.write(HEADER)
        for _ in range(megabytes):
            f.write(block)


def measure(label: str, fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    print(f"{label:34s} peak +{peak / 1e6:6.2f} MB  in {elapsed:6.2f} s")
    return result, peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=100)
    args = ap.parse_args(argv)
    key = generate_key("ed25519")
    resolver = FakeResolver({"big._domainkey.example.org": {"TXT": [key.txt_value]}})
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for lf in (False, True):
            for canon in ("relaxed/relaxed", "simple/simple"):
                path = os.path.join(tmp, "big.eml")
                write_message(path, args.mb, lf)
                ending = "LF" if lf else "CRLF"
                with open(path, "rb") as f:
                    header, peak1 = measure(
                        f"sign   {args.mb} MB {ending:4s} {canon}",
                        lambda f=f, canon=canon: sign_dkim(f, domain="example.org",
                                                           selector="big", key=key.private_key_pem,
                                                           canonicalization=canon))
                signed = os.path.join(tmp, "signed.eml")
                with open(signed, "wb") as out, open(path, "rb") as f:
                    out.write(header)
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
                os.remove(path)
                with open(signed, "rb") as f:
                    result, peak2 = measure(
                        f"verify {args.mb} MB {ending:4s} {canon}",
                        lambda f=f: verify_dkim(f).run(resolver))
                os.remove(signed)
                if result.status is not Status.PASS:
                    print("  verification did not pass:", result.reason)
                    return 1
                worst = max(worst, peak1, peak2)
    print(f"worst peak: +{worst / 1e6:.2f} MB (bound: 20 MB) -> "
          f"{'OK' if worst < 20e6 else 'OVER'}")
    return 0 if worst < 20e6 else 1


if __name__ == "__main__":
    sys.exit(main())
