"""Photos of printed forms made at test time: subsidy passbook pages (一折通) and helper's
handbook pages (帮扶手册), each household's own numbers and handwriting, photographed as a
phone does (a desk around the page, a tilt, perspective, uneven light, sensor noise, JPEG).

Every household's page is printed from the same template, so two households' photos differ
only in what is written on them and in how they were taken: the hard case for a perceptual
hash. Seeds make every page and photo reproducible.
"""

import functools
import io
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

PAGE = (1000, 700)  # a passbook opened flat is about 10:7
HANDBOOK_PAGE = (700, 1000)  # a handbook page is portrait
FRAME = (640, 480)  # the phone photo (a 4:3 frame, scaled down to keep tests fast)
INK = (30, 35, 60)
PRINT = (60, 60, 60)

_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A CJK font where the machine has one; otherwise Pillow's own (the printed Chinese then
    renders as boxes, which is still printed matter that every page shares)."""
    for path in _CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _scribble(draw: ImageDraw.ImageDraw, rng: random.Random, x: float, y: float, h: float) -> float:
    """One handwritten character: a few jittered strokes in an h × h cell; returns its width."""
    w = h * rng.uniform(0.7, 1.0)
    for _ in range(rng.randint(3, 7)):
        points = [(x + rng.uniform(0, w), y + rng.uniform(0, h)) for _ in range(rng.randint(2, 4))]
        draw.line(points, fill=INK, width=rng.choice((2, 2, 3)))
    return w + h * rng.uniform(0.1, 0.3)


def _handwriting(draw, rng: random.Random, x: float, y: float, h: float, chars: int) -> None:
    for _ in range(chars):
        x += _scribble(draw, rng, x, y + rng.uniform(-2, 2), h)


def _digits(draw, rng: random.Random, xy: tuple[float, float], text: str, size: int) -> None:
    """Numbers printed by the bank's passbook printer: dot-matrix, slightly off the line."""
    draw.text(
        (xy[0] + rng.uniform(-3, 3), xy[1] + rng.uniform(-2, 2)),
        text,
        fill=(40, 40, 90),
        font=_font(size),
    )


def passbook_page(household: int) -> Image.Image:
    """Page one of a household's subsidy passbook: the printed table, then this household's
    name, account and this year's payments (dates, items, amounts, balance)."""
    rng = random.Random(f"passbook-{household}")
    page = Image.new("RGB", PAGE, (247, 243, 232))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, PAGE[0], 90), fill=(176, 42, 38))
    draw.text((40, 20), "惠民惠农财政补贴资金“一卡通”", fill=(255, 240, 220), font=_font(40))
    draw.text((40, 110), "户名", fill=PRINT, font=_font(22))
    draw.text((520, 110), "账号", fill=PRINT, font=_font(22))
    headers = ("日期", "摘要", "支出", "存入", "余额", "网点")
    columns = (40, 200, 420, 560, 700, 860, 960)
    top, row_h, rows = 170, 42, 11
    draw.rectangle((columns[0], top, columns[-1], top + row_h * (rows + 1)), outline=PRINT, width=2)
    for i, header in enumerate(headers):
        draw.text((columns[i] + 10, top + 8), header, fill=PRINT, font=_font(22))
    for c in columns[1:-1]:
        draw.line((c, top, c, top + row_h * (rows + 1)), fill=PRINT, width=1)
    for r in range(1, rows + 1):
        draw.line((columns[0], top + row_h * r, columns[-1], top + row_h * r), fill=PRINT, width=1)
    # What differs between households.
    _handwriting(draw, rng, 110, 104, 30, rng.randint(2, 3))
    _digits(draw, rng, (590, 108), "".join(rng.choices("0123456789", k=19)), 24)
    balance = rng.uniform(50, 3000)
    items = ("低保金", "特困供养", "残疾人补贴", "耕地地力补贴", "养老金", "医疗救助")
    for r in range(1, rng.randint(4, rows) + 1):
        y = top + row_h * r + 8
        amount = rng.choice((rng.uniform(80, 900), rng.uniform(1000, 2600)))
        balance += amount
        day = f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        _digits(draw, rng, (columns[0] + 8, y), day, 22)
        draw.text((columns[1] + 8, y), rng.choice(items), fill=(40, 40, 90), font=_font(22))
        _digits(draw, rng, (columns[3] + 8, y), f"{amount:.2f}", 22)
        _digits(draw, rng, (columns[4] + 8, y), f"{balance:.2f}", 22)
        _digits(draw, rng, (columns[5] + 8, y), f"{rng.randint(1000, 9999)}", 22)
    return page


def handbook_page(household: int) -> Image.Image:
    """A page of the helper's handbook (帮扶手册走访记录): printed headings and ruled lines,
    filled in by hand for this household's visit."""
    rng = random.Random(f"handbook-{household}")
    page = Image.new("RGB", HANDBOOK_PAGE, (250, 250, 246))
    draw = ImageDraw.Draw(page)
    draw.text((190, 40), "帮扶手册 · 走访记录", fill=PRINT, font=_font(40))
    labels = ("走访日期", "户主姓名", "家庭人口", "本季度收入", "存在困难", "帮扶措施")
    for i, label in enumerate(labels):
        y = 130 + i * 60
        draw.text((50, y), label, fill=PRINT, font=_font(24))
        draw.line((200, y + 32, 650, y + 32), fill=(150, 150, 150), width=1)
        _handwriting(draw, rng, 210, y - 2, 30, rng.randint(2, 9))
    for i in range(8):
        y = 520 + i * 55
        draw.line((50, y + 40, 650, y + 40), fill=(150, 150, 150), width=1)
        if rng.random() < 0.8:
            _handwriting(draw, rng, 60 + rng.uniform(0, 40), y + 2, 32, rng.randint(4, 16))
    draw.text((440, 955), "帮扶责任人签字", fill=PRINT, font=_font(20))
    _handwriting(draw, rng, 600, 945, 30, 2)
    return page


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list:
    """The 8 coefficients `Image.transform(PERSPECTIVE)` wants to map `dst` back to `src`."""
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array([c for point in src for c in point], dtype=float)
    return list(np.linalg.solve(a, b))


def photograph(page: Image.Image, shot: int) -> bytes:
    """A phone photo of `page`: laid on a desk, framed by hand (tilt, perspective, how much of
    the frame it fills), lit unevenly, a little soft and noisy, saved as a phone's JPEG."""
    rng = random.Random(f"shot-{shot}")
    fw, fh = FRAME
    desk = tuple(rng.randint(60, 170) for _ in range(3))
    frame = Image.new("RGB", FRAME, desk)
    scale = rng.uniform(0.72, 0.92) * min(fw / page.width, fh / page.height)
    w, h = page.width * scale, page.height * scale
    cx, cy = fw / 2 + rng.uniform(-0.05, 0.05) * fw, fh / 2 + rng.uniform(-0.05, 0.05) * fh
    jitter = 0.04 * min(w, h)
    corners = [
        (cx - w / 2 + rng.uniform(-jitter, jitter), cy - h / 2 + rng.uniform(-jitter, jitter)),
        (cx + w / 2 + rng.uniform(-jitter, jitter), cy - h / 2 + rng.uniform(-jitter, jitter)),
        (cx + w / 2 + rng.uniform(-jitter, jitter), cy + h / 2 + rng.uniform(-jitter, jitter)),
        (cx - w / 2 + rng.uniform(-jitter, jitter), cy + h / 2 + rng.uniform(-jitter, jitter)),
    ]
    src = [(0, 0), (page.width, 0), (page.width, page.height), (0, page.height)]
    coeffs = _perspective_coeffs(src, corners)
    warped = page.transform(FRAME, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    mask = Image.new("L", page.size, 255).transform(
        FRAME, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    frame.paste(warped, mask=mask)
    # Uneven light: a gradient across the frame from a window on one side.
    # (made larger than the frame and cropped, so the turn leaves no unlit corners)
    side = int((fw**2 + fh**2) ** 0.5) + 2
    light = Image.linear_gradient("L").resize((side, side)).rotate(rng.uniform(0, 360))
    left, top = (side - fw) // 2, (side - fh) // 2
    light = light.crop((left, top, left + fw, top + fh))
    lo = rng.uniform(150, 210)
    light = light.point(lambda v: int(lo + v * (255 - lo) / 255))
    frame = Image.composite(frame, Image.new("RGB", FRAME, (0, 0, 0)), light)
    frame = ImageEnhance.Brightness(frame).enhance(rng.uniform(0.9, 1.15))
    frame = frame.filter(ImageFilter.BoxBlur(rng.uniform(0.3, 1.0)))
    # Sensor noise, in 2 × 2 grains (as a phone's denoiser leaves it).
    noise = Image.effect_noise((fw // 2, fh // 2), rng.uniform(4, 10)).resize(FRAME)
    noise = noise.convert("RGB")
    frame = Image.blend(frame, noise, 0.06)
    return jpeg(frame, quality=rng.randint(82, 93))


def jpeg(img: Image.Image, *, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    """The picture as shown: apps that pass a photo on turn it upright and drop the EXIF."""
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


# How a photo travels when it is reused: each gives a copy that should still be found.
def reencoded(data: bytes) -> bytes:
    return jpeg(_open(data), quality=55)


def resized(data: bytes) -> bytes:
    img = _open(data)
    half = img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR)
    return jpeg(half, quality=80)


def forwarded_in_chat(data: bytes) -> bytes:
    """What a chat app sends on: long side 1080 px, quality about 70, no EXIF; twice."""
    img = _open(data)
    for _ in range(2):
        img.thumbnail((1080, 1080))
        img = _open(jpeg(img, quality=70))
    return jpeg(img, quality=70)


def brightened(data: bytes) -> bytes:
    return jpeg(ImageEnhance.Brightness(_open(data)).enhance(1.1), quality=85)


COPIES: dict[str, Callable[[bytes], bytes]] = {
    "reencoded_q55": reencoded,
    "resized_half": resized,
    "forwarded_twice": forwarded_in_chat,
    "brightness_plus_10pct": brightened,
}
