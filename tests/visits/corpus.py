"""The false-positive and recall measurement of the near-duplicate rules, on photos made at
test time (tests/visits/forms.py) and on the real photos in ../shared/photos. Used by
tests/visits/test_neardup_corpus.py and, larger, by bench/neardup.py.

Hashes come from media's own pipeline (`images.make_derivatives`), and "within the limit"
is `visits.neardup.pair_limit`: what the search compares, at the limits it uses.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from media import images
from tests.visits import forms
from visits.neardup import distance, pair_limit, signed

PAGES: dict[str, Callable[[int], Image.Image]] = {
    "passbook": forms.passbook_page,
    "handbook": forms.handbook_page,
}
# Folders of camera and phone photos (broken/ holds files that crashed EXIF readers: real
# photos too, used for the pairs, but not all of them phone photos to copy and find again).
PHONE_FOLDERS = ("gps", "mobile", "orientation", "heic", "no_gps")


def hashes(data: bytes) -> tuple[int, int]:
    """(phash, mirrored phash) as the search stores and queries them."""
    made = images.make_derivatives(io.BytesIO(data))
    return signed(made.phash), signed(made.phash_mirrored)


def apart(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Bits between a photo (its hash or its mirror image's) and another photo's hash."""
    return min(distance(a[0], b[0]), distance(a[1], b[0]))


@dataclass
class Rates:
    kind: str
    pairs: int = 0  # pairs of different households' photos
    within: dict[int, int] = field(default_factory=dict)  # limit -> pairs within it (raw)
    flagged: int = 0  # pairs the search would flag (its rule and limit)
    reshots: int = 0  # same household, the page photographed again a quarter later
    reshots_flagged: int = 0
    copies: dict[str, tuple[int, int]] = field(default_factory=dict)  # found, tried

    def rate(self, count: int, total: int) -> float:
        return count / total if total else 0.0

    def lines(self) -> list[str]:
        raw = ", ".join(
            f"<={k}: {v} ({self.rate(v, self.pairs):.3%})" for k, v in sorted(self.within.items())
        )
        out = [
            f"{self.kind}: {self.pairs} pairs of different households; within {raw}",
            f"  flagged under the rule: {self.flagged} ({self.rate(self.flagged, self.pairs):.3%})",
        ]
        if self.reshots:
            out.append(
                f"  same household, re-shot a quarter later: {self.reshots_flagged} of "
                f"{self.reshots} flagged ({self.rate(self.reshots_flagged, self.reshots):.3%})"
            )
        found = ", ".join(f"{k} {f}/{t}" for k, (f, t) in self.copies.items())
        out.append(f"  copies found: {found}")
        return out


LIMITS = (0, 2, 4, 8)


def _count_pairs(rates: Rates, kind: str, photos: list[tuple[int, int]]) -> None:
    limit = pair_limit(kind, kind, same_household=False)
    for a, b in itertools.combinations(photos, 2):
        d = apart(a, b)
        rates.pairs += 1
        for k in LIMITS:
            rates.within[k] = rates.within.get(k, 0) + (d <= k)
        rates.flagged += limit is not None and d <= limit


def _count_copies(rates: Rates, kind: str, originals: list[tuple[bytes, tuple[int, int]]]):
    # A copy reused for the same household (forms are compared only there).
    limit = pair_limit(kind, kind, same_household=True)
    for name, copy in forms.COPIES.items():
        found = sum(apart(hashes(copy(data)), h) <= limit for data, h in originals)
        rates.copies[name] = (found, len(originals))


def measure_forms(kind: str, households: int, copies: int) -> Rates:
    """`households` pages of `kind`, each photographed twice (two quarters), and `copies` of
    them copied each way."""
    page = PAGES[kind]
    rates = Rates(kind)
    photos, originals = [], []
    same_limit = pair_limit(kind, kind, same_household=True)
    for n in range(households):
        data = forms.photograph(page(n), shot=n)
        first = hashes(data)
        photos.append(first)
        if n < copies:
            originals.append((data, first))
        later = hashes(forms.photograph(page(n), shot=100_000 + n))
        rates.reshots += 1
        rates.reshots_flagged += apart(later, first) <= same_limit
    _count_pairs(rates, kind, photos)
    _count_copies(rates, kind, originals)
    return rates


def real_photos(folder: Path) -> list[tuple[str, bytes]]:
    """Every photo in `folder` media's pipeline can decode (Pillow cannot open some HEIF)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".heic", ".heif"):
            continue
        data = path.read_bytes()
        try:
            images.make_derivatives(io.BytesIO(data))
        except Exception:  # noqa: BLE001 (a file the pipeline refuses is not in the corpus)
            continue
        found.append((str(path.relative_to(folder)), data))
    return found


def measure_real(folder: Path) -> Rates:
    """Pairs of the real photos (as photos of places and people); their phone photos copied."""
    rates = Rates("scene (real photos)")
    photos = real_photos(folder)
    hashed = [(name, data, hashes(data)) for name, data in photos]
    _count_pairs(rates, "scene", [h for _, _, h in hashed])
    phone = [(data, h) for name, data, h in hashed if name.split("/")[0] in PHONE_FOLDERS]
    _count_copies(rates, "scene", phone)
    return rates
