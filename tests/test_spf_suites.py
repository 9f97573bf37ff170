"""The published SPF suites, data-driven (RFC 7208 suite, RFC 4408 suite, pyspf's
extra cases, blitiri's cases), read from ../shared/vectors (DESIGN.md §6)."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("case", _params("rfc4408"))
def test_rfc4408_suite(case: Any) -> None:
    # Every RFC 4408 case passes under RFC 7208 rules as the suite states them: where
    # RFC 7208 changed an answer (void lookups §4.6.4, SPF type 99 dropped §3.1, ...)
    # the RFC 4408 file already lists both results. RFC4408_CHANGED stays empty, and
    # test_rfc4408_changed_list_is_honest checks that it needs no entry.
    _, name, test, _ = case
    if name in RFC4408_CHANGED:
        result = run_case(test, case[3])
        assert str(result.status) not in _expected(test)
        return
    _check(case)


def test_rfc4408_changed_list_is_honest() -> None:
    assert RFC4408_CHANGED == {}


# pyspf's own test.yml: two cases test pyspf's non-standard "default=" modifier.
PYSPF_NONSTANDARD = {
    "default-modifier": "RFC 7208 §6: 'Unrecognized modifiers MUST be ignored' — "
                        "default=deny is unknown, so v=spf1 default=deny is neutral (§4.7).",
    "default-modifier-harsh": "'ambiguous' is not an RFC 7208 result (§2.6); default= is an "
                              "unknown modifier, ignored (§6), so the result is neutral.",
}


@pytest.mark.parametrize("case", _params("pyspf"))
def test_pyspf_extra_cases(case: Any) -> None:
    _, name, test, zonedata = case
    if name in PYSPF_NONSTANDARD:
        result = run_case(test, zonedata)
        assert str(result.status) == "neutral", PYSPF_NONSTANDARD[name]
        return
    _check(case)


# blitiri's cases use single-label names ("d00", "mx10", "domain", HELO "blargh").
# RFC 7208 §4.3: "If the <domain> is malformed ... or is not a multi-label domain
# name ... check_host() immediately returns the result 'none'"; and a literal
# domain-spec must end in "." toplabel (§7.1, domain-end), so "include:d11" is a
# syntax error (permerror). The cases run twice: as published, where those cases
# give the RFC's answer below, and with every single-label name qualified under
# ".test", where each must give blitiri's expected result.
BLITIRI_SINGLE_LABEL = {
    "resolution-with-10-lookups": ("permerror", "§7.1: 'include:d11' has no '.' toplabel"),
    "mx-resolution-10-terms": ("none", "§4.3: <domain> 'mx10' is not multi-label"),
    "mx-resolution-11-terms": ("none", "§4.3: <domain> 'mx11' is not multi-label"),
    "one-mx-not-found": ("none", "§4.3: <domain> 'd00' is not multi-label"),
    "all-mx-not-found": ("none", "§4.3: <domain> 'd01' is not multi-label"),
    "include-not-found": ("none", "§4.3: <domain> 'd02' is not multi-label"),
    "redirect-not-found": ("none", "§4.3: <domain> 'd03' is not multi-label"),
    "domain-not-found": ("none", "§4.3: 'doesnotexist' is not multi-label (none either way)"),
}

_TERM_TARGET = re.compile(r"\b(include|a|mx|ptr|exists|redirect|exp)([:=])([A-Za-z0-9_-]+)"
                          r"(?=$|[ /])", re.IGNORECASE)


def _qualify(name: str) -> str:
    name = str(name)
    return name if "." in name.rstrip(".") else f"{name}.test"


def _qualify_case(test: dict[str, Any], zonedata: dict[str, Any]) -> tuple[dict[str, Any],
                                                                            dict[str, Any]]:
    test = dict(test)
    local, at, domain = str(test.get("mailfrom") or "").rpartition("@")
    if at:
        test["mailfrom"] = f"{local}@{_qualify(domain)}"
    zone: dict[str, Any] = {}
    for name, entries in zonedata.items():
        rows = []
        for entry in entries or []:
            if not isinstance(entry, dict):
                rows.append(entry)
                continue
            row = {}
            for rdtype, value in entry.items():
                if rdtype in ("SPF", "TXT") and isinstance(value, str):
                    value = _TERM_TARGET.sub(lambda m: m.group(1) + m.group(2)
                                             + _qualify(m.group(3)), value)
                elif rdtype == "MX":
                    value = [value[0], _qualify(value[1])]
                elif rdtype in ("PTR", "CNAME"):
                    value = _qualify(value)
                row[rdtype] = value
            rows.append(row)
        zone[_qualify(name)] = rows
    return test, zone


@pytest.mark.parametrize("case", _params("blitiri"))
def test_blitiri_cases(case: Any) -> None:
    _, name, test, zonedata = case
    if name in BLITIRI_SINGLE_LABEL:
        want, why = BLITIRI_SINGLE_LABEL[name]
        result = run_case(test, zonedata)
        assert str(result.status) == want, why
    _check(("blitiri", name, *_qualify_case(test, zonedata)))
