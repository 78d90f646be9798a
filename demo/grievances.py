"""Demo complaints and requests for help for `seed_demo` (a seeder).

About sixty cases in Rudong county, in every state a queue shows: new, accepted, rejected,
assigned, returned, replied, resolved, closed (some rated, some reopened), and overdue ones
that the office has pressed. Each is filed with `grievance_submit` and moved only by
`workflow.transition(...)` with `now=` in the past, so deadlines, on-time statistics,
timelines and notifications are the real ones. Times are counted back from the moment the
demo is built, so "overdue" stays overdue and "new" stays new whatever the day.

Half the assigned cases go to 南通市民政局, whose handler is the demo login `dept_minzheng`.
One case has a fixed tracking code and key (`DEMO_CODE`, `DEMO_KEY`) for trying the public
tracking page.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from demo.register import DemoContext
from grievances import codes
from grievances.models import Category, Grievance, Kind
from grievances.services import grievance_submit
from grievances.workflow import RESIDENT, SYSTEM, transition
from register.models import Household, Pairing, Unit

DEMO_CODE = "DEMXSAMPLE"
DEMO_KEY = "TRYMEDEMKEY2"
MINZHENG = "南通市民政局"
OTHER_DEPARTMENTS = [
    "如东县民政局",
    "如东县农业农村局",
    "如东县住房和城乡建设局",
    "如东县医疗保障局",
]

# (target, how many). The plan of each target is in `_drive`.
PLAN: list[tuple[str, int]] = [
    ("submitted", 6),
    ("submitted_overdue", 2),
    ("rejected", 4),
    ("accepted", 5),
    ("assigned", 8),
    ("assigned_overdue", 4),
    ("returned", 3),
    ("replied", 7),
    ("replied_overdue", 3),
    ("resolved", 5),
    ("closed", 10),
    ("reopened", 2),
]

TEXTS: dict[str, list[tuple[str, str]]] = {
    Kind.HELP: [
        (Category.LIVING, "家中老人常年卧病,今年医药费开支很大,生活困难,希望申请临时救助。"),
        (Category.LIVING, "房屋年久失修,屋顶漏雨,雨季无法居住,请求帮助修缮。"),
        (Category.POLICY, "孩子今年考上大学,想了解低收入家庭学生的助学政策怎么申请。"),
        (Category.POLICY, "丈夫残疾不能劳动,想咨询能否办理重度残疾人护理补贴。"),
        (Category.LIVING, "今年承包的鱼塘受灾,经营亏损,家里收入骤减,请求帮扶。"),
    ],
    Kind.COMPLAINT: [
        (Category.HELPER, "帮扶责任人一年多没有上门,只打过一次电话,走访记录却显示每季度都来过。"),
        (Category.FUNDS, "一折通里的低保金本季度少发了一个月,村里说不清楚原因。"),
        (Category.IDENTIFICATION, "我家收入低于标准,申请低收入户认定两次都没有结果。"),
        (Category.PROJECT, "村里的扶贫产业项目大棚建好后一直闲置,没有带动农户增收。"),
        (Category.POLICY, "医疗救助报销材料交上去两个月了,还没有到账。"),
    ],
    Kind.WRONGDOING: [
        (Category.FUNDS, "反映村干部亲属不符合条件却享受低收入户补助,请核查。"),
        (Category.HELPER, "帮扶责任人让我们在走访照片上签字摆拍,实际并没有了解情况。"),
        (Category.FUNDS, "村集体扶贫项目的分红没有按规定发放到户,账目不公开。"),
        (Category.IDENTIFICATION, "有人家里有车有厂,却被评为低收入户,群众意见很大。"),
    ],
    Kind.ENQUIRY: [
        (Category.POLICY, "脱贫后还能继续享受医保补贴吗?政策过渡期到什么时候?"),
        (Category.OTHER, "想知道今年低收入人口的收入标准是多少。"),
    ],
}
KIND_WEIGHTS = [(Kind.HELP, 30), (Kind.COMPLAINT, 35), (Kind.WRONGDOING, 20), (Kind.ENQUIRY, 15)]
REPLIES = [
    "已收悉,我局已安排专人联系诉求人,将于近期上门核实情况。",
    "已受理,正会同镇村开展调查,结果将及时反馈。",
    "已受理,已转交业务科室核查相关发放记录。",
]
RESULTS = [
    "经核查,情况属实,已为其办理临时救助2000元,并纳入重点关注对象。",
    "经核查,补发少发的低保金一个月,原因为银行代发名单遗漏,已整改。",
    "经调查,反映问题部分属实,已责令村委会整改并公开账目,相关人员已约谈。",
    "经核查,申请人家庭收入超过认定标准,已向其当面解释政策。",
    "已协调镇政府安排危房改造资金,屋顶修缮本月内完工。",
]
REJECTS = [
    "诉求内容不属于本平台受理范围,已告知向法院起诉。",
    "反映事项已在信访渠道办理终结,不再重复受理。",
]


@dataclass
class Cast:
    office: User
    handlers: dict[int, User]  # department unit id -> its handler login
    departments: list[Unit]
    minzheng: Unit


def seed(*, context: DemoContext) -> dict[str, int]:
    """About sixty cases across every state, through the real workflow."""
    cast = _cast()
    if cast is None:
        return {"grievances": 0}
    rng = random.Random(context.seed * 104729 + 3)
    now = timezone.now().replace(microsecond=0)
    homes = list(
        Pairing.objects.filter(end_date__isnull=True, household__village__code__startswith="320623")
        .values_list("household_id", "household__village_id", "helper_id")
        .order_by("household_id")[:5000]  # enough to choose from, also for a million
    )
    if not homes:  # a register without the demo county's pairings: nothing to file about
        return {"grievances": 0}
    states: Counter[str] = Counter()
    n = 0
    for target, count in PLAN:
        for _ in range(count):
            case = _drive(rng, cast, homes, target, now, n)
            states[case.state] += 1
            states["overdue"] += int(case.overdue)
            n += 1
    _fix_demo_tracking(context)
    context.log(f"grievances: {dict(states)}; tracking code {DEMO_CODE} key {DEMO_KEY}")
    return {"grievances": n, "grievances_overdue": states["overdue"]}


def _cast() -> Cast | None:
    office = User.objects.filter(username="county_office").first()
    minzheng = Unit.objects.filter(name=MINZHENG, handles_grievances=True).first()
    if office is None or minzheng is None:
        return None
    others = Unit.objects.filter(name__in=OTHER_DEPARTMENTS, handles_grievances=True)
    departments = [minzheng, *others.order_by("id")]
    handlers: dict[int, User] = {}
    for unit in departments:
        user = User.objects.filter(role=Role.DEPARTMENT, unit=unit).order_by("id").first()
        if user is None:
            user = User.objects.create(
                username=f"dept{unit.pk:03d}",
                first_name=f"{unit.name}经办人",
                role=Role.DEPARTMENT,
                region_id=unit.region_id,
                unit=unit,
                is_staff=True,
                password="!",  # no login: the demo's handler login is dept_minzheng
            )
        handlers[unit.pk] = user
    return Cast(office=office, handlers=handlers, departments=departments, minzheng=minzheng)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _file(rng: random.Random, homes, at: datetime, n: int) -> Grievance:
    kind = _weighted(rng, KIND_WEIGHTS)
    category, text = rng.choice(TEXTS[kind])
    household_id, village, helper_id = rng.choice(homes)
    anonymous = kind == Kind.WRONGDOING or rng.random() < 0.25
    about_helper = category == Category.HELPER
    name = phone = ""
    if not anonymous:
        head = Household.objects.values_list("head_name", "phone").get(pk=household_id)
        name, phone = head
    filed = grievance_submit(
        kind=kind,
        category=category,
        region_code=village,
        text=text,
        anonymous=anonymous,
        name=name,
        phone=phone,
        household_id=None if about_helper else household_id,
        helper_id=helper_id if about_helper else None,
        village_code=village,
        now=at,
    )
    return filed.grievance


def _drive(rng, cast: Cast, homes, target: str, now: datetime, n: int) -> Grievance:
    """File one case and move it to `target` with realistic gaps, all in the past."""
    hours = timedelta(hours=1)
    days = timedelta(days=1)
    ages = {  # how long ago it was filed
        "submitted": rng.uniform(0.05, 0.9) * days,
        "submitted_overdue": rng.uniform(5, 9) * days,
        "rejected": rng.uniform(3, 40) * days,
        "accepted": rng.uniform(0.3, 1.5) * days,
        "assigned": rng.uniform(1.5, 4) * days,
        "assigned_overdue": rng.uniform(13, 20) * days,
        "returned": rng.uniform(3, 8) * days,
        "replied": rng.uniform(4, 8) * days,
        "replied_overdue": rng.uniform(22, 30) * days,
        "resolved": rng.uniform(10, 16) * days,
        "closed": rng.uniform(25, 90) * days,
        "reopened": rng.uniform(12, 16) * days,
    }
    t = now - ages[target]
    case = _file(rng, homes, t, n)
    office = cast.office
    # Half to 民政局 (the demo handler's queue), the rest spread over county departments.
    unit = cast.minzheng if n % 2 == 0 else rng.choice(cast.departments)
    handler = cast.handlers[unit.pk]

    def step(action: str, user, gap: timedelta, note: str = "", **params) -> None:
        nonlocal t, case
        t = min(t + gap, now - timedelta(minutes=5))
        case = transition(case, action, user, note=note, now=t, **params)

    if target in ("submitted", "submitted_overdue"):
        pass
    elif target == "rejected":
        step("reject", office, rng.uniform(2, 20) * hours, rng.choice(REJECTS))
    else:
        step("accept", office, rng.uniform(1, 20) * hours)
        if target != "accepted":
            step("assign", office, rng.uniform(0.5, 6) * hours, department=unit)
        if target == "returned":
            step(
                "return",
                handler,
                rng.uniform(2, 30) * hours,
                "该事项属于县住建部门职责,请重新交办。",
            )
        if target in ("replied", "replied_overdue", "resolved", "closed", "reopened"):
            late = target == "closed" and rng.random() < 0.2
            step("reply", handler, rng.uniform(1, 8 if late else 3) * days, rng.choice(REPLIES))
        if target in ("resolved", "closed", "reopened"):
            step("resolve", handler, rng.uniform(2, 7) * days, rng.choice(RESULTS))
        if target in ("closed", "reopened"):
            step("close", office, rng.uniform(0.2, 2) * days)
            if target == "closed" and rng.random() < 0.6:
                step(
                    "rate",
                    RESIDENT,
                    rng.uniform(0.5, 5) * days,
                    "",
                    rating=rng.choice([5, 5, 4, 4, 3, 2]),
                )
        if target == "reopened":
            step("reopen", RESIDENT, rng.uniform(1, 3) * days, "问题没有真正解决,申请重新办理。")
    if target.endswith("_overdue"):
        # What the scheduled job does at its next run, then the office presses it.
        case = transition(case, "mark_overdue", SYSTEM, now=now - timedelta(minutes=2))
        case = transition(
            case, "press", office, note="请抓紧办理,三日内反馈。", now=now - timedelta(minutes=1)
        )
    return case


def _fix_demo_tracking(context: DemoContext) -> None:
    """Give the first rated closed case a known code and key, for trying the tracking page."""
    case = (
        Grievance.objects.filter(state="closed", anonymous=False)
        .order_by("submitted_at", "id")
        .first()
    )
    if case is None:
        return
    Grievance.objects.filter(pk=case.pk).update(code=DEMO_CODE, key_hash=codes.hash_key(DEMO_KEY))
