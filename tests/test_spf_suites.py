"""The published SPF suites, data-driven (RFC 7208 suite, RFC 4408 suite, pyspf's
extra cases, blitiri's cases), read from ../shared/vectors (DESIGN.md §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import shared_vectors_dir
from mailauth.spf import check_spf
from spf_zonedata import SuiteResolver

SUITES = {
    "rfc7208": ("openspf-rfc7208", "rfc7208-tests.yml"),
    "rfc4408": ("openspf-rfc7208", "rfc4408-tests.yml"),
    "pyspf": ("openspf-rfc7208", "pyspf-extra-tests.yml"),
    "blitiri": ("blitiri-spf", "blitirispf-tests.yml"),
}

# RFC 4408 cases whose answer RFC 7208 changed: (test name) -> (RFC 7208 section, why).
RFC4408_CHANGED: dict[str, tuple[str, str]] = {}

# Cases we answer differently, with the RFC text that shows ours right.
DEVIATIONS: dict[tuple[str, str], str] = {}


def _load(suite: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    folder, name = SUITES[suite]
    path = shared_vectors_dir() / folder / name
    if not path.exists():
        return []
    cases = []
    with Path(path).open("rb") as f:
        for scenario in yaml.safe_load_all(f):
            if not scenario:
                continue
            for test_name, test in scenario["tests"].items():
                cases.append((suite, test_name, test, scenario.get("zonedata") or {}))
    return cases


def _params(suite: str) -> list[Any]:
    cases = _load(suite)
    if not cases:
        folder, name = SUITES[suite]
        return [pytest.param(None, id=f"{suite}-missing",
                             marks=pytest.mark.skip(reason=f"{folder}/{name} not found under "
                                                    f"{shared_vectors_dir()}"))]
    return [pytest.param(c, id=f"{c[0]}-{c[1]}") for c in cases]


def run_case(test: dict[str, Any], zonedata: dict[str, Any]) -> Any:
    resolver = SuiteResolver(zonedata)
    check = check_spf(test["host"], test.get("mailfrom") or "", test.get("helo"),
                      receiver=test.get("receiver"), default_explanation="DEFAULT",
                      check_helo=False)
    return check.run(resolver)


def _expected(test: dict[str, Any]) -> list[str]:
    result = test["result"]
    return [result] if isinstance(result, str) else list(result)


def _check(case: tuple[str, str, dict[str, Any], dict[str, Any]]) -> None:
    suite, name, test, zonedata = case
    result = run_case(test, zonedata)
    expected = _expected(test)
    if (suite, name) in DEVIATIONS:
        assert str(result.status) not in expected, "deviation no longer needed"
        return
    assert str(result.status) in expected, (
        f"{name}: got {result.status}, expected {expected}\n{result.trace_text()}")
    if "explanation" in test and str(result.status) == "fail":
        assert result.explanation == test["explanation"], result.trace_text()


@pytest.mark.parametrize("case", _params("rfc7208"))
def test_rfc7208_suite(case: Any) -> None:
    _check(case)
