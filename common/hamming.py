"""Exact search of 64-bit hashes within a small Hamming distance, in memory.

Multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012). Each hash is cut into three
chunks of 22, 21 and 21 bits. Two hashes at most `r` bits apart differ in at most `r // 3`
bits of at least one chunk (pigeonhole), so every answer is among the hashes whose chunk `k`
lies within `r // 3` of the query's chunk `k`, for some `k`: a few hundred exact chunk values
to look up per chunk (254 for r = 8), each then checked over all 64 bits. Nothing is missed
and nothing approximate is returned.

For each chunk the index keeps every hash rotated so that the chunk is its top bits, sorted:
"chunk equals v" is then one contiguous range, found by binary search, with no bucket table.
Rotating both hashes alike leaves their distance unchanged. 24 bytes a hash in all.

Why not a linear scan (numpy's `bitwise_count` over XORed `uint64`): on this project's 2-core
machine it costs 28 ms of CPU per query hash at 10 million hashes (XOR 14, popcount 10.5,
compare and collect 3), so 56 ms for a photo and its mirror image before any load; the index
answers in a few milliseconds (bench/neardup.py). The scan survives for the recent additions
(`_tail`), kept unsorted so an addition costs nothing, and merged into the sorted runs once it
holds a sixteenth as many hashes as they do.

Not thread-safe: the owner serialises `add` and `search` (visits.neardup holds a lock).
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

WIDTHS = (22, 21, 21)
# Left rotation that brings chunk k to the top bits: chunk 0 is bits 63-42 already.
ROTATIONS = (0, 22, 43)
# Beyond this many differing bits per chunk the probes outnumber what they save: scan instead.
MAX_CHUNK_RADIUS = 3
# The tail is merged when it holds this share of the sorted runs (and at least MIN_TAIL).
TAIL_SHARE = 16
MIN_TAIL = 1 << 16

_U64 = np.uint64


def _rotl(values: np.ndarray, by: int) -> np.ndarray:
    if by == 0:
        return values.copy()
    return (values << _U64(by)) | (values >> _U64(64 - by))


def _rotr(values: np.ndarray, by: int) -> np.ndarray:
    if by == 0:
        return values
    return (values >> _U64(by)) | (values << _U64(64 - by))


@cache
def _masks(width: int, radius: int) -> np.ndarray:
    """Every `width`-bit value with at most `radius` bits set (the probes' XOR masks)."""
    masks = [0]
    for n in range(1, radius + 1):
        for bits in itertools.combinations(range(width), n):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.uint64)


def as_unsigned(values) -> np.ndarray:
    """Hashes as `uint64` (from signed 64-bit database integers, the same bits)."""
    array = np.asarray(values)
    if array.dtype == np.uint64:
        return array
    return np.asarray(array, dtype=np.int64).view(np.uint64)


class HammingIndex:
    """A multiset of 64-bit hashes; `search` returns the distinct stored hashes within a
    distance of a query, with their distances."""

    def __init__(self, hashes: np.ndarray | None = None) -> None:
        self._runs = [np.empty(0, dtype=np.uint64) for _ in WIDTHS]
        self._tail = np.empty(1024, dtype=np.uint64)
        self._tail_len = 0
        if hashes is not None and len(hashes):
            base = as_unsigned(hashes)
            self._runs = [_rotl(base, by) for by in ROTATIONS]  # fresh arrays: sort in place
            for run in self._runs:
                run.sort()

    def __len__(self) -> int:
        return len(self._runs[0]) + self._tail_len

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (the sorted runs and the tail's capacity)."""
        return sum(run.nbytes for run in self._runs) + self._tail.nbytes

    def add(self, hashes: np.ndarray) -> None:
        new = as_unsigned(hashes)
        if not len(new):
            return
        needed = self._tail_len + len(new)
        if needed > len(self._tail):
            grown = np.empty(max(needed, 2 * len(self._tail)), dtype=np.uint64)
            grown[: self._tail_len] = self._tail[: self._tail_len]
            self._tail = grown
        self._tail[self._tail_len : needed] = new
        self._tail_len = needed
        if self._tail_len > max(MIN_TAIL, len(self._runs[0]) // TAIL_SHARE):
            self._merge()

    def _merge(self) -> None:
        tail = self._tail[: self._tail_len]
        # Two sorted runs end to end: the stable sort (timsort) finds them and merges them in
        # one linear pass.
        self._runs = [
            np.sort(np.concatenate([run, np.sort(_rotl(tail, by))]), kind="stable")
            for run, by in zip(self._runs, ROTATIONS, strict=True)
        ]
        self._tail = np.empty(1024, dtype=np.uint64)
        self._tail_len = 0

    def search(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct stored hashes at most `radius` bits from `query` (an unsigned or
        signed 64-bit integer), ascending, and their distances."""
        q = _U64(int(query) & 0xFFFF_FFFF_FFFF_FFFF)
        chunk_radius = radius // len(WIDTHS)
        found = [self._scan(self._tail[: self._tail_len], q, radius)]
        if chunk_radius > MAX_CHUNK_RADIUS:
            found.append(self._scan(self._runs[0], q, radius))
        else:
            for run, width, by in zip(self._runs, WIDTHS, ROTATIONS, strict=True):
                found.append(self._probe(run, q, radius, width, by, chunk_radius))
        hits = np.unique(np.concatenate(found))
        distances = np.bitwise_count(hits ^ q).astype(np.int64)
        return hits, distances

    @staticmethod
    def _scan(values: np.ndarray, q: np.uint64, radius: int) -> np.ndarray:
        if not len(values):
            return values
        return values[np.bitwise_count(values ^ q) <= radius]

    @staticmethod
    def _probe(
        run: np.ndarray, q: np.uint64, radius: int, width: int, by: int, chunk_radius: int
    ) -> np.ndarray:
        if not len(run):
            return run
        rq = _rotl(np.array([q], dtype=np.uint64), by)[0]
        shift = _U64(64 - width)
        keys = (rq >> shift) ^ _masks(width, chunk_radius)
        low = keys << shift
        high = low | ((_U64(1) << shift) - _U64(1))
        starts = np.searchsorted(run, low, side="left")
        ends = np.searchsorted(run, high, side="right")
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.uint64)
        # The positions of every range, end to end, without a Python loop over the ranges.
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        candidates = run[np.arange(total) + offsets]
        near = candidates[np.bitwise_count(candidates ^ rq) <= radius]
        return _rotr(near, by)
