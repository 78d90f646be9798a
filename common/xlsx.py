"""What every XLSX export writes into a cell, and how every export is sent.

Control characters (a name or text typed or pasted with one) are not allowed in XLSX: openpyxl
raised on them and the whole export failed with a 500. They are dropped from the cell.
"""

from __future__ import annotations

from typing import IO

from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import content_disposition_header
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell(value):
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def row(values) -> list:
    return [cell(v) for v in values]


def xlsx_response(content: bytes | IO[bytes], *, name: str) -> HttpResponseBase:
    """A workbook download named `<name>-<YYYYMMDD>.xlsx` (the day it was exported, so two
    downloads do not overwrite each other), never kept by a cache: it holds personal data.
    A file is streamed; bytes are sent as they are."""
    filename = f"{name}-{timezone.localdate():%Y%m%d}.xlsx"
    response: HttpResponseBase
    if isinstance(content, bytes | bytearray):
        response = HttpResponse(content, content_type=CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        response = FileResponse(
            content, content_type=CONTENT_TYPE, as_attachment=True, filename=filename
        )
    response["Cache-Control"] = "private, no-store"
    return response
