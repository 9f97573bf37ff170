"""``mailauth reports``: summaries of received DMARC reports, and one report read."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ParseError
from ..reports import (
    CAUSES,
    AggregateReport,
    FailureReport,
    Summary,
    Tally,
    parse_aggregate,
    parse_failure,
    render_html,
    resolve_reverse_names,
    summarize,
)
from ._common import (
    CLIError,
    ExitStatus,
    add_command,
    add_dns_options,
    add_json_option,
    print_json,
    read_input,
    resolver_from_args,
    to_jsonable,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = add_command(
        sub, "reports", help="DMARC reports: summarize received ones, or read one",
        description="Read the DMARC reports mailed to a domain's rua= and ruf= addresses "
                    "(aggregate reports, RFC 9990, as XML, gzip, zip or whole messages; "
                    "failure reports, RFC 9991).")
    cmds = p.add_subparsers(dest="reports_command", metavar="COMMAND", required=True,
                            help="run 'mailauth reports COMMAND --help' for its options")
    s = add_command(
        cmds, "summarize", help="tables (and an HTML page) of many aggregate reports",
        description="Read aggregate reports (files, or folders walked for every file) and "
                    "print, per reporting organization, source IP and header From domain, "
                    "the messages, the DMARC, DKIM and SPF pass rates and the likely cause "
                    "of what fails (an unaligned third-party sender, a forwarder, a "
                    "spoofer). Failure reports among the files are counted on their own; "
                    "files that are no report are listed with the reason.")
    s.add_argument("files", metavar="FILE", nargs="+",
                   help="report files or folders ('-' for stdin)")
    s.add_argument("--html", metavar="OUT.html",
                   help="also write one self-contained HTML page with charts")
    s.add_argument("--force", action="store_true", help="replace an existing --html file")
    s.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                   help="read the files in N processes (0: one per CPU; default 1)")
    s.add_argument("--top", type=_top, default=20, metavar="N",
                   help="rows per table (0: all; default 20)")
    s.add_argument("--resolve", action="store_true",
                   help="look up the reverse (PTR) names of the source IPs shown")
    add_dns_options(s)
    add_json_option(s, "the whole summary")
    s.set_defaults(func=run_summarize)

    r = add_command(cmds, "parse", help="read one report (aggregate or failure)",
                    description="Read one DMARC report, aggregate (XML, gzip, zip or a "
                                "message) or failure (an ARF message), and show it.")
    r.add_argument("file", metavar="FILE", help="the report ('-' for stdin)")
    add_json_option(r, "the report")
    r.set_defaults(func=run_parse)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value or os.cpu_count() or 1


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


# --- reading ----------------------------------------------------------------------------


def _looks_like_failure(data: bytes) -> bool:
    head = data[:65536].lower()
    return b"feedback-report" in head and b"<feedback" not in head


def read_report(data: bytes) -> AggregateReport | FailureReport:
    """An aggregate or a failure report, whichever the bytes are; ParseError naming
    both refusals otherwise."""
    first, second = ((parse_failure, parse_aggregate) if _looks_like_failure(data)
                     else (parse_aggregate, parse_failure))
    try:
        return first(data)
    except ParseError as exc:
        try:
            return second(data)
        except ParseError:
            raise exc from None


def _walk(paths: list[str]) -> list[str]:
    """Files as given; folders replaced by their files, walked in name order."""
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                out += [os.path.join(root, f) for f in sorted(files)
                        if not f.startswith(".")]
        else:
            out.append(path)
    return out


class _Progress:
    """``N/M files read`` on stderr, redrawn in place, when stderr is a terminal."""

    def __init__(self, total: int, on: bool) -> None:
        self.total, self.on, self.shown = total, on, False

    def __call__(self, done: int, total: int | None, path: Path) -> None:
        if self.on and (done % 25 == 0 or done == self.total):
            sys.stderr.write(f"\r{done}/{self.total} files read")
            sys.stderr.flush()
            self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _read_all(paths: list[str], jobs: int, progress: _Progress
              ) -> Iterator[tuple[str, AggregateReport | FailureReport | str]]:
    """(path, report or the reason it is none), in order."""
    files = [p for p in paths if p != "-"]
    results: dict[str, AggregateReport | ParseError | OSError] = {}
    if files:
        from .. import reports

        parse_many = getattr(reports, "parse_many", None)
        if parse_many is not None:
            for path, outcome in parse_many(files, jobs=jobs, progress=progress):
                results[str(path)] = outcome
    done = len(results)
    for path in paths:
        outcome = results.get(path)
        if outcome is None:
            try:
                data = read_input(path, path, argument="FILE")
            except CLIError as exc:
                yield path, exc.message
                continue
            try:
                yield path, read_report(data)
            except ParseError as exc:
                yield path, str(exc)
            done += 1
            progress(done, len(paths), Path(path))
        elif isinstance(outcome, AggregateReport):
            yield path, outcome
        elif isinstance(outcome, OSError):
            yield path, f"cannot read: {outcome.strerror or outcome}"
        else:
            try:  # not aggregate: perhaps a failure report
                yield path, parse_failure(Path(path).read_bytes())
            except (ParseError, OSError):
                yield path, str(outcome)


# --- summarize --------------------------------------------------------------------------


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def _table(title: str, tallies: tuple[Tally, ...], top: int, *, names: bool = False) -> None:
    print()
    width = max([len(title)] + [len(t.key) for t in tallies[:top or None]])
    extra = "  reverse name" if names else ""
    print(f"{title:<{width}}  {'messages':>9}  {'DMARC':>6}  {'DKIM':>6}  {'SPF':>6}  "
          f"likely cause{extra}")
    for t in tallies[:top or None]:
        name = f"  {t.reverse_name or '-'}" if names else ""
        print(f"{t.key:<{width}}  {t.messages:>9}  {_pct(t.dmarc_rate):>6}  "
              f"{_pct(t.dkim_rate):>6}  {_pct(t.spf_rate):>6}  {t.likely_cause}{name}")
    if top and len(tallies) > top:
        print(f"... {len(tallies) - top} more (--top 0 shows all)")


def _failure_counts(failures: list[FailureReport]) -> dict[str, Any]:
    domains: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for f in failures:
        for d in f.reported_domain or ("(none)",):
            domains[d] += f.incidents
        sources[f.source_ip or "(unknown)"] += f.incidents
        kinds[f.auth_failure or "(unspecified)"] += f.incidents
    return {"reports": len(failures), "reported_domains": dict(domains.most_common()),
            "source_ips": dict(sources.most_common()), "auth_failures": dict(kinds.most_common())}


def run_summarize(args: argparse.Namespace) -> int:
    html_out = Path(args.html) if args.html else None
    if html_out is not None:
        if (html_out.exists() or html_out.is_symlink()) and not args.force:
            raise CLIError(f"--html {args.html} exists; not replacing it without --force",
                           status=ExitStatus.CANT_CREATE, argument="--html", file=args.html)
        if not html_out.parent.is_dir():
            raise CLIError(f"--html {args.html}: the folder does not exist",
                           status=ExitStatus.CANT_CREATE, argument="--html", file=args.html)
    paths = _walk(args.files)
    progress = _Progress(len(paths), not args.json and len(paths) > 50 and os.isatty(2))
    aggregates: list[AggregateReport] = []
    failures: list[FailureReport] = []
    problems: list[tuple[str, str]] = []
    try:
        for path, outcome in _read_all(paths, args.jobs, progress):
            if isinstance(outcome, AggregateReport):
                aggregates.append(outcome)
            elif isinstance(outcome, FailureReport):
                failures.append(outcome)
            else:
                problems.append((path, outcome))
    finally:
        progress.end()
    summary = summarize(aggregates)
    if args.resolve and summary.by_source:
        shown = summary.source_ips()[:args.top or None]
        charted = summary.source_ips()[:20]
        ips = list(dict.fromkeys((*shown, *charted)))
        names = resolve_reverse_names(ips, budget=args.timeout).run(resolver_from_args(args))
        summary = summary.with_reverse_names(names)
    if html_out is not None:
        try:
            html_out.write_text(render_html(summary), encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"--html {args.html}: {exc.strerror or exc}",
                           status=ExitStatus.CANT_CREATE, argument="--html",
                           file=args.html) from None
    status = int(ExitStatus.PASS if aggregates or failures else ExitStatus.NOT_PASS)
    if args.json:
        print_json({"files": len(paths), "aggregate_reports": len(aggregates),
                    "summary": to_jsonable(summary),
                    "causes": dict(CAUSES),
                    "failure_reports": _failure_counts(failures),
                    "problems": [{"file": f, "reason": r} for f, r in problems]})
        return status
    _print_summary(summary, len(paths), failures, problems, args.top)
    if html_out is not None:
        print(f"\nHTML page written to {html_out}")
    return status


def _print_summary(summary: Summary, files: int, failures: list[FailureReport],
                   problems: list[tuple[str, str]], top: int) -> None:
    t = summary.totals
    print(f"{summary.reports} aggregate report(s) and {len(failures)} failure report(s) "
          f"read from {files} file(s)"
          + (f"; {len(problems)} could not be read" if problems else ""))
    if summary.reports:
        first = summary.first.strftime("%Y-%m-%d") if summary.first else "?"
        last = summary.last.strftime("%Y-%m-%d") if summary.last else "?"
        print(f"{', '.join(summary.policy_domains)}: {t.messages} messages, {first} to "
              f"{last}; DMARC pass {_pct(t.dmarc_rate)}, DKIM aligned {_pct(t.dkim_rate)}, "
              f"SPF aligned {_pct(t.spf_rate)}")
        _table("reporting organization", summary.by_org, top)
        _table("source IP", summary.by_source, top,
               names=any(s.reverse_name for s in summary.by_source))
        _table("header From", summary.by_header_from, top)
        if summary.findings:
            print()
            print("what is failing (most failing messages first):")
            for f in summary.findings[:top or None]:
                print(f"  {f.source_ip} for {f.header_from}: {f.messages} message(s), "
                      f"{f.dmarc_fail} failing DMARC; {f.cause}: {f.explanation}")
            if top and len(summary.findings) > top:
                print(f"  ... {len(summary.findings) - top} more (--top 0 shows all)")
    if failures:
        counts = _failure_counts(failures)
        print()
        print(f"failure reports: {len(failures)}")
        for key, label in (("reported_domains", "reported domain"),
                           ("source_ips", "source IP"), ("auth_failures", "auth failure")):
            shown = ", ".join(f"{k} ({v})" for k, v in list(counts[key].items())[:10])
            print(f"  by {label}: {shown}")
    if problems:
        print()
        print("not read:")
        for path, reason in problems:
            print(f"  {path}: {reason}")


# --- parse ------------------------------------------------------------------------------


def run_parse(args: argparse.Namespace) -> int:
    data = read_input(args.file, args.file, argument="FILE")
    try:
        report = read_report(data)
    except ParseError as exc:
        raise CLIError(f"{args.file}: not a DMARC report: {exc}", status=ExitStatus.NOT_PASS,
                       file=args.file) from None
    kind = "aggregate" if isinstance(report, AggregateReport) else "failure"
    if args.json:
        body = to_jsonable(report)
        if isinstance(report, FailureReport):
            body["original"] = report.original.decode("utf-8", "replace")
        print_json({"kind": kind, "report": body})
        return int(ExitStatus.PASS)
    if isinstance(report, AggregateReport):
        _print_aggregate(report)
    else:
        _print_failure(report)
    return int(ExitStatus.PASS)


def _print_aggregate(report: AggregateReport) -> None:
    pol = report.policy
    print(f"aggregate report from {report.org_name} <{report.email}> "
          f"(report-id {report.report_id}, {report.format})")
    print(f"  period: {report.date_begin:%Y-%m-%d %H:%M} to {report.date_end:%Y-%m-%d %H:%M} "
          "UTC")
    print(f"  policy: {pol.domain} p={pol.p}" + "".join(
        f" {k}={v}" for k, v in (("sp", pol.sp), ("np", pol.np), ("adkim", pol.adkim),
                                 ("aspf", pol.aspf), ("pct", pol.pct),
                                 ("t", pol.testing)) if v is not None))
    print(f"  {report.message_count} messages in {len(report.records)} record(s), "
          f"{report.pass_count} passed DMARC")
    for r in report.records:
        dkim = ", ".join(f"{d.domain}={d.result}" for d in r.dkim_results) or "none"
        spf = ", ".join(f"{s.domain}={s.result}" for s in r.spf_results) or "none"
        reasons = "".join(f" [{o.type}]" for o in r.reasons)
        print(f"  {r.source_ip}  {r.count:>6}  from {r.header_from}: {r.disposition}, "
              f"policy dkim={r.dkim or '?'} spf={r.spf or '?'}; auth dkim {dkim}; "
              f"spf {spf}{reasons}")
    for w in report.warnings:
        print(f"  warning: {w}")


def _print_failure(report: FailureReport) -> None:
    print(str(report))
    for label, value in (
            ("subject", report.subject), ("from", report.report_from),
            ("user agent", report.user_agent),
            ("identity alignment", None if report.identity_alignment is None
             else ", ".join(report.identity_alignment) or "none"),
            ("source IP", report.source_ip), ("arrival", report.arrival_date),
            ("mail from", report.original_mail_from),
            ("rcpt to", ", ".join(report.original_rcpt_to) or None),
            ("delivery result", report.delivery_result),
            ("DKIM", " ".join(f"{k}={v}" for k, v in (
                ("d", report.dkim_domain), ("i", report.dkim_identity),
                ("s", report.dkim_selector)) if v) or None),
            ("header From", report.header_from), ("original subject",
                                                  report.original_subject),
            ("original", f"{report.original_kind} ({len(report.original)} bytes)"
             if report.original_kind else None)):
        if value is not None and value != "":
            print(f"  {label}: {value}")
    for a in report.authentication_results:
        print(f"  authentication-results: {a}")
    for w in report.warnings:
        print(f"  warning: {w}")
