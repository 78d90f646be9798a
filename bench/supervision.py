"""Benchmark: quarterly reminders and spot-check draws at county scale, on PostgreSQL.

    python bench/supervision.py [--households 100000] [--database-url postgres://...]

Seeds its own database (default relief_supervision_bench) with `seed_demo`, gives every
helper a login (bulk SQL), adds 2026Q3 visits for ~85 % of paired households (~4 % flagged),
then times, in-process:
- the window-opening reminder (first run: one notification per helper; second run: nothing),
- the closing-soon reminder and the first-working-day coverage reminder (first runs),
- a whole `coverage.jobs.run` when everything was already sent (the every-few-minutes cost),
- the coverage aggregate alone, a spot-check draw over the county, and a risk-list page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_supervision_bench"


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - start:8.2f} s   {result}")
    return result


PREPARE_SQL = [
    # A login for every helper that has none (unusable password: the bench never logs in).
    """
    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, role, region_id, helper_id, phone, unit_id)
    SELECT '!', false, 'bench-helper-' || h.id, h.name, '', '', false, true, now(),
        'helper', h.region_id, h.id, '', NULL
    FROM register_helper h
    WHERE NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.helper_id = h.id)
    """,
    # 2026Q3 visits for ~85 % of households paired on 30 September.
    """
    INSERT INTO visits_visit (id, household_id, village_id, helper_id, pairing_id,
        submitted_by_id, year, quarter, visited_at, lat, lon, accuracy_m, coord_system,
        raw_lat, raw_lon, wages, operating, property, transfers, passbook_checked, notes,
        extension_id, content_hash, created_at)
    SELECT gen_random_uuid(), p.household_id, hh.village_id, p.helper_id, p.id, u.id,
        2026, 3, TIMESTAMPTZ '2026-09-22 10:00+08' + (p.id % 400) * INTERVAL '1 hour',
        32.31, 121.18, NULL, 'wgs84', 32.31, 121.18, 3000, 0, 0, 450, true, '', NULL,
        repeat('0', 64), now()
    FROM register_pairing p
    JOIN register_household hh ON hh.id = p.household_id
    JOIN accounts_user u ON u.helper_id = p.helper_id
    WHERE p.start_date <= DATE '2026-09-30'
      AND (p.end_date IS NULL OR p.end_date > DATE '2026-09-30')
      AND (hashtext(p.id::text) % 100 + 100) % 100 < 85
    """,
    """
    INSERT INTO visits_visitflag (visit_id, kind, photo_id, detail, created_at)
    SELECT v.id, 'no_exif_gps', NULL, '{}'::jsonb, now()
    FROM visits_visit v
    WHERE v.year = 2026 AND v.quarter = 3 AND (hashtext(v.id::text) % 25) = 0
    """,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the notifications of an earlier run and skip the first-run reminder timings",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.roles import Role
    from common.quarters import Quarter, window_for
    from coverage import jobs, reminders
    from notifications.models import Notification
    from regions.models import Level, Region
    from register.models import Household
    from supervision import services as supervision
    from tests.supervision.data import at
    from visits.models import SpotCheckDraw, Visit

    call_command("migrate", verbosity=0)
    if not Household.objects.exists():
        timed(
            f"seed_demo --households {args.households}",
            lambda: call_command("seed_demo", households=args.households, verbosity=0),
        )
    if not Visit.objects.filter(year=2026, quarter=3).exists():

        def prepare():
            with connection.cursor() as cur:
                for statement in PREPARE_SQL:
                    cur.execute(statement)
                cur.execute("ANALYZE")
            return Visit.objects.count()

        timed("prepare: helper logins, 2026Q3 visits, flags", prepare)
    SpotCheckDraw.objects.all().delete()
    if not args.keep:
        Notification.objects.filter(kind__startswith="visit_").delete()
    print(
        f"households {Household.objects.count()}, helper logins "
        f"{User.objects.filter(role=Role.HELPER).count()}, 2026Q3 visits "
        f"{Visit.objects.filter(year=2026, quarter=3).count()}"
    )

    q3, q4 = Quarter(2026, 3), Quarter(2026, 4)
    if not args.keep:
        day = at("2026-12-21 00:05").date()
        timed("opening 2026Q4, first run", lambda: reminders.send_opening(window_for(q4), day))
        timed("opening 2026Q4, second run", lambda: reminders.send_opening(window_for(q4), day))
        day = at("2026-10-08 00:05").date()
        timed(
            "closing-soon 2026Q3 (SMS), first run",
            lambda: reminders.send_closing(window_for(q3), day),
        )
        timed(
            "coverage + still-missing 2026Q3, first run", lambda: reminders.send_coverage(q3, day)
        )
    # On 8 October the Q3 opening, closing-soon and coverage reminders are all due.
    moment = at("2026-10-08 09:00")
    timed("whole job at 2026-10-08 09:00 (sends what is left)", lambda: jobs.run(now=moment))
    timed("whole job at 2026-10-08 09:05 (all already sent)", lambda: jobs.run(now=moment))
    timed(
        "coverage aggregate alone (per town and county)",
        lambda: len(reminders.coverage_by_prefix(q3)),
    )

    county = Region.objects.filter(level=Level.COUNTY).order_by("code").first()
    supervisor = User.objects.filter(role=Role.SUPERVISOR).first() or User.objects.create(
        username="bench-supervisor", role=Role.SUPERVISOR, region=county
    )
    supervisor.region = county
    supervisor.save(update_fields=["region"])
    candidates = timed(
        f"spot-check candidates of {county.name} (one grouped query)",
        lambda: len(supervision.draw_candidates(region=county, quarter=q3)),
    )
    draw = timed(
        f"spot-check draw of 50 from {candidates} visits (query + sample + insert)",
        lambda: (
            supervision.spot_check_draw(user=supervisor, size=50, now=at("2026-10-22 10:00")).pk
        ),
    )
    timed(
        "re-draw from the recorded seed and compare",
        lambda: supervision.spot_check_verify(draw=SpotCheckDraw.objects.get(pk=draw)),
    )

    def risk_page():
        qs = supervision.risk_list(user=supervisor, quarter=q3, region=None)
        total = qs.count()
        page = list(qs[:50])
        for visit in page:
            list(visit.flags.all())
        return total

    timed("risk list: count + first page of 50 with flags", risk_page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
