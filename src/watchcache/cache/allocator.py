"""The C allocator's policy for large buffers, set once by the process;
the periodic trim of its heap; and the size classes objects' bytes are
allocated in.

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
    body            a cached object's bytes (``Entry.raw``): kept for as
                    long as the object, or its version in history, lives
    chunk           what malloc hands out for a request: glibc's is the
                    request plus 8 bytes, rounded up to 16; a Python
                    ``bytes`` of n bytes requests n + 33
    size class      the chunk sizes bodies are allocated in: multiples of a
                    step, 1/64 of the power of two below the chunk (64 bytes
                    for 4 to 8 KiB, 128 for 8 to 16 KiB)
    capacity        the body length a chunk holds; ``spare``, what it holds
                    beyond the body (``Entry.spare``)

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
from upstream, superseded versions), and only a trim gives those pages
back, so ``trim_periodically`` (run by ``watchcache serve`` every
``--malloc-trim-interval``) trims when the resident set grew since the
last trim. The trim runs in a thread: the event loop keeps serving, though
a request that allocates from the heap waits for the arena the trim
holds. pymalloc's arenas (Python objects of 512 bytes or less) are not
glibc's heap: CPython returns an empty arena itself, and a partly used one
no trim can return.

A trim returns only whole pages inside free chunks, and a free chunk
only serves a request no larger than itself. A changed object is most
often a few bytes longer than before (a label added, a counter with one
more digit): allocated exactly, its new version does not fit the hole its
old one leaves when history lets go of it, and unless a neighbour is
freed too, the hole stays, with the part of its pages no trim returns.
10,000 pods patched out of order for a minute (bench_proxy_memory.py,
108 patches/s) left 1,849 such holes of ~7.7 KB, 14.3 MB, 35 s after the
churn: 1.32x the pods' JSON in all. (An in-process simulation of that
churn: 1.33x, and 1.22x when each new version is as long as the one
before.)

So ``kept`` allocates bodies in size classes, with a step of headroom,
and a new version in its previous version's capacity while it fits with
at most 1/32 of its length to spare: the hole any version leaves fits
the next body of its class exactly. Same benchmark, same runs (four):
1.23x 35 s after the churn against 1.31-1.32x (1.23-1.24x against
1.32-1.36x at its end). It
costs ~1.5 steps a body (1.17x the JSON once synced against 1.15x), and
~3% more instructions per event applied (an extra copy of the body;
bench_cache_apply.py's pods under valgrind).

A ``bytes`` object cannot be asked for an allocation larger than its
length, so ``kept`` makes one of the capacity and sets its length to the
body's before anyone else holds it, as msgspec's encoder shrinks its
output: CPython frees the chunk whole whatever the length says. Where
that layout is not CPython's (``SIZE_CLASSES`` false), bodies are kept
as they come.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

__all__ = [
    "LARGE_BUFFER",
    "SIZE_CLASSES",
    "TOP_PAD",
    "glibc_trim",
    "kept",
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


# A bytes object of n bytes requests n + _BYTES_HEADER from the allocator
# (PyBytesObject: refcount, type, length, hash, then the bytes and a NUL);
# glibc's chunk adds its own 8-byte header.
_BYTES_HEADER = bytes.__basicsize__
_OVERHEAD = _BYTES_HEADER + 8
# Requests up to 512 bytes are pymalloc's, which has classes of its own.
_SMALL = 512 - _BYTES_HEADER
# Size classes per doubling of the chunk size.
_CLASSES_PER_DOUBLING = 64
# The step of the classes a chunk of 2**(b-1) to 2**b - 1 bytes falls in.
_STEPS = [max(16, (1 << b >> 1) // _CLASSES_PER_DOUBLING) for b in range(65)]
# A previous version's capacity is kept while the new body fits it with at
# most 1/32 of its length to spare (two to four steps): an object that
# shrank more moves down a class.
_STICKY_SHIFT = 5
# Where a CPython bytes object's length sits: after its refcount and type.
_LENGTH_AT = 2 * ctypes.sizeof(ctypes.c_ssize_t)


def _memory_words() -> memoryview[int]:
    """The process's memory as 64-bit words, from address 0: ``kept``
    writes a fresh body's length through it, one C assignment (ctypes'
    ``from_address`` builds an object per call, twice the CPU). A word of
    its own where there is no such view (not CPython, 32 bits)."""
    if sys.implementation.name == "cpython" and sys.maxsize > 1 << 62:
        memory = (ctypes.c_ubyte * (1 << 62)).from_address(0)
        return memoryview(memory).cast("B").cast("q")
    return memoryview(bytearray(8)).cast("q")


_WORDS = _memory_words()


def kept(data: bytes, previous: int = 0) -> tuple[bytes, int]:
    """``data`` as a body to keep, and the bytes its allocation holds
    beyond it (its ``spare``): a copy in its size class, with a step of
    headroom, or as large as ``previous`` (the capacity of the object's
    previous version: length plus spare) while it fits with at most 1/32
    of its length to spare. ``data`` itself, with no spare, for small
    bodies, or where there are no size classes."""
    length = len(data)
    if length <= _SMALL or not SIZE_CLASSES:
        return data, 0
    if length <= previous <= length + (length >> _STICKY_SHIFT):
        capacity = previous
    else:
        chunk = length + _OVERHEAD
        step = _STEPS[chunk.bit_length()]
        capacity = (chunk + 2 * step - 1) // step * step - _OVERHEAD
    if capacity == length:
        return data, 0
    # A fresh object of ``capacity`` bytes, then told its length: the
    # zeros after it (its NUL among them) are never read.
    body = data.ljust(capacity, b"\0")
    _WORDS[(id(body) + _LENGTH_AT) >> 3] = length
    return body, capacity - length


def _layout_is_cpythons() -> bool:
    """Whether ``kept`` may write a bytes object's length: CPython's
    layout, checked on a probe."""
    if len(_WORDS) == 1 or ctypes.sizeof(ctypes.c_ssize_t) != 8:
        return False
    data = bytes(range(256)) * 3
    probe = data.ljust(len(data) + 64, b"\0")
    if _WORDS[(id(probe) + _LENGTH_AT) >> 3] != len(probe):
        return False
    _WORDS[(id(probe) + _LENGTH_AT) >> 3] = len(data)
    return probe == data and hash(probe) == hash(data) and probe + b"" == data


# Whether bodies are allocated in size classes.
SIZE_CLASSES = _layout_is_cpythons()
