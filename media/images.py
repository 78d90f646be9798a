"""What the request path may do with an uploaded image (read its header and EXIF, never its
pixels) and what the background task does (decode once, make the derivatives and the hash).

Facts this module builds on (shared NOTES.md, "Photos"): a 12 MP JPEG costs 70-120 ms to
decode fully but 14-47 ms in draft mode; HEIC has no draft mode (~430 ms); exifread with
`details=False` reads metadata in under 1 ms; EXIF rationals may have zero denominators.
"""

import datetime as dt
import io
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import IO, Any

import exifread
import imagehash
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from common.errors import AppError
from media.models import ContentType

# Only these decoders ever run on uploaded bytes ("HEIF" is pillow-heif's, registered in
# MediaConfig.ready()).
ACCEPTED_FORMATS = ("JPEG", "PNG", "HEIF")
FORMAT_CONTENT_TYPE = {
    "JPEG": ContentType.JPEG,
    "PNG": ContentType.PNG,
    "HEIF": ContentType.HEIC,
}
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

DISPLAY_SIZE = 1600
THUMBNAIL_SIZE = 400
DISPLAY_QUALITY = 82
THUMBNAIL_QUALITY = 80

# Magic numbers of image formats we know but do not accept, so the answer can say
# "unsupported format" rather than "not an image".
_OTHER_IMAGE_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"%PDF", "PDF"),
)


class PhotoRejected(AppError):
    """The upload is not a photo this service accepts; `code` says why, for the phone."""

    status = 415
    code = "not_an_image"


def reject_too_large(size: int | None = None) -> PhotoRejected:
    limit = settings.PHOTO_MAX_BYTES
    return PhotoRejected(
        f"照片不能超过 {limit / 1024 / 1024:.0f} MB",
        code="too_large",
        status=413,
        detail={"limit_bytes": limit, **({"size_bytes": size} if size is not None else {})},
    )


@dataclass(frozen=True)
class Header:
    """What the image header says: enough to accept or refuse without decoding pixels."""

    content_type: str
    width: int
    height: int


def _sniff_other_format(head: bytes) -> str | None:
    for magic, name in _OTHER_IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "AVIF"
    return None


def read_header(fp: IO[bytes], *, size: int) -> Header:
    """Identify the image from its header and check its pixel count and completeness.

    Raises `PhotoRejected` with one of the codes `not_an_image`, `unsupported_format`,
    `too_many_pixels`, `truncated`. Reads the header and, for JPEG and PNG, the tail of the
    file; never decodes pixels.
    """
    fp.seek(0)
    head = fp.read(16)
    fp.seek(0)
    if not head:
        raise PhotoRejected("文件为空,不是图片", code="not_an_image", status=415)
    try:
        with Image.open(fp, formats=ACCEPTED_FORMATS) as img:
            fmt = img.format or ""
            width, height = img.size
    except UnidentifiedImageError:
        other = _sniff_other_format(head)
        if other:
            raise PhotoRejected(
                f"不支持的图片格式({other}),请上传 JPEG、PNG 或 HEIC 照片",
                code="unsupported_format",
                status=415,
                detail={"format": other},
            ) from None
        raise PhotoRejected("文件不是图片或已损坏", code="not_an_image", status=415) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError) as exc:
        # Pillow's header parsers raise these for a header cut short or garbled.
        raise PhotoRejected(
            "图片文件已损坏或不完整", code="truncated", status=422, detail={"reason": str(exc)}
        ) from None
    finally:
        fp.seek(0)
    if fmt not in FORMAT_CONTENT_TYPE:
        raise PhotoRejected(
            "不支持的图片格式,请上传 JPEG、PNG 或 HEIC 照片",
            code="unsupported_format",
            status=415,
            detail={"format": fmt},
        )
    if width <= 0 or height <= 0:
        raise PhotoRejected("图片尺寸无效", code="not_an_image", status=415)
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise _too_many_pixels(width * height)
    if fmt == "JPEG" and not _jpeg_complete(fp, size):
        raise PhotoRejected("图片文件不完整(可能上传中断),请重新上传", code="truncated", status=422)
    if fmt == "PNG" and not _png_complete(fp, size):
        raise PhotoRejected("图片文件不完整(可能上传中断),请重新上传", code="truncated", status=422)
    fp.seek(0)
    return Header(content_type=FORMAT_CONTENT_TYPE[fmt], width=width, height=height)


def _too_many_pixels(pixels: int | None) -> PhotoRejected:
    limit = settings.PHOTO_MAX_PIXELS
    return PhotoRejected(
        f"图片像素过多(上限 {limit // 1_000_000} 百万像素)",
        code="too_many_pixels",
        status=422,
        detail={"limit_pixels": limit, **({"pixels": pixels} if pixels else {})},
    )


def _first_scan_offset(fp: IO[bytes]) -> int | None:
    """Offset of the first SOS marker, walking the JPEG's header segments by their lengths."""
    fp.seek(2)  # after SOI
    while True:
        marker = fp.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        while marker[1] == 0xFF:  # fill bytes before a marker
            nxt = fp.read(1)
            if not nxt:
                return None
            marker = b"\xff" + nxt
        if marker[1] == 0xDA:
            return fp.tell()
        if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:
            continue  # markers without a length
        length_bytes = fp.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if length < 2:
            return None
        fp.seek(length - 2, io.SEEK_CUR)


def _jpeg_complete(fp: IO[bytes], size: int, chunk: int = 256 * 1024) -> bool:
    """Whether an EOI marker follows the first scan. Inside entropy-coded data 0xFF is always
    followed by 0x00 or a restart marker, so an FFD9 after the first SOS is the end of the
    image: a file cut short in transfer has none. Trailers some phones append after EOI
    are fine. The search runs backwards from the end, where EOI normally is."""
    sos = _first_scan_offset(fp)
    if sos is None:
        return False
    end = size
    while end > sos:
        start = max(sos, end - chunk)
        fp.seek(start)
        data = fp.read(end - start + 1)  # one byte of overlap with the chunk after
        if b"\xff\xd9" in data:
            return True
        end = start
    return False


def _png_complete(fp: IO[bytes], size: int) -> bool:
    tail_len = min(size, 64 * 1024)
    fp.seek(size - tail_len)
    return b"IEND" in fp.read(tail_len)


# --- EXIF ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExifFacts:
    """The few EXIF facts the service keeps; None when absent or unreadable."""

    taken_at: dt.datetime | None = None
    lat: Decimal | None = None
    lon: Decimal | None = None
    orientation: int | None = None


def _fraction(value: Any) -> Fraction | None:
    """An EXIF rational as a Fraction; None for n/0 (0/0 is taken as 0: unused seconds)."""
    num = getattr(value, "numerator", None)
    den = getattr(value, "denominator", None)
    if num is None or den is None:
        if isinstance(value, int | float) and math.isfinite(value):
            return Fraction(value)
        return None
    try:
        num, den = int(num), int(den)
    except (TypeError, ValueError):
        return None
    if den == 0:
        return Fraction(0) if num == 0 else None
    return Fraction(num, den)


def _degrees(values: Any, ref: Any, limit: int, negative_ref: str) -> Fraction | None:
    """Degrees + minutes/60 + seconds/3600, signed by the reference, range-checked. Some
    cameras put the whole coordinate in the minutes field, so parts are not range-checked
    one by one, only the total."""
    if not isinstance(values, list | tuple) or not 1 <= len(values) <= 3:
        return None
    parts = [_fraction(v) for v in values]
    if any(p is None or p < 0 for p in parts):
        return None
    parts += [Fraction(0)] * (3 - len(parts))
    total = parts[0] + parts[1] / 60 + parts[2] / 3600
    if total > limit:
        return None
    ref_text = str(ref or "").strip().upper()[:1]
    if ref_text not in ("N", "S", "E", "W"):
        return None  # no hemisphere: the sign would be a guess
    return -total if ref_text == negative_ref else total


def _parse_datetime(text: Any, offset: Any) -> dt.datetime | None:
    text = str(text or "").strip().rstrip("\x00")
    if not text:
        return None
    try:
        naive = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 (zone below)
    except ValueError:
        return None
    if naive.year < 1990:
        return None  # unset camera clocks (0000:00:00 fails above, 1970/1980 epochs here)
    zone: dt.tzinfo = SHANGHAI
    offset_text = str(offset or "").strip()
    if offset_text:
        try:
            parsed = dt.datetime.strptime(offset_text[:6], "%z")
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            zone = parsed.tzinfo
    return naive.replace(tzinfo=zone)


def _gps_datetime(date_text: Any, time_values: Any) -> dt.datetime | None:
    date_text = str(date_text or "").strip().rstrip("\x00")
    if not date_text or not isinstance(time_values, list | tuple) or len(time_values) != 3:
        return None
    try:
        day = dt.datetime.strptime(date_text[:10], "%Y:%m:%d").date()  # noqa: DTZ007 (UTC)
    except ValueError:
        return None
    parts = [_fraction(v) for v in time_values]
    if any(p is None or p < 0 for p in parts):
        return None
    seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
    if seconds >= 86400 or day.year < 1990:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(seconds=float(seconds))


def _to_decimal(value: Fraction) -> Decimal:
    return Decimal(f"{float(value):.6f}")


def _facts(raw: Mapping[str, Any]) -> ExifFacts:
    """Canonical keys (see `_raw_from_exifread`) to the facts; anything odd is missing."""
    taken_at = _parse_datetime(raw.get("dto"), raw.get("offset")) or _gps_datetime(
        raw.get("gps_date"), raw.get("gps_time")
    )
    lat = _degrees(raw.get("lat"), raw.get("lat_ref"), 90, "S")
    lon = _degrees(raw.get("lon"), raw.get("lon_ref"), 180, "W")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        lat = lon = None  # half a position, or "null island" (no fix), is no position
    orientation = raw.get("orientation")
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
    return ExifFacts(
        taken_at=taken_at,
        lat=_to_decimal(lat) if lat is not None else None,
        lon=_to_decimal(lon) if lon is not None else None,
        orientation=orientation,
    )


def _first(tag: Any) -> Any:
    values = getattr(tag, "values", None)
    if isinstance(values, list | tuple):
        return values[0] if values else None
    return values


def _raw_from_exifread(tags: Mapping[str, Any]) -> dict[str, Any]:
    def values(key: str) -> Any:
        tag = tags.get(key)
        return getattr(tag, "values", None) if tag is not None else None

    return {
        "dto": values("EXIF DateTimeOriginal"),
        "offset": values("EXIF OffsetTimeOriginal"),
        "lat": values("GPS GPSLatitude"),
        "lat_ref": values("GPS GPSLatitudeRef"),
        "lon": values("GPS GPSLongitude"),
        "lon_ref": values("GPS GPSLongitudeRef"),
        "gps_date": values("GPS GPSDate"),
        "gps_time": values("GPS GPSTimeStamp"),
        "orientation": _first(tags.get("Image Orientation")),
    }


def _raw_from_pillow(exif: Image.Exif) -> dict[str, Any]:
    """The same canonical keys from Pillow's EXIF parser (for blocks exifread cannot find,
    such as some HEIF containers)."""
    exif_ifd = exif.get_ifd(0x8769)
    gps = exif.get_ifd(0x8825)
    return {
        "dto": exif_ifd.get(0x9003),
        "offset": exif_ifd.get(0x9011),
        "lat": gps.get(2),
        "lat_ref": gps.get(1),
        "lon": gps.get(4),
        "lon_ref": gps.get(3),
        "gps_date": gps.get(29),
        "gps_time": gps.get(7),
        "orientation": exif.get(0x0112),
    }


def read_exif(fp: IO[bytes], *, content_type: str) -> ExifFacts:
    """Capture time (aware) and WGS-84 position from EXIF. Never raises: a broken or absent
    EXIF block gives empty facts."""
    facts = ExifFacts()
    try:
        fp.seek(0)
        tags = exifread.process_file(fp, details=False, extract_thumbnail=False)
        facts = _facts(_raw_from_exifread(tags))
    except Exception:  # noqa: BLE001 (a broken EXIF block is a missing one, by design)
        facts = ExifFacts()
    if content_type == ContentType.HEIC and facts.taken_at is None and facts.lat is None:
        try:
            fp.seek(0)
            with Image.open(fp, formats=["HEIF"]) as img:
                facts = _facts(_raw_from_pillow(img.getexif()))
        except Exception:  # noqa: BLE001 (as above)
            facts = ExifFacts()
    fp.seek(0)
    return facts


def upright_size(width: int, height: int, orientation: int | None) -> tuple[int, int]:
    """The size as shown: EXIF orientations 5-8 turn the image a quarter."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


# --- Derivatives (background only) -----------------------------------------------------------


@dataclass(frozen=True)
class Derivatives:
    display: bytes
    thumbnail: bytes
    width: int  # of the upright original
    height: int
    phash: str
    phash_mirrored: str


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment: the derivative carries no metadata.
    img.save(out, format="JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def _fit(width: int, height: int, bound: int) -> tuple[int, int]:
    """The size with the same aspect whose long side is at most `bound`."""
    scale = min(1.0, bound / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Resize a decoded image to `target`. Draft decoding usually lands just above the target
    (3264 px decodes at 1632 px); for such a small remaining step, nearest-neighbour is 2.5 ms
    against 36-70 ms for bilinear-lanczos on this machine, and is indistinguishable at a 2 %
    step. Up to half size, the box filter (an area average, made for shrinking) takes 20 ms
    where bilinear took 30 (a 4608 px photo decoded at 2304 px, made 1600 px wide); larger
    steps get bilinear after an integer reduction. The original file stays the evidence."""
    if img.size == target:
        return img
    factor = max(img.width / target[0], img.height / target[1])
    if factor <= 1.1:
        return img.resize(target, Image.Resampling.NEAREST)
    if factor <= 2:
        return img.resize(target, Image.Resampling.BOX)
    return img.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)


# EXIF orientation to the transposes that make the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def make_derivatives(fp: IO[bytes]) -> Derivatives:
    """Decode the original once, at the smallest scale the display copy allows, and make the
    display copy, the thumbnail and the perceptual hashes from that one decode.

    Raises whatever Pillow raises for a file it cannot decode; the caller records it.
    """
    with Image.open(fp, formats=ACCEPTED_FORMATS) as img:
        full_w, full_h = img.size
        if full_w * full_h > settings.PHOTO_MAX_PIXELS:
            raise _too_many_pixels(full_w * full_h)
        # pillow-heif applies the HEIF rotation itself and reports orientation 1 afterwards.
        orientation = img.getexif().get(0x0112)
        target = _fit(full_w, full_h, DISPLAY_SIZE)
        if img.format == "JPEG":
            # DCT scaling: decode at 1/2, 1/4 or 1/8 scale, the smallest still >= target. The
            # target must have the image's aspect: a square box would keep the short side
            # >= 1600 and so defeat the scaling.
            img.draft("RGB", target)
        img.load()
        # Everything below makes new images from the decoded one, which is never copied.
        display = _resize(_to_rgb(img), target)
        if orientation in _UPRIGHT:
            # Applied to the small image, where it costs little.
            display = display.transpose(_UPRIGHT[orientation])
        thumb = _resize(display, _fit(display.width, display.height, THUMBNAIL_SIZE))
        # Encoded before the `with` closes the file: `display` may be the decoded image itself.
        width, height = upright_size(full_w, full_h, orientation)
        return Derivatives(
            display=_jpeg_bytes(display, DISPLAY_QUALITY),
            thumbnail=_jpeg_bytes(thumb, THUMBNAIL_QUALITY),
            width=width,
            height=height,
            phash=str(imagehash.phash(thumb)),
            phash_mirrored=str(imagehash.phash(ImageOps.mirror(thumb))),
        )
