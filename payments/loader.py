"""Loading the payment lists the one-card system (惠民惠农补贴"一卡通") exports: CSV or XLSX.

The columns (a header row first; Chinese headers, English aliases accepted; any order):

| header   | alias     | required | content                                                      |
| -------- | --------- | -------- | ------------------------------------------------------------ |
| 批次号   | batch     | yes      | the one-card system's batch code (发放批次)                   |
| 项目编码 | item      | yes      | a subsidy item's code (or its exact name), see the admin     |
| 所属期   | period    | yes      | 2026-03 (monthly item), 2026Q1 (quarterly), 2026 (yearly)    |
| 村代码   | village   | yes      | the payee's village, 12-digit division code                  |
| 户编号   | household | no       | the register's household number, when the list carries it    |
| 姓名     | name      | yes      | the card holder                                              |
| 身份证号 | id_number | yes      | 18 characters with a valid check digit                       |
| 金额     | amount    | yes      | yuan, above 0, at most two decimals                          |
| 发放日期 | paid_on   | yes      | 2026-03-15 (or 2026/3/15, 20260315, 2026年3月15日, a date) |
| 代发银行 | bank      | yes      | the paying bank                                              |
| 银行账号 | account   | yes      | full (masked on load, never stored) or masked by the bank    |

CSV files may be UTF-8 (with or without BOM) or GB18030/GBK, as Excel saves them in Chinese;
an XLSX workbook is read from its first sheet (or the one named 发放名单 / payments).

A load is all or nothing: every row is checked first (streamed, so a million rows need little
memory) and every bad row is reported by its row number as the spreadsheet shows it, with its
reasons; nothing is written unless every row is good. A batch already loaded with the same rows
(in any order, from either format) is skipped, so loading a file again changes nothing; a loaded
batch code with other rows is refused. Each payment is matched to a household by the register's
household number when given, else by the head's ID number; a payee the register does not know
is loaded and warned about (`payments.rules`), not refused. The warning rules run after the
load, on the new batches.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accounts.models import AuditAction, User
from accounts.roles import manages_payments
from accounts.scoping import area_prefix
from accounts.services import audit_record
from common.errors import Forbidden
from common.versions import PAYMENTS, bump_on_commit
from payments.models import AMOUNT_MAX, Payment, PaymentBatch, SubsidyItem
from payments.periods import Period
from payments.privacy import mask_account
from regions.models import Level, Region, prefix_of_code
from register.models import Household
from register.validators import normalize_id_number

CHUNK = 5000
# The first rows of a file are enough to tell UTF-8 from GB18030.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool = True


COLUMNS = (
    Column("batch", "批次号", ("batch", "batch_code", "发放批次")),
    Column("item", "项目编码", ("item", "item_code", "补贴项目", "项目名称")),
    Column("period", "所属期", ("period", "所属期间", "发放期间")),
    Column("village", "村代码", ("village", "village_code", "村(居)代码")),
    Column("household", "户编号", ("household", "household_number"), required=False),
    Column("name", "姓名", ("name", "收款人", "持卡人姓名")),
    Column("id_number", "身份证号", ("id_number", "身份证号码", "公民身份号码")),
    Column("amount", "金额", ("amount", "发放金额", "金额(元)")),
    Column("paid_on", "发放日期", ("paid_on", "paid_date", "到账日期")),
    Column("bank", "代发银行", ("bank", "代发金融机构", "开户银行")),
    Column("account", "银行账号", ("account", "account_number", "卡号", "社保卡号")),
)
HEADERS = [c.header for c in COLUMNS]
SHEET_NAMES = ("发放名单", "payments", "payment")


# --- The report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1; 0 is the whole file
    reason: str

    def __str__(self) -> str:
        return f"第{self.row}行:{self.reason}" if self.row else self.reason


@dataclass
class LoadReport:
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # data rows read
    loaded: int = 0  # payments written
    batches_new: list[str] = field(default_factory=list)
    batches_unchanged: list[str] = field(default_factory=list)
    batch_ids: list[int] = field(default_factory=list)
    warnings: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: int, reason: str) -> None:
        self.errors.append(RowError(row, reason))

    def lines(self) -> list[str]:
        if not self.ok:
            return [str(e) for e in sorted(self.errors, key=lambda e: e.row)]
        lines = [f"读取 {self.rows} 行,新导入 {self.loaded} 笔"]
        if self.batches_new:
            lines.append("新批次:" + "、".join(self.batches_new))
        if self.batches_unchanged:
            lines.append("已导入过、未作改动的批次:" + "、".join(self.batches_unchanged))
        lines.append(f"新预警 {self.warnings} 条")
        return lines


class RowInvalid(Exception):
    """The reasons one row is bad (collected, never escapes this module)."""


class FileInvalid(Exception):
    """The file as a whole cannot be read (collected, never escapes this module)."""


# --- Reading the file ----------------------------------------------------------------------


def _norm(text: Any) -> str:
    return re.sub(r"\s+", "", str(text or "")).lower()


_LOOKUP = {_norm(name): c for c in COLUMNS for name in (c.header, c.key, *c.aliases)}


def _positions(header: tuple) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = _LOOKUP.get(_norm(cell))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
    if missing:
        raise FileInvalid("第1行(表头)缺少列:" + "、".join(missing))
    return positions


def _rows(values: Iterator[tuple], first_row: int = 1) -> Iterator[tuple[int, dict[str, Any]]]:
    header = next(values, None)
    if header is None:
        raise FileInvalid("文件是空的")
    positions = _positions(tuple(header))
    for number, row in enumerate(values, start=first_row + 1):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        yield number, {k: (row[i] if i < len(row) else None) for k, i in positions.items()}


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniffing boundary is not a reason to doubt UTF-8.
        if exc.start < len(head) - 3:
            return "gb18030"
    return "utf-8"


def read_csv(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=_encoding(head), newline="")
    try:
        yield from _rows(tuple(r) for r in csv.reader(text))
    except UnicodeDecodeError as exc:
        raise FileInvalid("CSV 文件编码无法识别,请另存为 UTF-8 或 GBK 编码") from exc
    except csv.Error as exc:
        raise FileInvalid(f"CSV 文件格式错误:{exc}") from exc
    finally:
        text.detach()


def read_xlsx(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileInvalid("文件不是有效的 Excel(.xlsx)工作簿") from exc
    try:
        sheets = workbook.worksheets
        named = [ws for ws in sheets if _norm(ws.title) in SHEET_NAMES]
        if not sheets:
            raise FileInvalid("工作簿中没有工作表")
        yield from _rows((named or sheets)[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def read_rows(stream: IO[bytes], filename: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, raw values by column key) for each non-empty data row of the file."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return read_csv(stream)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(stream)
    raise FileInvalid("只接受 .csv 或 .xlsx 文件")


# --- One row -------------------------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    batch: str
    item: SubsidyItem
    period: Period
    village: str
    household_number: str
    name: str
    id_number: str
    amount: Decimal
    paid_on: date
    bank: str
    account: str
    household_id: int | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _clean(value: Any, label: str, max_length: int) -> str:
    text = _text(value)
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError(f"{label}含有控制字符")
    if len(text) > max_length:
        raise ValueError(f"{label}超过{max_length}个字符")
    return text


_DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    raise ValueError(f"发放日期「{text}」不是有效日期(应为 2026-03-15 格式)")


def _amount(value: Any) -> Decimal:
    text = _text(value) if not isinstance(value, float) else repr(value)
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"金额「{text}」不是数字") from None
    if not amount.is_finite() or amount <= 0 or amount > AMOUNT_MAX:
        raise ValueError(f"金额「{text}」应大于0且不超过{AMOUNT_MAX}元")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"金额「{text}」最多两位小数")
    return amount.quantize(Decimal("0.01"))


def _digits_cell(value: Any, label: str) -> str:
    # Excel keeps 15 significant digits of a number: an ID or account number typed into a
    # number cell has already lost its last digits, and no reading can bring them back.
    if isinstance(value, float) or (isinstance(value, int) and len(str(value)) > 15):
        raise ValueError(f"{label}被保存成了数字,末尾几位已丢失;请把该列设为文本后重新导出")
    return _text(value)


@dataclass
class Known:
    """What rows are checked against: the items, and the villages the loader may load."""

    items: dict[str, SubsidyItem]
    villages: set[str]
    prefix: str | None  # the loader's area (None: everywhere)
    today: date

    @classmethod
    def for_user(cls, user: User | None, today: date) -> Known:
        items: dict[str, SubsidyItem] = {}
        by_name: dict[str, list[SubsidyItem]] = {}
        for item in SubsidyItem.objects.all():
            items[_norm(item.code)] = item
            by_name.setdefault(_norm(item.name), []).append(item)
        for name, found in by_name.items():
            if len(found) == 1:
                items.setdefault(name, found[0])
        prefix = area_prefix(user) if user is not None else None
        villages = Region.objects.filter(level=Level.VILLAGE)
        if prefix is not None:
            villages = villages.filter(code__startswith=prefix)
        return cls(items, set(villages.values_list("code", flat=True)), prefix, today)


def parse_row(raw: dict[str, Any], known: Known) -> Parsed:
    """The row's values, checked on their own; RowInvalid with every reason found."""
    reasons: list[str] = []

    def take(fn, *args):
        try:
            return fn(*args)
        except ValueError as exc:
            reasons.append(str(exc))
            return None

    for column in COLUMNS:
        if column.required and _text(raw.get(column.key)) == "":
            reasons.append(f"{column.header}不能为空")
    if reasons:
        raise RowInvalid(";".join(reasons))

    batch = take(_clean, raw["batch"], "批次号", 64)
    item_text = _text(raw["item"])
    item = known.items.get(_norm(item_text))
    if item is None:
        reasons.append(f"补贴项目「{item_text[:40]}」不存在(请先在补贴项目中登记)")
    period = take(Period.parse, _text(raw["period"]), item.period_kind) if item else None
    village = _text(raw["village"])
    if not re.fullmatch(r"\d{12}", village):
        reasons.append(f"村代码「{village[:20]}」应为12位区划代码")
    elif village not in known.villages:
        reasons.append(f"村代码「{village}」不存在或不在本账号管辖范围内")
    elif item is not None and not village.startswith(prefix_of_code(item.region_id)):
        reasons.append(f"该村不在补贴项目「{item.name}」的实施区划内")
    household_number = take(_clean, raw.get("household"), "户编号", 32) or ""
    name = take(_clean, raw["name"], "姓名", 50)
    id_number = None
    id_text = take(_digits_cell, raw["id_number"], "身份证号")
    if id_text is not None:
        try:
            id_number = normalize_id_number(id_text.upper())
        except ValidationError as exc:
            reasons.append(exc.messages[0])
    amount = take(_amount, raw["amount"])
    paid_on = take(_date, raw["paid_on"])
    if paid_on is not None and not date(2000, 1, 1) <= paid_on <= known.today:
        reasons.append(f"发放日期 {paid_on} 不能晚于今天或早于2000年")
    bank = take(_clean, raw["bank"], "代发银行", 50)
    account_text = take(_digits_cell, raw["account"], "银行账号")
    account = take(mask_account, account_text) if account_text is not None else None
    if reasons:
        raise RowInvalid(";".join(reasons))
    # Every value is there: a missing one would have left a reason.
    assert item is not None
    assert period is not None
    assert id_number is not None
    assert batch is not None
    assert name is not None
    assert amount is not None
    assert paid_on is not None
    assert bank is not None
    assert account is not None
    return Parsed(
        batch=batch,
        item=item,
        period=period,
        village=village,
        household_number=household_number,
        name=name,
        id_number=id_number,
        amount=amount,
        paid_on=paid_on,
        bank=bank,
        account=account,
    )


# --- Batches -------------------------------------------------------------------------------

_MOD = 2**256


@dataclass
class BatchTally:
    """One batch as read: its rows' count, total and order-free digest, and where it lies."""

    code: str
    rows: int = 0
    total: Decimal = Decimal("0.00")
    digest_sum: int = 0
    first_village: str = "9" * 12
    last_village: str = "0" * 12

    def add(self, row: Parsed) -> None:
        self.rows += 1
        self.total += row.amount
        # The sum of the rows' hashes does not depend on their order (a re-export may sort
        # differently) but does on each row and on how often it appears.
        self.digest_sum = (self.digest_sum + int.from_bytes(_row_hash(row), "big")) % _MOD
        self.first_village = min(self.first_village, row.village)
        self.last_village = max(self.last_village, row.village)

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.rows}:{self.digest_sum:064x}".encode()).hexdigest()

    def region_code(self) -> str:
        """The smallest region holding every village of the batch."""
        for digits in (12, 9, 6, 4, 2):
            if self.first_village[:digits] == self.last_village[:digits]:
                return self.first_village[:digits].ljust(12, "0")
        return self.first_village[:2].ljust(12, "0")


def _row_hash(row: Parsed) -> bytes:
    text = "\x1f".join(
        (
            row.item.code,
            str(row.period),
            row.village,
            row.household_number,
            row.name,
            row.id_number,
            f"{row.amount:.2f}",
            row.paid_on.isoformat(),
            row.bank,
            row.account,
        )
    )
    return hashlib.sha256(text.encode()).digest()


# --- Checking against the register ---------------------------------------------------------


def _resolve(chunk: list[tuple[int, Parsed]], known: Known, report: LoadReport) -> None:
    """Each row's household: by household number when the list gives one (which must exist in
    the loader's area), else the household whose head holds the ID number, if any."""
    numbers = {p.household_number for _, p in chunk if p.household_number}
    by_number: dict[str, tuple[int, str]] = {}
    if numbers:
        for number, pk, village in Household.objects.filter(number__in=numbers).values_list(
            "number", "pk", "village_id"
        ):
            by_number[number] = (pk, village)
    ids = {p.id_number for _, p in chunk if not p.household_number}
    by_id: dict[str, int] = {}
    if ids:
        heads = Household.objects.filter(id_number__in=ids).order_by("pk")
        for id_number, pk in heads.values_list("id_number", "pk"):
            by_id.setdefault(id_number, pk)
    for line, row in chunk:
        if row.household_number:
            found = by_number.get(row.household_number)
            if found is None or (known.prefix and not found[1].startswith(known.prefix)):
                report.add(line, f"户编号「{row.household_number}」不存在或不在本账号管辖范围内")
                continue
            row.household_id = found[0]
        else:
            row.household_id = by_id.get(row.id_number)


SPOOL_FIELDS = (
    "batch",
    "line",
    "item_id",
    "period",
    "period_start",
    "period_end",
    "village_id",
    "household_id",
    "name",
    "id_number",
    "amount",
    "paid_on",
    "bank",
    "account_masked",
)


def _spool_row(line: int, row: Parsed) -> tuple:
    return (
        row.batch,
        line,
        row.item.pk,
        str(row.period),
        row.period.start.isoformat(),
        row.period.end.isoformat(),
        row.village,
        "" if row.household_id is None else row.household_id,
        row.name,
        row.id_number,
        f"{row.amount:.2f}",
        row.paid_on.isoformat(),
        row.bank,
        row.account,
    )


def _check(
    rows: Iterator[tuple[int, dict[str, Any]]], known: Known, report: LoadReport, spool: IO[str]
) -> dict[str, BatchTally]:
    """Parse and check every row, writing the good ones to `spool`; the batches as read."""
    writer = csv.writer(spool)
    batches: dict[str, BatchTally] = {}
    chunk: list[tuple[int, Parsed]] = []

    def flush() -> None:
        errors_before = len(report.errors)
        _resolve(chunk, known, report)
        bad = {e.row for e in report.errors[errors_before:]}
        for line, row in chunk:
            if line in bad:
                continue
            batches.setdefault(row.batch, BatchTally(row.batch)).add(row)
            writer.writerow(_spool_row(line, row))
        chunk.clear()

    for line, raw in rows:
        report.rows += 1
        try:
            chunk.append((line, parse_row(raw, known)))
        except RowInvalid as exc:
            report.add(line, str(exc))
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return batches


# --- Writing -------------------------------------------------------------------------------


def _write(
    spool: IO[str],
    batches: list[BatchTally],
    *,
    user: User | None,
    source_name: str,
    now: datetime,
) -> dict[str, int]:
    """The new batches and their payments; answers batch code → id."""
    ids: dict[str, int] = {}
    for tally in batches:
        region = tally.region_code()
        if not Region.objects.filter(pk=region).exists():
            region = tally.first_village
        batch = PaymentBatch.objects.create(
            code=tally.code,
            region_id=region,
            digest=tally.digest,
            rows=tally.rows,
            total=tally.total,
            source_name=source_name[:200],
            loaded_by=user,
            loaded_at=now,
        )
        ids[tally.code] = batch.pk
    spool.seek(0)
    rows = (
        (ids[r[0]], *r[1:])
        for r in csv.reader(spool)
        if r[0] in ids  # batches loaded before are skipped, row by row
    )
    if connection.vendor == "postgresql":
        _copy(rows)
    else:
        _bulk_create(rows)
    return ids


def _copy(rows: Iterator[tuple]) -> None:
    # COPY writes a million rows in seconds where INSERTs take minutes (bench/payments.py).
    columns = ", ".join(f if f != "batch" else "batch_id" for f in SPOOL_FIELDS)
    table = Payment._meta.db_table
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([None if v == "" else v for v in row])


def _bulk_create(rows: Iterator[tuple]) -> None:
    buffer: list[Payment] = []
    for r in rows:
        buffer.append(
            Payment(
                batch_id=r[0],
                line=int(r[1]),
                item_id=int(r[2]),
                period=r[3],
                period_start=date.fromisoformat(r[4]),
                period_end=date.fromisoformat(r[5]),
                village_id=r[6],
                household_id=int(r[7]) if r[7] else None,
                name=r[8],
                id_number=r[9],
                amount=Decimal(r[10]),
                paid_on=date.fromisoformat(r[11]),
                bank=r[12],
                account_masked=r[13],
            )
        )
        if len(buffer) >= 2000:
            Payment.objects.bulk_create(buffer)
            buffer.clear()
    if buffer:
        Payment.objects.bulk_create(buffer)


# --- The load ------------------------------------------------------------------------------


def payments_load(
    *,
    stream: IO[bytes],
    filename: str,
    user: User | None = None,
    now: datetime | None = None,
    run_rules: bool = True,
) -> LoadReport:
    """Load a payment list, all or nothing (see the module's description). With a user (the
    web page), every row must lie in the user's area; without (the command), anywhere."""
    if user is not None and not manages_payments(user):
        raise Forbidden("只有扶贫办可以导入补贴发放名单", code="not_office")
    now = now or timezone.now()
    report = LoadReport()
    known = Known.for_user(user, timezone.localtime(now).date())
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        try:
            batches = _check(read_rows(stream, filename), known, report, spool)
        except FileInvalid as exc:
            report.add(0, str(exc))
            return report
        report.seconds["check"] = time.perf_counter() - started
        if not report.ok:
            return report
        if not batches:
            report.add(0, "文件中没有发放记录")
            return report
        loaded = dict(
            PaymentBatch.objects.filter(code__in=list(batches)).values_list("code", "digest")
        )
        for code, tally in batches.items():
            if code in loaded and loaded[code] != tally.digest:
                report.add(0, f"批次「{code}」已导入过且内容不同;更正请使用新的批次号")
        if not report.ok:
            return report
        new = [t for code, t in batches.items() if code not in loaded]
        report.batches_unchanged = sorted(code for code in batches if code in loaded)
        report.batches_new = [t.code for t in new]
        if new:
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    ids = _write(spool, new, user=user, source_name=filename, now=now)
                    audit_record(
                        actor=user,
                        action=AuditAction.IMPORT,
                        target_type="payment_batches",
                        target_id=",".join(report.batches_new)[:64],
                        region_code=getattr(user, "region_id", "") or "",
                        detail={"file": filename[:200], "rows": sum(t.rows for t in new)},
                    )
                    bump_on_commit(PAYMENTS)
            except IntegrityError:
                # Another load wrote one of these batches a moment ago.
                report.add(0, "其中的批次正由另一次导入写入,请稍后重新导入以核对")
                return report
            report.batch_ids = list(ids.values())
            report.loaded = sum(t.rows for t in new)
            report.seconds["write"] = time.perf_counter() - started
    if run_rules and report.batch_ids:
        from payments import rules

        started = time.perf_counter()
        report.warnings = sum(rules.run_rules(batch_ids=report.batch_ids, now=now).values())
        report.seconds["rules"] = time.perf_counter() - started
    return report
