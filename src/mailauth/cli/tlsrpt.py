"""``mailauth tlsrpt``: a domain's TLS-RPT record, and summaries of received reports."""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..tlsrpt import Report, get_tlsrpt_policy, parse_report
from ._common import (
    CLIError,
    ExitStatus,
    add_command,
    add_dns_options,
    add_json_option,
    exit_for,
    print_json,
    read_input,
    resolver_from_args,
    to_jsonable,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = add_command(
        sub, "tlsrpt", help="TLS-RPT: a domain's record, or a summary of received reports",
        description="SMTP TLS Reporting (RFC 8460): look up a domain's _smtp._tls record, "
                    "or summarize the reports senders mailed to it.")
    cmds = p.add_subparsers(dest="tlsrpt_command", metavar="COMMAND", required=True,
                            help="run 'mailauth tlsrpt COMMAND --help' for its options")
    r = add_command(cmds, "record", help="look up and explain a domain's TLS-RPT record",
                    description="Look up _smtp._tls.DOMAIN and show where reports go.")
    r.add_argument("domain", metavar="DOMAIN", help="the policy domain (a recipient domain)")
    add_dns_options(r)
    add_json_option(r, "the result")
    r.set_defaults(func=run_record)

    s = add_command(cmds, "summarize", help="a table of received TLS-RPT reports",
                    description="Read TLS-RPT reports (JSON, gzip, or whole mail messages; "
                                "'-' for stdin) and print, per policy domain, the sessions "
                                "that succeeded and failed, and each failure type with the "
                                "MX hosts it hit and the organizations that reported it. "
                                "Files that are not reports are listed with the reason.")
    s.add_argument("files", metavar="FILE", nargs="+", help="report files ('-' for stdin)")
    add_json_option(s, "the summary, with every report file's problems")
    s.set_defaults(func=run_summarize)


def run_record(args: argparse.Namespace) -> int:
    try:
        check = get_tlsrpt_policy(args.domain, budget=args.timeout)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    result = check.run(resolver_from_args(args))
    if args.json:
        print_json(to_jsonable(result))
        return exit_for(result.status)
    print(str(result))
    if result.record is not None:
        for uri in result.record.rua:
            print(f"  rua: {uri}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return exit_for(result.status)


@dataclass
class _Failure:
    sessions: int = 0
    mx_hosts: set[str] = field(default_factory=set)
    reporters: set[str] = field(default_factory=set)


@dataclass
class _Domain:
    reports: int = 0
    success: int = 0
    failure: int = 0
    policy_types: set[str] = field(default_factory=set)
    reporters: set[str] = field(default_factory=set)
    first: str = ""
    last: str = ""
    failures: dict[str, _Failure] = field(default_factory=lambda: defaultdict(_Failure))


def _add(summary: dict[str, _Domain], report: Report) -> None:
    start = report.start_datetime.isoformat()
    end = report.end_datetime.isoformat()
    for policy in report.policies:
        d = summary.setdefault(policy.policy_domain, _Domain())
        d.reports += 1
        d.success += policy.total_successful_session_count
        d.failure += policy.total_failure_session_count
        d.policy_types.add(str(policy.policy_type))
        d.reporters.add(report.organization_name)
        d.first = min(d.first, start) if d.first else start
        d.last = max(d.last, end)
        for detail in policy.failure_details:
            f = d.failures[str(detail.result_type)]
            f.sessions += detail.failed_session_count
            if detail.receiving_mx_hostname:
                f.mx_hosts.add(detail.receiving_mx_hostname)
            f.reporters.add(report.organization_name)


def _read(path: str) -> Report:
    data = read_input(path, path, argument="FILE")
    return parse_report(data)


def run_summarize(args: argparse.Namespace) -> int:
    summary: dict[str, _Domain] = {}
    problems: list[tuple[str, str]] = []
    read = 0
    show_progress = not args.json and len(args.files) > 50 and os.isatty(2)
    for n, path in enumerate(args.files, 1):
        try:
            report = _read(path)
        except ParseError as exc:
            problems.append((path, str(exc)))
            continue
        except CLIError as exc:
            if exc.status is not ExitStatus.NO_INPUT:
                raise
            problems.append((path, exc.message))
            continue
        read += 1
        _add(summary, report)
        if show_progress and n % 100 == 0:
            sys.stderr.write(f"\r{n}/{len(args.files)} files read")
    if show_progress:
        sys.stderr.write("\n")
    if args.json:
        print_json({"reports": read, "problems": [{"file": f, "reason": r} for f, r in problems],
                    "domains": {name: {
                        "reports": d.reports, "successful_sessions": d.success,
                        "failed_sessions": d.failure, "policy_types": sorted(d.policy_types),
                        "reporters": sorted(d.reporters), "first": d.first, "last": d.last,
                        "failures": {kind: {"sessions": f.sessions,
                                            "mx_hosts": sorted(f.mx_hosts),
                                            "reporters": sorted(f.reporters)}
                                     for kind, f in sorted(d.failures.items())}}
                        for name, d in sorted(summary.items())}})
        return int(ExitStatus.PASS if read else ExitStatus.NOT_PASS)
    print(f"{read} report(s) read from {len(args.files)} file(s)"
          + (f"; {len(problems)} could not be read" if problems else ""))
    for name, d in sorted(summary.items()):
        total = d.success + d.failure
        rate = f"{100 * d.success / total:.1f}%" if total else "-"
        print()
        print(f"{name or '(no policy domain)'}: {d.reports} report(s) from "
              f"{len(d.reporters)} organization(s), {d.first[:10]} to {d.last[:10]}, "
              f"policy {', '.join(sorted(d.policy_types))}")
        print(f"  sessions: {d.success} successful, {d.failure} failed ({rate} successful)")
        if d.failures:
            print(f"  {'failure type':<36} {'sessions':>9}  MX hosts / reported by")
            for kind, f in sorted(d.failures.items(), key=lambda kv: -kv[1].sessions):
                hosts = ", ".join(sorted(f.mx_hosts)) or "-"
                print(f"  {kind:<36} {f.sessions:>9}  {hosts} / {', '.join(sorted(f.reporters))}")
    if problems:
        print()
        print("not read:")
        for path, reason in problems:
            print(f"  {path}: {reason}")
    return int(ExitStatus.PASS if read else ExitStatus.NOT_PASS)
