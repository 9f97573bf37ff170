"""Reading many report files: in this process, or over a pool of processes.

A mailbox export or a folder of attachments holds thousands of reports; parsing is
CPU-bound, so ``jobs > 1`` spreads the files over that many worker processes. Results
come back in the order of the paths given, each with its path, and a progress
callback hears of every file as it is done (the command line's progress line).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._arguments import check_int
from ..errors import ArgumentTypeError, ParseError
from ._aggregate import parse_aggregate
from ._containers import (
    DEFAULT_MAX_INFLATED,
    DEFAULT_MAX_NESTING,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_ZIP_MEMBERS,
)
from ._gcpause import collector_paused
from ._model import (
    AggregateReport,
    DKIMAuthResult,
    PolicyOverride,
    ReportRecord,
    SPFAuthResult,
)

__all__ = ["Progress", "parse_many"]

#: ``progress(done, total, path)``: called after each file is read.
Progress = Callable[[int, int | None, Path], None]

_Limits = tuple[int, int, int, int, int]
_Outcome = tuple[str, AggregateReport | None, str | None, str | None]


def _one(path: str, limits: _Limits) -> _Outcome:
    """Parse one file; returns (path, report, error kind, message), picklable."""
    max_size, max_inflated, max_zip_members, max_nesting, max_records = limits
    try:
        size = os.stat(path).st_size  # noqa: TID251, RUF100 - the edge
        if size > max_size:
            return (path, None, "parse", f"the input is {size} bytes (the limit "
                                         f"max_size={max_size})")
        with open(path, "rb") as f:  # noqa: TID251, RUF100 - the edge
            data = f.read(max_size + 1)
        report = parse_aggregate(data, max_size=max_size, max_inflated=max_inflated,
                                 max_zip_members=max_zip_members, max_nesting=max_nesting,
                                 max_records=max_records)
    except ParseError as exc:
        return (path, None, "parse", str(exc))
    except OSError as exc:
        return (path, None, "os", f"{exc.strerror or exc}")
    return (path, report, None, None)


# Reports cross from a worker to this process as plain tuples: pickling those is done in
# C, several times faster than pickling the model's objects, and rebuilding them here
# (with the garbage collector paused) costs less than unpickling them would.
_Wire = tuple[str, Any, str | None, str | None]


def _pack(out: _Outcome) -> _Wire:
    path, report, kind, message = out
    if report is None:
        return path, None, kind, message
    rows = tuple((int(r.source_ip), r.source_ip.version, r.count, r.disposition, r.dkim,
                  r.spf, tuple((o.type, o.comment) for o in r.reasons), r.header_from,
                  r.envelope_from, r.envelope_to,
                  tuple((d.domain, d.selector, d.result, d.human_result)
                        for d in r.dkim_results),
                  tuple((x.domain, x.scope, x.result, x.human_result)
                        for x in r.spf_results), r.extensions)
                 for r in report.records)
    return path, (replace(report, records=()), rows), kind, message


def _unpack(wire: _Wire) -> _Outcome:
    path, packed, kind, message = wire
    if packed is None:
        return path, None, kind, message
    shell, rows = packed
    v4, v6 = ipaddress.IPv4Address, ipaddress.IPv6Address
    records = tuple(
        ReportRecord(v4(n) if version == 4 else v6(n), count, disposition, dkim, spf,
                     tuple(PolicyOverride(t, c) for t, c in reasons), header_from,
                     envelope_from, envelope_to,
                     tuple(DKIMAuthResult(*d) for d in dkims),
                     tuple(SPFAuthResult(*x) for x in spfs), extensions)
        for (n, version, count, disposition, dkim, spf, reasons, header_from,
             envelope_from, envelope_to, dkims, spfs, extensions) in rows)
    return path, replace(shell, records=records), kind, message


def _many(paths: list[str], limits: _Limits) -> list[_Wire]:
    return [_pack(_one(p, limits)) for p in paths]


def parse_many(paths: Iterable[str | os.PathLike[str]], *, jobs: int = 1,
               progress: Progress | None = None, chunk: int = 16,
               max_size: int = DEFAULT_MAX_SIZE,
               max_inflated: int = DEFAULT_MAX_INFLATED,
               max_zip_members: int = DEFAULT_MAX_ZIP_MEMBERS,
               max_nesting: int = DEFAULT_MAX_NESTING,
               max_records: int = DEFAULT_MAX_RECORDS,
               ) -> Iterator[tuple[Path, AggregateReport | ParseError | OSError]]:
    """Read aggregate report files, yielding ``(path, report or error)`` in order.

    Each file is read as :func:`~mailauth.reports.parse_aggregate` reads bytes (XML,
    gzip, zip or a message), with the same limits; a file that cannot be read gives
    its :class:`OSError`, one that is refused its :class:`~mailauth.ParseError`
    (never raised: one bad file does not stop the others).

    :param jobs: worker processes; 1 parses here, in this process.
    :param progress: called as ``progress(done, total, path)`` after each file.
    :param chunk: files handed to a worker at a time (``jobs > 1``).
    """
    check_int("jobs", jobs, minimum=1)
    check_int("chunk", chunk, minimum=1)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError("progress= is a callable(done, total, path)")
    limits: _Limits = (max_size, max_inflated, max_zip_members, max_nesting, max_records)
    for name, value in zip(("max_size", "max_inflated", "max_zip_members"), limits,
                           strict=False):
        check_int(name, value, minimum=1)
    check_int("max_nesting", max_nesting, minimum=0)
    check_int("max_records", max_records, minimum=0)
    items = [os.fspath(p) for p in paths]
    total = len(items)
    done = 0

    def deliver(out: _Outcome) -> tuple[Path, AggregateReport | ParseError | OSError]:
        nonlocal done
        path, report, kind, message = out
        done += 1
        where = Path(path)
        if progress is not None:
            progress(done, total, where)
        if report is not None:
            return where, report
        if kind == "os":
            return where, OSError(f"{path}: {message}")
        return where, ParseError(message or "unreadable")

    if jobs == 1 or total <= 1:
        for path in items:
            yield deliver(_one(path, limits))
        return
    batches = [items[i:i + chunk] for i in range(0, total, chunk)]
    with ProcessPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        for batch in pool.map(_many, batches, [limits] * len(batches)):
            with collector_paused():
                outs = [_unpack(wire) for wire in batch]
            for out in outs:
                yield deliver(out)
