"""The durable policy cache on sqlite3: what it keeps, that an older fetch never replaces
a newer one, and several processes sharing one file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from mailauth.mta_sts import (
    CachedPolicy,
    Policy,
    PolicyStore,
    SQLiteStore,
    get_mta_sts_policy,
    parse_policy,
)
from mailauth.status import Status
from mailauth.testing import FakeFetcher, FakeResolver

SRC = Path(__file__).resolve().parents[1] / "src"
POLICY = parse_policy("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n")
URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
DNS = FakeResolver({"_mta-sts.example.com": {"TXT": ["v=STSv1; id=1"]}})


def test_put_get_delete(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sts.db")
    assert isinstance(store, PolicyStore)
    assert store.get("example.com") is None
    entry = CachedPolicy("example.com", POLICY, "1", 1000.0)
    store.put(entry)
    assert store.get("example.com") == entry
    failed = CachedPolicy("example.com", POLICY, "1", 1000.0, 2000.0, "HTTP 500")
    store.put(failed)
    assert store.get("example.com") == failed
    store.delete("example.com")
    assert store.get("example.com") is None
    mode = sqlite3.connect(tmp_path / "sts.db").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def test_an_older_fetch_never_replaces_a_newer_one(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "sts.db"))
    newer = CachedPolicy("example.com", POLICY, "2", 2000.0)
    store.put(newer)
    store.put(CachedPolicy("example.com", POLICY, "1", 1000.0))
    assert store.get("example.com") == newer


def test_a_policy_made_by_hand_is_kept_as_text(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sts.db")
    policy = Policy(mode="testing", mx=("a.example", "*.b.example"), max_age=60)
    store.put(CachedPolicy("example.org", policy, "x", 5.0))
    got = store.get("example.org")
    assert got is not None
    assert (got.policy.mode, got.policy.mx, got.policy.max_age) == ("testing", policy.mx, 60)


def test_a_damaged_row_is_no_policy(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sts.db")
    store.put(CachedPolicy("example.com", POLICY, "1", 1000.0))
    with sqlite3.connect(tmp_path / "sts.db") as db:
        db.execute("UPDATE mta_sts_policy SET policy = 'garbage'")
    assert store.get("example.com") is None


def test_the_check_keeps_its_policies_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sts.db"
    body = POLICY.text.encode()
    first = get_mta_sts_policy("example.com", cache=SQLiteStore(path), now=1000).run(
        DNS, FakeFetcher({URL: body}))
    assert first.source == "fetched"
    # a new store on the same file, as after a restart: no fetch needed
    again = get_mta_sts_policy("example.com", cache=SQLiteStore(path), now=2000).run(
        DNS, FakeFetcher())
    assert again.status is Status.PASS and again.source == "cache"


_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {src!r})
    from mailauth.mta_sts import CachedPolicy, SQLiteStore, parse_policy
    store = SQLiteStore({path!r}, timeout=30)
    policy = parse_policy("version: STSv1\\nmode: enforce\\nmx: mx.example.com\\nmax_age: 86400\\n")
    worker = int(sys.argv[1])
    for i in range(150):
        fetched = float(i * 10 + worker)
        store.put(CachedPolicy("example.com", policy, f"w{{worker}}i{{i}}", fetched))
        store.put(CachedPolicy(f"d{{worker}}-{{i % 5}}.example", policy, "x", fetched))
        got = store.get("example.com")
        assert got is not None and got.fetched >= fetched, (got, fetched)
    print("ok")
""")


def test_several_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "sts.db"
    SQLiteStore(path)
    code = _CHILD.format(src=str(SRC), path=str(path))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(worker)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for worker in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0 and out.strip() == "ok", err
    final = SQLiteStore(path).get("example.com")
    # every writer's last entry was fetched at 149 * 10 + worker: the newest wins
    assert final is not None and (final.fetched, final.id) == (1493.0, "w3i149")
    count = sqlite3.connect(path).execute("SELECT count(*) FROM mta_sts_policy").fetchone()
    assert count == (1 + 4 * 5,)


def test_a_policy_written_by_one_process_is_read_by_another(tmp_path: Path) -> None:
    path = tmp_path / "sts.db"
    writer = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(SRC)!r})
        from mailauth.mta_sts import SQLiteStore, get_mta_sts_policy
        from mailauth.testing import FakeFetcher, FakeResolver
        dns = FakeResolver({{"_mta-sts.example.com": {{"TXT": ["v=STSv1; id=1"]}}}})
        body = {POLICY.text.encode()!r}
        r = get_mta_sts_policy("example.com", cache=SQLiteStore({str(path)!r}), now=1000
                               ).run(dns, FakeFetcher({{{URL!r}: body}}))
        print(r.source)
    """)
    out = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.stdout.strip() == "fetched", out.stderr
    result = get_mta_sts_policy("example.com", cache=SQLiteStore(path), now=1500).run(
        DNS, FakeFetcher())
    assert result.source == "cache" and result.cached is not None
    assert result.cached.fetched == 1000.0
