"""Benchmark: build the demo register at scale (default 1,000,000 households) on PostgreSQL.

    python bench/seed.py [--households N] [--seed 42] [--database-url postgres://...]

Uses DATABASE_URL, or postgres://postgres@127.0.0.1:5432/relief_bench, creating the database
when missing. An already seeded database is flushed first (timed apart). Prints seconds per
phase, the total, rows per second and peak RSS, and leaves the data in place for other
benchmarks.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_bench"
SQLITE_LIMIT = 100_000


def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist (PostgreSQL)."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    args = parser.parse_args()

    url = args.database_url
    postgres = url.startswith(("postgres://", "postgresql://"))
    if not postgres and args.households > SQLITE_LIMIT:
        print(f"refusing: {args.households} households need PostgreSQL (DATABASE_URL)")
        return 2
    if postgres:
        ensure_database(url)
        os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from demo import register as demo

    print(f"database: {connection.settings_dict['NAME']} ({connection.vendor})")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    if demo.is_seeded():
        started = time.perf_counter()
        call_command("flush", interactive=False, verbosity=0)
        print(f"flush (was seeded): {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    result = demo.build(
        households=args.households, seed=args.seed, log=lambda m: print(f"  {m}", flush=True)
    )
    total = time.perf_counter() - started

    print(f"\nseed_demo --households {args.households} --seed {args.seed}")
    for phase, seconds in result.seconds.items():
        print(f"  {phase:<14} {seconds:8.1f} s")
    print(f"  {'total':<14} {total:8.1f} s")
    for name, count in result.counts.items():
        print(f"  {name:<14} {count:>10,}")
    rows = result.total_rows
    print(
        f"rows: {rows:,}  ({rows / total:,.0f} rows/s; households {args.households / total:,.0f}/s)"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # Python's own share (generation, COPY framing); the rest of the wall time is PostgreSQL,
    # or other processes competing for the cores: the load average says which.
    print(f"this process's CPU: {usage.ru_utime + usage.ru_stime:.1f} s")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak RSS: {peak_mib:.0f} MiB")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            print(f"database size: {cursor.fetchone()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
