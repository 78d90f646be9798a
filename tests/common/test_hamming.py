"""The in-memory Hamming index answers exactly what a full scan answers."""

import numpy as np
import pytest

from common import hamming
from common.hamming import HammingIndex


def brute_force(stored: np.ndarray, query: int, radius: int) -> dict[int, int]:
    distances = np.bitwise_count(stored ^ np.uint64(query))
    near = distances <= radius
    return dict(zip(stored[near].tolist(), distances[near].tolist(), strict=True))


def flipped(rng: np.random.Generator, value: int, bits: int) -> int:
    for b in rng.choice(64, size=bits, replace=False):
        value ^= 1 << int(b)
    return value


@pytest.fixture
def small_tail(monkeypatch):
    # Merges after a few hundred additions, so a test sees sorted runs and a tail together.
    monkeypatch.setattr(hamming, "MIN_TAIL", 256)


@pytest.mark.parametrize("radius", [0, 2, 5, 8, 11, 12, 16])
def test_same_answers_as_a_full_scan(radius, small_tail):
    rng = np.random.default_rng(radius)
    base = rng.integers(0, 2**64, size=20_000, dtype=np.uint64)
    # Planted copies at every distance up to the radius and just past it.
    planted = [flipped(rng, int(base[i]), i % (radius + 3)) for i in range(0, 2000, 7)]
    stored = np.concatenate([base, np.array(planted, dtype=np.uint64)])
    index = HammingIndex(stored[:15_000])
    for start in range(15_000, len(stored), 333):  # then arriving in small batches
        index.add(stored[start : start + 333])
    assert len(index) == len(stored)
    for i in range(0, 2000, 97):
        query = flipped(rng, int(base[i]), int(rng.integers(0, radius + 1)))
        hits, distances = index.search(query, radius)
        assert dict(zip(hits.tolist(), distances.tolist(), strict=True)) == brute_force(
            stored, query, radius
        )
        assert int(base[i]) in set(hits.tolist())


def test_signed_database_values_and_duplicates():
    values = np.array([-1, -1, 5, 2**62, -(2**63)], dtype=np.int64)
    index = HammingIndex(values)
    hits, distances = index.search(-1, 0)  # all 64 bits set
    assert hits.tolist() == [2**64 - 1]
    assert distances.tolist() == [0]
    hits, _ = index.search(4, 1)  # 5 is one bit from 4
    assert hits.tolist() == [5]
    assert index.search(2**63, 0)[0].tolist() == [2**63]  # the most negative bigint


def test_empty_index_and_growth():
    index = HammingIndex()
    assert len(index) == 0
    assert index.search(123, 8)[0].size == 0
    index.add(np.array([123, 124], dtype=np.int64))
    assert index.search(123, 8)[0].tolist() == [123, 124]
    assert index.nbytes > 0
