"""Photos made with Pillow at test time, with the EXIF a phone writes."""

import io
import uuid
from fractions import Fraction

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, TiffImagePlugin

EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def rational(value) -> TiffImagePlugin.IFDRational:
    if isinstance(value, tuple):
        return TiffImagePlugin.IFDRational(*value)
    frac = Fraction(value).limit_denominator(1_000_000)
    return TiffImagePlugin.IFDRational(frac.numerator, frac.denominator)


def make_exif(
    *,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple | None = None,
    gps_stamp: tuple[str, tuple] | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    """`gps` = (lat parts, "N"/"S", lon parts, "E"/"W"); each part a number or a
    (numerator, denominator) pair, so zero denominators can be written."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None or offset is not None:
        sub = exif.get_ifd(EXIF_IFD)
        if taken is not None:
            sub[0x9003] = taken
        if offset is not None:
            sub[0x9011] = offset
    if gps is not None or gps_stamp is not None:
        g = exif.get_ifd(GPS_IFD)
        if gps is not None:
            lat, lat_ref, lon, lon_ref = gps
            g[1] = lat_ref
            g[2] = tuple(rational(p) for p in lat)
            g[3] = lon_ref
            g[4] = tuple(rational(p) for p in lon)
        if gps_stamp is not None:
            g[29] = gps_stamp[0]
            g[7] = tuple(rational(p) for p in gps_stamp[1])
    return exif


def make_jpeg(
    size: tuple[int, int] = (64, 48),
    color=(200, 120, 40),
    *,
    pattern: bool = True,
    quality: int = 90,
    **exif_args,
) -> bytes:
    img = Image.new("RGB", size, color)
    if pattern:
        # Some structure, so perceptual hashes of different images differ.
        for x in range(0, size[0], max(1, size[0] // 8)):
            for y in range(size[1] // 3):
                img.putpixel((x, y), (20, 20, 20))
    out = io.BytesIO()
    exif = make_exif(**exif_args) if exif_args else None
    img.save(out, format="JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def make_png(size: tuple[int, int] = (80, 60), color=(10, 200, 30, 255), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


def make_gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def form(data: bytes, *, kind: str = "scene", photo_id=None, name="photo.jpg", **extra) -> dict:
    return {
        "file": upload(data, name),
        "id": str(photo_id or uuid.uuid4()),
        "kind": kind,
        **{k: str(v) for k, v in extra.items()},
    }
