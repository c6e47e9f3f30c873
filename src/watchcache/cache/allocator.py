"""The C allocator's policy for large buffers, set once by the process,
and the periodic trim of its heap.

Glossary:
    large buffer    a request above glibc malloc's mmap threshold (128 KiB
                    by default): a LIST page upstream sent, a LIST answer
                    joined for writing, a decompressed body
    mmap threshold  the size from which malloc serves a request with a
                    mapping of its own, unmapped (given back to the OS) on
                    free; below it, requests come from the heap, whose free
                    pages stay resident until the heap's top is trimmed
    trim            glibc's ``malloc_trim(0)``: every free page inside the
                    heaps (not only at their top) is given back to the OS

glibc raises both thresholds whenever a mapped buffer is freed, to that
buffer's size (up to 32 MiB): after the first multi-megabyte LIST, the
next ones come from the heap and their pages stay resident once freed,
among the cached objects allocated in between. With 10,000 cached pods,
six full LISTs through the proxy left 9.4 MB more resident; with the
thresholds fixed at their defaults, 1.3 MB (bench_proxy_memory.py).

``return_large_buffers`` fixes them. It is the process's choice (``watchcache
serve`` makes it at start), never a library's: the informer does not call
it in someone else's process. Elsewhere than glibc it does nothing.

It also keeps ``TOP_PAD`` (1 MiB) at the heap's top when the top is
trimmed: a streamed LIST allocates and frees its pieces (reads.py, 64 KiB
each, with the TLS layer's encrypted copy beside them) at the top over and
over, and with glibc's default pad each piece's pages were given back and
faulted in again: a sixth of the proxy's CPU per LIST was page faults. A
LIST of 10,000 pods (73 MB) over TLS took 148-161 ms of the proxy's CPU
without the pad, 75-83 ms with it (1 MiB and 8 MiB alike;
benchmarks/bench_write_path.py). The pad is at most 1 MiB resident, and the
periodic trim gives it back too.

Under churn the heap holds freed memory among live objects (lines read
from upstream, superseded versions): with 3,000 cached pods, 1,645
patches grew Python's live objects by 2.2 MB and the resident set by
25 MB. Only a trim gives those pages back, so ``trim_periodically`` (run
by ``watchcache serve`` every ``--malloc-trim-interval``) trims when the
resident set grew since the last trim: 10,000 pods after a minute of 108
patches/s, 1.31-1.33x their JSON against 1.39-1.42x untrimmed
(docs/operations.md#memory; what stays is live, or free in holes smaller
than a page, which no trim returns). The trim runs in a thread: the
event loop keeps serving, though a request that allocates from the heap
waits for the arena the trim holds. pymalloc's arenas (Python objects of
512 bytes or less) are not glibc's heap: CPython returns an empty arena
itself, and a partly used one no trim can return.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

__all__ = [
    "LARGE_BUFFER",
    "TOP_PAD",
    "glibc_trim",
    "resident_bytes",
    "return_large_buffers",
    "trim_periodically",
]

log = logging.getLogger(__name__)

# glibc's own default for both thresholds, kept fixed.
LARGE_BUFFER = 128 * 1024
# What a trim of the heap's top leaves there (and a growth adds beyond the
# request): room for a streamed LIST's pieces in flight.
TOP_PAD = 1 << 20
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def return_large_buffers(threshold: int = LARGE_BUFFER) -> bool:
    """Serve buffers above ``threshold`` from their own mappings and trim
    the heap's top above it, down to ``TOP_PAD``, for the rest of the
    process. False when the C library has no glibc ``mallopt`` or refused."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(
        mallopt(option, value)
        for option, value in (
            (_M_MMAP_THRESHOLD, threshold),
            (_M_TRIM_THRESHOLD, threshold),
            (_M_TOP_PAD, TOP_PAD),
        )
    )


def glibc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, or None when the C library has none."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return lambda: malloc_trim(0)


def resident_bytes() -> int:
    """This process's resident set (Linux's /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def trim_periodically(
    interval: float,
    trim: Callable[[], object] | None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    resident: Callable[[], int] = resident_bytes,
    run: Callable[[Callable[[], object]], Awaitable[object]] = asyncio.to_thread,
) -> None:
    """Every ``interval`` seconds, ``trim`` in a thread (``run``) when the
    resident set grew since the last trim; until cancelled. Returns at
    once when ``interval`` is 0 or there is no ``trim``."""
    if interval <= 0:
        return
    if trim is None:
        log.debug("no malloc_trim in this C library: the heap is not trimmed")
        return
    after_last = -1  # the resident set after the last trim
    while True:
        await sleep(interval)
        before = resident()
        if before <= after_last:
            continue
        started = time.perf_counter()
        await run(trim)
        after_last = resident()
        log.debug(
            "malloc_trim: resident %.1f MB -> %.1f MB in %.1f ms",
            before / 1e6,
            after_last / 1e6,
            (time.perf_counter() - started) * 1e3,
        )
