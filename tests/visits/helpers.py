"""Visits' test data: photos made with Pillow at test time (EXIF time and GPS as phones write
them) and stored through media's real intake, and visit payloads."""

import io
import random
import uuid
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, TiffImagePlugin

from media.services import photo_receive
from tests.clock import SH, at

HOME = (Decimal("32.310000"), Decimal("121.180000"))  # the factories' household home
KINDS = ("location", "scene", "passbook", "handbook")


def _dms(value: float) -> tuple:
    deg = int(value)
    minutes = (value - deg) * 60
    secs = Fraction((minutes - int(minutes)) * 60).limit_denominator(10000)
    return (
        TiffImagePlugin.IFDRational(deg, 1),
        TiffImagePlugin.IFDRational(int(minutes), 1),
        TiffImagePlugin.IFDRational(secs.numerator, secs.denominator),
    )


def make_jpeg(
    *, taken: datetime | None = None, gps: tuple | None = None, seed: int = 0, size=(96, 72)
) -> bytes:
    """A small JPEG of random blocks (distinct seeds hash far apart), with optional EXIF."""
    rng = random.Random(seed)
    img = Image.new("RGB", size)
    block = 12
    for bx in range(0, size[0], block):
        for by in range(0, size[1], block):
            shade = rng.randrange(256)
            img.paste((shade, shade, rng.randrange(256)), (bx, by, bx + block, by + block))
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.astimezone(SH).strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9011] = "+08:00"
    if gps is not None:
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", _dms(float(gps[0])), "E", _dms(float(gps[1]))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def make_photo(user, kind: str, *, data: bytes | None = None, **jpeg_args):
    data = data if data is not None else make_jpeg(**jpeg_args)
    upload = SimpleUploadedFile("p.jpg", data, content_type="image/jpeg")
    return photo_receive(photo_id=uuid.uuid4(), file=upload, kind=kind, user=user).photo


def visit_photos(user, *, taken: datetime | None, gps=HOME, seed: int = 0) -> list:
    """One photo of each visit kind, taken at `taken` at `gps` (None: no EXIF of that kind)."""
    return [
        make_photo(user, kind, taken=taken, gps=gps, seed=seed * 10 + i)
        for i, kind in enumerate(KINDS)
    ]


def payload(
    household,
    photos,
    *,
    visited_at: datetime,
    income: dict | None = None,
    position: dict | None = None,
    **extra,
) -> dict:
    return {
        "id": str(extra.pop("id", uuid.uuid4())),
        "household_id": household.pk,
        "visited_at": visited_at.isoformat(),
        "position": position or {"lat": "32.310100", "lon": "121.180100", "accuracy_m": "8.0"},
        "photo_ids": [str(p.pk) for p in photos],
        "income": income
        or {"wages": "3000.00", "operating": "-200.50", "property": "0.00", "transfers": "450.00"},
        "passbook_checked": True,
        "notes": "",
        **extra,
    }


# --- Visits submitted through the service, with processed photos ------------------------------

SUBMITTED_AT = at("2026-12-28 20:00")  # inside the Q4 2026 window
VISITED = at("2026-12-25 10:00")


def picture(seed: int) -> bytes:
    """A phone-sized photo of something: random blocks, far in hash from any other seed's."""
    return make_jpeg(size=(640, 480), seed=seed, taken=VISITED)


def helper_user(household):
    """The login of the household's paired helper (made when it has none)."""
    from accounts.models import User
    from accounts.roles import Role
    from register.models import Pairing
    from tests import factories as f

    helper = Pairing.objects.get(household=household).helper
    return User.objects.filter(helper=helper).first() or f.UserFactory(
        role=Role.HELPER, region_id=helper.region_id, helper=helper
    )


def processed_photo(user, kind: str, data: bytes):
    """An uploaded photo after media's background processing (derivatives and hashes)."""
    from media.processing import photo_process

    return photo_process(photo_id=make_photo(user, kind, data=data).pk)


def submitted_visit(household, *, visited_at: datetime = VISITED, seed: int, **given: bytes):
    """A visit with its four processed photos, submitted and checked as the phone and the
    task worker would: `given` kinds from the bytes given, the others fresh pictures. The
    photos by kind are on `.photos`."""
    from django.test import TestCase

    from visits.services import Income, Position, VisitInput, visit_submit

    user = helper_user(household)
    photos = {
        kind: processed_photo(user, kind, given.get(kind) or picture(seed * 10 + i))
        for i, kind in enumerate(KINDS)
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        made, created = visit_submit(
            user=user,
            data=VisitInput(
                id=uuid.uuid4(),
                household_id=household.pk,
                visited_at=visited_at,
                position=Position(lat=Decimal("32.310100"), lon=Decimal("121.180100")),
                photo_ids=tuple(p.pk for p in photos.values()),
                income=Income(
                    wages=Decimal("900.00"),
                    operating=Decimal("0.00"),
                    property=Decimal("0.00"),
                    transfers=Decimal("300.00"),
                ),
                passbook_checked=True,
            ),
            now=SUBMITTED_AT,
        )
    assert created
    made.photos = photos
    return made
