"""Near-duplicate visit photos across the county (or the whole deployment), from an index every
worker process keeps in memory and brings up to date from the database before each search.

Which photos are compared (measured on the corpus in tests/visits/test_neardup_corpus.py and
by bench/neardup.py, which print the rates):
- photos of places and people (`location`, `scene`) with every household and village visit
  photo of the county (`PHASH_SCOPE = "county"`, or of the whole deployment) taken within
  `PHASH_LOOKBACK_DAYS` of the visit, at most `PHASH_MAX_DISTANCE` bits apart. Real photos of
  different things are 20 or more bits apart; re-encoded, resized or forwarded copies 0-2.
- printed forms (`passbook`, `handbook`) with the same household's photos only, at most
  `PHASH_MAX_DISTANCE_FORMS` bits apart. Every household's page is printed from one template
  and a 64-bit perceptual hash sees the page's outline and the light on it, not what is
  written: two households' pages were within 8 bits of each other in about 5 % of pairs and
  identical in 0.01 %, so across a county's hundreds of thousands of pages any limit would
  flag every page. Within one household the same page photographed again a quarter later is
  as far as another household's page, so a strict limit there still keeps false flags rare.

Same answers in every process and after a restart: the index is a cache of the hashes in
`PhotoHash` and only proposes candidates; the answer is read from the database. A search
first reads the rows added since the index last looked (ids above its cursor), and ids
become visible in order (`photo_hashes_record` appends under a table lock), so the index
holds every hash committed before the search began; a candidate the index holds but the
database no longer has (a deleted visit) is dropped by the read. Visits older than the
index's window are searched in the database directly (`_older_hashes`).

A database restored from a backup hands out ids the workers have read past: restart them
(they load afresh), as with any cache.

Memory: 24 bytes a hash (common.hamming), for the photos of places and people only (half of a
household visit's four). The index holds `PHASH_LOOKBACK_DAYS` plus `WINDOW_MARGIN` of them
and is rebuilt after `RELOAD_AFTER`, which drops the old ones: about 16 bytes for each visit
photo of a year (24 a hash, half the photos, 16 months held), so 26 MB for a county's 1.6
million photos and 160 MB for a province's 10 million; a merge briefly needs twice that.
bench/neardup.py measures it with 10 million hashes in the index.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from common.hamming import HammingIndex, as_unsigned
from media.models import Photo, PhotoKind
from visits.models import PhotoHash, VillageVisit, Visit, VisitPhoto

logger = logging.getLogger(__name__)

PLACE_KINDS = frozenset({PhotoKind.LOCATION, PhotoKind.SCENE})
FORM_KINDS = frozenset({PhotoKind.PASSBOOK, PhotoKind.HANDBOOK})
# A visit is entered at most about a quarter and an extension after it happened: with this
# margin the index covers every such visit's look-back, and only a recheck of an older visit
# reads the gap from the database.
WINDOW_MARGIN = timedelta(days=120)
RELOAD_AFTER = timedelta(days=30)


def signed(hex_hash: str) -> int:
    """A 16-hex-digit hash as the signed 64-bit integer PostgreSQL's bigint stores."""
    value = int(hex_hash, 16)
    return value - (1 << 64) if value >= (1 << 63) else value


def distance(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def scope_prefix(village_code: str) -> str:
    """The code prefix a photo is compared within: its county's 6 digits, or everything."""
    return village_code[:6] if settings.PHASH_SCOPE == "county" else ""


# --- Writing the rows the index reads -------------------------------------------------------


def photo_hashes_record(uses: Iterable[VisitPhoto]) -> int:
    """Add the `PhotoHash` rows of visit photos whose hash is ready (others wait for
    `photo_processed`); a photo already recorded is skipped. `uses` need `photo` and their
    visit loaded. Returns how many were new or already there."""
    rows = []
    for use in uses:
        if not use.photo.phash:
            continue
        visit: Visit | VillageVisit | None = use.visit or use.village_visit
        if visit is None:
            continue  # (the database holds every use to exactly one visit)
        rows.append(
            PhotoHash(
                photo_id=use.photo_id,
                visit_id=use.visit_id,
                village_visit_id=use.village_visit_id,
                household_id=getattr(visit, "household_id", None),
                village_id=visit.village_id,
                kind=use.kind,
                phash=signed(use.photo.phash),
                visited_at=visit.visited_at,
            )
        )
    if not rows:
        return 0
    with transaction.atomic():
        _lock_appends()
        PhotoHash.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _lock_appends() -> None:
    """Appends commit in id order. Without this, a row whose transaction commits after a
    higher id's would be skipped forever by a worker that read past it meanwhile. The lock
    (EXCLUSIVE mode) waits only for other appenders; reads go on. SQLite needs nothing: its
    transactions here take the database's write lock when they begin (IMMEDIATE mode)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{PhotoHash._meta.db_table}" IN EXCLUSIVE MODE')


# --- The index each process keeps ------------------------------------------------------------


@dataclass(frozen=True)
class IndexState:
    size: int  # hashes held
    nbytes: int
    cursor: int  # every row up to this id has been read
    floor: datetime  # rows of visits before this were not loaded
    loaded_at: datetime
    read_seconds: float  # the last load: reading the hashes from the database
    sort_seconds: float  # and sorting them


class ProcessIndex:
    """The hashes of the `PhotoHash` rows of places and people visited since `floor` (forms
    are compared within their household, from the database), in memory, brought up to date on
    `refresh`. One per process (`INDEX`); the lock serialises threads of an ASGI worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: HammingIndex | None = None
        self._cursor = 0
        self._floor = timezone.now()
        self._loaded_at = timezone.now()
        self._timings = (0.0, 0.0)

    def refresh(self, now: datetime | None = None) -> IndexState:
        """Load the index on first use or when due, else read the rows added since."""
        now = now or timezone.now()
        with self._lock:
            if self._index is None or now - self._loaded_at > RELOAD_AFTER or now < self._loaded_at:
                self._load(now)
            else:
                self._catch_up()
            return self._state()

    def state(self) -> IndexState | None:
        with self._lock:
            return self._state() if self._index is not None else None

    def _state(self) -> IndexState:
        assert self._index is not None
        return IndexState(
            size=len(self._index),
            nbytes=self._index.nbytes,
            cursor=self._cursor,
            floor=self._floor,
            loaded_at=self._loaded_at,
            read_seconds=self._timings[0],
            sort_seconds=self._timings[1],
        )

    def _load(self, now: datetime) -> None:
        floor = now - timedelta(days=settings.PHASH_LOOKBACK_DAYS) - WINDOW_MARGIN
        # The top id first: every row up to it has committed (appends commit in id order), so
        # the rows read next hold all of them, and the next catch-up starts after it.
        top = PhotoHash.objects.aggregate(top=Max("id"))["top"] or 0
        rows = PhotoHash.objects.filter(visited_at__gte=floor, id__lte=top, kind__in=PLACE_KINDS)
        began = time.perf_counter()
        hashes = _hash_array(rows)
        read = time.perf_counter()
        self._index = HammingIndex(hashes)
        self._timings = (read - began, time.perf_counter() - read)
        self._cursor, self._floor, self._loaded_at = top, floor, now
        logger.info(
            "near-duplicate index loaded: %d hashes, %d bytes, read in %.1f s, sorted in %.1f s",
            len(hashes),
            self._index.nbytes,
            *self._timings,
        )

    def _catch_up(self) -> None:
        assert self._index is not None
        added = PhotoHash.objects.filter(id__gt=self._cursor, kind__in=PLACE_KINDS)
        new = list(added.order_by("id").values_list("id", "phash"))
        if new:
            self._index.add(np.array([h for _, h in new], dtype=np.int64))
            self._cursor = new[-1][0]

    def candidates(self, queries: Iterable[int], radius: int) -> dict[int, int]:
        """Stored hashes (signed) within `radius` of any query, with the smallest distance."""
        found: dict[int, int] = {}
        with self._lock:
            assert self._index is not None, "refresh() first"
            for query in queries:
                hits, distances = self._index.search(query, radius)
                for value, d in zip(hits.view(np.int64).tolist(), distances.tolist(), strict=True):
                    found[value] = min(d, found.get(value, 64))
        return found

    def forget(self) -> None:
        """Drop the index: the next refresh loads it again (a restart, for tests)."""
        with self._lock:
            self._index = None
            self._cursor = 0


INDEX = ProcessIndex()


def _hash_array(rows: QuerySet[PhotoHash]) -> np.ndarray:
    """The `phash` of `rows` as an int64 array, with no Python object per row. PostgreSQL
    packs the hashes into one bytea (`string_agg(int8send(phash))`, 80 MB for 10 million, a
    bytea holds up to 1 GB) that numpy reads as it is. A binary COPY arrives one message a
    row, and psycopg's loop over 200,000 of them took 4 s on this machine."""
    if connection.vendor != "postgresql":
        values = rows.values_list("phash", flat=True).iterator(chunk_size=10_000)
        return np.fromiter(values, dtype=np.int64)
    sql, params = rows.values("phash").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT string_agg(int8send(t.phash), ''::bytea) FROM ({sql}) t", params)
        packed = cursor.fetchone()[0]
    if not packed:
        return np.empty(0, dtype=np.int64)
    return np.frombuffer(packed, dtype=">i8").astype(np.int64)


# --- The search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The closest photo of another visit (ties: the earliest visit, then the lowest photo
    id), the limit it met and where and when it was used."""

    photo_id: str  # ours
    distance: int
    max_distance: int
    other_photo_id: str
    other_visit_id: str | None
    other_village_visit_id: str | None
    other_visited_at: datetime
    other_village_id: str
    same_household: bool


def pair_limit(kind: str, other_kind: str, *, same_household: bool) -> int | None:
    """How many bits apart two photos may be and still count as one reused photo; None when
    the pair is not compared at all (forms of different households)."""
    if kind in PLACE_KINDS and other_kind in PLACE_KINDS:
        return settings.PHASH_MAX_DISTANCE
    if same_household:
        return settings.PHASH_MAX_DISTANCE_FORMS
    return None


_MATCH_FIELDS = (
    "photo_id",
    "visit_id",
    "village_visit_id",
    "household_id",
    "village_id",
    "kind",
    "phash",
    "visited_at",
)
# At most this many rows of candidates a visit: a picture thousands of visits share (a black
# frame, a covered lens) is flagged all the same, against the earliest of these.
MAX_CANDIDATE_ROWS = 1000


def visit_matches(visit: Visit, photos: Iterable[Photo]) -> list[Match]:
    """For each of the household visit's photos with a hash, the closest photo of another
    visit within the limits above, if any. Three queries a visit however many photos: the
    household's own rows, the rows the index has not read yet, the rows of the candidates."""
    hashed = [p for p in photos if p.phash]
    if not hashed:
        return []
    lookback = timedelta(days=settings.PHASH_LOOKBACK_DAYS)
    around = (
        PhotoHash.objects.filter(
            visited_at__gte=visit.visited_at - lookback,
            visited_at__lte=visit.visited_at + lookback,
        )
        .exclude(visit_id=visit.pk)
        .select_related("photo")
        .only("photo__sha256", *_MATCH_FIELDS)
        .order_by("visited_at", "photo_id")
    )
    ours = {p.pk: [signed(h) for h in (p.phash, p.phash_rotated) if h] for p in hashed}
    rows = list(around.filter(household_id=visit.household_id))
    nearby = {p.pk: _household_pairs(p, ours[p.pk], rows) for p in hashed}
    places = [p for p in hashed if p.kind in PLACE_KINDS]
    if places:
        for photo_id, found in _scope_pairs(places, ours, visit, around).items():
            nearby[photo_id].extend(found)
    matches = []
    for photo in hashed:
        pairs = [pair for pair in nearby[photo.pk] if pair.row.photo.sha256 != photo.sha256]
        if pairs:  # (the same bytes: `same_photo_elsewhere` says so already)
            best = min(pairs, key=lambda pair: (pair.distance, *_order(pair.row)))
            matches.append(_match(photo, best))
    return matches


@dataclass(frozen=True)
class Pair:
    distance: int
    row: PhotoHash  # the other photo's
    limit: int  # the limit it met
    same_household: bool


def _order(row: PhotoHash) -> tuple:
    """Ties go to the earliest visit, then the lowest photo id: the query's order too."""
    return (row.visited_at, str(row.photo_id))


def _match(photo: Photo, pair: Pair) -> Match:
    row = pair.row
    return Match(
        photo_id=str(photo.pk),
        distance=pair.distance,
        max_distance=pair.limit,
        other_photo_id=str(row.photo_id),
        other_visit_id=str(row.visit_id) if row.visit_id else None,
        other_village_visit_id=str(row.village_visit_id) if row.village_visit_id else None,
        other_visited_at=row.visited_at,
        other_village_id=row.village_id,
        same_household=pair.same_household,
    )


def _household_pairs(photo: Photo, ours: list[int], rows: list[PhotoHash]) -> list[Pair]:
    """The household's own photos (a few a quarter), compared here in full."""
    pairs = []
    for row in rows:
        limit = pair_limit(photo.kind, row.kind, same_household=True)
        d = min(distance(h, row.phash) for h in ours)
        if limit is not None and d <= limit:
            pairs.append(Pair(d, row, limit, same_household=True))
    return pairs


def _scope_pairs(
    places: list[Photo], ours: dict[uuid.UUID, list[int]], visit: Visit, around: QuerySet
) -> dict[uuid.UUID, list[Pair]]:
    """Photos of places and people of every other household and village in scope: the index
    proposes the hashes within the limit, the database says which visits used them."""
    limit = settings.PHASH_MAX_DISTANCE
    state = INDEX.refresh()
    old = visit.visited_at - timedelta(days=settings.PHASH_LOOKBACK_DAYS) < state.floor
    candidates = {}
    for photo in places:
        found = INDEX.candidates(ours[photo.pk], limit)
        if old:
            for value, d in _older_hashes(ours[photo.pk], limit, visit, state.floor).items():
                found[value] = min(d, found.get(value, 64))
        candidates[photo.pk] = found
    values = set().union(*candidates.values())
    if not values:
        return {}
    in_scope = around.filter(
        village__code__startswith=scope_prefix(visit.village_id),
        kind__in=PLACE_KINDS,
        phash__in=values,
    )
    # (The household's own rows were compared in full already.)
    rows = in_scope.exclude(household_id=visit.household_id)[:MAX_CANDIDATE_ROWS]
    pairs: dict[uuid.UUID, list[Pair]] = {photo.pk: [] for photo in places}
    for row in rows:
        for photo in places:
            apart = candidates[photo.pk].get(row.phash)
            if apart is not None:
                pairs[photo.pk].append(Pair(apart, row, limit, same_household=False))
    return pairs


def _older_hashes(ours: list[int], limit: int, visit: Visit, floor: datetime) -> dict[int, int]:
    """The part of an old visit's look-back before the index's window, from the database."""
    lookback = timedelta(days=settings.PHASH_LOOKBACK_DAYS)
    rows = PhotoHash.objects.filter(
        visited_at__gte=visit.visited_at - lookback,
        visited_at__lt=floor,
        kind__in=PLACE_KINDS,
        village__code__startswith=scope_prefix(visit.village_id),
    )
    stored = as_unsigned(_hash_array(rows))
    found: dict[int, int] = {}
    for query in ours:
        distances = np.bitwise_count(stored ^ as_unsigned(np.array([query]))[0])
        near = distances <= limit
        for value, d in zip(
            stored[near].view(np.int64).tolist(), distances[near].tolist(), strict=True
        ):
            found[value] = min(int(d), found.get(value, 64))
    return found


def photo_report(photo_id: str) -> dict:
    """What `visit_matches` finds for one household visit photo, as plain data."""
    use = (
        VisitPhoto.objects.select_related("photo", "visit")
        .filter(photo_id=photo_id, visit__isnull=False)
        .first()
    )
    if use is None or use.visit is None:
        return {"photo": photo_id, "error": "not a household visit photo"}
    if not use.photo.phash:
        return {"photo": photo_id, "error": "not processed yet"}
    found = visit_matches(use.visit, [use.photo])
    match = found[0] if found else None
    return {
        "photo": photo_id,
        "visit": str(use.visit_id),
        "match": None
        if match is None
        else {
            "distance": match.distance,
            "max_distance": match.max_distance,
            "other_photo": match.other_photo_id,
            "other_visit": match.other_visit_id,
            "other_village_visit": match.other_village_visit_id,
            "other_visited_at": match.other_visited_at.isoformat(),
            "other_village": match.other_village_id,
            "same_household": match.same_household,
        },
    }
