"""Benchmark: coverage drill-down, pending page and XLSX export on 1,000,000 households.

    python bench/coverage.py [--database-url postgres://.../relief_coverage_bench]
                             [--template relief_bench] [--runs 7] [--prepare-only]

Works on a copy of the seeded register (`bench/seed.py` / `manage.py seed_demo --households
1000000` into `relief_bench`): creates the copy when missing (`CREATE DATABASE ... TEMPLATE`),
applies migrations (the coverage indexes), and adds four quarters of visits with bulk SQL
(INSERT ... SELECT from the pairings: ~90 % of paired households visited per quarter, ~5 %
twice, ~3 % of visits flagged; weak-village visits). No photos: coverage reads visit rows.

Then it times, through the API in-process (Django test client, a county office's token):
the drill-down at each level (p50 and max over --runs), a pending-list page, and the XLSX
export of the region nearest 100,000 households (without and with the per-household sheet).
Targets: drill-down p50 < 200 ms, pending page < 100 ms, export < 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_coverage_bench"
QUARTERS = [(2025, 4, 0.86), (2026, 1, 0.89), (2026, 2, 0.91), (2026, 3, 0.93)]
TARGET_DRILL_MS, TARGET_PENDING_MS, TARGET_EXPORT_S = 200, 100, 10


def ensure_copy(url: str, template: str) -> None:
    """CREATE DATABASE <name> TEMPLATE <template> unless it exists (retrying while someone is
    still connected to the template)."""
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        for attempt in range(30):
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
                print(f"created {name} from {template}")
                return
            except psycopg.errors.ObjectInUse:
                print(f"template {template} in use, retrying ({attempt + 1})")
                time.sleep(10)
        raise SystemExit(f"could not copy {template}: still in use")


def _window(year: int, q: int) -> str:
    """The first day of the quarter's reporting window (the 21st of its last month)."""
    return f"{year}-{3 * q:02d}-21 09:00+08"


def add_visits() -> None:
    """Four quarters of visits, each an INSERT ... SELECT over the pairings (idempotent)."""
    from django.db import connection

    from common.quarters import Quarter
    from coverage.selectors import quarter_dates

    with connection.cursor() as cur:
        cur.execute("SELECT min(id) FROM accounts_user")
        submitter = cur.fetchone()[0]
        for year, q, share in QUARTERS:
            cur.execute(
                "SELECT 1 FROM visits_visit WHERE year=%s AND quarter=%s LIMIT 1", [year, q]
            )
            if cur.fetchone():
                continue
            start, end = quarter_dates(Quarter(year, q))
            began = time.perf_counter()
            # The latest pairing overlapping the quarter for each household; ~share visited,
            # ~5 % of those twice, at random moments of the 20-day window.
            cur.execute(
                """
                INSERT INTO visits_visit (id, household_id, village_id, helper_id, pairing_id,
                    submitted_by_id, year, quarter, visited_at, wages, operating, property,
                    transfers, passbook_checked, notes, extension_id, content_hash, created_at,
                    lat, lon, accuracy_m, coord_system, raw_lat, raw_lon)
                SELECT gen_random_uuid(), p.household_id, h.village_id, p.helper_id, p.id, %s,
                    %s, %s, %s::timestamptz + random() * interval '19 days',
                    1200, 0, 0, 300, true, '', NULL, md5(p.id::text || n::text), now(),
                    32.3, 121.18, 10, 'wgs84', 32.3, 121.18
                FROM (
                    SELECT DISTINCT ON (household_id) id, household_id, helper_id
                    FROM register_pairing
                    WHERE (end_date IS NULL OR end_date > %s) AND start_date < %s
                    ORDER BY household_id, start_date DESC, id DESC
                ) p
                JOIN register_household h ON h.id = p.household_id
                CROSS JOIN LATERAL generate_series(
                    1, CASE WHEN random() < 0.05 THEN 2 ELSE 1 END + 0 * p.id) n
                WHERE random() < %s
                """,
                [submitter, year, q, _window(year, q), start, end, share],
            )
            visits = cur.rowcount
            cur.execute(
                """
                INSERT INTO visits_visitflag (visit_id, kind, photo_id, detail, created_at)
                SELECT id, 'visit_far_from_home', NULL,
                    jsonb_build_object('distance_m', round((600 + random() * 5000)::numeric, 1),
                                       'max_distance_m', 500),
                    now()
                FROM visits_visit WHERE year = %s AND quarter = %s AND random() < 0.03
                """,
                [year, q],
            )
            flags = cur.rowcount
            cur.execute(
                """
                INSERT INTO visits_villagevisit (id, weak_village_id, village_id, unit_id,
                    unit_pairing_id, submitted_by_id, year, quarter, visited_at,
                    collective_income, notes, extension_id, content_hash, created_at,
                    lat, lon, accuracy_m, coord_system, raw_lat, raw_lon)
                SELECT gen_random_uuid(), up.weak_village_id, up.weak_village_id, up.unit_id,
                    up.id, %s, %s, %s, %s::timestamptz + interval '2 days', 250000, '', NULL,
                    md5(up.id::text), now(), 32.3, 121.18, 10, 'wgs84', 32.3, 121.18
                FROM register_unitpairing up
                WHERE (up.end_date IS NULL OR up.end_date > %s) AND up.start_date < %s
                    AND random() < 0.8
                """,
                [submitter, year, q, _window(year, q), start, end],
            )
            print(
                f"{year}Q{q}: {visits} visits, {flags} flags, {cur.rowcount} village visits "
                f"in {time.perf_counter() - began:.1f} s"
            )
    with connection.cursor() as cur:
        # Fresh rows: statistics, and the visibility map that lets index-only scans skip the heap.
        cur.execute(
            "VACUUM (ANALYZE) visits_visit, visits_visitflag, visits_villagevisit, "
            "register_household, register_pairing"
        )


def timed(fn, runs: int) -> tuple[float, float]:
    """(p50, max) in milliseconds over `runs` calls, after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), max(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--template", default="relief_bench")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quarter", default="2026Q3")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()

    ensure_copy(args.database_url, args.template)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    add_visits()
    if args.prepare_only:
        return 0
    return run(args)


def run(args) -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    import backend.asgi  # noqa: F401 (the server's own startup, its gc.freeze() included)
    from accounts.models import ApiToken, User, hash_token
    from accounts.roles import Role
    from regions.models import Level, Region

    settings.ALLOWED_HOSTS = ["*"]
    user = User.objects.filter(role=Role.CITY_OFFICE).order_by("id").first() or (
        User.objects.filter(is_superuser=True).order_by("id").first()
    )
    raw = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        device_name="bench",
        expires_at=timezone.now() + settings.API_TOKEN_TTL,
    )
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    q = args.quarter

    def counts(prefix_digits: int) -> list[tuple[str, int]]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT substr(village_id, 1, %s), count(*) FROM register_household "
                "GROUP BY 1 ORDER BY 2 DESC",
                [prefix_digits],
            )
            return cur.fetchall()

    county = counts(6)[0][0].ljust(12, "0")
    towns = counts(9)
    town = towns[0][0].ljust(12, "0")
    village = counts(12)[0][0]
    city = county[:4].ljust(12, "0")
    households = dict(counts(6)) | dict(towns)
    print(f"user {user.username} ({user.role}), quarter {q}, runs {args.runs}")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM visits_visit")
        print(f"visits in the database: {cur.fetchone()[0]:,}")

    failures = []

    def get(path: str, **params) -> object:
        response = client.get(f"/api/v1{path}", {"quarter": q, **params})
        assert response.status_code == 200, (path, params, response.status_code, response.content)
        return response

    print(f"load average: {os.getloadavg()[0]:.1f} (other work on the machine inflates figures)")
    levels = (("city", city), ("county", county), ("town", town), ("village", village))
    print("\ndrill-down counted by the database, no cache (COVERAGE_CACHE=0)")
    settings.COVERAGE_CACHE = 0
    for label, code in levels:
        p50, worst = timed(lambda c=code: get("/coverage", region=c), 2)
        print(f"  {label:8} {code}: p50 {p50:8.1f} ms  max {worst:8.1f} ms")
    settings.COVERAGE_CACHE = 1
    from django.core.cache import cache

    cache.clear()
    print("\ndrill-down GET /api/v1/coverage (towns and up from the stamped cache)")
    for label, code in levels:
        level = Region.objects.get(pk=code).level
        began = time.perf_counter()
        get("/coverage", region=code)
        first = (time.perf_counter() - began) * 1000
        print(f"  {label:8} first view (counts and fills the cache): {first:8.1f} ms")
        p50, worst = timed(lambda c=code: get("/coverage", region=c), args.runs)
        body = get("/coverage", region=code).json()
        print(
            f"  {label:8} {code} ({level}, {body['region']['paired']:,} paired households): "
            f"p50 {p50:7.1f} ms  max {worst:7.1f} ms  "
            f"coverage {body['region']['percent']} %"
        )
        if p50 >= TARGET_DRILL_MS:
            failures.append(f"drill-down {label} p50 {p50:.0f} ms ≥ {TARGET_DRILL_MS} ms")

    print("\npending list GET /api/v1/coverage/pending (page of 50)")
    for label, code in (("county", county), ("town", town), ("village", village)):
        for page in (1, 20):
            p50, worst = timed(
                lambda c=code, p=page: get("/coverage/pending", region=c, page=p), args.runs
            )
            print(f"  {label:8} page {page:3}: p50 {p50:7.1f} ms  max {worst:7.1f} ms")
            if page == 1 and p50 >= TARGET_PENDING_MS:
                failures.append(f"pending {label} page {page} p50 {p50:.0f} ms")

    print("\ntrend GET /api/v1/coverage/trend (4 quarters)")
    for label, code in (("county", county), ("town", town)):
        p50, worst = timed(lambda c=code: get("/coverage/trend", region=c), max(3, args.runs // 2))
        print(f"  {label:8}: p50 {p50:7.1f} ms  max {worst:7.1f} ms")

    # The export target names a county of 100,000 households: the demo's one big county has a
    # million, so the region nearest 100,000 stands in for it (a town here).
    target = min(
        (c for c in households if Region.objects.filter(pk=c.ljust(12, "0")).exists()),
        key=lambda c: abs(households[c] - 100_000),
    ).ljust(12, "0")
    region = Region.objects.get(pk=target)
    print(
        f"\nexport GET /api/v1/coverage/export.xlsx: {region.name} {target} "
        f"({Level(region.level).label}, {households[region.prefix]:,} households)"
    )
    for households in (False, True):
        began = time.perf_counter()
        response = get("/coverage/export.xlsx", region=target, households=households)
        size = sum(len(chunk) for chunk in response.streaming_content)
        seconds = time.perf_counter() - began
        what = "with the per-household sheet" if households else "summary + pending list"
        print(f"  {what}: {seconds:.2f} s, {size / 1e6:.1f} MB")
        if seconds >= TARGET_EXPORT_S and not households:
            failures.append(f"export {seconds:.1f} s")

    print()
    if failures:
        print("MISSED: " + "; ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
