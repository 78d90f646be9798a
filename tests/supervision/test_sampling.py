"""The draw itself: weighted sampling without replacement, reproducible from its seed."""

import uuid
from collections import Counter

from supervision.services import Candidate, candidates_digest, weighted_sample


def population(flagged: int, plain: int) -> list[Candidate]:
    ids = sorted(uuid.UUID(int=n + 1) for n in range(flagged + plain))
    # Flagged ones spread over the id order, so position cannot explain the result.
    return [
        Candidate(visit_id, 1 if n % ((flagged + plain) // flagged) == 0 else 0)
        for n, visit_id in enumerate(ids)
    ][: flagged + plain]


def test_same_seed_same_sample_whatever_the_input_order():
    candidates = population(10, 90)
    first = weighted_sample(candidates, size=12, seed=20261022, k=4)
    again = weighted_sample(list(reversed(candidates)), size=12, seed=20261022, k=4)
    assert [c.visit_id for c in first] == [c.visit_id for c in again]
    other = weighted_sample(candidates, size=12, seed=20261023, k=4)
    assert [c.visit_id for c in other] != [c.visit_id for c in first]


def test_without_replacement_and_capped_by_population():
    candidates = population(2, 8)
    sample = weighted_sample(candidates, size=6, seed=1, k=4)
    assert len({c.visit_id for c in sample}) == 6
    everyone = weighted_sample(candidates, size=50, seed=1, k=4)
    assert sorted(c.visit_id for c in everyone) == sorted(c.visit_id for c in candidates)


def test_flagged_visits_are_drawn_far_more_often():
    """10 flagged (weight 1 + 4 × 1 = 5) among 100; 2,000 draws of 10 with fixed seeds."""
    candidates = population(10, 90)
    flagged = {c.visit_id for c in candidates if c.flag_count}
    assert len(flagged) == 10
    hits = Counter()
    draws = 2000
    for seed in range(draws):
        for c in weighted_sample(candidates, size=10, seed=seed, k=4):
            hits["flagged" if c.visit_id in flagged else "plain"] += 1
    per_flagged = hits["flagged"] / (10 * draws)
    per_plain = hits["plain"] / (90 * draws)
    # Uniform sampling would give both 0.10. Weighted: a flagged visit is in about a third of
    # the samples, a plain one in about 7.5 % (the exact counts for these seeds are pinned).
    assert per_flagged > 0.30
    assert per_plain < 0.08
    assert per_flagged / per_plain > 4
    assert hits == Counter({"flagged": 6524, "plain": 13476})


def test_no_weight_means_uniform():
    candidates = population(10, 90)
    flagged = {c.visit_id for c in candidates if c.flag_count}
    hits = Counter()
    for seed in range(2000):
        for c in weighted_sample(candidates, size=10, seed=seed, k=0):
            hits[c.visit_id in flagged] += 1
    assert 0.08 < hits[True] / (10 * 2000) < 0.12


def test_digest_changes_with_the_data():
    candidates = population(2, 8)
    same = candidates_digest(reversed(candidates))
    assert candidates_digest(candidates) == same
    changed = [*candidates[:-1], Candidate(candidates[-1].visit_id, 3)]
    assert candidates_digest(changed) != same
