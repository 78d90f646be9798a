"""False positives and recall of the near-duplicate rules, measured on a corpus: passbook and
handbook pages made at test time (every household's own numbers and handwriting on the same
printed template, photographed as a phone does) and the real photos in ../shared/photos.

Different households' photos must fall within what the search compares in under 0.1 % of
pairs, while a copy of a photo (re-encoded, resized, forwarded through a chat app twice, made
brighter) is still found. The rates are printed (`pytest -s`); bench/neardup.py --forms runs
the same measurement on more households.
"""

import pytest
from django.conf import settings

from tests.visits.corpus import measure_forms, measure_real

HOUSEHOLDS = 40  # 780 pairs of different households a kind (bench/neardup.py: 200, 19900)
COPIED = 12


@pytest.mark.parametrize("kind", ["passbook", "handbook"])
def test_forms_of_different_households_are_not_flagged_and_copies_are_found(kind):
    rates = measure_forms(kind, HOUSEHOLDS, COPIED)
    print("\n" + "\n".join(rates.lines()))
    assert rates.pairs == HOUSEHOLDS * (HOUSEHOLDS - 1) // 2
    # Why forms are not compared across households: at the limit used for photos of places
    # and people, different households' pages collide far above 0.1 % (about 5 % measured).
    assert rates.within[settings.PHASH_MAX_DISTANCE] / rates.pairs > 0.001
    assert rates.flagged / rates.pairs < 0.001
    # Within one household, the page photographed again next quarter is not flagged...
    assert rates.reshots_flagged == 0
    # ...while the same photo re-encoded or forwarded is. Resizing and brightening move some
    # pages past the strict limit (75-100 % found): measured and printed, not promised.
    assert rates.copies["reencoded_q55"] == (COPIED, COPIED)
    assert rates.copies["forwarded_twice"] == (COPIED, COPIED)
    assert rates.copies["resized_half"][0] >= COPIED // 2


@pytest.mark.realphotos
def test_real_photos_are_far_apart_and_their_copies_are_found(shared_photos):
    rates = measure_real(shared_photos)
    print("\n" + "\n".join(rates.lines()))
    assert rates.pairs >= 400  # ~30 decodable photos
    assert rates.flagged / rates.pairs < 0.001
    for name, (found, tried) in rates.copies.items():
        assert tried >= 15, name
        assert found == tried, name
