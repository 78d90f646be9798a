"""Benchmark: the county-wide near-duplicate search with 10,000,000 photos in the index, and
the false-positive rates of its rules.

    python bench/neardup.py [--hashes 10000000] [--lookups 1000] [--planted 1000]
                            [--database-url postgres://...|none] [--rebuild] [--forms 200]

1. Hashes, random but like real perceptual hashes: each bit set as often as in the real
   photos of ../shared/photos (the first, the DC term, nearly always), and photos come in
   families of 8 (a household's house and people over a year look alike: members are ~10
   bits apart, a quarter of them within 8), so the index holds clusters, not uniform noise.
2. Loading at start, as a worker does: `visits.neardup.ProcessIndex` reads the same hashes
   from `visits_photohash` of a bench database (PostgreSQL, binary COPY) and sorts them
   (default postgres://postgres@127.0.0.1:5432/relief_wt17_neardup, created, migrated and
   filled once: 10 million rows take a few minutes; `--database-url none` builds the index
   from memory instead). Time and memory are printed.
3. Lookups: what one photo's search asks the index (its hash and its mirror image's, within
   PHASH_MAX_DISTANCE), for `--planted` photos that are near copies (0-8 bits) of stored ones
   and as many fresh photos. Wall-clock p50 and p99 (and CPU), and the recall of the planted
   copies. Target: p99 < 50 ms, every planted copy found.
4. False positives (`--forms N`, 0 to skip): tests/visits/corpus.py on N households' passbook
   and handbook pages and on the real photos.

Prints the machine's load (figures on a shared machine are inflated by its other work).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "photos"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_wt17_neardup"
FAMILY = 8
CHUNK = 1 << 20
SEED = 20261128


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Realistic hashes ---------------------------------------------------------------------


def bit_weights() -> np.ndarray:
    """How often each bit is set in real photos' phash (most significant first), smoothed."""
    from tests.visits.corpus import hashes, real_photos

    found = real_photos(PHOTOS) if PHOTOS.is_dir() else []
    if not found:
        print("  (no ../shared/photos: every bit equally likely)")
        return np.full(64, 0.5)
    counts = np.zeros(64)
    for _, data in found:
        value = hashes(data)[0] & (2**64 - 1)
        counts += [(value >> (63 - i)) & 1 for i in range(64)]
    print(f"  bit frequencies from {len(found)} real photos")
    return (counts + 1) / (len(found) + 2)


def realistic(count: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`count` hashes in families of FAMILY. A family's centre has each bit set as often as
    in real photos; a member flips each of its centre's bits with probability 3/32 (an AND of
    four random words, or of five), so members are ~10 bits apart and some within 8."""
    out = np.empty(count, dtype=np.uint64)
    for start in range(0, count, CHUNK):
        n = min(CHUNK, count - start)
        families = -(-n // FAMILY)
        bits = rng.random((families, 64)) < weights
        centres = np.packbits(bits, axis=1).view(">u8").astype(np.uint64).ravel()

        words = rng.integers(0, 2**64, size=(9, n), dtype=np.uint64)
        flips = np.bitwise_and.reduce(words[:4]) | np.bitwise_and.reduce(words[4:])
        out[start : start + n] = np.repeat(centres, FAMILY)[:n] ^ flips
    return out


def near(value: int, bits: int, rng: np.random.Generator) -> int:
    for b in rng.choice(64, size=bits, replace=False):
        value ^= 1 << int(b)
    return value


# --- The bench database -------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fill(hashes: np.ndarray, rebuild: bool) -> None:
    """`visits_photohash` holds exactly these hashes (photos of places, visited in the last
    300 days); the other columns are filler (foreign keys are not checked while filling)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(sum(phash % 1000003), 0) FROM visits_photohash")
        have, checksum = cur.fetchone()
        signed = hashes.view(np.int64)
        want = int(np.sum(np.fmod(signed, 1000003)))  # fmod keeps the sign, as PostgreSQL's %
        if have == len(hashes) and checksum == want and not rebuild:
            print(f"  {have} rows already there")
            return
        began = time.perf_counter()
        cur.execute("TRUNCATE visits_photohash")
        cur.execute("CREATE TEMP TABLE bench_hashes (phash bigint) ON COMMIT DROP")
        raw = cur.cursor
        rows = np.empty(len(hashes), dtype=[("n", ">i2"), ("len", ">i4"), ("v", ">i8")])
        rows["n"], rows["len"], rows["v"] = 1, 8, signed
        with raw.copy("COPY bench_hashes FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
            view = rows.tobytes()
            for at in range(0, len(view), 1 << 24):
                copy.write(view[at : at + (1 << 24)])
            copy.write(b"\xff\xff")
        cur.execute("SET LOCAL session_replication_role = replica")
        # The two indexes of random keys are built once afterwards, by sorting: maintained row
        # by row they made the fill take half an hour. Ids and the UUIDs run in order.
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'visits_photohash' "
            "AND (indexdef LIKE '%%(phash)%%' OR indexdef LIKE '%%(visited_at)%%')"
        )
        rebuilt = cur.fetchall()
        for name, _ in rebuilt:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(
            """
            INSERT INTO visits_photohash
                (photo_id, visit_id, village_visit_id, household_id, village_id, kind, phash,
                 visited_at)
            SELECT lpad(to_hex(n), 32, '0')::uuid, lpad(to_hex(n / 4), 32, '0')::uuid, NULL,
                   NULL, '320623100201', CASE WHEN n % 2 = 0 THEN 'scene' ELSE 'location' END,
                   phash, now() - random() * interval '300 days'
            FROM (SELECT phash, row_number() OVER () AS n FROM bench_hashes) h
            """
        )
        for _, definition in rebuilt:
            cur.execute(definition)
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) visits_photohash")
    print(f"  {len(hashes)} rows written in {time.perf_counter() - began:.0f} s")


# --- The parts ------------------------------------------------------------------------------


def timed_lookups(ask, queries: list[tuple[int, int]]) -> tuple[list[float], list[float], list]:
    walls, cpus, answers = [], [], []
    for query in queries:
        wall, cpu = time.perf_counter(), time.process_time()
        answers.append(ask(query))
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus, answers


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def run(args) -> int:
    from django.conf import settings

    from common.hamming import HammingIndex
    from visits.neardup import ProcessIndex

    rng = np.random.default_rng(SEED)
    print(f"load before: {load()}")
    print(f"1. {args.hashes:,} hashes")
    weights = bit_weights()
    began = time.perf_counter()
    stored = realistic(args.hashes, weights, rng)
    print(f"  made in {time.perf_counter() - began:.1f} s")
    sample = stored[rng.choice(len(stored), 20_000, replace=False)]
    d = np.bitwise_count(sample[:10_000] ^ sample[10_000:])
    print(f"  two random stored hashes: median {np.median(d):.0f} bits apart, min {d.min()}")

    limit = settings.PHASH_MAX_DISTANCE
    rss_before = rss_mb()
    if args.database_url != "none":
        print("2. loading at start from PostgreSQL (visits.neardup.ProcessIndex)")
        fill(stored, args.rebuild)
        index = ProcessIndex()
        began = time.perf_counter()
        state = index.refresh()
        seconds = time.perf_counter() - began
        print(
            f"  {state.size:,} hashes loaded in {seconds:.1f} s: read {state.read_seconds:.1f} s "
            f"(one query, the hashes packed in a bytea), sorted {state.sort_seconds:.1f} s"
        )

        def ask(query):
            return index.candidates(query, limit)

        nbytes = state.nbytes
    else:
        print("2. building the index from memory (no database)")
        began = time.perf_counter()
        memory_index = HammingIndex(stored)
        print(f"  {len(memory_index):,} hashes sorted in {time.perf_counter() - began:.1f} s")

        def ask(query):
            found: dict[int, int] = {}
            for q in query:
                hits, dist = memory_index.search(q, limit)
                for h, dd in zip(hits.tolist(), dist.tolist(), strict=True):
                    found[h] = min(dd, found.get(h, 64))
            return found

        nbytes = memory_index.nbytes
    print(
        f"  memory: index arrays {nbytes / 2**20:.0f} MB ({nbytes / args.hashes:.1f} bytes a "
        f"hash); process RSS {rss_before:.0f} -> {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB"
    )

    print(f"3. lookups: {args.planted} near copies (0-{limit} bits) and {args.lookups} new photos")
    picks = rng.choice(len(stored), args.planted, replace=False)
    planted = []
    for n, i in enumerate(picks):
        original = int(stored[i])
        copy = near(original, n % (limit + 1), rng)
        planted.append(((copy, int(rng.integers(0, 2**63))), original))
    fresh = realistic(args.lookups * 2, weights, rng)
    queries = [q for q, _ in planted] + [
        (int(fresh[2 * k]), int(fresh[2 * k + 1])) for k in range(args.lookups)
    ]

    def as_signed(value: int) -> int:
        return value - (1 << 64) if value >= (1 << 63) else value

    signed_queries = [(as_signed(a), as_signed(b)) for a, b in queries]
    order = rng.permutation(len(signed_queries))
    walls, cpus, answers = timed_lookups(ask, [signed_queries[k] for k in order])
    by_query = {int(k): answers[n] for n, k in enumerate(order)}
    unsigned = args.database_url == "none"
    found = sum(
        (original if unsigned else as_signed(original)) in by_query[k]
        for k, (_, original) in enumerate(planted)
    )
    hits = statistics.mean(len(a) for a in answers)
    print(
        f"  wall p50 {pct(walls, 0.5):.2f} ms, p99 {pct(walls, 0.99):.2f} ms, max "
        f"{max(walls):.2f} ms; CPU p50 {pct(cpus, 0.5):.2f} ms, p99 {pct(cpus, 0.99):.2f} ms"
    )
    print(f"  recall of planted copies: {found}/{len(planted)}; mean hashes returned {hits:.1f}")
    ok = pct(walls, 0.99) < 50 and found == len(planted)
    print(f"  target (p99 < 50 ms, every planted copy found): {'met' if ok else 'NOT met'}")

    if args.forms:
        from tests.visits.corpus import measure_forms, measure_real

        print(f"4. false positives: {args.forms} households a kind, and the real photos")
        for kind in ("passbook", "handbook"):
            for line in measure_forms(kind, args.forms, min(args.forms, 60)).lines():
                print("  " + line)
        if PHOTOS.is_dir():
            for line in measure_real(PHOTOS).lines():
                print("  " + line)
        else:
            print("  (no ../shared/photos: real photos skipped)")
    print(f"load after: {load()}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--rebuild", action="store_true", help="refill the bench table")
    parser.add_argument("--forms", type=int, default=200, help="households a kind; 0: skip")
    args = parser.parse_args()
    if args.database_url != "none":
        ensure_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if args.database_url != "none":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
