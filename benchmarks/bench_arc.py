"""ARC chain verification speed: mailauth vs dkimpy on 3-hop chains, in one run.

Corpus: generated messages (1 KB-60 KB bodies, CRLF), each DKIM-signed by its author,
then passed through three ARC sealers: a mailing list that tags the subject, adds a
footer and seals, a forwarder that seals, and a final gateway that seals, so every
message carries three ARC Sets (i=1..3) and a passing chain. Keys are RSA-2048 (the one
algorithm dkimpy's ARC supports), one per sealer. Half the messages are sealed by
mailauth (``seal_arc``), half by dkimpy (``dkim.ARC.sign``), so each verifier reads the
other's fields too.

- mailauth: ``verify_arc(msg).run(FakeResolver)`` per message (parsing included).
- dkimpy:   ``dkim.arc_verify(msg, dnsfunc=...)`` per message, the same records.

Both check every ARC-Seal and every ARC-Message-Signature (mailauth for the
oldest-pass, dkimpy for its per-instance results). The two are timed in turn in each of
``--repeat`` rounds, so a machine that speeds up or slows down during the run moves
both alike; each keeps its best round, and the range over the rounds is printed.

Run: ``python benchmarks/bench_arc.py [--messages 120] [--repeat 7] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable

import dkim as dkimpy
from _text import body_text

from mailauth import Status
from mailauth.arc import seal_arc, verify_arc
from mailauth.dkim import generate_key, sign_dkim
from mailauth.testing import FakeResolver

NOW = 1_700_000_000          # a t= in the past: dkimpy refuses one in the future
AUTHOR = "author.example"
SEALERS = ("lists.example", "fwd.example", "gw.example")


def make_corpus(n: int, seed: int) -> tuple[list[bytes], FakeResolver, dict[str, bytes]]:
    rng = random.Random(seed)
    author = generate_key("rsa", bits=2048)
    keys = {d: generate_key("rsa", bits=2048) for d in SEALERS}
    records = {f"a1._domainkey.{AUTHOR}": {"TXT": [author.txt_value]}}
    records |= {f"arc._domainkey.{d}": {"TXT": [k.txt_value]} for d, k in keys.items()}
    resolver = FakeResolver(records)
    corpus: list[bytes] = []
    for i in range(n):
        size = int(1000 * (60 ** rng.random()))                      # 1 KB-60 KB
        body = body_text(rng, size).encode()
        message = (f"From: Sender {i} <s{i}@{AUTHOR}>\r\nTo: team@{SEALERS[0]}\r\n"
                   f"Subject: message number {i}\r\n"
                   f"Date: Mon, 13 Nov 2023 22:00:{i % 60:02d} +0000\r\n"
                   f"Message-ID: <{i}@{AUTHOR}>\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + body
        message = sign_dkim(message, domain=AUTHOR, selector="a1",
                            key=author.private_key_pem, timestamp=NOW - 600) + message
        for hop, domain in enumerate(SEALERS, 1):
            if hop == 1:   # the list tags the subject and adds a footer: DKIM breaks
                message = message.replace(b"Subject: ", b"Subject: [team] ", 1)
                message += b"-- \r\nteam mailing list\r\n"
            seal = _ours if i % 2 == 0 else _dkimpy
            message = seal(message, domain, keys[domain].private_key_pem, resolver)
        corpus.append(message)
    txt = {f"{name}.": value["TXT"][0].encode() for name, value in records.items()}
    return corpus, resolver, txt


def _ours(message: bytes, domain: str, key: bytes, resolver: FakeResolver) -> bytes:
    chain = verify_arc(message, now=NOW).run(resolver)
    return seal_arc(message, domain=domain, selector="arc", key=key, authserv_id=domain,
                    auth_results=f"{chain.authres()}; dkim=pass header.d={AUTHOR}",
                    chain=chain, now=NOW) + message


def _dkimpy(message: bytes, domain: str, key: bytes, resolver: FakeResolver) -> bytes:
    cv = str(verify_arc(message, now=NOW).run(resolver).status)
    stamped = (f"Authentication-Results: {domain}; arc={cv}; "
               f"dkim=pass header.d={AUTHOR}\r\n").encode() + message
    arc = dkimpy.ARC(stamped)
    fields = arc.sign(b"arc", domain.encode(), bytes(key), domain.encode(),
                      include_headers=arc.default_sign_headers(), timestamp=NOW)
    return b"".join(fields) + stamped


def run_mailauth(corpus: list[bytes], resolver: FakeResolver) -> int:
    ok = 0
    for m in corpus:
        ok += verify_arc(m, now=NOW + 60).run(resolver).status is Status.PASS
    resolver.queries.clear()   # FakeResolver logs every query: keep the list short
    return ok


def run_dkimpy(corpus: list[bytes], txt: dict[str, bytes]) -> int:
    def dns(name: bytes | str, timeout: int = 5) -> bytes | None:
        key = name.decode() if isinstance(name, bytes) else name
        return txt.get(key if key.endswith(".") else key + ".")

    return sum(dkimpy.arc_verify(m, dnsfunc=dns)[0] == b"pass" for m in corpus)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    gc.collect()   # neither pays for the garbage of the other
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    corpus, resolver, txt = make_corpus(args.messages, args.seed)
    n = len(corpus)
    print(f"corpus: {n} messages with 3 ARC Sets each (RSA-2048), "
          f"{sum(map(len, corpus)) / 1e6:.1f} MB; half sealed by mailauth, half by dkimpy")
    ours: list[float] = []
    theirs: list[float] = []
    ok_ma = ok_dp = 0
    # Timed in turn within each round, so that a machine getting faster or slower during
    # the run moves both alike; each keeps its best round.
    for _ in range(args.repeat):
        t, ok_ma = timed(lambda: run_mailauth(corpus, resolver))
        ours.append(n / t)
        t, ok_dp = timed(lambda: run_dkimpy(corpus, txt))
        theirs.append(n / t)
    print(f"messages/second, best of {args.repeat} rounds (range over the rounds):")
    print(f"  mailauth {max(ours):9.1f} msg/s  ({min(ours):.1f}-{max(ours):.1f}; "
          f"{ok_ma}/{n} pass)")
    print(f"  dkimpy   {max(theirs):9.1f} msg/s  ({min(theirs):.1f}-{max(theirs):.1f}; "
          f"{ok_dp}/{n} pass)")
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    print(f"  mailauth / dkimpy: {max(ours) / max(theirs):.2f}x best to best "
          f"(per round {min(ratios):.2f}-{max(ratios):.2f}x; target >= 5x)")
    return 0 if ok_ma == n == ok_dp else 1


if __name__ == "__main__":
    sys.exit(main())
