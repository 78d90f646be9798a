"""Benchmark: visits with four full-size phone photos each, against the real ASGI server.

    python bench/visits.py [--clients 8] [--visits 200] [--web-workers 4] [--task-workers 2]

It creates (drops and recreates) the PostgreSQL database `relief_visits_bench`, seeds the demo
county (`seed_demo --households 2000`), gives bench helpers a Q4 window extension (the real
rule path: today, 2026-11-23, lies between windows), starts uvicorn on port 8102 and
`manage.py db_worker` processes (TASKS_BACKEND=database), and then:

1. accepted visits: each client uploads four photos (`POST /api/v1/photos`, the original bytes
   of ../shared/photos/mobile/) and submits the visit (`POST /api/v1/visits`);
   Each upload's bytes are made unique (a JPEG comment with its id): phones never send the
   same bytes twice, and identical bytes would raise a duplicate-photo flag on every visit;
2. the same bytes posted to a bare endpoint that only writes them to disk (BENCH_BARE_UPLOAD);
3. the worker's throughput: fully processed photos (derivatives and hash) per second.

It prints visits/s, p50/p95 latency of a whole visit (4 uploads + submit) and of each request,
the server processes' peak RSS, the ratio to the bare upload, and photos processed per second;
and where the CPU went: the server's, PostgreSQL's and this client's CPU a visit, and how busy
the machine's cores were. Total CPU a visit over the cores is the ceiling on visits/s.

Web workers default to twice the cores: a server process runs its Python under one lock (the
GIL), and the kernel hands the clients' keep-alive connections to the processes unevenly, so
with one process a core a busy process held its clients back while the other core idled.
"""

import argparse
import json
import os
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
PHOTOS = ROOT.parent / "shared" / "photos" / "mobile"
# Three full-size phone photos (Nokia 8.3 2.2 MB, iPhone 8 MP, Jolla) for the four kinds.
PHOTO_FILES = {
    "location": "HMD_Nokia_8.3_5G.jpg",
    "scene": "iphone_hdr_NO.jpg",
    "passbook": "jolla.jpg",
    "handbook": "HMD_Nokia_8.3_5G.jpg",
}
DB = "relief_visits_bench"
PG = "postgres://postgres@127.0.0.1:5432"
PORT = 8102
BASE = f"http://127.0.0.1:{PORT}/api/v1"

SETUP = r"""
import json, sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.utils import timezone
from accounts.models import ApiToken, User, hash_token
from regions.models import Region
from register.models import Helper, Pairing
from visits.services import extension_grant
from common.quarters import Quarter

n = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 8
county = Region.objects.filter(level="county").order_by("code").first()
office, _ = User.objects.get_or_create(
    username="bench-office", defaults={"role": "county_office", "region": county, "is_staff": True}
)
ext = extension_grant(
    user=office, quarter=Quarter(2026, 4),
    until=timezone.now() + timedelta(days=7), reason="性能测试", area=county,
)
today = timezone.localdate()
out = []
helpers = (
    Helper.objects.filter(pairings__end_date__isnull=True, region__code__startswith=county.code[:6])
    .distinct().order_by("id")[:n]
)
for helper in helpers:
    user = User.objects.filter(helper=helper).first() or User.objects.create(
        username=f"bench-helper-{helper.pk}", role="helper", region=helper.region, helper=helper
    )
    raw = ApiToken.new_key()
    ApiToken.objects.create(
        user=user, key_hash=hash_token(raw), device_name="bench",
        expires_at=timezone.now() + timedelta(days=1),
    )
    households = list(
        Pairing.objects.filter(helper=helper).held_on(today).values_list("household_id", flat=True)
    )
    out.append({"token": raw, "households": households})
print("BENCH-JSON" + json.dumps({"clients": out, "extension": ext.pk}))
"""


def unique_jpeg(data: bytes, tag: str) -> bytes:
    """The same photo with a comment segment (COM) naming `tag` put before the scan: new
    bytes, so a new SHA-256, as every real phone photo has; the pixels and EXIF unchanged."""
    pos = 2  # after SOI
    while data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):  # up to the start of scan
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    body = tag.encode()
    segment = b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body
    return data[:pos] + segment + data[pos:]


def env(var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        # A bounded pool: persistent per-thread connections under ASGI exhaust PostgreSQL.
        "DB_POOL_MAX_SIZE": os.environ.get("DB_POOL_MAX_SIZE", "16"),
        "REDIS_URL": "redis://127.0.0.1:6379/4",
        "CHANNELS_PREFIX": "visits_bench",
        "CACHE_KEY_PREFIX": "visits_bench",
        "TASKS_BACKEND": "database",
        "BENCH_BARE_UPLOAD": "1",
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(e: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=e,
        check=True,
        capture_output=capture,
        text=True,
    )
    return result.stdout if capture else ""


def recreate_db() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')


def rss_tree_kb(root_pids: list[int]) -> int:
    """Resident memory of the given processes and all their descendants (KiB)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, list(root_pids)
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def postgres_cpu_s() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes: the live ones, and the
    backends that exited (counted in their parent's children's time)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                head, fields = fh.read().rsplit(")", 1)
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = fields.split()
            total += sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)  # idle and iowait are not busy


def cpu_tree_s(root_pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes and their live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0.0, list(root_pids)
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / tick
    return total


class PeakRss(threading.Thread):
    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.running = pids, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_tree_kb(self.pids))
            time.sleep(0.2)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def wait_ready(token: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{BASE}/visits/window", headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not start")


def run_visits(clients: list[dict], photos: dict[str, bytes], total: int, bare: bool):
    """Submit `total` visits spread over the clients; returns per-visit and per-request data."""
    per_client = [total // len(clients) + (i < total % len(clients)) for i in range(len(clients))]
    visit_latency: list[float] = []
    upload_latency: list[float] = []
    submit_latency: list[float] = []
    failures: list[str] = []
    accepted = 0
    lock = threading.Lock()
    base_time = datetime.now(UTC) - timedelta(minutes=5)

    def client_run(index: int) -> None:
        nonlocal accepted
        spec = clients[index]
        headers = {"Authorization": f"Bearer {spec['token']}"}
        households = spec["households"]
        with httpx.Client(base_url=BASE, headers=headers, timeout=60) as http:
            for n in range(per_client[index]):
                started = time.perf_counter()
                ids = []
                ok = True
                for kind, data in photos.items():
                    photo_id = str(uuid.uuid4())
                    data = unique_jpeg(data, photo_id)
                    t0 = time.perf_counter()
                    if bare:
                        r = http.post("/bench/bare-upload", files={"file": ("p.jpg", data)})
                        good = r.status_code == 200
                    else:
                        r = http.post(
                            "/photos",
                            data={"id": photo_id, "kind": kind},
                            files={"file": (f"{kind}.jpg", data, "image/jpeg")},
                        )
                        good = r.status_code == 201
                    with lock:
                        upload_latency.append(time.perf_counter() - t0)
                    if not good:
                        ok = False
                        with lock:
                            failures.append(f"upload {r.status_code} {r.text[:200]}")
                    ids.append(photo_id)
                if not bare and ok:
                    household = households[n % len(households)]
                    body = {
                        "id": str(uuid.uuid4()),
                        "household_id": household,
                        # Earlier visits first seen last: always in the past, 10 min apart.
                        "visited_at": (base_time - timedelta(minutes=10 * n)).isoformat(),
                        "position": {"lat": "32.3100", "lon": "121.1800", "accuracy_m": "10"},
                        "photo_ids": ids,
                        "income": {
                            "wages": f"{1000 + n}.00",
                            "operating": "-10.50",
                            "property": "0.00",
                            "transfers": "300.00",
                        },
                        "passbook_checked": True,
                        "notes": "bench",
                    }
                    t0 = time.perf_counter()
                    r = http.post("/visits", json=body)
                    with lock:
                        submit_latency.append(time.perf_counter() - t0)
                    ok = r.status_code == 201
                    if not ok:
                        with lock:
                            failures.append(f"visit {r.status_code} {r.text[:200]}")
                with lock:
                    visit_latency.append(time.perf_counter() - started)
                    accepted += ok

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(client_run, range(len(clients))))
    elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "accepted": accepted,
        "per_s": accepted / elapsed,
        "visit_p50": pct(visit_latency, 50),
        "visit_p95": pct(visit_latency, 95),
        "upload_p50": pct(upload_latency, 50),
        "upload_p95": pct(upload_latency, 95),
        "submit_p50": pct(submit_latency, 50),
        "submit_p95": pct(submit_latency, 95),
        "failures": failures,
    }


def photo_counts() -> tuple[int, int]:
    with psycopg.connect(f"{PG}/{DB}") as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status <> 'received'), count(*) FROM media_photo"
        ).fetchone()
    return row[0], row[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--task-workers", type=int, default=2)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument(
        "--defer-worker",
        action="store_true",
        help="start the task workers only after the upload phases (no CPU contention)",
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep the seeded database of an earlier run"
    )
    args = parser.parse_args()

    photos = {kind: (PHOTOS / name).read_bytes() for kind, name in PHOTO_FILES.items()}
    mb_per_visit = sum(len(b) for b in photos.values()) / 1e6
    var_dir = Path(tempfile.mkdtemp(prefix="visits-bench-"))
    e = env(var_dir)

    if not args.reuse_db:
        print(f"seeding {DB} ({args.households} households)...", flush=True)
        recreate_db()
        manage(e, "migrate", "-v", "0")
        manage(e, "seed_demo", "--households", str(args.households), "-v", "0")
    out = manage(
        e, "shell", "-c", SETUP.replace("sys.argv[-1]", repr(str(args.clients))), capture=True
    )
    setup = json.loads(out.split("BENCH-JSON", 1)[1])
    clients = [c for c in setup["clients"] if c["households"]]
    print(f"{len(clients)} helper clients, extension #{setup['extension']}", flush=True)

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            str(args.web_workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=e,
    )
    workers: list[subprocess.Popen] = []

    def start_workers() -> None:
        for _ in range(args.task_workers):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "db_worker",
                        "--interval",
                        "0.2",
                        "--no-startup-delay",
                        "-v",
                        "0",
                    ],
                    cwd=ROOT,
                    env=e,
                )
            )

    if not args.defer_worker:
        start_workers()
    try:
        wait_ready(clients[0]["token"])
        rss = PeakRss([server.pid])
        rss.start()
        run_visits(clients, photos, len(clients), bare=False)  # warm-up: one visit per client

        load_before = os.getloadavg()[0]
        cpu0, own0 = cpu_tree_s([server.pid]), time.process_time()
        pg0, ticks0 = postgres_cpu_s(), machine_ticks()
        real = run_visits(clients, photos, args.visits, bare=False)
        cpu1, own1 = cpu_tree_s([server.pid]), time.process_time()
        pg1, ticks1 = postgres_cpu_s(), machine_ticks()
        server_peak_mb = rss.peak / 1024
        bare = run_visits(clients, photos, args.visits, bare=True)
        cpu2, own2 = cpu_tree_s([server.pid]), time.process_time()
        pg2, ticks2 = postgres_cpu_s(), machine_ticks()
        rss.running = False

        if args.defer_worker:
            start_workers()
        # Processing: from the first moment the backlog shrinks to the last photo done.
        done0, total = photo_counts()
        t0 = time.perf_counter()
        last_done, t_last = done0, t0
        while True:
            done, total = photo_counts()
            if done != last_done:
                last_done, t_last = done, time.perf_counter()
            if done >= total or time.perf_counter() - t_last > 60:
                break
            time.sleep(0.25)
        drain = t_last - t0
        drained = last_done - done0
    finally:
        for proc in [*workers, server]:
            proc.terminate()
        for proc in [*workers, server]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    n_photos = (args.visits + len(clients)) * 4
    print()
    print(
        f"clients {len(clients)}, visits {args.visits}, {mb_per_visit:.1f} MB of photos a visit,"
        f" uvicorn workers {args.web_workers}, task workers {args.task_workers}"
        f"{' (started after uploads)' if args.defer_worker else ' (running throughout)'}"
    )
    print(
        f"accepted visits/s        {real['per_s']:.1f}  ({real['accepted']}/{args.visits}"
        f" in {real['elapsed']:.1f} s)"
    )
    print(
        f"visit latency p50/p95    {real['visit_p50']:.3f} / {real['visit_p95']:.3f} s"
        "  (4 uploads + submit)"
    )
    print(f"  upload p50/p95         {real['upload_p50']:.3f} / {real['upload_p95']:.3f} s")
    print(f"  submit p50/p95         {real['submit_p50']:.3f} / {real['submit_p95']:.3f} s")
    print(
        f"bare upload visits/s     {bare['per_s']:.1f}  (4 posts to a write-only endpoint,"
        f" p50/p95 {bare['visit_p50']:.3f} / {bare['visit_p95']:.3f} s)"
    )
    print(f"ratio real/bare          {real['per_s'] / bare['per_s']:.2f}")
    print(f"server peak RSS          {server_peak_mb:.0f} MB (uvicorn and its workers)")
    print(
        f"server CPU a visit       {(cpu1 - cpu0) / args.visits * 1000:.0f} ms real,"
        f" {(cpu2 - cpu1) / args.visits * 1000:.0f} ms bare;"
        f" bench client CPU {(own1 - own0) / args.visits * 1000:.0f} ms real,"
        f" {(own2 - own1) / args.visits * 1000:.0f} ms bare"
    )
    cores = os.cpu_count() or 1

    def busy(a: tuple[int, int], b: tuple[int, int]) -> float:
        return (b[0] - a[0]) / max(1, b[1] - a[1]) * cores

    print(
        f"PostgreSQL CPU a visit   {(pg1 - pg0) / args.visits * 1000:.0f} ms real,"
        f" {(pg2 - pg1) / args.visits * 1000:.0f} ms bare"
    )
    print(
        f"machine cores busy       {busy(ticks0, ticks1):.2f} real,"
        f" {busy(ticks1, ticks2):.2f} bare (of {cores})"
    )
    print(
        f"load average at start    {load_before:.1f} on {os.cpu_count()} cores"
        " (other work on the machine competes)"
    )
    rate = drained / drain if drain > 0 else float("nan")
    print(
        f"photos processed/s       {rate:.1f}  ({drained} drained in {drain:.1f} s after the"
        f" uploads; {last_done}/{total} processed of {n_photos} uploaded)"
    )
    if real["failures"] or bare["failures"]:
        print(
            f"failures: {len(real['failures'])} real, {len(bare['failures'])} bare; first: "
            f"{(real['failures'] + bare['failures'])[0]}"
        )


if __name__ == "__main__":
    main()
