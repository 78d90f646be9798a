"""The API's orjson renderer writes the same values the standard encoder did: datetimes with
milliseconds and "Z", money as strings, UUIDs; Chinese as UTF-8 rather than \\u escapes."""

import datetime as dt
import json
import uuid
from decimal import Decimal

from ninja.responses import NinjaJSONEncoder

from mobile_api.renderers import JSONRenderer


def test_values_read_as_with_the_standard_encoder():
    data = {
        "at": dt.datetime(2026, 9, 28, 2, 3, 4, 567891, tzinfo=dt.UTC),
        "local": dt.datetime(2026, 9, 28, 10, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "day": dt.date(2026, 9, 28),
        "money": Decimal("1234.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "text": "低保金",
        "items": [1, 2.5, None, True],
    }
    raw = JSONRenderer().render(None, data, response_status=200)
    assert json.loads(raw) == json.loads(json.dumps(data, cls=NinjaJSONEncoder))
    assert json.loads(raw)["at"] == "2026-09-28T02:03:04.567Z"
    assert json.loads(raw)["money"] == "1234.50"
    assert "低保金".encode() in raw


def test_what_orjson_refuses_falls_back_whole():
    raw = JSONRenderer().render(None, {"id": 2**70}, response_status=422)
    assert json.loads(raw) == {"id": 2**70}
