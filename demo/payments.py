"""Demo subsidy payments for `seed_demo`: the one-card lists of Rudong county for 2026, checked
at the visits, with the discrepancies and warnings an office would meet.

- Four subsidy items of the county's departments (最低生活保障金 and 高龄津贴 paid monthly,
  耕地地力保护补贴 and 城乡居民医保参保资助 yearly).
- One list a month per item, each loaded through the real loader a few days after its paying
  day (so "since the last visit" means what it does in a county). Planted on purpose: a few
  people paid twice, payees the register does not know or knows under another name, amounts
  off the standard, exited households still paid the low-income allowance, and a month of
  高龄津贴 never paid (the unpaid-period warning).
- Passbook checks at a sample of the Q2 and Q3 visits through the real service, at the time of
  each visit: nearly all seen, some missing or short (each opens a 资金问题 case, half of them
  already accepted and assigned by the county office), and three households of one village
  missing the same September list (the village-level warning).
- A village's disclosure page to open: logged, e.g. `/payments/public/<code>/`.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef
from django.utils import timezone
from stdnum.cn import ric

from accounts.models import User
from common.errors import AppError
from common.quarters import SHANGHAI
from demo.register import RUDONG, DemoContext
from grievances.workflow import transition
from payments import rules
from payments.loader import HEADERS, payments_load
from payments.models import CheckResult, Eligibility, Payment, PeriodKind, SubsidyItem
from payments.services import CheckInput, passbook_checks_record
from register.models import Household, HouseholdStatus, Unit
from visits.models import Visit


@dataclass(frozen=True)
class ItemPlan:
    code: str
    name: str
    department: str
    period_kind: str
    standard: Decimal | None
    eligibility: str
    scheduled: bool
    share: float  # of the county's households that receive it
    pay_day: int  # of the month (monthly) or of April (yearly)


ITEMS = [
    ItemPlan("RD-DB", "最低生活保障金", "如东县民政局", PeriodKind.MONTH, Decimal("810.00"),
             Eligibility.LOW_INCOME, True, 0.35, 10),
    ItemPlan("RD-GL", "高龄津贴", "如东县民政局", PeriodKind.MONTH, Decimal("100.00"),
             Eligibility.ANY, True, 0.15, 15),
    ItemPlan("RD-GD", "耕地地力保护补贴", "如东县农业农村局", PeriodKind.YEAR, None,
             Eligibility.ANY, False, 0.55, 20),
    ItemPlan("RD-YB", "城乡居民医保参保资助", "如东县医疗保障局", PeriodKind.YEAR,
             Decimal("380.00"), Eligibility.LOW_INCOME, False, 0.30, 25),
]  # fmt: skip
YEAR = 2026
BANKS = [
    ("中国农业银行", "622848"),
    ("江苏如东农村商业银行", "622369"),
    ("中国邮政储蓄银行", "621799"),
]
# 高龄津贴 for August was never paid: the unpaid-period warning, 30 days after August.
UNPAID = ("RD-GL", 8)
CHECK_VISITS = 120  # visits whose passbook is checked, per quarter (Q2, Q3)


def seed(*, context: DemoContext) -> dict[str, int]:
    """Items, a year of lists, checks at visits, warnings; nothing when the county is absent."""
    rng = random.Random(context.seed * 6151 + 7)
    now = timezone.now()
    departments = {u.name: u for u in Unit.objects.filter(region_id=RUDONG[0])}
    if any(plan.department not in departments for plan in ITEMS):
        context.log("payments: skipped (the demo county's departments are missing)")
        return {"payments": 0}
    items = _items(departments)
    households = list(
        Household.objects.filter(village__code__startswith=RUDONG[0][:6])
        .order_by("id")
        .values_list("id", "number", "head_name", "id_number", "village_id", "status")[:20_000]
    )
    if not households:
        return {"payments": 0}
    rows = _rows(rng, households, now)
    loaded = _load(rows, items, context)
    checks, cases = _checks(rng, now)
    raised = sum(rules.run_rules(now=now).values())
    village = (
        Payment.objects.filter(item__code="RD-DB")
        .order_by("village_id")
        .values_list("village_id", flat=True)
    ).first()
    context.log(
        f"payments: {loaded} loaded, {checks} checked at visits, {cases} cases opened; "
        f"disclosure page /payments/public/{village}/"
    )
    return {
        "payments": loaded,
        "payment_checks": checks,
        "payment_cases": cases,
        "payment_warnings_late": raised,
    }


def _items(departments: dict[str, Unit]) -> dict[str, SubsidyItem]:
    items = {}
    for plan in ITEMS:
        items[plan.code], _ = SubsidyItem.objects.update_or_create(
            code=plan.code,
            defaults={
                "name": plan.name,
                "department": departments[plan.department],
                "region_id": RUDONG[0],
                "period_kind": plan.period_kind,
                "standard_amount": plan.standard,
                "eligibility": plan.eligibility,
                "scheduled_from": date(YEAR, 1, 1) if plan.scheduled else None,
            },
        )
    return items


def _account(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(str(rng.randrange(10)) for _ in range(13))


def _stranger_id(rng: random.Random) -> str:
    body = f"320623{rng.randint(1940, 1990)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _months(now: datetime, pay_day: int) -> list[int]:
    """The months of the year whose paying day has passed, with a few days to load."""
    today = timezone.localtime(now, SHANGHAI).date()
    return [m for m in range(1, 13) if date(YEAR, m, pay_day) + timedelta(days=3) <= today]


def _rows(rng: random.Random, households: list[tuple], now: datetime) -> list[dict]:
    rows: list[dict] = []
    cards = {h[0]: BANKS[rng.randrange(len(BANKS))] for h in households}
    accounts = {h[0]: _account(rng, cards[h[0]][1]) for h in households}

    def add(plan: ItemPlan, h: tuple, period: str, paid_on: date, batch: str, **over) -> None:
        rows.append(
            {
                "批次号": batch,
                "项目编码": plan.code,
                "所属期": period,
                "村代码": h[4],
                "户编号": "",
                "姓名": h[2],
                "身份证号": h[3],
                "金额": str(plan.standard or Decimal(rng.randrange(60, 400))),
                "发放日期": paid_on.isoformat(),
                "代发银行": cards[h[0]][0],
                "银行账号": accounts[h[0]],
                **over,
            }
        )

    for plan in ITEMS:
        low_income_only = plan.eligibility == Eligibility.LOW_INCOME
        eligible = [h for h in households if not low_income_only or h[5] != HouseholdStatus.EXITED]
        chosen = [h for h in eligible if rng.random() < plan.share]
        if low_income_only:
            # Planted: two exited households still on the low-income list.
            chosen += [h for h in households if h[5] == HouseholdStatus.EXITED][:2]
        if plan.period_kind == PeriodKind.MONTH:
            for month in _months(now, plan.pay_day):
                if (plan.code, month) == UNPAID:
                    continue
                batch = f"{plan.code}-{YEAR}{month:02d}"
                for h in chosen:
                    add(plan, h, f"{YEAR}-{month:02d}", date(YEAR, month, plan.pay_day), batch)
        elif date(YEAR, 4, plan.pay_day) + timedelta(days=3) <= timezone.localdate(now):
            for h in chosen:
                add(plan, h, str(YEAR), date(YEAR, 4, plan.pay_day), f"{plan.code}-{YEAR}")
    _plant(rng, rows, households)
    return rows


def _plant(rng: random.Random, rows: list[dict], households: list[tuple]) -> None:
    """The anomalies the warning rules are there to find."""
    monthly = [r for r in rows if r["项目编码"] == "RD-DB"]
    if not monthly:
        return
    for r in rng.sample(monthly, min(3, len(monthly))):  # paid twice: a second list (补发)
        rows.append({**r, "批次号": f"{r['批次号']}-BF", "发放日期": _later(r["发放日期"], 6)})
    for r in rng.sample(monthly, min(5, len(monthly))):  # half the standard
        r["金额"] = "405.00"
    for r in rng.sample(monthly, min(2, len(monthly))):  # another name on the card
        r["姓名"] = r["姓名"][0] + "晓" + r["姓名"][2:] if len(r["姓名"]) > 2 else r["姓名"] + "华"
    for i in range(3):  # people the register does not know
        template = rng.choice(monthly)
        rows.append(
            {
                **template,
                "姓名": ["陈桂兰", "周德福", "吴秀珍"][i],
                "身份证号": _stranger_id(rng),
                "银行账号": _account(rng, "622848"),
            }
        )


def _later(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _load(rows: list[dict], items: dict, context: DemoContext) -> int:
    """Each list loaded on its own, three days after it was paid, as an office would."""
    batches: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        batches[r["批次号"]].append(r)
    loaded = 0
    for code, batch in sorted(batches.items(), key=lambda kv: max(r["发放日期"] for r in kv[1])):
        paid = max(date.fromisoformat(r["发放日期"]) for r in batch)
        at = datetime.combine(paid + timedelta(days=3), time(9, 0), tzinfo=SHANGHAI)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(batch)
        report = payments_load(
            stream=io.BytesIO(out.getvalue().encode()), filename=f"{code}.csv", now=at
        )
        if not report.ok:  # the demo's own rows: a failure here is a bug in this module
            raise RuntimeError(f"demo payment list {code}: {report.lines()[:3]}")
        loaded += report.loaded
    return loaded


def _checks(rng: random.Random, now: datetime) -> tuple[int, int]:
    """Passbook checks at a sample of Q2 and Q3 visits of households with payments."""
    paid = Payment.objects.filter(household_id=OuterRef("household_id"))
    office = User.objects.filter(username="county_office").first()
    checks = cases = 0
    village_pattern: dict[str, list[Visit]] = defaultdict(list)
    for quarter in (2, 3):
        visits = list(
            Visit.objects.filter(
                year=YEAR, quarter=quarter, household__village__code__startswith=RUDONG[0][:6]
            )
            .filter(Exists(paid))
            .select_related("household", "helper", "submitted_by")
            .order_by("visited_at", "id")
        )
        sample = rng.sample(visits, min(CHECK_VISITS, len(visits)))
        if quarter == 3:
            # The village-level pattern is planted on visits the sample leaves unchecked.
            chosen = {v.pk for v in sample}
            for visit in visits:
                if visit.pk not in chosen:
                    village_pattern[visit.village_id].append(visit)
        for visit in sample:
            at = visit.visited_at + timedelta(minutes=20)
            due = list(_due(visit, at))
            readings = [_reading(rng, p) for p in due]
            if not readings:
                continue
            try:
                recorded = passbook_checks_record(
                    user=visit.submitted_by, visit=visit, checks=readings, now=at
                )
            except AppError:
                continue  # a visit the sample cannot check (another helper's login): skip it
            checks += recorded.created
            cases += len(recorded.cases)
            for opened in recorded.cases:
                if rng.random() < 0.5:  # the other half still waits for the office
                    _assign(opened.grievance_id, office, at)
    checks_more, cases_more = _village_missing(village_pattern)
    return checks + checks_more, cases + cases_more


def _due(visit: Visit, at: datetime):
    from payments.selectors import due_payments

    return due_payments(household_id=visit.household_id, visit=visit, now=at).filter(
        passbook_check__isnull=True
    )


def _reading(rng: random.Random, payment: Payment) -> CheckInput:
    roll = rng.random()
    if roll < 0.01:
        return CheckInput(payment.pk, CheckResult.MISSING, note="存折上无此笔入账")
    if roll < 0.016:
        return CheckInput(
            payment.pk,
            CheckResult.DIFFERENT,
            amount_seen=(payment.amount / 2).quantize(Decimal("0.01")),
        )
    return CheckInput(payment.pk, CheckResult.SEEN)


def _assign(grievance_id: int, office: User | None, at: datetime) -> None:
    """The county office accepts the case and assigns it to the item's department next day."""
    from grievances.models import Grievance

    case = Grievance.objects.filter(pk=grievance_id).first()
    if case is None or office is None or case.proposed_department_id is None:
        return
    when = at + timedelta(days=1)
    try:
        case = transition(case, "accept", office, "资金问题,转主管部门核查", when)
        transition(case, "assign", office, "", when, department=case.proposed_department)
    except AppError:
        return


def _village_missing(pattern: dict[str, list[Visit]]) -> tuple[int, int]:
    """Three households of one village find September's 最低生活保障金 missing (the list was
    paid to the wrong accounts at the bank): the village-level warning."""
    for _village, visits in sorted(pattern.items(), key=lambda kv: -len(kv[1])):
        found = []
        for visit in visits:
            payment = (
                _due(visit, visit.visited_at + timedelta(minutes=30))
                .filter(item__code="RD-DB", period=f"{YEAR}-09")
                .first()
            )
            if payment is not None:
                found.append((visit, payment))
        if len(found) < 3:
            continue
        checks = cases = 0
        for visit, payment in found[:3]:
            recorded = passbook_checks_record(
                user=visit.submitted_by,
                visit=visit,
                checks=[CheckInput(payment.pk, CheckResult.MISSING, note="本月低保未到账")],
                now=visit.visited_at + timedelta(minutes=30),
            )
            checks += recorded.created
            cases += len(recorded.cases)
        return checks, cases
    return 0, 0
