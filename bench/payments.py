"""Benchmark: one-card payment lists at scale (default 1,000,000 rows) on PostgreSQL.

    python bench/payments.py [--rows 1000000] [--households 100000] [--database-url ...]

Uses DATABASE_URL, or postgres://postgres@127.0.0.1:5432/relief_bench_payments, creating the
database and the demo register (`--households`, no visits) when missing. Then, each phase in a
process of its own so each peak RSS is that phase's:
- writes the list as CSV and as XLSX (the same rows; timed apart, not part of the load);
- loads the CSV, then (after emptying the payment tables) the XLSX: rows/s and peak RSS;
- loads the CSV again: a repeated load changes nothing (time to find out);
- runs every warning rule over all the payments;
- times the public disclosure page of a village and the office overview of the county and the
  city (median of several requests through Django's test client, no network).
Prints the machine's load average with the figures: other work on the machine slows them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_bench_payments"
WORK = ROOT / "var" / "bench-payments"
MONTHS = 10  # one monthly item, January to October: rows = households paid x months


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("AXES_ENABLED", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load_avg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


# --- Phases (each run in its own process) -----------------------------------------------------


def phase_prepare(args) -> dict:
    """The register (demo build, no visits) and the subsidy item the lists pay."""
    from django.core.management import call_command

    from demo import register as demo
    from payments.models import Eligibility, PeriodKind, SubsidyItem
    from register.models import Household, Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    out: dict = {"migrate_s": time.perf_counter() - started}
    if not demo.is_seeded():
        started = time.perf_counter()
        demo.build(households=args.households, seed=42, log=lambda m: None, seeders=())
        out["register_s"] = time.perf_counter() - started
    out["households"] = Household.objects.count()
    department = Unit.objects.get(name="南通市民政局")
    SubsidyItem.objects.update_or_create(
        code="NT-DB",
        defaults={
            "name": "最低生活保障金",
            "department": department,
            "region_id": "320600000000",
            "period_kind": PeriodKind.MONTH,
            "standard_amount": "810.00",
            "eligibility": Eligibility.LOW_INCOME,
            "scheduled_from": date(2026, 1, 1),
        },
    )
    return out


def _list_rows(args):
    """The payment rows (the same for both formats), with ~0.1 % paid twice, ~0.1 % people the
    register does not know and ~0.5 % amounts off the standard, for the rules to find."""
    from stdnum.cn import ric

    from payments.loader import HEADERS
    from register.models import Household

    rng = random.Random(7)
    per_month = args.rows // MONTHS
    heads = list(
        Household.objects.order_by("id").values_list("head_name", "id_number", "village_id")[
            :per_month
        ]
    )
    if len(heads) < per_month:
        raise SystemExit(f"the register has {len(heads)} households; {per_month} needed")
    yield HEADERS
    for month in range(1, MONTHS + 1):
        batch = f"NT-DB-2026{month:02d}"
        for i, (name, id_number, village) in enumerate(heads):
            amount = "810.00"
            roll = rng.random()
            if roll < 0.005:
                amount = "405.00"
            elif roll < 0.006:
                body = f"320623{rng.randint(1940, 1990)}0101{rng.randrange(1000):03d}"
                id_number, name = body + ric.calc_check_digit(body + "0"), "陌生人"
            elif roll < 0.007 and i > 0:
                name, id_number, village = heads[i - 1]  # the previous person, paid twice
            yield [batch, "NT-DB", f"2026-{month:02d}", village, "", name, id_number, amount,
                   f"2026-{month:02d}-10", "中国农业银行",
                   f"622848{rng.randrange(10**13):013d}"]  # fmt: skip


def phase_write(args) -> dict:
    from openpyxl import Workbook

    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(WORK / "list.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for row in _list_rows(args):
            writer.writerow(row)
    csv_s = time.perf_counter() - started
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("发放名单")
    for row in _list_rows(args):
        sheet.append(row)
    workbook.save(WORK / "list.xlsx")
    return {
        "csv_write_s": csv_s,
        "xlsx_write_s": time.perf_counter() - started,
        "csv_mib": (WORK / "list.csv").stat().st_size / 2**20,
        "xlsx_mib": (WORK / "list.xlsx").stat().st_size / 2**20,
    }


def _empty_payments() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE payments_paymentcheck, payments_paymentwarning, payments_payment, "
            "payments_paymentbatch"
        )


def _load(name: str) -> dict:
    from django.utils import timezone

    from payments.loader import payments_load

    base = peak_mib()
    started = time.perf_counter()
    with open(WORK / name, "rb") as stream:
        report = payments_load(stream=stream, filename=name, run_rules=False, now=timezone.now())
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"{name}: {report.lines()[:5]}")
    return {
        "rows": report.rows,
        "loaded": report.loaded,
        "seconds": seconds,
        "rows_per_s": report.rows / seconds,
        "check_s": report.seconds.get("check", 0.0),
        "write_s": report.seconds.get("write", 0.0),
        "peak_mib": peak_mib(),
        "baseline_mib": base,
    }


def phase_load_csv(args) -> dict:
    _empty_payments()
    return _load("list.csv")


def phase_load_xlsx(args) -> dict:
    _empty_payments()
    return _load("list.xlsx")


def phase_reload_csv(args) -> dict:
    return _load("list.csv")


def phase_rules(args) -> dict:
    from django.db import connection
    from django.utils import timezone

    from payments import rules

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_payment")
    out = {}
    now = timezone.now()
    total = time.perf_counter()
    for name in rules.RULES:
        started = time.perf_counter()
        raised = rules.run_rules(now=now, only=name)[name]
        out[name] = {"seconds": time.perf_counter() - started, "raised": raised}
    out["all_s"] = time.perf_counter() - total
    started = time.perf_counter()
    again = sum(rules.run_rules(now=now).values())
    out["again_s"], out["again_raised"] = time.perf_counter() - started, again
    out["peak_mib"] = peak_mib()
    return out


def _median_ms(client, url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    return {"median_ms": statistics.median(times), "max_ms": max(times), "n": n}


def phase_pages(args) -> dict:
    from django.test import Client

    from accounts.models import User
    from payments.models import Payment

    villages = list(
        Payment.objects.values_list("village_id", flat=True).distinct().order_by("village_id")
    )
    rng = random.Random(3)
    public = Client()
    sample = rng.sample(villages, min(20, len(villages)))
    times = []
    for code in sample:
        started = time.perf_counter()
        response = public.get(f"/payments/public/{code}/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    office = User.objects.filter(username="county_office").first()
    city = User.objects.filter(username="city_office").first() or office
    staff = Client()
    staff.force_login(office)
    city_client = Client()
    city_client.force_login(city)
    return {
        "villages": len(villages),
        "disclosure": {
            "median_ms": statistics.median(times),
            "max_ms": max(times),
            "n": len(times),
        },
        "overview_county": _median_ms(staff, "/payments/?region=320623000000&year=2026", 5),
        "overview_town": _median_ms(staff, "/payments/?region=320623100000&year=2026", 5),
        "overview_city": _median_ms(city_client, "/payments/?region=320600000000&year=2026", 5),
        "export_county": _median_ms(staff, "/payments/export.xlsx?region=320623000000", 3),
    }


PHASES = {
    "prepare": phase_prepare,
    "write": phase_write,
    "load-csv": phase_load_csv,
    "load-xlsx": phase_load_xlsx,
    "reload-csv": phase_reload_csv,
    "rules": phase_rules,
    "pages": phase_pages,
}


def run_phase(name: str, args) -> dict:
    command = [
        *(sys.executable, __file__, "--phase", name, "--rows", str(args.rows)),
        *("--households", str(args.households), "--database-url", args.database_url),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:])
        raise SystemExit(f"phase {name} failed")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    result["load_avg"] = load_avg()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--phase", choices=list(PHASES))
    parser.add_argument("--skip", action="append", default=[], help="phases to skip")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["AXES_ENABLED"] = "0"

    if args.phase:
        setup_django()
        print(json.dumps(PHASES[args.phase](args), default=str))
        return 0

    ensure_database(args.database_url)
    print(f"database {urlparse(args.database_url).path.lstrip('/')}; {args.rows:,} rows; "
          f"load average {load_avg()}")  # fmt: skip
    results = {}
    for name in PHASES:
        if name in args.skip:
            continue
        results[name] = result = run_phase(name, args)
        print(f"\n[{name}] (load average {result['load_avg']})")
        for key, value in result.items():
            if key in ("load_avg",):
                continue
            if isinstance(value, float):
                value = f"{value:,.1f}"
            print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
