"""Photos as a phone camera writes them, made at test (or bench) time with Pillow alone: a
given size in bytes (random pixels barely compress, like a real 12 MP photo), an EXIF capture
time with its offset and, unless the photo picker stripped it, EXIF GPS."""

from __future__ import annotations

import io
import math
import random
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from PIL import Image, TiffImagePlugin

SHANGHAI = ZoneInfo("Asia/Shanghai")
BYTES_PER_PIXEL = 0.76  # random RGB pixels as JPEG at quality 85 (measured)


def _dms(value: float) -> tuple:
    deg = int(value)
    minutes = (value - deg) * 60
    secs = Fraction((minutes - int(minutes)) * 60).limit_denominator(10000)
    return (
        TiffImagePlugin.IFDRational(deg, 1),
        TiffImagePlugin.IFDRational(int(minutes), 1),
        TiffImagePlugin.IFDRational(secs.numerator, secs.denominator),
    )


def camera_jpeg(
    *,
    size_bytes: int,
    taken: datetime | None,
    gps: tuple[float, float] | None,
    seed: int = 0,
) -> bytes:
    """A JPEG of about `size_bytes` (4:3), north-east hemisphere GPS when given."""
    pixels = size_bytes / BYTES_PER_PIXEL
    width = max(64, int(math.sqrt(pixels * 4 / 3)))
    height = max(48, int(width * 3 / 4))
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9011] = "+08:00"
    if gps is not None:
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", _dms(float(gps[0])), "E", _dms(float(gps[1]))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()
