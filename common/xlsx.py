"""What every XLSX export writes into a cell, and how every export is sent.

- Control characters (a name or text typed or pasted with one) are not allowed in XLSX:
  openpyxl raised on them and the whole export failed with a 500. They are dropped.
- Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is what a spreadsheet
  takes for a formula (openpyxl even writes a leading `=` as one): a complaint that began
  `=HYPERLINK(...)` became a live link in the office's workbook. As OWASP's CSV-injection
  guidance says, such text gets a leading apostrophe, so it stays text. The register's import
  takes the apostrophe off again (`unguard`), so an exported register imports unchanged.
"""

from __future__ import annotations

from typing import IO

from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import content_disposition_header
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def cell(value):
    if not isinstance(value, str):
        return value  # numbers, dates and None are written as such, never as formulas
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # first: "\x01=..." must not hide the "="
    return GUARD + value if value.startswith(FORMULA_STARTS) else value


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


def unguard(text: str) -> str:
    """A cell's text as it was before `cell` guarded it."""
    if text.startswith(GUARD) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
