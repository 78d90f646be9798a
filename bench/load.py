"""Load: the last evening of a window. Hundreds of helpers each submit a visit with four photos
while offices keep reading coverage; then check that nothing was lost.

    python bench/load.py [--helpers 300] [--concurrency 40] [--readers 4] [--web-workers 2]

Against the real stack: PostgreSQL (database `relief_load_bench`, dropped and recreated, the
demo county seeded), Redis (db 11: cache, channel layer, counters), uvicorn on port 8107 and
one `manage.py db_worker` (TASKS_BACKEND=database) processing photos throughout. Today
(2026-11-23) lies between windows: an office grants the county a Q4 extension, the real rule
path (bench/visits.py's setup, reused with its helpers).

Each helper: four `POST /api/v1/photos` (the original bytes of ../shared/photos/mobile/, or
generated JPEGs with GPS EXIF when that folder is absent) and one `POST /api/v1/visits`.
Readers: county and town offices looping `GET /api/v1/coverage`.

Prints throughput, p50/p95 latencies, the error count and the peak memory of the server and
the worker; then verifies every accepted visit is stored with its four photos, every file is
on disk, and each file's SHA-256 matches the bytes sent (and the recorded hash).
"""

import argparse
import hashlib
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_visits", ROOT / "bench" / "visits.py")
bv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bv)

DB = "relief_load_bench"
PG = bv.PG
PORT = 8107
BASE = f"http://127.0.0.1:{PORT}/api/v1"
bv.DB, bv.PORT, bv.BASE = DB, PORT, BASE  # its recreate_db and wait_ready, on our database

OFFICES = r"""
import json
from datetime import timedelta
from django.utils import timezone
from accounts.models import ApiToken, User, hash_token
from regions.models import Region
county = Region.objects.filter(level="county").order_by("code").first()
towns = list(Region.objects.filter(parent=county).order_by("code")[:3])
out = []
for region, role in [(county, "county_office")] + [(t, "town_office") for t in towns]:
    user, _ = User.objects.get_or_create(
        username=f"load-office-{region.code}",
        defaults={"role": role, "region": region, "is_staff": True},
    )
    raw = ApiToken.new_key()
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), device_name="load",
                            expires_at=timezone.now() + timedelta(days=1))
    out.append({"token": raw, "region": region.code})
print("LOAD-JSON" + json.dumps(out))
"""


def env(var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        # Under ASGI each request's sync code runs in its own thread: persistent connections
        # pile up per thread (at 40 clients PostgreSQL's 100 slots ran out). Django's advice
        # for ASGI: no persistent connections (or a pool).
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": "redis://127.0.0.1:6379/11",
        "CHANNELS_PREFIX": "load_bench",
        "CACHE_KEY_PREFIX": "load_bench",
        "TASKS_BACKEND": "database",
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # The demo county without its past visits: only this evening's photos are counted.
        "DEMO_VISITS_MAX_HOUSEHOLDS": "0",
    }


def generated_photos() -> dict[str, bytes]:
    """Phone-sized JPEGs with GPS EXIF near the demo county, when no real photos are here."""
    from PIL import Image

    out = {}
    for i, kind in enumerate(bv.PHOTO_FILES):
        rng = random.Random(i)
        img = Image.effect_noise((3000, 2250), 60 + 10 * i).convert("RGB")
        img.paste((rng.randrange(256), 90, 40), (0, 0, 1500, 1100))
        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (32.0, 18.0, 36.0), "E", (121.0, 10.0, 48.0)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=88, exif=exif)
        out[kind] = buf.getvalue()
    return out


def load_photos() -> tuple[dict[str, bytes], str]:
    if bv.PHOTOS.is_dir():
        return {k: (bv.PHOTOS / n).read_bytes() for k, n in bv.PHOTO_FILES.items()}, "shared"
    return generated_photos(), "generated"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = {"visit": [], "upload": [], "submit": [], "read": []}
        self.errors: list[str] = []
        self.accepted: list[dict] = []
        self.requests = 0

    def record(self, what: str, seconds: float) -> None:
        with self.lock:
            self.lat[what].append(seconds)
            self.requests += what != "visit"

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def helper_visit(spec: dict, n: int, photos: dict[str, bytes], stats: Stats, when: datetime):
    headers = {"Authorization": f"Bearer {spec['token']}"}
    started = time.perf_counter()
    ids: dict[str, str] = {}
    with httpx.Client(base_url=BASE, headers=headers, timeout=120) as http:
        for kind, data in photos.items():
            photo_id = str(uuid.uuid4())
            t0 = time.perf_counter()
            try:
                r = http.post(
                    "/photos",
                    data={"id": photo_id, "kind": kind},
                    files={"file": (f"{kind}.jpg", data, "image/jpeg")},
                )
            except httpx.HTTPError as exc:
                stats.error(f"upload {exc!r}")
                return
            stats.record("upload", time.perf_counter() - t0)
            if r.status_code != 201:
                stats.error(f"upload {r.status_code} {r.text[:200]}")
                return
            ids[kind] = photo_id
        body = {
            "id": str(uuid.uuid4()),
            "household_id": spec["households"][0],
            "visited_at": (when + timedelta(seconds=n)).isoformat(),
            "position": {"lat": "32.3100", "lon": "121.1800", "accuracy_m": "10"},
            "photo_ids": list(ids.values()),
            "income": {
                "wages": f"{1000 + n}.00",
                "operating": "-10.50",
                "property": "0.00",
                "transfers": "300.00",
            },
            "passbook_checked": True,
            "notes": "最后一晚",
        }
        t0 = time.perf_counter()
        try:
            r = http.post("/visits", json=body)
        except httpx.HTTPError as exc:
            stats.error(f"visit {exc!r}")
            return
        stats.record("submit", time.perf_counter() - t0)
    if r.status_code != 201:
        stats.error(f"visit {r.status_code} {r.text[:200]}")
        return
    stats.record("visit", time.perf_counter() - started)
    with stats.lock:
        stats.accepted.append({"visit": body["id"], "photos": ids})


def reader(office: dict, stats: Stats, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {office['token']}"}
    with httpx.Client(base_url=BASE, headers=headers, timeout=60) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                r = http.get("/coverage", params={"quarter": "2026Q4", "region": office["region"]})
            except httpx.HTTPError as exc:
                stats.error(f"coverage {exc!r}")
                continue
            stats.record("read", time.perf_counter() - t0)
            if r.status_code != 200:
                stats.error(f"coverage {r.status_code} {r.text[:200]}")
            time.sleep(0.2)  # an office page re-polls; not a tight loop


def verify(accepted: list[dict], photos: dict[str, bytes], media: Path) -> list[str]:
    """Every accepted visit stored with its four photos; every file present and unaltered."""
    expected = {kind: hashlib.sha256(data).hexdigest() for kind, data in photos.items()}
    problems: list[str] = []
    visit_ids = [a["visit"] for a in accepted]
    with psycopg.connect(f"{PG}/{DB}") as conn:
        stored = {
            str(row[0]): row[1]
            for row in conn.execute(
                "SELECT v.id, count(vp.id) FROM visits_visit v"
                " LEFT JOIN visits_visitphoto vp ON vp.visit_id = v.id"
                " WHERE v.id = ANY(%s::uuid[]) GROUP BY v.id",
                (visit_ids,),
            )
        }
        rows = {
            str(row[0]): row[1:]
            for row in conn.execute(
                "SELECT id, kind, sha256, original FROM media_photo WHERE id = ANY(%s::uuid[])",
                ([pid for a in accepted for pid in a["photos"].values()],),
            )
        }
    for a in accepted:
        if stored.get(a["visit"]) != 4:
            problems.append(f"visit {a['visit']}: {stored.get(a['visit'])} photos stored")
        for kind, pid in a["photos"].items():
            row = rows.get(pid)
            if row is None:
                problems.append(f"photo {pid}: no record")
                continue
            _, sha, name = row
            path = media / name
            if not path.is_file():
                problems.append(f"photo {pid}: file {name} missing")
                continue
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            if not (actual == sha == expected[kind]):
                problems.append(f"photo {pid}: sha256 {actual} / recorded {sha}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--helpers", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--task-workers", type=int, default=1)
    parser.add_argument("--households", type=int, default=2000)
    args = parser.parse_args()

    photos, source = load_photos()
    var_dir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    e = env(var_dir)
    print(f"seeding {DB} ({args.households} households)...", flush=True)
    bv.recreate_db()
    bv.manage(e, "migrate", "-v", "0")
    bv.manage(e, "seed_demo", "--households", str(args.households), "-v", "0")
    out = bv.manage(
        e, "shell", "-c", bv.SETUP.replace("sys.argv[-1]", repr(str(args.helpers))), capture=True
    )
    helpers = [c for c in json.loads(out.split("BENCH-JSON", 1)[1])["clients"] if c["households"]]
    offices = json.loads(bv.manage(e, "shell", "-c", OFFICES, capture=True).split("LOAD-JSON")[1])
    print(f"{len(helpers)} helpers, {len(offices)} office readers' logins", flush=True)

    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "backend.asgi:application",
            "--host", "127.0.0.1", "--port", str(PORT), "--workers", str(args.web_workers),
            "--no-access-log", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=e,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "-v", "0"],
            cwd=ROOT,
            env=e,
        )
        for _ in range(args.task_workers)
    ]
    stats = Stats()
    try:
        bv.wait_ready(helpers[0]["token"])
        rss_server = bv.PeakRss([server.pid])
        rss_workers = bv.PeakRss([w.pid for w in workers])
        rss_server.start()
        rss_workers.start()
        stop = threading.Event()
        readers = [
            threading.Thread(target=reader, args=(offices[i % len(offices)], stats, stop))
            for i in range(args.readers)
        ]
        for thread in readers:
            thread.start()
        when = datetime.now(UTC) - timedelta(hours=3)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for n, spec in enumerate(helpers):
                pool.submit(helper_visit, spec, n, photos, stats, when)
        elapsed = time.perf_counter() - started
        stop.set()
        for thread in readers:
            thread.join()
        rss_server.running = rss_workers.running = False
        with psycopg.connect(f"{PG}/{DB}") as conn:
            done, total = conn.execute(
                "SELECT count(*) FILTER (WHERE status <> 'received'), count(*) FROM media_photo"
            ).fetchone()
    finally:
        for proc in [*workers, server]:
            proc.terminate()
        for proc in [*workers, server]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    problems = verify(stats.accepted, photos, var_dir / "media")
    mb = sum(len(b) for b in photos.values()) / 1e6
    lat = stats.lat
    print()
    print(
        f"helpers {len(helpers)}, concurrency {args.concurrency}, coverage readers "
        f"{args.readers}, uvicorn workers {args.web_workers}, task workers {args.task_workers}, "
        f"{mb:.1f} MB of {source} photos a visit"
    )
    print(
        f"accepted visits          {len(stats.accepted)}/{len(helpers)} in {elapsed:.1f} s"
        f"  = {len(stats.accepted) / elapsed:.2f} visits/s, {stats.requests / elapsed:.1f} req/s,"
        f" {len(stats.accepted) * mb / elapsed:.1f} MB/s of photos"
    )
    for what, label in (
        ("visit", "whole visit (4 uploads + submit)"),
        ("upload", "photo upload"),
        ("submit", "visit submit"),
        ("read", "coverage read"),
    ):
        print(
            f"{label:33s} p50 {bv.pct(lat[what], 50):.3f} s  p95 {bv.pct(lat[what], 95):.3f} s"
            f"  max {max(lat[what], default=float('nan')):.3f} s  (n={len(lat[what])})"
        )
    print(f"errors                   {len(stats.errors)}")
    for text in stats.errors[:5]:
        print(f"  {text}")
    print(
        f"peak RSS                 server {rss_server.peak / 1024:.0f} MB,"
        f" task workers {rss_workers.peak / 1024:.0f} MB"
    )
    print(f"photos processed by the end of the run: {done}/{total}")
    print(
        f"nothing lost             {'yes' if not problems else 'NO'}: {len(stats.accepted)} visits,"
        f" {4 * len(stats.accepted)} files checked by SHA-256"
    )
    for text in problems[:10]:
        print(f"  {text}")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
