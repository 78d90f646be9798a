"""A deterministic demo county: regions, units, helpers, households, pairings and logins.

`build()` makes Rudong county (如东县, Nantong, Jiangsu) with its real towns, generated villages,
households with valid ID numbers, helpers paired with every active household, weak villages
paired with city and county departments, and a login for every role. The same seed gives the
same data. It scales: households, helpers and pairings are generated village by village and
written in batches (PostgreSQL COPY, or executemany elsewhere), so a million households take
minutes and flat memory.

The other demo modules (`demo/visits.py`, `demo/grievances.py`) are seeders passed to `build()`:
each is called as `seeder(context=DemoContext)` inside the same transaction, after the register
is built, and may return a dict of counts to print.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from stdnum.cn import ric

from accounts.models import User
from accounts.roles import Role
from regions.models import Level, Region
from register.models import (
    Designation,
    Helper,
    HelperKind,
    Household,
    HouseholdStatus,
    IncomeThreshold,
    Pairing,
    Unit,
    UnitKind,
    UnitPairing,
    WeakVillage,
)

DEMO_PASSWORD = "demo-2026!"
DEFAULT_HOUSEHOLDS = 3000
BATCH_ROWS = 10_000

PROVINCE = ("320000000000", "江苏省")
CITY = ("320600000000", "南通市")
RUDONG = ("320623000000", "如东县")
RUGAO = ("320682000000", "如皋市")
# Rudong's streets (街道) and towns (镇); 9-digit town codes in the national pattern.
RUDONG_TOWNS: list[tuple[str, str]] = [
    ("320623001", "掘港街道"),
    ("320623002", "城中街道"),
    ("320623003", "苴镇街道"),
    ("320623101", "长沙镇"),
    ("320623102", "大豫镇"),
    ("320623103", "栟茶镇"),
    ("320623104", "洋口镇"),
    ("320623105", "马塘镇"),
    ("320623106", "岔河镇"),
    ("320623107", "双甸镇"),
    ("320623108", "河口镇"),
    ("320623109", "袁庄镇"),
    ("320623110", "丰利镇"),
    ("320623111", "曹埠镇"),
]
RUGAO_TOWNS: list[tuple[str, str]] = [("320682001", "如城街道")]
RUGAO_VILLAGES = 3  # enough for outsiders to exist

RUDONG_CENTRE = (32.31, 121.18)
RUGAO_CENTRE = (32.37, 120.57)

# A birth place code is valid only for the years its county had it (stdnum checks): Rudong was
# 322523 in the Nantong prefecture until 1983, then 320623; Rugao 322522, 320622, then 320682.
BIRTH_PLACES: dict[str, list[tuple[int, str]]] = {
    RUDONG[0]: [(1984, "320623"), (0, "322523")],
    RUGAO[0]: [(1991, "320682"), (1984, "320622"), (0, "322522")],
}

CITY_DEPARTMENTS = [
    "南通市民政局",
    "南通市人力资源和社会保障局",
    "南通市农业农村局",
    "南通市住房和城乡建设局",
    "南通市医疗保障局",
    "南通市财政局",
    "南通市教育局",
    "南通市卫生健康委员会",
    "南通市水利局",
    "南通市交通运输局",
]
COUNTY_DEPARTMENTS = [
    "如东县农业农村局",
    "如东县住房和城乡建设局",
    "如东县医疗保障局",
    "如东县民政局",
    "如东县人力资源和社会保障局",
    "如东县教育体育局",
    "如东县卫生健康委员会",
    "如东县财政局",
]
COUNTY_ENTERPRISES = [
    "江苏如东农村商业银行",
    "国网如东县供电公司",
    "南通洋口港开发有限公司",
    "如东县自来水有限公司",
]
COUNTY_SOCIAL = ["如东县慈善总会", "如东县志愿者协会"]
RUGAO_UNITS = [("如皋市民政局", UnitKind.DEPARTMENT), ("如皋市农业农村局", UnitKind.DEPARTMENT)]

SURNAMES = (
    "陈张王李朱徐顾陆缪季曹吴周孙杨黄赵刘钱沈冯蒋施袁丁蔡范许严姜凌邵"
    "葛仇茅缪包管花石景汤卢储冒于马何邱成郭瞿"
)
GIVEN = "建国华明秀英兰芳桂红玉珍凤春海林军平强伟勇刚忠德福荣贵生祥金宝梅霞萍云洪卫东志文美丽琴"
VILLAGE_FIRST = "东西南北新长丰兴永太和荣安富民建光明红团洋港海沿盐桥河湖庄园"
VILLAGE_SECOND = "凌光丰乐兴华胜联合平安民庄桥港河湾园林口坝墩灶岸星强阳"
PHONE_PREFIXES = ["135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "187"]

STATUS_WEIGHTS = [
    (HouseholdStatus.ACTIVE, 85),
    (HouseholdStatus.EXITED, 12),
    (HouseholdStatus.RETURNED, 3),
]
MEMBERS_WEIGHTS = [(1, 20), (2, 30), (3, 25), (4, 15), (5, 7), (6, 3)]
HISTORY_SHARE = 0.04  # active households that changed helper once
WEAK_VILLAGE_SHARE = 0.06
THRESHOLD_YEARS = (2024, 2025, 2026)
THRESHOLD_YUAN = Decimal("7000.00")


@dataclass(frozen=True)
class DemoLoginSpec:
    username: str
    role: Role
    region_code: str | None
    name: str
    unit_name: str | None = None


LOGIN_SPECS: list[DemoLoginSpec] = [
    DemoLoginSpec("admin", Role.ADMIN, None, "系统管理员"),
    DemoLoginSpec("city_office", Role.CITY_OFFICE, CITY[0], "南通市扶贫办"),
    DemoLoginSpec("county_office", Role.COUNTY_OFFICE, RUDONG[0], "如东县扶贫办"),
    DemoLoginSpec("town_juegang", Role.TOWN_OFFICE, "320623001000", "掘港街道扶贫办"),
    DemoLoginSpec("town_matang", Role.TOWN_OFFICE, "320623105000", "马塘镇扶贫办"),
    DemoLoginSpec("rugao_office", Role.COUNTY_OFFICE, RUGAO[0], "如皋市扶贫办"),
    DemoLoginSpec("supervisor", Role.SUPERVISOR, RUDONG[0], "如东县纪委监委"),
    DemoLoginSpec("dept_minzheng", Role.DEPARTMENT, CITY[0], "市民政局经办人", "南通市民政局"),
    DemoLoginSpec(
        "unit_renshe", Role.UNIT, CITY[0], "市人社局挂钩联络员", "南通市人力资源和社会保障局"
    ),
]
HELPER_LOGINS = ["helper01", "helper02", "helper03"]  # linked to helpers of 掘港街道
DEMO_USERNAMES = [spec.username for spec in LOGIN_SPECS] + HELPER_LOGINS


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    region: str


@dataclass
class DemoResult:
    households: int
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


@dataclass
class DemoContext:
    """What a demo seeder gets: the size, a seeded RNG, a writer."""

    households: int
    seed: int
    rng: random.Random
    writer: BulkWriter
    log: Callable[[str], None]


# --- Writing rows fast ------------------------------------------------------------------------


class BulkWriter:
    """Appends rows to a table: PostgreSQL COPY, or executemany on other databases.

    Rows are plain tuples in `columns` order (field names); primary keys are assigned by the
    caller, so related rows can name them without reading them back. `finish()` moves the
    id sequences past the ids used.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.touched: set[type[models.Model]] = set()

    def write(
        self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]
    ) -> int:
        meta = model._meta
        table = connection.ops.quote_name(meta.db_table)
        cols = ", ".join(connection.ops.quote_name(meta.get_field(c).column) for c in columns)
        self.touched.add(model)
        count = 0
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            else:
                marks = ", ".join(["%s"] * len(columns))
                batch = [tuple(_plain(v) for v in row) for row in rows]
                if batch:
                    cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
                count = len(batch)
        return count

    def finish(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.touched))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _plain(value: Any) -> Any:
    # sqlite3's own date adapters are deprecated; Decimal has none. Store what Django stores.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def next_id(model: type[models.Model]) -> int:
    last = model.objects.aggregate(m=models.Max("pk"))["m"]
    return (last or 0) + 1


# --- Generators -------------------------------------------------------------------------------


# The hot loop draws about twenty numbers per household: random.randint and random.choice
# spend most of their time in argument handling, so these plain versions halve the build.
def _int(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, seq: Sequence[Any]) -> Any:
    return seq[int(rng.random() * len(seq))]


_CUMULATIVE: dict[int, tuple[tuple[Any, ...], list[int]]] = {}


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    table = _CUMULATIVE.get(id(pairs))
    if table is None:
        values, weights = zip(*pairs, strict=True)
        table = _CUMULATIVE[id(pairs)] = (values, list(itertools.accumulate(weights)))
    values, cumulative = table
    return values[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def person_name(rng: random.Random) -> str:
    given = _pick(rng, GIVEN) + (_pick(rng, GIVEN) if rng.random() < 0.8 else "")
    return _pick(rng, SURNAMES) + given


def id_number(rng: random.Random, county_code: str, birth_year: int) -> str:
    """A national ID number with a birth place valid for the birth year and a right check digit."""
    place = next(code for since, code in BIRTH_PLACES[county_code] if birth_year >= since)
    body = f"{place}{birth_year}{_int(rng, 1, 12):02d}{_int(rng, 1, 28):02d}"
    body += f"{_int(rng, 0, 999):03d}"
    # calc_check_digit expects the full 18 characters and ignores the last one.
    return body + ric.calc_check_digit(body + "0")


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=_int(rng, 0, (end - start).days))


def village_names(rng: random.Random, count: int, street: bool) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        stem = _pick(rng, VILLAGE_FIRST) + _pick(rng, VILLAGE_SECOND)
        suffix = "社区" if street and rng.random() < 0.4 else "村"
        name = stem + suffix
        if name in seen:
            name = f"{stem}{len(names) + 1}{suffix}"
        seen.add(name)
        names.append(name)
    return names


@dataclass
class Village:
    code: str
    name: str
    town_code: str
    town_name: str
    county_code: str
    centre: tuple[float, float]


def village_count(households: int) -> int:
    """About a hundred villages for a few thousand households, a thousand for a million."""
    return max(100, math.isqrt(households))


def build_regions(rng: random.Random, households: int) -> list[Village]:
    """Create the region tree (idempotent per code) and return the villages, in code order."""

    def region(code: str, name: str, level: Level, parent: str | None) -> Region:
        return Region(code=code, name=name, level=level, parent_id=parent)

    rows = [
        region(PROVINCE[0], PROVINCE[1], Level.PROVINCE, None),
        region(CITY[0], CITY[1], Level.CITY, PROVINCE[0]),
        region(RUDONG[0], RUDONG[1], Level.COUNTY, CITY[0]),
        region(RUGAO[0], RUGAO[1], Level.COUNTY, CITY[0]),
    ]
    villages: list[Village] = []
    rudong_villages = village_count(households) - RUGAO_VILLAGES
    per_town = _split(rudong_villages, len(RUDONG_TOWNS), rng)
    plan = [
        (RUDONG, RUDONG_CENTRE, town, n) for town, n in zip(RUDONG_TOWNS, per_town, strict=True)
    ]
    plan += [(RUGAO, RUGAO_CENTRE, town, RUGAO_VILLAGES) for town in RUGAO_TOWNS]
    for (county_code, _), centre, (town9, town_name), n in plan:
        if n > 799:
            raise ValueError("too many villages per town for the 3-digit village code")
        town_code = town9 + "000"
        rows.append(region(town_code, town_name, Level.TOWN, county_code))
        town_centre = (
            centre[0] + rng.uniform(-0.2, 0.2),
            centre[1] + rng.uniform(-0.25, 0.25),
        )
        for i, name in enumerate(village_names(rng, n, town_name.endswith("街道"))):
            code = f"{town9}{200 + i:03d}"
            rows.append(region(code, name, Level.VILLAGE, town_code))
            villages.append(
                Village(
                    code=code,
                    name=name,
                    town_code=town_code,
                    town_name=town_name,
                    county_code=county_code,
                    centre=(
                        town_centre[0] + rng.uniform(-0.04, 0.04),
                        town_centre[1] + rng.uniform(-0.05, 0.05),
                    ),
                )
            )
    Region.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return villages


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` uneven non-negative counts that add up exactly."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


@dataclass
class UnitRef:
    id: int
    name: str
    kind: str
    region_code: str


def build_units(writer: BulkWriter, villages: list[Village]) -> dict[str, list[UnitRef]]:
    """Units by group: 'city', 'county', 'enterprise', 'social', and one per town code."""
    ident = next_id(Unit)
    groups: dict[str, list[UnitRef]] = {}
    rows: list[tuple] = []

    def add(group: str, name: str, kind: str, region: str, handles: bool) -> None:
        nonlocal ident
        rows.append((ident, name, kind, region, handles))
        groups.setdefault(group, []).append(UnitRef(ident, name, kind, region))
        ident += 1

    for name in CITY_DEPARTMENTS:
        add("city", name, UnitKind.DEPARTMENT, CITY[0], True)
    for name in COUNTY_DEPARTMENTS:
        add("county", name, UnitKind.DEPARTMENT, RUDONG[0], True)
    for name in COUNTY_ENTERPRISES:
        add("enterprise", name, UnitKind.ENTERPRISE, RUDONG[0], False)
    for name in COUNTY_SOCIAL:
        add("social", name, UnitKind.SOCIAL, RUDONG[0], False)
    for name, kind in RUGAO_UNITS:
        add(RUGAO[0], name, kind, RUGAO[0], kind == UnitKind.DEPARTMENT)
    for town_code, town_name in sorted({(v.town_code, v.town_name) for v in villages}):
        office = "办事处" if town_name.endswith("街道") else "人民政府"
        add(town_code, town_name + office, UnitKind.GRASSROOTS, town_code, False)
    writer.write(Unit, ["id", "name", "kind", "region", "handles_grievances"], rows)
    return groups


HELPER_KIND_BY_UNIT = {
    UnitKind.DEPARTMENT: [HelperKind.CADRE],
    UnitKind.GRASSROOTS: [HelperKind.VILLAGE_CADRE, HelperKind.CADRE],
    UnitKind.ENTERPRISE: [HelperKind.ENTREPRENEUR, HelperKind.EMPLOYEE],
    UnitKind.SOCIAL: [HelperKind.VOLUNTEER],
}


class RegisterGenerator:
    """Households, helpers and pairings, village by village, flushed in batches."""

    HOUSEHOLD_COLUMNS = [
        "id", "number", "head_name", "id_number", "phone", "members", "village", "address",
        "home_lat", "home_lon", "status", "registered_on", "exited_on", "returned_on",
    ]  # fmt: skip
    HELPER_COLUMNS = ["id", "name", "phone", "kind", "unit", "region", "active"]
    PAIRING_COLUMNS = ["id", "helper", "household", "start_date", "end_date"]

    def __init__(
        self,
        *,
        rng: random.Random,
        writer: BulkWriter,
        units: dict[str, list[UnitRef]],
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.rng = rng
        self.writer = writer
        self.units = units
        self.batch_rows = batch_rows
        self.household_id = next_id(Household)
        self.helper_id = next_id(Helper)
        self.pairing_id = next_id(Pairing)
        self.helper_seq = Helper.objects.count()
        self.households: list[tuple] = []
        self.helpers: list[tuple] = []
        self.pairings: list[tuple] = []
        self.counts = {"households": 0, "helpers": 0, "pairings": 0}

    def _new_helper(self, village: Village) -> int:
        rng = self.rng
        if village.county_code == RUGAO[0]:
            pool = self.units[RUGAO[0]] + self.units[village.town_code]
        else:
            pick = rng.random()
            if pick < 0.35:
                pool = self.units["county"]
            elif pick < 0.45:
                pool = self.units["city"]
            elif pick < 0.55:
                pool = self.units["enterprise"] + self.units["social"]
            else:
                pool = self.units[village.town_code]
        unit = _pick(rng, pool)
        ident = self.helper_id
        self.helper_id += 1
        self.helper_seq += 1
        phone = f"{PHONE_PREFIXES[self.helper_seq % len(PHONE_PREFIXES)]}{self.helper_seq:08d}"
        kind = _pick(rng, HELPER_KIND_BY_UNIT[UnitKind(unit.kind)])
        self.helpers.append(
            (ident, person_name(rng), phone, kind, unit.id, village.town_code, True)
        )
        return ident

    def _pair(self, helper: int, household: int, start: date, end: date | None) -> None:
        self.pairings.append((self.pairing_id, helper, household, start, end))
        self.pairing_id += 1

    def village(self, village: Village, count: int) -> None:
        """Generate `count` households of one village with their helpers and pairings."""
        rng = self.rng
        pool: list[int] = []  # the village's helpers so far
        current, room = 0, 0
        for seq in range(1, count + 1):
            status = _weighted(rng, STATUS_WEIGHTS)
            registered = _random_day(rng, date(2016, 1, 1), date(2021, 6, 30))
            exited = returned = None
            if status != HouseholdStatus.ACTIVE:
                exited = date(_int(rng, 2021, 2024 if status == "returned" else 2025), 12, 31)
            if status == HouseholdStatus.RETURNED:
                returned = _random_day(rng, exited + timedelta(days=30), date(2025, 12, 31))
            household = self.household_id
            self.household_id += 1
            place = village.town_name + village.name
            lat = village.centre[0] + rng.uniform(-0.006, 0.006)
            lon = village.centre[1] + rng.uniform(-0.007, 0.007)
            self.households.append(
                (
                    household,
                    f"{village.code}{seq:04d}",
                    person_name(rng),
                    id_number(rng, village.county_code, _int(rng, 1940, 2000)),
                    f"{_pick(rng, PHONE_PREFIXES)}{_int(rng, 0, 99_999_999):08d}",
                    _weighted(rng, MEMBERS_WEIGHTS),
                    village.code,
                    f"{place}{_int(rng, 1, 12)}组{_int(rng, 1, 60)}号",
                    f"{lat:.6f}",
                    f"{lon:.6f}",
                    status,
                    registered,
                    exited,
                    returned,
                )
            )
            # Ended pairings go to an earlier helper of the village when there is one.
            open_from = registered
            if status != HouseholdStatus.ACTIVE:
                if not pool:
                    pool.append(self._new_helper(village))
                self._pair(_pick(rng, pool), household, registered, exited)
                if status == HouseholdStatus.EXITED:
                    continue
                open_from = returned
            elif rng.random() < HISTORY_SHARE and pool:
                switch = _random_day(rng, registered + timedelta(days=200), date(2025, 6, 30))
                self._pair(_pick(rng, pool), household, registered, switch)
                open_from = switch
            if room == 0:
                current = self._new_helper(village)
                pool.append(current)
                room = _int(rng, 1, 5)
            self._pair(current, household, open_from, None)
            room -= 1
        if len(self.households) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        w = self.writer
        self.counts["helpers"] += w.write(Helper, self.HELPER_COLUMNS, self.helpers)
        self.counts["households"] += w.write(Household, self.HOUSEHOLD_COLUMNS, self.households)
        self.counts["pairings"] += w.write(Pairing, self.PAIRING_COLUMNS, self.pairings)
        self.helpers, self.households, self.pairings = [], [], []


def build_register(
    *,
    rng: random.Random,
    writer: BulkWriter,
    villages: list[Village],
    units: dict[str, list[UnitRef]],
    households: int,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, int]:
    gen = RegisterGenerator(rng=rng, writer=writer, units=units, batch_rows=batch_rows)
    for village, count in zip(villages, _split(households, len(villages), rng), strict=True):
        gen.village(village, count)
    gen.flush()
    return gen.counts


def build_weak_villages(
    *, rng: random.Random, writer: BulkWriter, villages: list[Village], units: dict
) -> dict[str, int]:
    """Weak villages (mostly city-designated) paired with departments, a few re-paired once."""
    rudong = [v for v in villages if v.county_code == RUDONG[0]]
    chosen = sorted(
        rng.sample(rudong, max(3, round(len(rudong) * WEAK_VILLAGE_SHARE))), key=lambda v: v.code
    )
    departments = units["city"] + units["county"]
    renshe = next(u for u in units["city"] if u.name == "南通市人力资源和社会保障局")
    weak_rows, pairing_rows = [], []
    ident = next_id(UnitPairing)
    for i, village in enumerate(chosen):
        designation = Designation.PROVINCE if rng.random() < 0.2 else Designation.CITY
        weak_rows.append((village.code, designation, 2021))
        # The demo pairing-unit login (市人社局) must have villages to visit.
        unit = renshe if i % 4 == 0 else _pick(rng, departments)
        if rng.random() < 0.2:
            earlier = _pick(rng, [d for d in departments if d.id != unit.id])
            pairing_rows.append(
                (ident, earlier.id, village.code, date(2021, 3, 1), date(2023, 3, 1))
            )
            pairing_rows.append((ident + 1, unit.id, village.code, date(2023, 3, 1), None))
            ident += 2
        else:
            pairing_rows.append((ident, unit.id, village.code, date(2021, 3, 1), None))
            ident += 1
    writer.write(WeakVillage, ["village", "designation", "designated_year"], weak_rows)
    writer.write(
        UnitPairing, ["id", "unit", "weak_village", "start_date", "end_date"], pairing_rows
    )
    return {"weak_villages": len(weak_rows), "unit_pairings": len(pairing_rows)}


def build_logins(units: dict[str, list[UnitRef]]) -> int:
    """The demo users, one password hashed once (argon2 costs ~150 ms a hash)."""
    password = make_password(DEMO_PASSWORD)
    unit_ids = {u.name: u.id for group in units.values() for u in group}
    users = [
        User(
            username=spec.username,
            first_name=spec.name,
            role=spec.role,
            region_id=spec.region_code,
            unit_id=unit_ids[spec.unit_name] if spec.unit_name else None,
            is_staff=spec.role not in (Role.HELPER, Role.UNIT),
            is_superuser=spec.role == Role.ADMIN,
            password=password,
        )
        for spec in LOGIN_SPECS
    ]
    town = LOGIN_SPECS[3].region_code
    helpers = list(
        Helper.objects.filter(region_id=town, pairings__end_date__isnull=True)
        .distinct()
        .order_by("id")[: len(HELPER_LOGINS)]
    )
    for username, helper in zip(HELPER_LOGINS, helpers, strict=False):
        users.append(
            User(
                username=username,
                first_name=helper.name,
                role=Role.HELPER,
                region_id=helper.region_id,
                helper=helper,
                phone=helper.phone,
                password=password,
            )
        )
    User.objects.bulk_create(users)
    return len(users)


# --- The whole build --------------------------------------------------------------------------


def is_seeded() -> bool:
    return User.objects.filter(username=LOGIN_SPECS[0].username).exists()


def demo_logins() -> list[DemoLogin]:
    """The demo logins present in the database, in a stable order."""
    users = {
        u.username: u
        for u in User.objects.select_related("region").filter(username__in=DEMO_USERNAMES)
    }
    return [
        DemoLogin(
            username=name,
            password=DEMO_PASSWORD,
            role=users[name].get_role_display(),
            region=users[name].region.name if users[name].region else "全部",
        )
        for name in DEMO_USERNAMES
        if name in users
    ]


Seeder = Callable[..., dict[str, int] | None]


def build(
    *,
    households: int = DEFAULT_HOUSEHOLDS,
    seed: int = 42,
    log: Callable[[str], None] = lambda _msg: None,
    batch_rows: int = BATCH_ROWS,
    seeders: Sequence[Seeder] = (),
) -> DemoResult:
    """Build the demo county in one transaction; returns counts and seconds per phase.

    After the register, each of `seeders` (`seeder(*, context)`) adds its app's demo rows
    (the `seed_demo` command passes the visits and grievances seeders).

    The caller checks `is_seeded()` first: building twice would collide on the demo users.
    """
    if households < 1:
        raise ValueError("households must be at least 1")
    rng = random.Random(seed)
    result = DemoResult(households=households, seed=seed)

    def phase(name: str, fn: Callable[[], dict[str, int] | int | None]) -> None:
        started = time.perf_counter()
        log(f"{name}...")
        out = fn()
        result.seconds[name] = time.perf_counter() - started
        if isinstance(out, dict):
            result.counts.update(out)
        elif isinstance(out, int):
            result.counts[name] = out
        log(f"{name}: {result.seconds[name]:.1f} s")

    with transaction.atomic():
        writer = BulkWriter()
        if writer.postgres:
            with connection.cursor() as cursor:
                # The build is one transaction: losing it in a crash only means running again.
                cursor.execute("SET LOCAL synchronous_commit = off")
        holder: dict[str, Any] = {}

        def regions() -> int:
            holder["villages"] = build_regions(rng, households)
            return len(holder["villages"])

        def units() -> int:
            holder["units"] = build_units(writer, holder["villages"])
            return sum(len(g) for g in holder["units"].values())

        phase("villages", regions)
        phase("units", units)
        restore: list[str] = []
        if writer.postgres and households >= BIG_BUILD:
            phase("drop_indexes", lambda: restore.extend(drop_secondary_indexes()))
        phase(
            "register",
            lambda: build_register(
                rng=rng,
                writer=writer,
                villages=holder["villages"],
                units=holder["units"],
                households=households,
                batch_rows=batch_rows,
            ),
        )
        phase(
            "weak_villages",
            lambda: build_weak_villages(
                rng=rng, writer=writer, villages=holder["villages"], units=holder["units"]
            ),
        )
        phase("thresholds", build_thresholds)
        if restore:
            phase("rebuild_indexes", lambda: rebuild_indexes(restore))
        writer.finish()
        phase("logins", lambda: build_logins(holder["units"]))
        context = DemoContext(
            households=households, seed=seed, rng=random.Random(seed + 1), writer=writer, log=log
        )
        for seeder in seeders:
            phase(seeder.__module__, lambda s=seeder: s(context=context))
        writer.finish()
        commit_started = time.perf_counter()
    result.seconds["commit"] = time.perf_counter() - commit_started
    if writer.postgres:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Household, Helper, Pairing, Region):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        result.seconds["analyze"] = time.perf_counter() - started
    return result


# Tables a big build fills: their secondary indexes and foreign keys are dropped for the load
# and rebuilt after it, in the same transaction. Building an index once over sorted data, and
# checking a foreign key with one join, is several times faster than maintaining them row by
# row (and than the deferred per-row foreign-key checks at commit). Rebuilding checks
# everything the dropped unique indexes and foreign keys promise, so nothing goes unchecked.
BIG_BUILD = 50_000
BULK_TABLES = (Household, Helper, Pairing)


def drop_secondary_indexes() -> list[str]:
    """Drop the bulk tables' foreign keys and non-constraint indexes; return how to restore."""
    tables = [m._meta.db_table for m in BULK_TABLES]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, k.conname, pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
            WHERE k.contype = 'f' AND t.relname = ANY(%s)
              AND t.relnamespace = current_schema()::regnamespace
            ORDER BY t.relname, k.conname
            """,
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            """
            SELECT x.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_class x ON x.oid = i.indexrelid
            WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
              AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ORDER BY x.relname
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        # Pending deferred checks (the regions and units just written) must run before ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return [definition for _, definition in indexes] + [
        f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
        for table, name, definition in foreign_keys
    ]


def rebuild_indexes(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE wants no pending checks
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def build_thresholds() -> int:
    rows = [IncomeThreshold(year=y, per_person_yuan=THRESHOLD_YUAN) for y in THRESHOLD_YEARS]
    IncomeThreshold.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
