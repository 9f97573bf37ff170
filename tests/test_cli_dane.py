"""``mailauth dane HOST`` against a tiny SMTP server on 127.0.0.1 and a zone file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from mailauth.cli import main
from test_smtp_probe import HOST, PKI, Serve, Server, make_pki, make_webpki, servers, spki_sha256


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture
def serve(pki: PKI) -> Iterator[Serve]:
    yield from servers(pki)


def zone_file(tmp_path: Path, port: int, record: str) -> str:
    path = tmp_path / "zone.txt"
    path.write_text(f"$ORIGIN example.test.\n$TTL 300\n"
                    f"mx IN A 127.0.0.1\n_{port}._tcp.mx IN TLSA {record}\n")
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def test_dane_matches_and_prints_records_chain_and_match(
        serve: Serve, pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("good")
    record = f"3 1 1 {spki_sha256(pki.leaf)}"
    zone = zone_file(tmp_path, server.port, record)
    code, out = run(["dane", HOST, "--port", str(server.port), "--address", "127.0.0.1",
                     "--zone", zone, "--dnssec", "--timeout", "5"], capsys)
    assert code == 0, out
    assert out.startswith("dane=pass")
    assert f"TLSA _{server.port}._tcp.{HOST}: pass, authentic (DNSSEC)" in out
    assert record in out
    assert "certificate 0 (leaf):" in out and "certificate 1:" in out
    assert f"SPKI SHA-256 {spki_sha256(pki.leaf)}" in out
    assert f"matched: {record}" in out
    assert "warning:" not in out


def test_dane_warns_of_a_set_that_breaks_at_renewal(
        serve: Serve, pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("good")
    zone = zone_file(tmp_path, server.port, f"3 0 1 {hashlib.sha256(pki.leaf).hexdigest()}")
    code, out = run(["dane", HOST, "--port", str(server.port), "--address", "127.0.0.1",
                     "--zone", zone, "--dnssec", "--timeout", "5"], capsys)
    assert code == 0 and out.startswith("dane=pass")
    assert "warning:" in out


def test_dane_mismatch_json(serve: Serve, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("good")
    zone = zone_file(tmp_path, server.port, "3 1 1 " + "ab" * 32)
    code, out = run(["dane", HOST, "--port", str(server.port), "--address", "127.0.0.1",
                     "--zone", zone, "--dnssec", "--timeout", "5", "--json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["status"] == "fail"
    assert data["records"][0]["outcome"] == "mismatch"
    assert len(data["probe"]["chain"]) == 2 and "spki_sha256" in data["probe"]["chain"][0]


def test_dane_insecure_zone_is_not_applicable(serve: Serve, pki: PKI, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("silent")
    zone = zone_file(tmp_path, server.port, f"3 1 1 {spki_sha256(pki.leaf)}")
    code, out = run(["dane", HOST, "--port", str(server.port), "--address", "127.0.0.1",
                     "--zone", zone, "--timeout", "5"], capsys)
    assert code == 1 and out.startswith("dane=none")
    assert "not authentic" in out


def test_dane_stalled_server_is_undecided(serve: Serve, pki: PKI, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    server = serve("stall_after_ehlo")
    zone = zone_file(tmp_path, server.port, f"3 1 1 {spki_sha256(pki.leaf)}")
    code, out = run(["dane", HOST, "--port", str(server.port), "--address", "127.0.0.1",
                     "--zone", zone, "--dnssec", "--timeout", "0.5"], capsys)
    assert code == 2, out
    assert out.startswith("dane=temperror") and "failed at ehlo" in out


def test_dane_with_domain_shows_the_mta_sts_view(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    webpki = make_webpki(HOST)
    server = Server("good", webpki.server_context())
    try:
        zone = zone_file(tmp_path, server.port, f"3 1 1 {spki_sha256(webpki.leaf)}")
        roots = tmp_path / "roots.pem"
        roots.write_bytes(webpki.root.public_bytes(Encoding.PEM))
        args = ["dane", HOST, "--port", str(server.port), "--zone", zone, "--dnssec",
                "--timeout", "5", "--domain", "example.test", "--cafile", str(roots)]
        code, out = run(args, capsys)
        assert code == 0, out
        assert "  MTA-STS of example.test: none, no policy applies (" in out
        assert f"    WebPKI: valid for {HOST}, issued under the trusted " in out
        assert "    DANE applies to this host" in out
        code, out = run([*args, "--json"], capsys)
        view = json.loads(out)["mta_sts"]
        assert view["webpki_valid"] is True and view["mode"] is None
        assert view["delivery"]["allowed"] is True
    finally:
        server.close()


def test_dane_cafile_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dane", HOST, "--domain", "example.test", "--cafile",
                 str(tmp_path / "missing.pem")])
    assert code == 66 and "--cafile" in capsys.readouterr().err
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    code = main(["dane", HOST, "--domain", "example.test", "--cafile", str(bad)])
    assert code == 64 and "no PEM certificates" in capsys.readouterr().err
