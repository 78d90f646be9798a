"""Benchmark: the overdue scan and a department's queue page with 1,000,000 cases.

    python bench/grievances.py [--cases 1000000] [--rebuild]

Runs against PostgreSQL database `relief_grievances_bench` (created and migrated if missing;
override with BENCH_DATABASE_URL). Cases are generated with COPY in chunks, so memory stays
flat. Most cases are closed, as in real life; a few thousand are open, some overdue.
Prints the timings (median of several runs) and the query plans' index use.
"""

import io
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/relief_grievances_bench"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")


def _ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname=%s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


_ensure_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.roles import Role  # noqa: E402
from grievances import jobs, selectors  # noqa: E402
from grievances.models import Grievance  # noqa: E402
from regions.models import Level, Region  # noqa: E402
from register.models import Unit, UnitKind  # noqa: E402

CHUNK = 50_000
DEPARTMENTS = 40
TOWNS, VILLAGES = 20, 15


def setup_regions() -> list[str]:
    province, _ = Region.objects.get_or_create(
        code="320000000000", defaults={"name": "江苏省", "level": Level.PROVINCE}
    )
    city, _ = Region.objects.get_or_create(
        code="320600000000", defaults={"name": "南通市", "level": Level.CITY, "parent": province}
    )
    county, _ = Region.objects.get_or_create(
        code="320623000000", defaults={"name": "如东县", "level": Level.COUNTY, "parent": city}
    )
    villages = []
    for t in range(TOWNS):
        town, _ = Region.objects.get_or_create(
            code=f"320623{100 + t:03d}000",
            defaults={"name": f"镇{t}", "level": Level.TOWN, "parent": county},
        )
        for v in range(VILLAGES):
            village, _ = Region.objects.get_or_create(
                code=f"320623{100 + t:03d}{200 + v:03d}",
                defaults={"name": f"村{t}-{v}", "level": Level.VILLAGE, "parent": town},
            )
            villages.append(village.code)
    for d in range(DEPARTMENTS):
        Unit.objects.get_or_create(
            region=county,
            name=f"部门{d}",
            defaults={"kind": UnitKind.DEPARTMENT, "handles_grievances": True},
        )
    return villages


def generate(total: int, villages: list[str]) -> None:
    """COPY `total` cases in chunks: ~97 % finished, the rest open with deadlines around now."""
    rng = random.Random(42)
    units = list(Unit.objects.filter(handles_grievances=True).values_list("id", flat=True))
    today = timezone.localdate()
    columns = (
        "code,key_hash,kind,category,state,region_id,text,anonymous,name,phone,submitted_at,"
        "accept_due,accept_due_provisional,department_id,assigned_at,reply_due,"
        "reply_due_provisional,result_due,result_due_provisional,reply_text,result_text,"
        "reject_reason,returned_count,reopened_count,rating_comment,pressed_count,next_due,"
        "next_due_kind,warned,overdue,due_provisional,updated_at"
    )
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    made = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        while made < total:
            n = min(CHUNK, total - made)
            buf = io.StringIO()
            for i in range(n):
                seq = made + i
                code = "".join(alphabet[(seq >> (5 * k)) & 31] for k in range(10))
                days_ago = rng.randint(0, 900)
                submitted = today - timedelta(days=days_ago)
                dept = rng.choice(units)
                open_case = rng.random() < 0.03
                if open_case:
                    state = rng.choice(["assigned", "replied", "submitted"])
                    received = today - timedelta(days=rng.randint(0, 20))
                else:
                    state = "closed"
                    received = submitted
                reply, result = received + timedelta(days=7), received + timedelta(days=14)
                if state == "submitted":
                    next_due, kind, dept_val, assigned = (
                        received + timedelta(days=1),
                        "accept",
                        r"\N",
                        r"\N",
                    )
                else:
                    next_due = (
                        reply if state == "assigned" else result if state == "replied" else None
                    )
                    kind = {"assigned": "reply", "replied": "result"}.get(state, "")
                    dept_val, assigned = str(dept), f"{received} 10:00:00+08"
                buf.write(
                    "\t".join(
                        [
                            code,
                            "0" * 64,
                            "complaint",
                            "funds",
                            state,
                            rng.choice(villages),
                            "基准测试诉求内容",
                            "f",
                            "张三",
                            "13800000000",
                            f"{submitted} 09:00:00+08",
                            str(submitted + timedelta(days=1)),
                            "f",
                            dept_val,
                            assigned,
                            str(reply) if dept_val != r"\N" else r"\N",
                            "f",
                            str(result) if dept_val != r"\N" else r"\N",
                            "f",
                            "",
                            "",
                            "",
                            "0",
                            "0",
                            "",
                            "0",
                            str(next_due) if next_due else r"\N",
                            kind,
                            "f",
                            "f",
                            "f",
                            f"{submitted} 09:00:00+08",
                        ]
                    )
                    + "\n"
                )
            with raw.copy(f"COPY grievances_grievance ({columns}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
            made += n
            print(f"  {made:,} cases", end="\r", flush=True)
    print()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE grievances_grievance")


def timed(fn, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def plan(sql_qs) -> str:
    sql, params = sql_qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n    ".join(row[0] for row in cursor.fetchall())


def main() -> None:
    total = int(sys.argv[sys.argv.index("--cases") + 1]) if "--cases" in sys.argv else 1_000_000
    call_command("migrate", verbosity=0)
    villages = setup_regions()
    existing = Grievance.objects.count()
    if "--rebuild" in sys.argv or existing < total:
        Grievance.objects.all().delete() if existing else None
        print(f"generating {total:,} cases (COPY, {CHUNK:,} a chunk)...")
        start = time.perf_counter()
        generate(total, villages)
        print(f"generated in {time.perf_counter() - start:.1f} s")
    print(f"cases: {Grievance.objects.count():,}")

    today = timezone.localdate()
    # 1. The overdue scan: the candidates query the job runs (without marking them, so it can
    # be repeated), and the count of what it finds.
    scan = jobs.overdue_candidates(today)
    found = scan.count()
    scan_ms = timed(lambda: list(scan.values_list("id", flat=True)[:500]))
    print(
        f"overdue scan, first run ever: {found:,} overdue open cases; "
        f"first batch of 500 in {scan_ms:.1f} ms"
    )
    print("    " + plan(scan.values("id")[:500]))

    # Steady state: earlier runs (every few minutes) already marked what was overdue before
    # today, so a run finds only what fell due yesterday.
    Grievance.objects.filter(next_due__lt=today - timedelta(days=1), overdue=False).update(
        overdue=True
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grievances_grievance")
    found = scan.count()
    scan_ms = timed(lambda: list(scan.values_list("id", flat=True)[:500]))
    print(f"overdue scan, steady state: {found:,} newly overdue cases in {scan_ms:.1f} ms")
    print("    " + plan(scan.values("id")[:500]))

    warn = jobs.warning_candidates(today, today + timedelta(days=1))
    warn_ms = timed(lambda: list(warn.values_list("id", flat=True)[:500]))
    print(f"warning scan: {warn_ms:.1f} ms")

    # 2. A department's queue page: its open cases by deadline, 50 a page, as the page shows.
    unit = Unit.objects.filter(handles_grievances=True).order_by("id").first()
    from accounts.models import User

    handler, _ = User.objects.get_or_create(
        username="bench-handler",
        defaults={"role": Role.DEPARTMENT, "unit": unit, "region_id": "320623000000"},
    )
    open_queue = selectors.queue(user=handler, state="assigned")
    page_ms = timed(lambda: [selectors_row(c) for c in open_queue[:50]])
    count_ms = timed(lambda: open_queue.count())
    print(
        f"department queue page (state=assigned, 50 rows): {page_ms:.1f} ms; "
        f"its count: {count_ms:.1f} ms ({open_queue.count():,} cases)"
    )
    print("    " + plan(open_queue.values("id")[:50]))
    all_queue = selectors.queue(user=handler)
    all_ms = timed(lambda: [selectors_row(c) for c in all_queue[:50]])
    all_count_ms = timed(lambda: all_queue.count(), runs=3)
    print(
        f"department queue page (default: open states, 50 rows): {all_ms:.1f} ms; "
        f"its count: {all_count_ms:.1f} ms ({all_queue.count():,} cases)"
    )


def selectors_row(case):
    from grievances.present import row

    return row(case)


if __name__ == "__main__":
    main()
