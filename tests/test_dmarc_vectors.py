"""Our DMARC vectors (vectors/dmarc/*.json; the format is in its README.md), each case
one test: the message, SPF and DKIM results and DNS data of the case go through
check_dmarc, with the blocking and the asyncio driver, and the verdict, the policy,
where it came from, every ``_dmarc`` name asked and each identifier's alignment are
compared with what the case expects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailauth.dkim import DKIMResult, SignatureResult
from mailauth.dmarc import DMARCResult, check_dmarc
from mailauth.psl import PublicSuffixList
from mailauth.spf import SPFResult
from mailauth.status import Status
from mailauth.testing import FakeResolver

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "dmarc"
FILES = sorted(VECTORS.glob("*.json"))
CLIENT_IP = "192.0.2.1"
MODES = ("tree-walk", "psl")
# What a case may hold, and what its "expected" may hold (README.md).
CASE_KEYS = {"name", "description", "dns", "zone", "tempfail", "from", "spf", "dkim", "mode",
             "psl", "strict_authors", "sample", "expected", "expected_by_mode"}
REQUIRED = {"status", "policy", "policy_tag", "disposition", "policy_domain", "org_domain",
            "lookups", "alignment"}
OPTIONAL = {"queries", "testing", "authors"}


def _load(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = data["cases"]
    return cases


def _params() -> Iterator[Any]:
    for path in FILES:
        for case in _load(path):
            if "expected_by_mode" in case:
                for mode, expected in case["expected_by_mode"].items():
                    yield pytest.param(case, mode, expected,
                                       id=f"{path.stem}/{case['name']}[{mode}]")
            else:
                yield pytest.param(case, case.get("mode", "tree-walk"), case["expected"],
                                   id=f"{path.stem}/{case['name']}")


PARAMS = list(_params())


# --- building the inputs from a case ------------------------------------------------------

def build_message(case: dict[str, Any]) -> bytes:
    """One ``From:`` field per value of ``from`` (raw, UTF-8), then a fixed rest."""
    fields = b"".join(b"From: " + value.encode("utf-8") + b"\r\n" for value in case["from"])
    return (fields + b"To: rcpt@example.net\r\nSubject: a DMARC vector\r\n"
            b"Message-ID: <vector@example.net>\r\n\r\nbody\r\n")


def build_spf(data: dict[str, Any] | None) -> SPFResult | None:
    if data is None:
        return None
    helo_data = data.get("helo")
    helo = None
    if helo_data is not None:
        helo = SPFResult(status=Status(helo_data["status"]), identity="helo",
                         domain=helo_data["domain"], sender=f"postmaster@{helo_data['domain']}",
                         ip=CLIENT_IP)
    domain = data["domain"]
    helo_name = helo_data["domain"] if helo_data else None
    return SPFResult(status=Status(data["status"]), identity=data.get("identity", "mailfrom"),
                     domain=domain, sender=data.get("sender", f"bounce@{domain}"),
                     ip=data.get("ip", CLIENT_IP),
                     helo_domain=data.get("helo_domain", helo_name),
                     helo=helo)


def build_dkim(data: list[dict[str, Any]] | None) -> DKIMResult | None:
    if data is None:
        return None
    signatures = tuple(
        SignatureResult(status=Status(s["status"]),
                        code="ok" if s["status"] == "pass" else "signature_mismatch",
                        reason=s.get("reason", "the signature verifies" if s["status"] == "pass"
                                     else "the signature does not verify"),
                        domain=s["d"], selector=s["s"], testing=s.get("testing", False))
        for s in data)
    if any(s.status is Status.PASS for s in signatures):
        status = Status.PASS
    else:
        status = Status.FAIL if signatures else Status.NONE
    return DKIMResult(status=status, reason=f"{len(signatures)} signature(s)",
                      signatures=signatures)


def build_resolver(case: dict[str, Any]) -> FakeResolver:
    tempfail = [tuple(t) if isinstance(t, list) else t for t in case.get("tempfail", [])]
    if "zone" in case:
        return FakeResolver.from_zone(case["zone"], tempfail=tempfail)
    return FakeResolver(case["dns"], tempfail=tempfail)


def build_sample(case: dict[str, Any]) -> Callable[[], float] | None:
    if "sample" not in case:
        return None
    value = float(case["sample"])
    return lambda: value


def observed(result: DMARCResult) -> dict[str, Any]:
    """The facts of a result a vector states, in the vector's terms."""
    return {
        "status": str(result.status),
        "policy": result.policy,
        "policy_tag": result.policy_tag,
        "disposition": result.disposition,
        "policy_domain": result.policy_domain,
        "org_domain": result.org_domain,
        "lookups": [x.name for x in result.lookups],
        "alignment": [{"method": a.method, "domain": a.domain, "aligned": a.aligned}
                      for a in result.alignment],
        "testing": result.testing,
        "authors": list(result.authors),
    }


# --- the vectors --------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "mode", "expected"), PARAMS)
def test_vector(case: dict[str, Any], mode: str, expected: dict[str, Any]) -> None:
    psl = PublicSuffixList.from_lines(case["psl"]) if "psl" in case else None
    check = check_dmarc(build_message(case), spf=build_spf(case.get("spf")),
                        dkim=build_dkim(case.get("dkim")), mode=mode,  # type: ignore[arg-type]
                        psl=psl, strict_authors=case.get("strict_authors", True),
                        sample=build_sample(case))
    resolver = build_resolver(case)
    result = check.run(resolver)

    got = observed(result)
    want = {key: expected[key] for key in REQUIRED | (OPTIONAL & expected.keys())
            if key != "queries"}
    assert {key: got[key] for key in want} == want, result.reason
    assert result.mode == mode

    # Every _dmarc name in result.lookups was asked, once, and (for one author domain)
    # nothing else at _dmarc. A result for several author domains (strict_authors=False)
    # is the worst one's, with its own lookups.
    asked = [q.name for q in resolver.queries if q.name.startswith("_dmarc.")]
    assert len(asked) == len(set(asked))
    if len(result.authors) <= 1:
        assert sorted(asked) == sorted(expected["lookups"])
    else:
        assert set(asked) >= set(expected["lookups"])
    if "queries" in expected:
        assert [f"{q.name} {q.rdtype}" for q in resolver.queries] == expected["queries"]

    # The asyncio driver gives the same result from the same check.
    async_resolver = build_resolver(case)
    assert asyncio.run(check.arun(async_resolver)) == result
    assert sorted(q.name for q in async_resolver.queries) == sorted(
        q.name for q in resolver.queries)


# --- the vector files themselves ----------------------------------------------------------

def test_there_are_vectors() -> None:
    assert {p.name for p in FILES} >= {"tree-walk.json", "policy.json", "alignment.json",
                                       "authors.json", "psl.json"}
    assert len(PARAMS) >= 100


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_vector_file_is_well_formed(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"about", "cases"} and "RFC" in data["about"]
    for case in data["cases"]:
        assert set(case) <= CASE_KEYS, case["name"]
        assert ("dns" in case) != ("zone" in case), case["name"]
        assert ("expected" in case) != ("expected_by_mode" in case), case["name"]
        assert "RFC" in case["description"] and "\n" not in case["description"], case["name"]
        assert isinstance(case["from"], list)
        expectations = ([case["expected"]] if "expected" in case
                        else list(case["expected_by_mode"].values()))
        for expected in expectations:
            assert REQUIRED <= set(expected) <= REQUIRED | OPTIONAL, case["name"]
        assert case.get("mode", "tree-walk") in MODES
        assert set(case.get("expected_by_mode", {})) <= set(MODES)


def test_case_names_are_unique() -> None:
    names = [f"{p.stem}/{c['name']}" for p in FILES for c in _load(p)]
    assert len(names) == len(set(names))
    assert all(n.split("/")[1].replace("-", "").isalnum() for n in names)


def test_readme_describes_every_file() -> None:
    readme = (VECTORS / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f"`{path.name}`" in readme
