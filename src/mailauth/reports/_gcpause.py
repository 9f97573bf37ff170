"""The cyclic garbage collector paused while a report's model is built.

A report of thousands of records allocates tens of thousands of objects, none of them
in a cycle, and the collections they trigger cost about 40% of the parse. The switch
is process-wide, so pauses are counted under a lock: the first one to start records
whether the collector was on and turns it off, the last one to end turns it back on
only if it was. Two threads parsing at once can therefore never leave it off, and a
caller who turned it off keeps it off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the ``with`` block (see the module docstring)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
