"""The public surface: names, types, import cost, the sans-I/O boundary (DESIGN.md §1,
§3, §5)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

import mailauth

SRC = Path(mailauth.__file__).parent
# Modules allowed to do I/O: the drivers, adapters, test doubles and the CLI.
IO_MODULES = {"_flow.py", "resolvers.py", "fetchers.py", "testing.py", "psl.py", "__main__.py",
              "smtp_probe.py"}
BANNED = {"dns", "asyncio", "socket", "ssl", "http", "urllib", "smtplib"}

PUBLIC = {
    "mailauth": {
        "MX", "TLSA", "ARCResult", "Answer", "ArgumentTypeError", "AuthResults", "Check",
        "DANEResult", "DKIMResult",
        "DMARCResult", "Fetch", "MTASTSPolicyResult", "MailAuthError", "Outcome",
        "ParseError", "Query", "Response", "SPFResult", "SignatureResult", "SigningError",
        "Status", "TLSRPTPolicyResult", "UsageError", "__version__", "authenticate",
        "check_dane", "check_dmarc", "check_spf", "get_mta_sts_policy", "get_tlsrpt_policy",
        "seal_arc", "sign_dkim", "verify_arc",
        "verify_dkim",
    },
    "mailauth.arc": {
        "MAX_INSTANCES", "ARCResult", "ARCSet", "AuthResultsLike", "seal_arc", "verify_arc",
        "verify_arc_flow",
    },
    "mailauth.flows": {
        "MX", "TLSA", "Answer", "AsyncFetcher", "AsyncResolver", "Check", "Effect", "Fetch",
        "Fetcher", "Flow", "Outcome", "Query", "RRType", "Record", "Reply", "Resolver",
        "Response", "Work", "fetch", "gather", "query", "query_all", "work",
    },
    "mailauth.message": {"HeaderField", "Message", "MessageSource", "parse_message"},
    "mailauth.testing": {"FakeFetcher", "FakeResolver", "drive"},
    "mailauth.spf": {
        "Macro", "MacroString", "Mechanism", "Modifier", "QUALIFIER_RESULT", "Record",
        "SPFResult", "TraceStep", "check_host", "check_host_flow", "check_spf",
        "check_spf_flow", "is_spf_record", "parse_explain_string", "parse_macro_string",
        "parse_record",
    },
    "mailauth.dkim": {
        "BodyCanonicalizer", "DEFAULT_OVERSIGN", "DKIMResult", "DKIMSyntaxError",
        "GeneratedKey", "KeyRecord", "RECOMMENDED_HEADERS", "Signature", "SignatureResult",
        "canonicalize_body", "canonicalize_header", "generate_key", "parse_key_record",
        "parse_signature", "sign_dkim", "verify_dkim", "verify_dkim_flow",
    },
    "mailauth.dmarc": {
        "MAX_WALK_QUERIES", "REMOVED_TAGS", "Alignment", "DMARCRecord", "DMARCResult",
        "Discovery", "Disposition", "Mode", "OrganizationalDomain", "Policy", "RecordLookup",
        "author_domains", "check_dmarc", "check_dmarc_flow", "discover_policy_flow",
        "evaluate_flow", "is_dmarc_record", "organizational_domain",
        "organizational_domain_flow", "parse_record", "walk_names",
        "ARCChainLike", "OverrideType", "PolicyOverride", "trusted_forwarder_flow",
    },
    "mailauth.authres": {"AuthenticationResults", "Property", "ResInfo", "from_message",
                         "parse", "remove_forged", "trusted"},
    "mailauth.dane": {
        "MATCHING_TYPES", "MAX_CHAIN", "SELECTORS", "USAGES", "DANEResult", "DomainTLSA",
        "RecordOutcome", "TLSALookup", "check_dane", "domain_tlsa_flow", "match", "parse_tlsa",
        "parse_tlsa_wire", "rollover_warnings", "tlsa_flow", "tlsa_name", "tlsa_record_for",
        "usable", "MTASTSView", "webpki_verify",
    },
    "mailauth.mta_sts": {
        "FETCH_TIMEOUT", "MAX_AGE_LIMIT", "POLICY_MAX_BYTES", "REFRESH_INTERVAL",
        "RETRY_AFTER", "CachedPolicy", "Delivery", "Discovery", "FetchedPolicy",
        "MTASTSPolicyResult", "MemoryStore", "Mode", "Policy", "PolicyStore", "SQLiteStore",
        "STSRecord", "Source", "discover_flow", "fetch_policy_flow", "get_mta_sts_policy",
        "is_sts_record", "match_mx", "may_deliver", "parse_policy", "parse_record",
        "policy_flow", "policy_url",
    },
    "mailauth.tlsrpt": {
        "DEFAULT_MAX_BYTES", "DEFAULT_MAX_JSON_BYTES", "AppliedPolicy", "FailureDetail",
        "PolicyResult", "PolicyType", "PostBody", "Report", "ReportBuilder", "ResultType",
        "TLSRPTPolicyResult", "TLSRPTRecord", "format_datetime", "get_tlsrpt_policy",
        "is_tlsrpt_record", "parse_record", "parse_report", "report_from_json",
        "tlsrpt_policy_flow",
    },
    "mailauth.reports": {
        "CAUSES", "DEFAULT_MAX_FAILURE_BYTES", "DEFAULT_MAX_INFLATED", "DEFAULT_MAX_NESTING",
        "DEFAULT_MAX_RECORDS", "DEFAULT_MAX_SIZE", "DEFAULT_MAX_ZIP_MEMBERS", "NAMESPACE",
        "ROW_COLUMNS", "AggregateReport", "Cause", "DKIMAuthResult", "FailureReport",
        "Finding", "PolicyOverride", "Progress", "PublishedPolicy", "ReportBuilder",
        "ReportFormat", "ReportRecord", "RuaAuthorization", "RuaDestination",
        "SPFAuthResult", "Summary", "Tally", "authorize_rua", "authorize_rua_flow",
        "build_failure_report", "classify", "explain", "parse_aggregate", "parse_failure",
        "parse_many", "parse_rua", "published_policy", "record_from_results", "render_html",
        "resolve_reverse_names", "reverse_names_flow", "summarize", "to_dataframe",
        "to_rows",
    },
    "mailauth.umbrella": {"AuthResults", "IPRevResult", "authenticate", "authenticate_flow",
                          "check_iprev", "iprev_flow"},
    "mailauth.psl": {"PublicSuffixList", "StalePublicSuffixListWarning",
                     "default_public_suffix_list", "load_public_suffix_list"},
    "mailauth.resolvers": {"DNSResolver", "SUPPORTED_TYPES", "records_from_rrset"},
    "mailauth.fetchers": {"HTTPSFetcher"},
    "mailauth.errors": {"ArgumentTypeError", "MailAuthError", "ParseError", "SigningError",
                        "UsageError"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_exactly_these(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_errors_are_what_they_promise() -> None:
    assert issubclass(mailauth.ParseError, ValueError)
    assert issubclass(mailauth.ParseError, mailauth.MailAuthError)
    assert issubclass(mailauth.UsageError, ValueError)
    assert issubclass(mailauth.UsageError, mailauth.MailAuthError)
    assert issubclass(mailauth.ArgumentTypeError, TypeError)
    assert issubclass(mailauth.ArgumentTypeError, mailauth.MailAuthError)
    assert str(mailauth.Status.PERMERROR) == "permerror"


def _public_modules() -> list[types.ModuleType]:
    names = ["mailauth", "mailauth.flows", "mailauth.message", "mailauth.testing",
             "mailauth.spf", "mailauth.dkim", "mailauth.arc", "mailauth.dmarc",
             "mailauth.umbrella",
             "mailauth.authres", "mailauth.tlsrpt", "mailauth.mta_sts", "mailauth.dane",
             "mailauth.psl", "mailauth.reports",
             "mailauth.resolvers", "mailauth.fetchers"]
    return [importlib.import_module(n) for n in names]


def _publicly_named() -> set[int]:
    """ids of every object a public module exports."""
    return {id(getattr(m, n)) for m in _public_modules() for n in m.__all__}


def _classes_in(hint: object) -> list[type]:
    if isinstance(hint, type) and not hint.__module__.startswith(("builtins", "typing")):
        return [hint]
    out: list[type] = []
    for arg in typing.get_args(hint):
        out += _classes_in(arg)
    origin = typing.get_origin(hint)
    if isinstance(origin, type) and origin.__module__.startswith("mailauth"):
        out.append(origin)
    return out


def test_public_functions_take_and_return_only_public_types() -> None:
    exported = _publicly_named()
    offenders = []
    for module in _public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            callables = [obj] if inspect.isfunction(obj) else []
            if inspect.isclass(obj) and obj.__module__.startswith("mailauth"):
                callables += [m for k, m in vars(obj).items()
                              if inspect.isfunction(m) and not k.startswith("_")]
            for fn in callables:
                hints = typing.get_type_hints(fn)
                for cls in (c for hint in hints.values() for c in _classes_in(hint)):
                    if cls.__module__.startswith("mailauth") and id(cls) not in exported:
                        offenders.append(f"{module.__name__}.{fn.__qualname__}: "
                                         f"{cls.__module__}.{cls.__qualname__}")
    assert sorted(set(offenders)) == []


def test_the_cli_uses_only_the_public_api() -> None:
    offenders = []
    for path in (SRC / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module not in (None, "__future__"):
                assert node.module is not None
                module = node.module if node.level == 0 else "mailauth." + node.module \
                    if node.level == 2 else "mailauth.cli." + node.module
                parts = module.split(".")
                if parts[:2] != ["mailauth", "cli"] and any(p.startswith("_") for p in parts):
                    offenders.append(f"{path.name}: {module}")
                offenders += [f"{path.name}: {module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and parts[:2] != ["mailauth", "cli"]]
    assert offenders == []


def _protocol_files() -> list[tuple[Path, ast.Module]]:
    out = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli" or (rel.name in IO_MODULES and len(rel.parts) == 1):
            continue
        out.append((rel, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def test_protocol_modules_import_no_io() -> None:
    offenders = []
    for rel, tree in _protocol_files():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{rel}: {n}" for n in names if n.split(".")[0] in BANNED]
    assert offenders == []


# Calls that read the clock or the file system: protocol code takes the time and any
# file's contents from its caller (the public verb reads the clock once, DESIGN.md §1).
CLOCK_AND_FILES = {"time.time", "time.time_ns", "datetime.now", "datetime.utcnow",
                   "date.today", "datetime.datetime.now", "open", "io.open", "os.open",
                   "read_text", "read_bytes", "os.listdir", "os.scandir", "os.stat"}
# The edge: the one line in a public verb that reads the clock carries this marker.
EDGE_MARK = "noqa: TID251"


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def test_protocol_modules_read_neither_the_clock_nor_files() -> None:
    offenders = []
    for rel, tree in _protocol_files():
        lines = (SRC / rel).read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in CLOCK_AND_FILES or last in {"read_text", "read_bytes"}:
                if EDGE_MARK not in lines[node.lineno - 1]:
                    offenders.append(f"{rel}:{node.lineno}: {name}()")
            elif name in {"time", "monotonic"} and isinstance(node.func, ast.Name):
                offenders.append(f"{rel}:{node.lineno}: {name}() (imported bare)")
    assert offenders == []


def test_import_is_cheap() -> None:
    """`import mailauth` stays under 150 ms (best of three fresh interpreters)."""
    code = ("import time; t = time.perf_counter(); import mailauth; "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    assert min(times) < 0.150, times


def test_import_does_not_load_heavy_dependencies() -> None:
    heavy = "('dns', 'cryptography', 'publicsuffix2')"
    for module in ("mailauth", "mailauth.flows", "mailauth.message"):
        code = (f"import sys, {module}; "
                f"print(' '.join(m for m in {heavy} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == "", module
