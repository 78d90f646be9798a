"""Coordinates: the one place that converts Chinese map systems to WGS-84 and measures distance.

Phones' EXIF and GPS give WGS-84. Chinese map SDKs (AMap, Tencent) give GCJ-02, Baidu gives
BD-09; they sit 270-620 m and 0.9-1.4 km away from WGS-84 across China, enough to fake or hide
a "too far from home" flag. The store keeps WGS-84 only; input names its system.

GCJ-02 is a published obfuscation formula with no closed-form inverse: WGS-84 is recovered by
fixed-point iteration of the forward transform, which converges to well under a metre.
"""

import math
from decimal import Decimal
from enum import StrEnum

from geopy.distance import geodesic


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323


def in_china(lat: float, lon: float) -> bool:
    """The rough rectangle inside which GCJ-02 shifts coordinates (outside it, none)."""
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if not in_china(lat, lon):
        return lat, lon
    d_lat = _transform_lat(lon - 105.0, lat - 35.0)
    d_lon = _transform_lon(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if not in_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(30):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        d_lat, d_lon = g_lat - lat, g_lon - lon
        if abs(d_lat) < 1e-9 and abs(d_lon) < 1e-9:
            break
        w_lat, w_lon = w_lat - d_lat, w_lon - d_lon
    return w_lat, w_lon


_X_PI = math.pi * 3000.0 / 180.0


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def to_wgs84(
    lat: float | Decimal, lon: float | Decimal, system: CoordSystem | str
) -> tuple[float, float]:
    """Convert a position given in `system` to WGS-84 (range-checked)."""
    lat, lon = float(lat), float(lon)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise ValueError("coordinates out of range")
    system = CoordSystem(system)
    if system == CoordSystem.GCJ02:
        return gcj02_to_wgs84(lat, lon)
    if system == CoordSystem.BD09:
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    return lat, lon


def distance_m(
    a: tuple[float | Decimal, float | Decimal], b: tuple[float | Decimal, float | Decimal]
) -> float:
    """Geodesic distance in metres between two WGS-84 (lat, lon) points."""
    return geodesic(tuple(map(float, a)), tuple(map(float, b))).meters


def as_decimal(value: float) -> Decimal:
    """Six decimals (about 0.1 m), the precision the models store."""
    return Decimal(f"{value:.6f}")
