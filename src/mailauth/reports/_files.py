"""Reading many report files: in this process, or over a pool of processes.

A mailbox export or a folder of attachments holds thousands of reports; parsing is
CPU-bound, so ``jobs > 1`` spreads the files over that many worker processes. Results
come back in the order of the paths given, each with its path, and a progress
callback hears of every file as it is done (the command line's progress line).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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
from ._model import AggregateReport

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


def _many(paths: list[str], limits: _Limits) -> list[_Outcome]:
    return [_one(p, limits) for p in paths]


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
            for out in batch:
                yield deliver(out)
