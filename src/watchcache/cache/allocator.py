"""The C allocator's policy for large buffers, set once by the process.

Glossary:
    large buffer    a request above glibc malloc's mmap threshold (128 KiB
                    by default): a LIST page upstream sent, a LIST answer
                    joined for writing, a decompressed body
    mmap threshold  the size from which malloc serves a request with a
                    mapping of its own, unmapped (given back to the OS) on
                    free; below it, requests come from the heap, whose free
                    pages stay resident until the heap's top is trimmed

glibc raises both thresholds whenever a mapped buffer is freed, to that
buffer's size (up to 32 MiB): after the first multi-megabyte LIST, the
next ones come from the heap and their pages stay resident once freed,
among the cached objects allocated in between. With 10,000 cached pods,
six full LISTs through the proxy left 9.4 MB more resident; with the
thresholds fixed at their defaults, 1.3 MB (bench_proxy_memory.py).

``return_large_buffers`` fixes them. It is the process's choice (``watchcache
serve`` makes it at start), never a library's: the informer does not call
it in someone else's process. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes

__all__ = ["LARGE_BUFFER", "return_large_buffers"]

# glibc's own default for both thresholds, kept fixed.
LARGE_BUFFER = 128 * 1024
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def return_large_buffers(threshold: int = LARGE_BUFFER) -> bool:
    """Serve buffers above ``threshold`` from their own mappings and trim
    the heap's top above it, for the rest of the process. False when the
    C library has no glibc ``mallopt`` or refused."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, threshold)
    )
