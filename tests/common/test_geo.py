"""The coordinate transforms, against published reference points."""

import pytest

from common.geo import CoordSystem, distance_m, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02


def test_gcj02_offset_in_nantong_is_a_few_hundred_metres():
    wgs = (32.0146, 120.8640)
    gcj = wgs84_to_gcj02(*wgs)
    assert 270 <= distance_m(wgs, gcj) <= 620


def test_gcj02_round_trip_is_under_a_metre():
    wgs = (32.3100, 121.1800)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*wgs))
    assert distance_m(wgs, back) < 1


def test_bd09_converts_back_to_wgs84():
    from common.geo import gcj02_to_bd09

    wgs = (32.3100, 121.1800)
    bd = gcj02_to_bd09(*wgs84_to_gcj02(*wgs))
    assert 900 <= distance_m(wgs, bd) <= 1500
    assert distance_m(wgs, to_wgs84(*bd, CoordSystem.BD09)) < 1


def test_outside_china_nothing_moves():
    assert wgs84_to_gcj02(43.4674, 11.8851) == (43.4674, 11.8851)


@pytest.mark.parametrize("lat,lon", [(91, 0), (0, 181), (float("nan"), 0)])
def test_out_of_range_is_refused(lat, lon):
    with pytest.raises(ValueError):
        to_wgs84(lat, lon, "wgs84")


def test_unknown_system_is_refused():
    with pytest.raises(ValueError):
        to_wgs84(32, 121, "mars")
