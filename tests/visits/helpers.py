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
from tests.clock import SH, at  # noqa: F401 (the visit tests import `at` from here)

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
