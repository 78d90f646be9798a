"""Demo visits for `seed_demo` (a seeder): three quarters of a living county.

2026Q1 and Q2 are ~95 % visited, Q3 (the quarter offices read in November) ~85 % with some
towns well behind others. Every visit carries its four photos: small generated JPEGs (240x180)
with EXIF capture time and GPS near the household's home. A few visits are made suspicious on
purpose (photos without EXIF, taken far from home or days before, the same photo or a
near-copy reused, income copied from last quarter or entered year-to-date, impossible travel)
so the fabrication flags, the risk list and the flagged-visit pages have something to show.

Two paths write the same tables:
- the real one (`media.services.photo_receive`, `media.processing.photo_process`,
  `visits.services.visit_submit` and `village_visit_submit`, with `now=` inside each quarter's
  window) for the three demo
  helper logins' households, a sample of others and every weak-village visit: all checks run;
- a bulk one for the rest (thousands of visits on SQLite in seconds): photos are made from a
  pool of generated images (one encode and one `images.make_derivatives` per image; each photo
  gets its own EXIF block spliced in, so its bytes and SHA-256 are its own, and no two photos
  of a village share an image), rows are bulk-inserted, and the flag checks
  (`visits.flags`) run on every visit made suspicious on purpose. The others
  are built to raise none (positions within ~100 m of home, photos taken at the visit).

Large builds (`--households` above `DEMO_VISITS_MAX_HOUSEHOLDS`, the benchmarks' millions)
get no visits: the benchmarks add their own, and photos for a million households would take
hours.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models
from PIL import Image

from accounts.models import User
from accounts.roles import Role
from common.quarters import SHANGHAI, Quarter, window_for
from demo.register import HELPER_LOGINS, BulkWriter, DemoContext, next_id
from media import images
from media.models import ContentType, Photo, PhotoKind, PhotoStatus, original_path
from media.processing import photo_process
from media.services import photo_receive
from register.models import Household, Pairing, UnitPairing
from visits import flags as flag_checks
from visits.models import INCOME_CATEGORIES, QuarterIncome, Visit, VisitPhoto
from visits.services import (
    Income,
    Position,
    VillageVisitInput,
    VisitInput,
    village_visit_submit,
    visit_submit,
)

MAX_HOUSEHOLDS = 10_000
KINDS = ("location", "scene", "passbook", "handbook")
SIZE = (240, 180)
# (quarter, share of paired households visited: town shares are drawn around it)
QUARTERS: list[tuple[Quarter, float, float]] = [
    (Quarter(2026, 1), 0.93, 0.985),
    (Quarter(2026, 2), 0.92, 0.985),
    (Quarter(2026, 3), 0.70, 0.96),
]
REAL_SAMPLE = 0.004  # of the other households, through the real services as well
SUSPICIOUS = 0.05  # of visits, made suspicious on purpose
TRICKS = ("no_exif", "far", "early_photo", "same_photo", "near_copy", "unchanged", "cumulative",
          "travel")  # fmt: skip
# Near a home means within ~100 m: far below the 500 m flag limit.
JITTER_DEG = 0.0008


# --- Photos -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseImage:
    """One generated picture: its JPEG without metadata, its derivatives and hashes."""

    jpeg: bytes
    display: str  # stored derivative names, shared by the photos made from this picture
    thumbnail: str
    phash: str
    phash_mirrored: str


def _picture(rng: random.Random) -> Image.Image:
    # A smooth random field: distinct pictures are ~30 bits apart in perceptual hash.
    small = Image.frombytes("RGB", (8, 6), rng.randbytes(8 * 6 * 3))
    return small.resize(SIZE, Image.Resampling.BICUBIC)


def make_pool(rng: random.Random, count: int) -> list[BaseImage]:
    """`count` pictures pairwise further apart in perceptual hash than the flag limit."""
    pool: list[BaseImage] = []
    hashes: list[int] = []
    margin = settings.PHASH_MAX_DISTANCE + 4
    while len(pool) < count:
        out = io.BytesIO()
        _picture(rng).save(out, format="JPEG", quality=80)
        jpeg = out.getvalue()
        made = images.make_derivatives(io.BytesIO(jpeg))
        ours = (int(made.phash, 16), int(made.phash_mirrored, 16))
        if any((h ^ o).bit_count() <= margin for h in hashes for o in ours):
            continue
        hashes.append(ours[0])
        name = f"demo-{len(pool):04d}.jpg"
        display = save_file(f"photos-display/demo/{name}", made.display)
        thumb = save_file(f"photos-thumb/demo/{name}", made.thumbnail)
        pool.append(BaseImage(jpeg, display, thumb, made.phash, made.phash_mirrored))
    return pool


def _gps_value(value: Decimal) -> tuple[tuple[int, int], ...]:
    """Degrees, minutes 0, seconds to 1/10000: exact for six decimal places of a degree."""
    degrees = int(value)
    return (degrees, 1), (0, 1), (int((value - degrees) * 36_000_000), 10000)


def _ifd(entries: list[tuple[int, int, int, bytes]], at: int) -> tuple[bytes, bytes]:
    """One TIFF directory at offset `at`: (directory, its out-of-line data that follows it)."""
    data_at = at + 2 + 12 * len(entries) + 4
    head, data = [struct.pack("<H", len(entries))], b""
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            head.append(struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0"))
        else:
            head.append(struct.pack("<HHII", tag, kind, count, data_at + len(data)))
            data += value + b"\0" * (len(value) % 2)
    return b"".join(head) + b"\0\0\0\0", data


def exif_block(taken: datetime | None, lat: Decimal | None, lon: Decimal | None) -> bytes:
    """The APP1 segment a phone writes: DateTimeOriginal with its offset, and GPS (WGS-84).

    Written by hand (a few struct.pack calls): Pillow's `Exif.tobytes()` costs milliseconds,
    which for thirty thousand photos is most of the demo's build."""
    ascii_, rational, long_ = 2, 5, 4
    exif_entries, gps_entries = [], []
    if taken is not None:
        text = taken.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S").encode() + b"\0"
        exif_entries = [(0x9003, ascii_, 20, text), (0x9011, ascii_, 7, b"+08:00\0")]
    if lat is not None and lon is not None:

        def triple(value: Decimal) -> bytes:
            return b"".join(struct.pack("<II", n, d) for n, d in _gps_value(value))

        gps_entries = [
            (0x0000, 1, 4, bytes([2, 3, 0, 0])),
            (0x0001, ascii_, 2, b"N\0"),
            (0x0002, rational, 3, triple(lat)),
            (0x0003, ascii_, 2, b"E\0"),
            (0x0004, rational, 3, triple(lon)),
        ]
    n0 = int(bool(exif_entries)) + int(bool(gps_entries))
    at = 8 + 2 + 12 * n0 + 4
    pointers, blocks = [], b""
    for tag, entries in ((0x8769, exif_entries), (0x8825, gps_entries)):
        if entries:
            pointers.append((tag, long_, 1, struct.pack("<I", at + len(blocks))))
            directory, data = _ifd(entries, at + len(blocks))
            blocks += directory + data
    ifd0, _ = _ifd(pointers, 8)
    payload = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + blocks
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def photo_bytes(base: BaseImage, taken: datetime | None, lat, lon) -> bytes:
    if taken is None and lat is None:
        return base.jpeg  # a forwarded chat image: no metadata at all
    # Right after SOI, where phones put it.
    return base.jpeg[:2] + exif_block(taken, lat, lon) + base.jpeg[2:]


def stored_degrees(value: Decimal) -> Decimal:
    """What EXIF reading gives back for a coordinate written by `_gps_value`: the same six
    decimals (seconds to 1/10000 are exact for a millionth of a degree)."""
    return value.quantize(Decimal("0.000001"))


def save_file(name: str, data: bytes) -> str:
    """Store a new file under `name` (or a free name next to it); returns the name used.

    On the local file storage, written directly: `Storage.save` costs a few milliseconds a
    file (existence checks, temporary names), which tens of thousands of photos feel."""
    path_of = getattr(default_storage, "path", None)
    if path_of is None:
        return default_storage.save(name, ContentFile(data))
    path = Path(path_of(name))
    if path.parent not in _made_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        _made_dirs.add(path.parent)
    try:
        with open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        return default_storage.save(name, ContentFile(data))
    mode = getattr(default_storage, "file_permissions_mode", None)
    if mode is not None:
        os.chmod(path, mode)
    return name


_made_dirs: set[Path] = set()


def _converter(f: models.Field):
    """How a value of `f` goes to the database (the part of `get_db_prep_save` these tables
    need, without its per-value cost: it was most of the bulk insert's time)."""
    target = f.target_field if f.is_relation else f
    if isinstance(target, models.UUIDField) and not connection.features.has_native_uuid_field:
        return lambda v: v.hex if v is not None else None
    if isinstance(f, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(f, models.FileField):
        return lambda v: v.name or "" if v else ""
    return None


def insert(writer: BulkWriter, objs: list[models.Model]) -> int:
    """Bulk-insert model instances through seed_demo's writer (COPY or executemany)."""
    if not objs:
        return 0
    fields = list(objs[0]._meta.concrete_fields)
    names = [f.attname for f in fields]
    plan = [(f.attname, _converter(f)) for f in fields]
    rows = (
        tuple(conv(getattr(obj, name)) if conv else getattr(obj, name) for name, conv in plan)
        for obj in objs
    )
    return writer.write(type(objs[0]), names, rows)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- Plan -------------------------------------------------------------------------------------


@dataclass
class Home:
    id: int
    village: str
    town: str
    lat: Decimal
    lon: Decimal
    members: int
    annual_pp: Decimal  # the household's income level, per person and year
    helper: int = 0
    pairing: int = 0
    pairing_start: object = None


PhotoPlan = tuple[str, int, bytes, datetime | None, Decimal | None, Decimal | None]


@dataclass
class Made:
    """What a visit left behind, for the next quarter's tricks."""

    visit: uuid.UUID
    amounts: dict[str, Decimal]
    scene: PhotoPlan  # (kind, picture, bytes, EXIF time, EXIF lat, EXIF lon)


@dataclass
class Seeder:
    ctx: DemoContext
    rng: random.Random
    helper_users: dict[int, int] = field(default_factory=dict)
    pool: list[BaseImage] = field(default_factory=list)
    next_base: dict[str, int] = field(default_factory=dict)  # village -> counter
    village_offset: dict[str, int] = field(default_factory=dict)
    history: dict[tuple[int, Quarter], Made] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def base_for(self, village: str) -> int:
        n = self.next_base.get(village, 0)
        self.next_base[village] = n + 1
        offset = self.village_offset.setdefault(village, self.rng.randrange(len(self.pool)))
        return (offset + n) % len(self.pool)


def _homes(rng: random.Random) -> dict[int, Home]:
    homes = {}
    rows = Household.objects.filter(status__in=["active", "returned"]).values_list(
        "id", "village_id", "home_lat", "home_lon", "members"
    )
    for hid, village, lat, lon, members in rows.order_by("id"):
        level = Decimal(rng.triangular(4500, 16000, 8000)).quantize(Decimal("1"))
        homes[hid] = Home(hid, village, village[:9] + "000", lat, lon, members, level)
    return homes


def _amounts(rng: random.Random, home: Home) -> dict[str, Decimal]:
    quarter = home.annual_pp * home.members / 4 * Decimal(str(rng.uniform(0.85, 1.15)))
    shares = {"wages": 0.55, "operating": 0.14, "property": 0.03, "transfers": 0.28}
    out = {}
    for key, share in shares.items():
        value = quarter * Decimal(str(share * rng.uniform(0.6, 1.4)))
        if key == "operating" and rng.random() < 0.08:
            value = -value / 3  # a bad season: operating income may be negative
        out[key] = value.quantize(Decimal("0.01"))
    return out


def _jitter(rng: random.Random, value: Decimal, deg: float = JITTER_DEG) -> Decimal:
    return (value + Decimal(str(rng.uniform(-deg, deg)))).quantize(Decimal("0.000001"))


# --- The seeder -------------------------------------------------------------------------------


def seed(*, context: DemoContext) -> dict[str, int]:
    """Three quarters of household and weak-village visits with photos and flags."""
    limit = getattr(settings, "DEMO_VISITS_MAX_HOUSEHOLDS", MAX_HOUSEHOLDS)
    if context.households > limit:
        context.log(f"visits: skipped ({context.households} households > {limit})")
        return {"visits": 0}
    rng = random.Random(context.seed * 7919 + 1)
    s = Seeder(ctx=context, rng=rng)
    homes = _homes(rng)
    _pairings(homes)
    _helper_logins(s, {h.helper for h in homes.values() if h.helper})
    per_village = defaultdict(int)
    for home in homes.values():
        per_village[home.village] += 1
    # Every photo of a village gets its own picture, with room for the reused ones.
    s.pool = make_pool(rng, max(per_village.values(), default=1) * len(QUARTERS) * 4 + 16)
    demo_helpers = set(
        User.objects.filter(username__in=HELPER_LOGINS).values_list("helper_id", flat=True)
    )
    towns = sorted({h.town for h in homes.values()})
    for quarter, low, high in QUARTERS:
        share = {town: rng.uniform(low, high) for town in towns}
        chosen = [h for h in homes.values() if rng.random() < share[h.town]]
        real = [h for h in chosen if h.helper in demo_helpers or rng.random() < REAL_SAMPLE]
        real_ids = {h.id for h in real}
        bulk = [h for h in chosen if h.id not in real_ids]
        times = _visit_times(rng, quarter, chosen)
        for home in real:
            _real_visit(s, quarter, home, times[home.id])
        _bulk_visits(s, quarter, bulk, times)
        context.log(f"visits {quarter}: {len(real)} real, {len(bulk)} bulk")
    s.counts["village_visits"] = _village_visits(s)
    return dict(s.counts)


def _pairings(homes: dict[int, Home]) -> None:
    # 2026 pairings are stable in the demo register: the open one holds all year.
    rows = Pairing.objects.filter(end_date__isnull=True, household_id__in=list(homes))
    for pid, hid, helper, start in rows.values_list(
        "id", "household_id", "helper_id", "start_date"
    ):
        homes[hid].pairing, homes[hid].helper, homes[hid].pairing_start = pid, helper, start
    for hid in [h for h, home in homes.items() if not home.pairing]:
        del homes[hid]


def _helper_logins(s: Seeder, helper_ids: set[int]) -> None:
    """Every visiting helper has an app login (its phone number), with the demo password."""
    from register.models import Helper

    have = dict(User.objects.filter(helper_id__in=helper_ids).values_list("helper_id", "id"))
    password = User.objects.filter(username=HELPER_LOGINS[0]).values_list("password", flat=True)
    password = password.first() or "!"
    new = [
        User(
            username=f"h{h.phone}",
            first_name=h.name,
            role=Role.HELPER,
            region_id=h.region_id,
            helper=h,
            phone=h.phone,
            password=password,
        )
        for h in Helper.objects.filter(pk__in=helper_ids - set(have)).order_by("id")
    ]
    User.objects.bulk_create(new, batch_size=1000)
    s.helper_users = dict(
        User.objects.filter(helper_id__in=helper_ids).values_list("helper_id", "id")
    )
    s.counts["helper_logins"] = len(new)


def _visit_times(rng: random.Random, quarter: Quarter, homes: list[Home]) -> dict[int, datetime]:
    """A working-hours moment in the window for each visit; a helper's visits are at least
    40 minutes apart (neighbours, not teleports)."""
    window = window_for(quarter)
    days = (window.closes_at - window.opens_at).days
    by_helper: dict[int, list[Home]] = defaultdict(list)
    for home in homes:
        by_helper[home.helper].append(home)
    out = {}
    for helper_homes in by_helper.values():
        day = window.opens_at + timedelta(days=rng.randrange(days - 2))
        moment = day.replace(hour=8, minute=30) + timedelta(minutes=rng.randrange(120))
        for home in helper_homes:
            out[home.id] = moment + timedelta(seconds=rng.randrange(60))
            moment += timedelta(minutes=rng.randrange(40, 90))
    return out


def _trick(s: Seeder, quarter: Quarter, home: Home) -> str | None:
    if s.rng.random() >= SUSPICIOUS:
        return None
    prev = s.history.get((home.id, quarter.shift(-1)))
    options = ["no_exif", "far", "early_photo", "travel"]
    if prev is not None:
        options += ["same_photo", "near_copy", "unchanged", "unchanged"]
    if quarter.q == 3 and prev is not None and (home.id, quarter.shift(-2)) in s.history:
        options += ["cumulative", "cumulative"]
    return s.rng.choice(options)


@dataclass
class Planned:
    home: Home
    quarter: Quarter
    visit_id: uuid.UUID
    visited_at: datetime
    lat: Decimal
    lon: Decimal
    amounts: dict[str, Decimal]
    photos: list[PhotoPlan]
    trick: str | None


def _plan(s: Seeder, quarter: Quarter, home: Home, visited_at: datetime) -> Planned:
    rng = s.rng
    trick = _trick(s, quarter, home)
    prev = s.history.get((home.id, quarter.shift(-1)))
    lat, lon = _jitter(rng, home.lat), _jitter(rng, home.lon)
    amounts = _amounts(rng, home)
    if trick == "unchanged" and prev is not None:
        amounts = dict(prev.amounts)
    elif trick == "cumulative":
        first = s.history[(home.id, quarter.shift(-2))].amounts
        amounts = {k: first[k] + prev.amounts[k] for k in INCOME_CATEGORIES}
    elif trick == "travel":
        # Entered from the city, a hundred kilometres away, minutes after the previous household.
        lat, lon = home.lat + Decimal("1.0"), home.lon
    photos = []
    for i, kind in enumerate(KINDS):
        base = s.base_for(home.village)
        taken = visited_at + timedelta(minutes=i * 3 + rng.randrange(3))
        plat, plon = _jitter(rng, home.lat), _jitter(rng, home.lon)
        if trick == "no_exif" and kind in ("scene", "passbook"):
            taken = plat = plon = None
        elif trick == "far" and kind in ("location", "scene"):
            plat, plon = home.lat + Decimal("0.05"), home.lon - Decimal("0.04")
            lat, lon = plat, plon
        elif trick == "early_photo" and kind == "handbook":
            taken = visited_at - timedelta(days=rng.randrange(20, 60))
        elif trick == "near_copy" and kind == "scene" and prev is not None:
            base = prev.scene[1]  # last quarter's picture, with fresh EXIF
        taken = taken.replace(microsecond=0) if taken else None
        plat = stored_degrees(plat) if plat is not None else None
        plon = stored_degrees(plon) if plon is not None else None
        data = photo_bytes(s.pool[base], taken, plat, plon)
        if trick == "same_photo" and kind == "scene" and prev is not None:
            photos.append(prev.scene)  # the very same file as last quarter
            continue
        photos.append((kind, base, data, taken, plat, plon))
    return Planned(home, quarter, _uuid(rng), visited_at, lat, lon, amounts, photos, trick)


def _remember(s: Seeder, p: Planned) -> None:
    scene = next(ph for ph in p.photos if ph[0] == "scene")
    s.history[(p.home.id, p.quarter)] = Made(p.visit_id, p.amounts, scene)
    s.counts["visits"] += 1
    s.counts["photos"] += 4
    if p.trick:
        s.counts["suspicious_visits"] += 1


NOTES = ["", "", "", "户主在家,家庭情况稳定", "已核对一折通本年度发放记录", "协助申请临时救助",
         "子女在外务工,收入有所增加", "户主住院,已告知医保报销政策"]  # fmt: skip


def _real_visit(s: Seeder, quarter: Quarter, home: Home, visited_at: datetime) -> None:
    """Upload four photos and submit the visit through the services, as the phone would."""
    p = _plan(s, quarter, home, visited_at)
    user = User.objects.select_related("helper").get(pk=s.helper_users[home.helper])
    ids = []
    for kind, _base, data, _t, _la, _lo in p.photos:
        photo_id = _uuid(s.rng)
        photo_receive(
            photo_id=photo_id, file=ContentFile(data, name=f"{kind}.jpg"), kind=kind, user=user
        )
        photo_process(photo_id=photo_id)  # the background task, run now (it is idempotent)
        ids.append(photo_id)
    window = window_for(quarter)
    now = min(visited_at + timedelta(hours=3), window.closes_at - timedelta(minutes=1))
    visit_submit(
        user=user,
        data=VisitInput(
            id=p.visit_id,
            household_id=home.id,
            visited_at=visited_at,
            position=Position(lat=p.lat, lon=p.lon, accuracy_m=Decimal("8.0")),
            photo_ids=tuple(ids),
            income=Income(**p.amounts),
            passbook_checked=s.rng.random() < 0.9,
            notes=s.rng.choice(NOTES),
        ),
        now=now,
    )
    Photo.objects.filter(pk__in=ids).update(created_at=visited_at + timedelta(minutes=20))
    _remember(s, p)
    s.counts["real_visits"] += 1


def _bulk_visits(
    s: Seeder, quarter: Quarter, homes: list[Home], times: dict[int, datetime]
) -> None:
    planned = [_plan(s, quarter, home, times[home.id]) for home in homes]
    photos, visits, uses, incomes = [], [], [], []
    created = {}
    for p in planned:
        user_id = s.helper_users[p.home.helper]
        entered = p.visited_at + timedelta(hours=2)
        created[p.visit_id] = entered
        visit = Visit(
            id=p.visit_id,
            household_id=p.home.id,
            village_id=p.home.village,
            helper_id=p.home.helper,
            pairing_id=p.home.pairing,
            submitted_by_id=user_id,
            year=quarter.year,
            quarter=quarter.q,
            visited_at=p.visited_at,
            lat=p.lat,
            lon=p.lon,
            raw_lat=p.lat,
            raw_lon=p.lon,
            accuracy_m=Decimal("10.0"),
            coord_system="wgs84",
            passbook_checked=s.rng.random() < 0.9,
            notes=s.rng.choice(NOTES),
            content_hash=hashlib.sha256(p.visit_id.bytes).hexdigest(),
            created_at=entered,
            **p.amounts,
        )
        visits.append(visit)
        for kind, base, data, taken, plat, plon in p.photos:
            photo = Photo(
                id=_uuid(s.rng),
                uploaded_by_id=user_id,
                kind=kind,
                region_id=p.home.village,
                sha256=hashlib.sha256(data).hexdigest(),
                size_bytes=len(data),
                content_type=ContentType.JPEG,
                width=SIZE[0],
                height=SIZE[1],
                taken_at=taken,
                exif_lat=plat,
                exif_lon=plon,
                phash=s.pool[base].phash,
                phash_rotated=s.pool[base].phash_mirrored,
                display=s.pool[base].display,
                thumbnail=s.pool[base].thumbnail,
                status=PhotoStatus.PROCESSED,
                created_at=p.visited_at + timedelta(minutes=20),
            )
            photo.original.name = save_file(original_path(photo, ""), data)
            photos.append(photo)
            uses.append(VisitPhoto(photo=photo, visit=visit, kind=kind))
        incomes.append(
            QuarterIncome(
                household_id=p.home.id,
                year=quarter.year,
                quarter=quarter.q,
                visit=visit,
                current=True,
                recorded_at=entered,
                **p.amounts,
            )
        )
        _remember(s, p)
    writer = s.ctx.writer
    for objs in (photos, visits):
        insert(writer, objs)
    # Serial ids: taken past the current maximum, as seed_demo does for its own tables.
    for model, objs in ((VisitPhoto, uses), (QuarterIncome, incomes)):
        first = next_id(model)
        for n, obj in enumerate(objs):
            obj.pk = first + n
        insert(writer, objs)
    writer.finish()
    # The checks a submission runs, on every visit made suspicious on purpose.
    window = window_for(quarter)
    by_visit = defaultdict(list)
    for use in uses:
        by_visit[use.visit.pk].append(use.photo)
    households = Household.objects.in_bulk([p.home.id for p in planned if p.trick])
    for p, visit in zip(planned, visits, strict=True):
        if not p.trick:
            continue
        visit.household = households[p.home.id]
        photos = by_visit[visit.pk]
        found = flag_checks.flags_at_submit(visit, photos, window, None)
        found += flag_checks.flags_against_others(visit, photos)
        s.counts["flags"] += flag_checks.raise_flags(found)


def _village_visits(s: Seeder) -> int:
    """Pairing units visit their weak villages (~85 % a quarter), through the real service."""
    from register.models import Unit

    made = 0
    pairings = list(UnitPairing.objects.filter(end_date__isnull=True).order_by("weak_village_id"))
    users = {}
    for unit in Unit.objects.filter(pk__in={p.unit_id for p in pairings}).order_by("id"):
        user = User.objects.filter(role=Role.UNIT, unit=unit).first()
        if user is None:
            user = User.objects.create(
                username=f"unit{unit.pk:03d}",
                first_name=f"{unit.name}挂钩联络员",
                role=Role.UNIT,
                region_id=unit.region_id,
                unit=unit,
                password="!",
            )
        users[unit.pk] = user
    for quarter, _low, _high in QUARTERS:
        window = window_for(quarter)
        for pairing in pairings:
            if s.rng.random() > 0.85:
                continue
            village = pairing.weak_village_id  # a weak village's key is its region code
            at = window.opens_at + timedelta(days=s.rng.randrange(15), hours=9)
            lat = Decimal("32.31") + Decimal(str(s.rng.uniform(-0.2, 0.2))).quantize(
                Decimal("0.000001")
            )
            lon = Decimal("121.18") + Decimal(str(s.rng.uniform(-0.25, 0.25))).quantize(
                Decimal("0.000001")
            )
            user = users[pairing.unit_id]
            ids = []
            for kind in (PhotoKind.LOCATION, PhotoKind.SCENE):
                base = s.base_for(village)
                data = photo_bytes(s.pool[base], at, stored_degrees(lat), stored_degrees(lon))
                photo_id = _uuid(s.rng)
                photo_receive(
                    photo_id=photo_id, file=ContentFile(data, name="p.jpg"), kind=kind, user=user
                )
                photo_process(photo_id=photo_id)
                ids.append(photo_id)
            income = Decimal(str(s.rng.uniform(80_000, 600_000))).quantize(Decimal("0.01"))
            village_visit_submit(
                user=user,
                data=VillageVisitInput(
                    id=_uuid(s.rng),
                    village=village,
                    visited_at=at,
                    position=Position(lat=lat, lon=lon),
                    photo_ids=tuple(ids),
                    collective_income=income,
                    notes="了解村集体经济项目进展",
                ),
                now=at + timedelta(hours=4),
            )
            made += 1
    return made
