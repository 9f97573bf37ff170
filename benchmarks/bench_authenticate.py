"""SPF + DKIM + DMARC in one call: mailauth vs Node's mailauth vs authheaders, in one run.

Corpus (benchmarks/_auth_corpus.py): generated messages from a handful of author domains
with DMARC records (p=none/quarantine/reject, sp, strict and relaxed alignment, none at
all, policies found above the author domain), SPF records (ip4, include, mx, a,
redirect, -all/~all) and DKIM keys (RSA-2048, Ed25519): aligned, third-party signer,
SPF only, tampered, forwarded, mailing list, unsigned, two signatures, subdomain From,
tree-walk cases, null-sender bounces. Each message comes with its SMTP envelope, and
one DNS table serves all three verifiers.

- mailauth:    ``mailauth.authenticate(msg, ip=, helo=, mail_from=).run(FakeResolver)``
               (iprev off where the function has it: the peers do not check it).
- node:        postalsys ``mailauth``'s ``authenticate()`` under Node 22 (npm packages
               ``node@22`` and ``mailauth`` in benchmarks/node), ``resolver`` answering
               from the same table, ARC and BIMI off. One Node process serves the whole
               run; each round is timed inside Node over its own loop, so start-up is
               not counted.
- authheaders: ``authheaders.authenticate_message(msg, authserv_id, spf=True, ip=,
               mail_from=, helo=, dnsfunc=)`` over dkimpy and pyspf (pyspf's DNS
               answered from the same table, as tests/pyspf_fake.py does). It rebuilds
               the Public Suffix List on every lookup, so it is timed on a subset.

Each peer first makes one untimed pass over the whole corpus (its verdicts), mailauth
and Node then untimed passes for ``--warmup`` seconds (Node's JIT needs a few dozen
passes to settle: with one pass of warm-up it shows about half its steady speed);
then the peers are timed in turn in each of ``--repeat`` rounds, so a machine
that speeds up or slows down during the run moves all of them alike, and each keeps its
best round. Prints messages/second, the range over rounds, the ratios, and the verdicts
compared message by message with mailauth's (with Node's, while mailauth has no
``authenticate``), each disagreement with a short reason.

Run: ``python benchmarks/bench_authenticate.py [--messages 240] [--repeat 7] [--seed 1]
[--tld example] [--dmarc-mode tree-walk|psl] [--warmup 5] [--authheaders-subset 24]
[--no-node] [--no-authheaders]``; first ``npm ci`` in benchmarks/node (Node 22 comes
from the npm package ``node``) and ``pip install authheaders``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import inspect
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mailauth
from mailauth import Outcome, Query
from mailauth.testing import FakeResolver

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _auth_corpus import Case, Corpus, make_corpus  # the corpus and its DNS table

HERE = Path(__file__).resolve().parent

NODE_DIR = HERE / "node"
NODE_BIN = NODE_DIR / "node_modules" / ".bin" / "node"
AUTHSERV_ID = "mx.receiver.example"
FIELDS = ("spf", "dkim", "dmarc")

Verdict = tuple[str, str, str]  # spf, dkim, dmarc


@dataclass
class Peer:
    """One verifier: a verdict pass over the corpus and a timed round."""

    name: str
    label: str
    verdicts: Callable[[], list[Verdict]]
    round: Callable[[], float]        # seconds for one pass over its timed messages
    timed: int                        # how many messages a round covers
    note: str = ""
    warmup: Callable[[float], int] = lambda seconds: 0  # untimed passes for that long
    details: list[Any] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    close: Callable[[], None] = lambda: None

    @property
    def rates(self) -> list[float]:
        return [self.timed / s for s in self.seconds]


# ---- mailauth ----------------------------------------------------------------------------

def find_authenticate() -> Callable[..., Any] | None:
    """mailauth.authenticate, or None while it is not there yet."""
    name = "authenticate"
    try:
        fn: Callable[..., Any] = getattr(mailauth, name)
    except (AttributeError, ImportError):
        return None
    return fn


def mailauth_peer(corpus: Corpus, authenticate: Callable[..., Any], mode: str | None) -> Peer:
    resolver = corpus.resolver()  # one FakeResolver, built once
    extra: dict[str, Any] = {}
    note = "authenticate(...).run(FakeResolver)"
    params: Collection[str] = ()
    with contextlib.suppress(TypeError, ValueError):  # a builtin without a signature
        params = inspect.signature(authenticate).parameters
    if "iprev" in params:
        extra["iprev"] = False
        note += ", iprev=False"
    if mode is not None:
        extra["dmarc_mode"] = mode
        note += f", dmarc_mode={mode!r}"
    cases = corpus.cases

    def verdicts() -> list[Verdict]:
        out: list[Verdict] = []
        for c in cases:
            r = authenticate(c.message, ip=c.ip, helo=c.helo, mail_from=c.mail_from,
                             **extra).run(resolver)
            out.append((str(r.spf.status), str(r.dkim.status), str(r.dmarc.status)))
        resolver.queries.clear()
        return out

    def one_round() -> float:
        resolver.queries.clear()  # FakeResolver logs every query: keep the list short
        t = time.perf_counter()
        for c in cases:
            authenticate(c.message, ip=c.ip, helo=c.helo, mail_from=c.mail_from,
                         **extra).run(resolver)
        return time.perf_counter() - t

    def warmup(seconds: float) -> int:
        passes, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            one_round()
            passes += 1
        return passes

    version = getattr(mailauth, "__version__", "?")
    return Peer("mailauth", f"mailauth {version}", verdicts, one_round, len(cases), note,
                warmup)


# ---- Node --------------------------------------------------------------------------------

def node_peer(corpus_json: Path, node: Path) -> Peer:
    proc = subprocess.Popen([str(node), "authenticate.mjs", str(corpus_json), "--serve"],
                            cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def ask(command: str) -> Any:
        stdin.write(command + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the Node process ended (exit status {proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"Node: {reply['error']}")
        return reply

    peer = Peer("node", "Node mailauth", lambda: [], lambda: 0.0, 0,
                "authenticate() with resolver=, ARC and BIMI off; timed inside Node")

    def verdicts() -> list[Verdict]:
        reply = ask("verdicts")
        peer.label = f"Node {reply['node']} mailauth {reply['mailauth']}"
        peer.timed = int(reply["messages"])
        peer.details = [v["detail"] for v in reply["verdicts"]]
        return [(v["spf"], v["dkim"], v["dmarc"]) for v in reply["verdicts"]]

    def one_round() -> float:
        return float(ask("round")["seconds"])

    def warmup(seconds: float) -> int:
        return int(ask(f"warmup {seconds}")["passes"])

    def close() -> None:
        try:
            stdin.write("quit\n")
            stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    peer.verdicts, peer.round, peer.warmup, peer.close = verdicts, one_round, warmup, close
    return peer


# ---- authheaders -------------------------------------------------------------------------

def authheaders_dnsfunc(fake: FakeResolver) -> Callable[..., Any]:
    """One DNS function for both of authheaders' callers: dkimpy asks with a bytes name
    (``sel._domainkey.d.``) and wants the TXT bytes, the DMARC lookup asks with a str and
    wants the str (the first ``v=DMARC1`` record at ``_dmarc.``). None when there is none."""
    table: dict[str, str | None] = {}

    def text(name: str) -> str | None:
        key = name.lower().rstrip(".")
        if key not in table:
            answer = fake.answer(Query(key, "TXT"))
            texts = [str(r) for r in answer.records] if answer.outcome is Outcome.OK else []
            if key.startswith("_dmarc."):
                texts = [t for t in texts if t.startswith("v=DMARC1")] or texts
            table[key] = texts[0] if texts else None
        return table[key]

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | str | None:
        if isinstance(name, bytes):
            found = text(name.decode("ascii", "replace"))
            return None if found is None else found.encode()
        return text(name)

    return dnsfunc


AR_RESULT = re.compile(r"(?:;|^)\s*(spf|dkim|dmarc)=([a-z]+)", re.IGNORECASE)


CRASH = "crash"


def parse_ar(header: str) -> Verdict:
    """spf, dkim, dmarc from authheaders' Authentication-Results text (first of each)."""
    if header.startswith(CRASH):
        return CRASH, CRASH, CRASH
    found: dict[str, str] = {}
    for method, result in AR_RESULT.findall(header.replace("\r\n", " ")):
        found.setdefault(method.lower(), result.lower())
    return found.get("spf", "none"), found.get("dkim", "none"), found.get("dmarc", "none")


def authheaders_peer(corpus: Corpus, subset: list[int]) -> Peer:
    authheaders: Any = importlib.import_module("authheaders")
    spf: Any = importlib.import_module("spf")  # pyspf, which authheaders drives
    sys.path.insert(0, str(HERE.parent / "tests"))
    pyspf_dnslookup: Any = importlib.import_module("pyspf_fake").pyspf_dnslookup
    fake = corpus.resolver()
    dnsfunc = authheaders_dnsfunc(fake)
    lookup = pyspf_dnslookup(fake, memo=True)
    cases = corpus.cases
    timed = [cases[i] for i in subset]

    def check(c: Case) -> str:
        try:
            return str(authheaders.authenticate_message(
                c.message, AUTHSERV_ID, spf=True, ip=c.ip, mail_from=c.mail_from,
                helo=c.helo, dnsfunc=dnsfunc))
        except Exception as exc:  # a crash is its verdict on that message
            return f"{CRASH}: {type(exc).__name__}: {exc}"

    def with_dns(fn: Callable[[], Any]) -> Any:
        saved = spf.DNSLookup  # pyspf's DNS, answered from the table for this pass only
        spf.DNSLookup = lookup
        try:
            return fn()
        finally:
            spf.DNSLookup = saved

    def verdicts() -> list[Verdict]:
        headers = with_dns(lambda: [check(c) for c in cases])
        peer.details = headers
        return [parse_ar(h) for h in headers]

    def one_round() -> float:
        def run() -> float:
            t = time.perf_counter()
            for c in timed:
                check(c)
            return time.perf_counter() - t
        return float(with_dns(run))

    version = getattr(authheaders, "__version__", None) or _dist_version("authheaders")
    note = "authenticate_message(spf=True, dnsfunc=...), pyspf.DNSLookup from the table"
    if len(timed) < len(cases):
        note += f"; timed on a subset of {len(timed)} messages (every "\
                f"{len(cases) // max(len(timed), 1)}th), verdicts on all"
    peer = Peer("authheaders", f"authheaders {version}", verdicts, one_round, len(timed), note)
    return peer


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def stratified(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n) (every n/k-th message: the same mix of kinds)."""
    if k <= 0 or k >= n:
        return list(range(n))
    step = n / k
    return sorted({int(i * step) for i in range(k)})


# ---- verdicts ----------------------------------------------------------------------------

def reason(peer: str, fld: str, ours: str, theirs: str, case: Case, detail: Any,
           mode: str) -> str:
    """A short reason for one disagreement (the usual causes; else just the two words)."""
    kind = case.kind
    if peer == "node":
        if fld == "dkim" and theirs == "neutral" and ours == "fail":
            return ("Node reports a body hash mismatch as dkim=neutral (\"body hash did not "
                    "verify\"); RFC 6376 §6.1.3 makes it a failed signature (dkim=fail)")
        if fld == "dmarc" and kind == "bounce-null-sender":
            return ("null MAIL FROM: SPF then checks postmaster@HELO as the MAIL FROM "
                    "identity (RFC 7208 §2.4); the two differ on aligning that HELO name")
        if fld == "dmarc" and kind in ("sibling-org", "deep-subdomain", "intermediate-record"):
            return ("Organizational Domain: Node's mailauth 7.x uses RFC 9989's DNS tree walk "
                    "(the Public Suffix List, tldts, only for its early DKIM alignment "
                    f"guess), the reference here {mode}")
    if peer == "authheaders":
        if theirs == CRASH:
            crash = str(detail)[len(CRASH) + 2:][:100]
            if case.mail_from == "":
                return (f"authheaders raised {crash}: a null MAIL FROM whose HELO passes SPF "
                        "reaches get_domain_part(None) in dmarc_per_from")
            return f"authheaders raised {crash}"
        if fld == "dkim" and ours == "neutral" and theirs == "fail":
            return ("a body hash mismatch: Node says neutral, dkimpy (and RFC 6376 §6.1.3) "
                    "fail")
        if fld == "dkim" and ours == "none" and theirs == "fail":
            return ("no DKIM-Signature: dkimpy's DKIM.verify() returns False, which "
                    "authheaders writes as dkim=fail (RFC 8601 §2.7.1: none)")
        if kind.startswith("two-sigs") and fld in ("dkim", "dmarc"):
            return ("authheaders verifies only the first (topmost) DKIM-Signature, here the "
                    "ESP's: the author's aligned one is never checked")
        if fld == "dmarc" and _tld_of(case) == "example":
            return ("authheaders' publicsuffix2 gives the bare TLD as the Organizational "
                    "Domain of a name under a TLD not on the list: every *.example name "
                    "has 'example', so relaxed alignment passes across domains and a "
                    "subdomain's policy is looked up at _dmarc.example (try --tld com)")
        if fld == "dmarc" and kind in ("sibling-org", "deep-subdomain"):
            return ("Organizational Domain: authheaders uses RFC 7489's Public Suffix List "
                    f"(dmarcbis=False by default), the reference here {mode}")
    return f"{peer} says {fld}={theirs}, the reference {fld}={ours}"


def _tld_of(case: Case) -> str:
    return case.author.rpartition(".")[2]


def compare(ref: list[Verdict], peer: Peer, theirs: list[Verdict], cases: Sequence[Case],
            mode: str) -> tuple[Counter[str], dict[tuple[str, ...], list[int]]]:
    agree: Counter[str] = Counter()
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, (a, b) in enumerate(zip(ref, theirs, strict=True)):
        if b == (CRASH, CRASH, CRASH):  # one line for a crash, not one per method
            text = reason(peer.name, "all", "-", CRASH, cases[i], peer.details[i], mode)
            groups[("all", "/".join(a), CRASH, cases[i].kind, text)].append(i)
            continue
        for j, fld in enumerate(FIELDS):
            if a[j] == b[j]:
                agree[fld] += 1
            else:
                text = reason(peer.name, fld, a[j], b[j], cases[i],
                              peer.details[i] if i < len(peer.details) else None, mode)
                groups[(fld, a[j], b[j], cases[i].kind, text)].append(i)
        agree["all"] += a == b
    return agree, groups


def print_comparison(ref_name: str, ref: list[Verdict], peer: Peer, theirs: list[Verdict],
                     cases: Sequence[Case], limit: int, mode: str) -> None:
    agree, groups = compare(ref, peer, theirs, cases, mode)
    n = len(cases)
    print(f"  {ref_name} vs {peer.name}: all three equal on {agree['all']}/{n}; "
          + ", ".join(f"{f} {agree[f]}/{n}" for f in FIELDS))
    shown = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for (fld, a, b, kind, text), ids in shown[:limit]:
        more = "" if len(ids) <= 8 else f" (+{len(ids) - 8})"
        print(f"    {fld:5} {ref_name}={a:9} {peer.name}={b:9} x{len(ids):<3} [{kind}] "
              f"msgs {','.join(map(str, ids[:8]))}{more}")
        print(f"          {text}")
    if len(shown) > limit:
        print(f"    ... {len(shown) - limit} more groups (--show N)")


# ---- main --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--messages", type=int, default=240)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tld", default="example",
                    help="top-level domain of the corpus (default example, RFC 2606); a TLD "
                         "on the Public Suffix List, e.g. com, shows authheaders on real names")
    ap.add_argument("--warmup", type=float, default=5.0, metavar="SECONDS",
                    help="untimed passes before the rounds, for mailauth and Node (V8 needs "
                         "a few dozen passes to reach its optimizing tiers); authheaders gets "
                         "its verdict pass only")
    ap.add_argument("--authheaders-subset", type=int, default=24, metavar="N",
                    help="messages timed for authheaders per round (0: all); verdicts use all")
    ap.add_argument("--dmarc-mode", choices=["tree-walk", "psl"], default=None,
                    help="mailauth's DMARC mode (default: its own, the RFC 9989 tree walk); "
                         "psl is RFC 7489's, as authheaders does")
    ap.add_argument("--no-node", action="store_true")
    ap.add_argument("--no-authheaders", action="store_true")
    ap.add_argument("--node", type=Path, default=NODE_BIN, help="the Node 22 binary")
    ap.add_argument("--show", type=int, default=20, help="disagreement groups shown per peer")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    corpus = make_corpus(args.messages, args.seed, tld=args.tld)
    cases = corpus.cases
    total = sum(len(c.message) for c in cases)
    print(f"corpus: {len(cases)} messages (seed {args.seed}, .{args.tld}), "
          f"{total / 1e6:.2f} MB, {len(corpus.dns)} DNS names, built in "
          f"{time.perf_counter() - t0:.1f} s")
    print("  " + ", ".join(f"{k} {v}" for k, v in corpus.kinds.items()))

    peers: list[Peer] = []
    authenticate = find_authenticate()
    if authenticate is None:
        print("mailauth: mailauth.authenticate() is not there yet: running the peers only "
              "(no mailauth figures)")
    else:
        peers.append(mailauth_peer(corpus, authenticate, args.dmarc_mode))

    with tempfile.TemporaryDirectory(prefix="bench-authenticate-") as tmp:
        if not args.no_node:
            if not args.node.exists():
                print(f"node: {args.node} is missing: run `npm install` in {NODE_DIR} "
                      "(or pass --no-node)")
            else:
                peers.append(node_peer(corpus.write(Path(tmp)), args.node))
        if not args.no_authheaders:
            try:
                subset = stratified(len(cases), args.authheaders_subset)
                peers.append(authheaders_peer(corpus, subset))
            except ImportError as exc:
                print(f"authheaders: not installed ({exc}): pip install authheaders "
                      "(or pass --no-authheaders)")
        if not peers:
            print("nothing to run")
            return 1
        try:
            verdicts: dict[str, list[Verdict]] = {}
            for peer in peers:  # an untimed pass each for the verdicts, then the warm-up
                t = time.perf_counter()
                verdicts[peer.name] = peer.verdicts()
                took = time.perf_counter() - t
                passes = peer.warmup(args.warmup)
                print(f"{peer.name}: verdict pass over {len(cases)} messages in {took:.1f} s"
                      + (f", then {passes} warm-up passes" if passes else ""))
            # The peers are timed in turn within each round, so that a machine getting
            # faster or slower during the run moves them all alike; each keeps its best.
            for _ in range(args.repeat):
                for peer in peers:
                    gc.collect()  # no peer pays for the garbage of the one before it
                    peer.seconds.append(peer.round())
        finally:
            for peer in peers:
                peer.close()

    print()
    print(f"messages/second, best of {args.repeat} rounds (range over the rounds):")
    best: dict[str, float] = {}
    for peer in peers:
        rates = peer.rates
        best[peer.name] = max(rates)
        print(f"  {peer.name:11} {max(rates):9.1f} msg/s  ({min(rates):.1f}-{max(rates):.1f}; "
              f"{peer.timed} messages a round)  {peer.label}")
        print(f"  {'':11} {peer.note}")
    if "mailauth" in best:
        for other in ("node", "authheaders"):
            if other in best:
                print(f"  mailauth / {other:11}: {best['mailauth'] / best[other]:.2f}x")
    elif "node" in best and "authheaders" in best:
        print(f"  node / authheaders: {best['node'] / best['authheaders']:.2f}x")

    print()
    ref_name = "mailauth" if "mailauth" in verdicts else "node"
    others = [p for p in peers if p.name != ref_name]
    if ref_name in verdicts and others:
        print(f"verdicts (spf, dkim, dmarc) per message, against {ref_name}'s:")
        for peer in others:
            mode = ("the RFC 9989 tree walk" if ref_name == "node" else
                    "RFC 7489's Public Suffix List" if args.dmarc_mode == "psl" else
                    "mailauth's default (RFC 9989 tree walk)")
            print_comparison(ref_name, verdicts[ref_name], peer, verdicts[peer.name], cases,
                             args.show, mode)
        if len(verdicts) == 3:
            same = sum(a == b == c for a, b, c in zip(*verdicts.values(), strict=True))
            print(f"  all three peers equal on {same}/{len(cases)} messages")
        print("  (Node's mailauth 7.x finds DMARC policies and Organizational Domains with "
              "RFC 9989's DNS tree walk, and reads the Public Suffix List (tldts) only to "
              "guess DKIM alignment before the walk; authheaders uses RFC 7489's Public "
              "Suffix List by default)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
