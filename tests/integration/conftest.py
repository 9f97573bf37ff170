"""Integration tests against real servers on loopback (docs/testing.md).

The session fixture :func:`infra` gives the running stack started by
``tests/infra/up.sh``: knotd (authoritative, signs our zones), unbound (validating
resolver whose only trust anchors are our zones' DS records) and an HTTPS policy host.

- ``MAILAUTH_INFRA_ENV=/path/to/env`` (the env file up.sh writes; ``.ci/run`` sets it)
  uses a stack that is already running, and leaves it running.
- Otherwise the fixture runs ``up.sh`` itself on free ports in a private runtime
  directory and ``down.sh`` at the end of the session. up.sh installs the servers
  it needs (apt-get) when running as root with apt-get at hand, so that the README's
  test command runs every test on a fresh machine; ``MAILAUTH_INFRA_INSTALL=0`` forbids
  that and ``=1`` asks for it anyway.
- When the stack cannot be had, the tests are skipped with the reason, or fail with
  up.sh's output when ``MAILAUTH_REQUIRE_INFRA=1`` (CI).

Every test collected under tests/integration/ is marked ``integration``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailauth.resolvers import DNSResolver

HERE = Path(__file__).resolve().parent
INFRA_DIR = HERE.parent / "infra"
UP_TIMEOUT = 600  # seconds; includes apt-get when up.sh installs the servers


def _may_install() -> bool:
    """Whether up.sh may apt-get the servers: as root with apt-get, unless told not to."""
    flag = os.environ.get("MAILAUTH_INFRA_INSTALL")
    if flag is not None:
        return flag not in ("", "0")
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item, not only ours: mark those below this folder.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class Infra:
    """The running loopback stack (see tests/infra/up.sh and docs/testing.md)."""

    host: str
    dns_auth_port: int
    dns_resolver_port: int
    run_dir: Path
    env: dict[str, str]
    knot_conf: Path
    unbound_conf: Path
    https_port: int | None = None
    https_ca: Path | None = None
    signed_zones: tuple[str, ...] = ()
    unsigned_zones: tuple[str, ...] = ()
    tampered_zones: tuple[str, ...] = ()
    owned: bool = field(default=False, repr=False)

    @property
    def zones(self) -> tuple[str, ...]:
        return self.signed_zones + self.unsigned_zones + self.tampered_zones

    def resolver(self, *, trust_ad: bool = True, timeout: float = 5.0,
                 tcp: bool = False) -> DNSResolver:
        """A :class:`DNSResolver` asking the validating resolver (unbound)."""
        return DNSResolver([self.host], port=self.dns_resolver_port, timeout=timeout,
                           trust_ad=trust_ad, tcp=tcp)

    def authoritative(self, *, trust_ad: bool = False, timeout: float = 5.0,
                      tcp: bool = False) -> DNSResolver:
        """A :class:`DNSResolver` asking the authoritative server (knotd) directly."""
        return DNSResolver([self.host], port=self.dns_auth_port, timeout=timeout,
                           trust_ad=trust_ad, tcp=tcp)

    # --- runtime zone edits (knotd re-signs in milliseconds) ------------------------

    def knotc(self, *args: str) -> str:
        """Run ``knotc -c <knot.conf> ARGS``; raises with its output on failure."""
        proc = subprocess.run(["knotc", "-c", str(self.knot_conf), *args],
                              capture_output=True, text=True, timeout=30, check=False)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "error" in out.lower():
            raise RuntimeError(f"knotc {' '.join(args)} failed ({proc.returncode}): {out}")
        return out

    def set_records(self, zone: str, owner: str, rdtype: str, *rdata: str,
                    ttl: int = 300) -> None:
        """Replace the ``rdtype`` records at ``owner`` (relative to ``zone``) by ``rdata``;
        no ``rdata`` deletes them. Flushes the resolver's cache for the zone."""
        self.knotc("zone-begin", zone)
        try:
            with contextlib.suppress(RuntimeError):  # nothing there yet is fine
                self.knotc("zone-unset", zone, owner, rdtype)
            for value in rdata:
                self.knotc("zone-set", zone, owner, str(ttl), rdtype, value)
        except BaseException:
            self.knotc("zone-abort", zone)
            raise
        self.knotc("zone-commit", zone)
        self.flush(zone)

    def flush(self, zone: str) -> None:
        """Drop everything unbound has cached at or below ``zone``."""
        proc = subprocess.run(["unbound-control", "-c", str(self.unbound_conf),
                               "flush_zone", zone],
                              capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"unbound-control flush_zone failed: {proc.stdout}{proc.stderr}")


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of an env file written by up.sh (values may be quoted)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        parts = shlex.split(value)
        env[key.strip()] = parts[0] if len(parts) == 1 else " ".join(parts)
    return env


def infra_from_env(env: dict[str, str], *, owned: bool = False) -> Infra:
    https_port = env.get("HTTPS_PORT") or ""
    https_ca = env.get("HTTPS_CA") or ""
    return Infra(
        host=env.get("INFRA_HOST", "127.0.0.1"),
        dns_auth_port=int(env["DNS_AUTH_PORT"]),
        dns_resolver_port=int(env["DNS_RESOLVER_PORT"]),
        run_dir=Path(env["INFRA_RUN"]),
        env=env,
        knot_conf=Path(env["KNOT_CONF"]),
        unbound_conf=Path(env["UNBOUND_CONF"]),
        https_port=int(https_port) if https_port else None,
        https_ca=Path(https_ca) if https_ca else None,
        signed_zones=tuple(env.get("INFRA_SIGNED_ZONES", "").split()),
        unsigned_zones=tuple(env.get("INFRA_UNSIGNED_ZONES", "").split()),
        tampered_zones=tuple(env.get("INFRA_TAMPERED_ZONES", "").split()),
        owned=owned,
    )


def _free_ports(count: int) -> list[int]:
    """Ports free for TCP and UDP on 127.0.0.1 and ::1 (best effort; up.sh fails loudly
    if one is taken meanwhile)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port in ports or port < 1024:
            continue
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(family, kind) as s:
                        s.bind((host, port))
        except OSError:
            continue
        ports.append(port)
    return ports


def _unavailable(reason: str) -> None:
    if os.environ.get("MAILAUTH_REQUIRE_INFRA") == "1":
        pytest.fail(f"integration infrastructure required (MAILAUTH_REQUIRE_INFRA=1) "
                    f"but unavailable: {reason}", pytrace=False)
    pytest.skip(f"integration infrastructure unavailable: {reason}")


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The loopback DNS/HTTPS stack; see the module docstring."""
    env_file = os.environ.get("MAILAUTH_INFRA_ENV")
    if env_file:
        path = Path(env_file)
        if not path.is_file():
            _unavailable(f"MAILAUTH_INFRA_ENV={env_file} is not a file (run tests/infra/up.sh)")
        yield infra_from_env(read_env_file(path))
        return

    install = _may_install()
    if not install:
        missing = [b for b in ("knotd", "knotc", "keymgr", "kdig", "unbound",
                               "unbound-control", "ldns-signzone")
                   if shutil.which(b) is None]
        if missing:
            _unavailable(f"{', '.join(missing)} not installed (apt-get install knot "
                         "knot-dnsutils unbound ldnsutils as root, or set "
                         "MAILAUTH_INFRA_INSTALL=1, or start tests/infra/up.sh and set "
                         "MAILAUTH_INFRA_ENV)")
    run_dir = Path(tempfile.mkdtemp(prefix="mailauth-infra-"))
    dns_port, res_port, https_port = _free_ports(3)
    child_env = dict(os.environ, INFRA_RUN=str(run_dir), DNS_PORT=str(dns_port),
                     RES_PORT=str(res_port), HTTPS_PORT=str(https_port))
    if not install:
        child_env["NO_INSTALL"] = "1"
    down = [str(INFRA_DIR / "down.sh")]
    try:
        proc = subprocess.run([str(INFRA_DIR / "up.sh")], env=child_env, capture_output=True,
                              text=True, timeout=UP_TIMEOUT, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        subprocess.run(down, env=child_env, capture_output=True, check=False)
        shutil.rmtree(run_dir, ignore_errors=True)
        _unavailable(f"tests/infra/up.sh timed out after {UP_TIMEOUT}s: {exc.output!r}")
        raise  # unreachable: _unavailable raises
    if proc.returncode != 0:
        subprocess.run(down, env=child_env, capture_output=True, check=False)
        shutil.rmtree(run_dir, ignore_errors=True)
        _unavailable(f"tests/infra/up.sh exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    try:
        yield infra_from_env(read_env_file(run_dir / "env"), owned=True)
    finally:
        subprocess.run(down, env=child_env, capture_output=True, check=False, timeout=60)
        shutil.rmtree(run_dir, ignore_errors=True)
