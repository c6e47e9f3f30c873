from __future__ import annotations

import asyncio
import contextlib
import ctypes
import subprocess
import sys
from collections.abc import Callable

import pytest

from watchcache.cache.allocator import SIZE_CLASSES, glibc_trim, kept, trim_periodically

# Frees an 8 MiB buffer (glibc then raises its thresholds to 8 MiB), then
# fills and frees a 4 MiB one, and prints how much more is resident after.
_CHILD = """
import re, sys
from pathlib import Path
from watchcache.cache.allocator import return_large_buffers

def rss():
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\\s+(\\d+) kB", text).group(1)) * 1024

if sys.argv[1] == "fixed":
    assert return_large_buffers()
first = bytearray(8 << 20)
del first
before = rss()
second = bytearray(b"x") * (4 << 20)
del second
print(rss() - before)
"""


def _printed(script: str, mode: str) -> int:
    """The number ``script`` prints, run in a fresh interpreter (its own
    heap) with ``mode`` ("fixed" or "default") as its argument."""
    out = subprocess.run(
        [sys.executable, "-c", script, mode], check=True, capture_output=True, text=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_large_buffers_leave_the_resident_set() -> None:
    assert _printed(_CHILD, "fixed") < 1 << 20
    assert _printed(_CHILD, "default") >= 3 << 20  # what glibc does unless told (the reason)


# Allocates and frees a streamed LIST's worth of 64 KiB pieces at the
# heap's top, over and over, and prints the page faults of the later rounds.
_PIECES = """
import resource, sys
from watchcache.cache.allocator import return_large_buffers

if sys.argv[1] == "fixed":
    assert return_large_buffers()

def round_():
    pieces = [bytes(64 * 1024) for _ in range(12)]
    del pieces

round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_pieces_freed_at_the_top_are_not_faulted_in_again() -> None:
    # 100 rounds of 12 x 16 pages (768 KiB, within the pad): 7,000 faults
    # measured before the pad, 14 with it.
    assert _printed(_PIECES, "fixed") < 1000


class _Schedule:
    """An injected sleep that records each wait and stops the loop after
    ``ticks`` of them; a resident set read from a script; a fake trim."""

    def __init__(self, ticks: int, resident: list[int]) -> None:
        self.ticks = ticks
        self.slept: list[float] = []
        self.trims: list[int] = []  # the tick at which each trim ran
        self._resident = iter(resident)

    async def sleep(self, seconds: float) -> None:
        if len(self.slept) == self.ticks:
            raise asyncio.CancelledError
        self.slept.append(seconds)

    def resident(self) -> int:
        return next(self._resident)

    def trim(self) -> None:
        self.trims.append(len(self.slept))

    async def run(self, trim: Callable[[], object]) -> None:
        trim()


async def _trim(interval: float, schedule: _Schedule, *, trim: bool = True) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await trim_periodically(
            interval,
            schedule.trim if trim else None,
            sleep=schedule.sleep,
            resident=schedule.resident,
            run=schedule.run,
        )


async def test_trims_every_interval_while_the_resident_set_grows() -> None:
    # Before and after each trim: grew at ticks 1, 2 and 4; not at 3.
    schedule = _Schedule(4, [100, 90, 95, 80, 80, 85, 70])
    await _trim(30.0, schedule)
    assert schedule.slept == [30.0] * 4
    assert schedule.trims == [1, 2, 4]


async def test_an_interval_of_zero_or_no_trim_function_turns_it_off() -> None:
    for interval, trim in ((0.0, True), (30.0, False)):
        schedule = _Schedule(3, [100] * 6)
        await _trim(interval, schedule, trim=trim)
        assert schedule.slept == []
        assert schedule.trims == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_glibc_trim_is_callable_here() -> None:
    trim = glibc_trim()
    assert trim is not None
    trim()


needs_size_classes = pytest.mark.skipif(not SIZE_CLASSES, reason="CPython's bytes layout")


@pytest.mark.parametrize("length", [0, 100, 479, 480, 600, 4_000, 7_792, 70_000, 300_000])
def test_a_kept_body_reads_as_the_bytes_given(length: int) -> None:
    data = bytes(range(256)) * (length // 256) + b"x" * (length % 256)
    body, spare = kept(data)
    assert body == data and len(body) == length and hash(body) == hash(data)
    assert body[-3:] == data[-3:] and bytes(memoryview(body)[1:]) == data[1:]
    assert body + b"!" == data + b"!" and body.find(b"x") == data.find(b"x")
    assert spare >= 0


def _usable(body: bytes) -> int:
    usable = ctypes.CDLL(None).malloc_usable_size
    usable.argtypes = [ctypes.c_void_p]
    usable.restype = ctypes.c_size_t
    return int(usable(id(body)))


@needs_size_classes
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_bodies_are_allocated_in_size_classes_with_headroom() -> None:
    small = b"s" * 400
    assert kept(small) == (small, 0)  # pymalloc's: left alone
    capacities = set()
    for length in range(7_700, 7_830):
        body, spare = kept(b"b" * length)
        assert spare >= 64  # a step (64 bytes from 4 to 8 KiB) of headroom, at least
        assert _usable(body) >= length + spare + bytes.__basicsize__
        capacities.add(length + spare)
    assert len(capacities) == 3  # 130 lengths, classes 64 bytes apart


@needs_size_classes
def test_a_new_version_keeps_its_previous_versions_class_while_it_fits() -> None:
    old, old_spare = kept(b"o" * 7_792)
    capacity = len(old) + old_spare
    for length in (7_792 + 25, 7_792 - 100, capacity):
        body, spare = kept(b"n" * length, capacity)
        assert len(body) + spare == capacity, length
    grown, spare = kept(b"n" * (capacity + 1), capacity)
    assert len(grown) + spare > capacity  # it no longer fits: its own class
    shrunk, spare = kept(b"n" * 6_000, capacity)
    assert len(shrunk) + spare < capacity  # shrank by more than 1/32: a class down


# Replaces 3,000 bodies of 7,792 bytes, out of order, each by a version 25
# bytes longer, letting go of each replaced one 128 replacements later (as
# history does), and prints how many bytes glibc's heap then holds free.
_HOLES_CHILD = """
import ctypes, random, sys
from collections import deque
from watchcache.cache.allocator import kept

class MallInfo2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2

def keep(data, previous):
    return (data, 0) if sys.argv[1] == "exact" else kept(data, previous)

rng = random.Random(1)
count = 3000
bodies = [keep(b"x" * 7792, 0) for _ in range(count)]
before = mallinfo2().fordblks
superseded = deque()
for i in sorted(range(count), key=lambda i: i + rng.uniform(0, 64)):
    body, spare = bodies[i]
    bodies[i] = keep(b"y" * 7817, len(body) + spare)
    superseded.append(body)
    if len(superseded) > 128:
        superseded.popleft()
print(mallinfo2().fordblks - before)
"""


def _holes(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _HOLES_CHILD, mode], check=True, capture_output=True, text=True
    )
    return int(out.stdout)


@needs_size_classes
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_longer_versions_fit_the_holes_their_predecessors_leave() -> None:
    assert _holes("classes") < 1 << 20
    assert _holes("exact") > 4 << 20  # what exact copies leave (the reason)
