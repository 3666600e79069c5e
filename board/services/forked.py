"""Pure computations (ranking, text analysis) shared by forked processes, one per core.

The processes inherit what the caller built (the lexicon, an index, the inputs) without
copying it, compute, and send their results back in order; they touch no database. Used only
in a process that runs no other thread (a ``flask`` command, for example): a fork copies every
lock as it is, and one held by another thread would never be released in the copy."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence

#: Below this many items the work stays in this process (starting others costs more).
MIN_ITEMS = 200
#: What the processes read (set just before they fork).
_job: tuple[Callable, Sequence] | None = None


def processes(items: int, wanted: int | None = None) -> int:
    """How many processes to use for ``items`` items: ``wanted`` (default one per core from
    MIN_ITEMS items on), and one wherever forking is not safe or not possible."""
    if wanted is None:
        wanted = (os.cpu_count() or 1) if items >= MIN_ITEMS else 1
    if (wanted <= 1 or items < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return 1
    return wanted


def _slice(bounds: tuple[int, int]) -> list:
    fn, items = _job
    return [fn(x) for x in items[bounds[0] : bounds[1]]]


def imap(fn: Callable, items: Sequence, n: int) -> Iterator:
    """``fn(item)`` for every item, in order, on ``n`` processes (here when ``n`` is 1)."""
    global _job
    if n <= 1:
        for x in items:
            yield fn(x)
        return
    step = max(1, min(50, len(items) // (n * 4)))
    slices = [(i, min(i + step, len(items))) for i in range(0, len(items), step)]
    _job = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            for part in pool.imap(_slice, slices):
                yield from part
    finally:
        _job = None
