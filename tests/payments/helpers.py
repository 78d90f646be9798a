"""Payment lists as the one-card system exports them, built in memory for the tests."""

import csv
import io
from datetime import date

from openpyxl import Workbook

from payments.loader import HEADERS, payments_load
from tests.factories import valid_id_number

# Someone the register does not know.
STRANGER_ID = valid_id_number(777, "320623")

HEADER_KEYS = (
    "batch", "item", "period", "village", "household", "name", "id_number", "amount",
    "paid_on", "bank", "account",
)  # fmt: skip


def row(payee=None, **values) -> dict:
    """One list row for the head of household `payee`, overridable field by field."""
    base = {
        "batch": "B2026-03-001",
        "item": "DB",
        "period": "2026-03",
        "village": payee.village_id if payee else "320623100201",
        "household": "",
        "name": payee.head_name if payee else "王小明",
        "id_number": payee.id_number if payee else STRANGER_ID,
        "amount": "600.00",
        "paid_on": "2026-03-15",
        "bank": "中国农业银行",
        "account": "6228480012345678901",
    }
    base.update(values)
    return base


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow([r[k] for k in HEADER_KEYS])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], typed: bool = True) -> bytes:
    """An XLSX list; `typed` writes amounts as numbers and dates as date cells, as Excel does."""
    wb = Workbook()
    ws = wb.active
    ws.title = "发放名单"
    ws.append(HEADERS)
    for r in rows:
        values = [r[k] for k in HEADER_KEYS]
        if typed:
            values[7] = float(r["amount"])
            values[8] = date.fromisoformat(r["paid_on"])
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def load(rows: list[dict] | bytes, *, filename: str = "list.csv", user=None, now=None, **kw):
    content = rows if isinstance(rows, bytes) else csv_bytes(rows)
    return payments_load(stream=io.BytesIO(content), filename=filename, user=user, now=now, **kw)


def make_visit(household, helper_user, *, when: str = "2026-03-25 10:00", passbook_checked=True):
    """A visit written straight to the database (the window rules have their own tests), with
    a passbook photo as a real visit has."""
    import uuid
    from decimal import Decimal

    from media.models import PhotoKind
    from register.models import Pairing
    from tests.clock import at
    from tests.visits.helpers import make_photo
    from visits.models import Visit, VisitPhoto

    visited_at = at(when)
    visit = Visit.objects.create(
        id=uuid.uuid4(),
        household=household,
        village_id=household.village_id,
        helper=helper_user.helper,
        pairing=Pairing.objects.filter(household=household).first(),
        submitted_by=helper_user,
        year=visited_at.year,
        quarter=(visited_at.month - 1) // 3 + 1,
        visited_at=visited_at,
        lat=Decimal("32.310100"),
        lon=Decimal("121.180100"),
        raw_lat=Decimal("32.310100"),
        raw_lon=Decimal("121.180100"),
        wages=Decimal("3000.00"),
        operating=Decimal("0.00"),
        property=Decimal("0.00"),
        transfers=Decimal("600.00"),
        passbook_checked=passbook_checked,
        content_hash="0" * 64,
        created_at=visited_at,
    )
    photo = make_photo(helper_user, PhotoKind.PASSBOOK, seed=hash(str(visit.pk)) % 1000)
    VisitPhoto.objects.create(photo=photo, visit=visit, kind=PhotoKind.PASSBOOK)
    return visit
