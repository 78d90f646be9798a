"""Benchmark: the helpers' phone app in headless Chromium against the real server.

    python bench/app.py [--photo-mb 2] [--up-kbit 1500] [--down-kbit 1500] [--latency-ms 150]
                        [--runs 3] [--db relief_app_bench] [--port 8120]

It (re)creates the PostgreSQL database `--db`, migrates it, adds one helper with one household
and an office's extension of the current quarter (so entry is open whatever today's date),
collects the static files and starts uvicorn as production serves the app (PRODUCTION=1:
WhiteNoise's compressed static files; TASKS_BACKEND=database with no worker, so the photo
processing, which production runs in `db_worker`s, is not in the measure). Chromium reaches
the server through a TCP proxy that counts every request and byte, and it prints:

1. the app's cold load: requests and bytes over the wire until the app can open offline (the
   page and its modules, then the service worker's precache of the shell), and the shell's
   files raw and gzip-compressed;
2. the time to sync one visit of four photos of `--photo-mb` MB, saved while offline, once the
   network returns over a link emulated by Chromium (`Network.emulateNetworkConditions`:
   latency, up and down throughput), from the network's return to the outbox's emptying;
   beside it the link's floor (the bytes sent at the upload rate) and their ratio;
3. the bytes sent (and received) per visit, per request, and the overhead over the photos.

It needs Debian's `chromium` and `chromium-driver`, PostgreSQL on 127.0.0.1:5432.
"""

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-1"


def recreate_db(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(db: str, var_dir: Path) -> dict[str, str]:
    drop = {"REDIS_URL", "CACHE_KEY_PREFIX", "CHANNELS_PREFIX"}
    return {
        **{k: v for k, v in os.environ.items() if k not in drop},
        "DATABASE_URL": f"{PG}/{db}",
        "PRODUCTION": "1",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback (the browser treats it as secure)
        "TASKS_BACKEND": "database",
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def seed(env: dict) -> dict:
    """One helper, one household at a known home, entry open now (in this process, on the
    bench database)."""
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "VAR_DIR")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    import django

    django.setup()
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from common.quarters import quarters_for_visit
    from regions.models import Level, Region
    from register.models import Helper, HelperKind, Household, Pairing
    from visits.services import extension_grant

    def region(code, name, level, parent=None):
        return Region.objects.create(code=code, name=name, level=level, parent=parent)

    province = region("320000000000", "江苏省", Level.PROVINCE)
    city = region("320600000000", "南通市", Level.CITY, province)
    county = region("320623000000", "如东县", Level.COUNTY, city)
    town = region("320623100000", "掘港镇", Level.TOWN, county)
    village = region("320623100201", "东凌村", Level.VILLAGE, town)
    helper = Helper.objects.create(
        name="测试帮扶人", phone="13900000001", kind=HelperKind.CADRE, region=town
    )
    user = User.objects.create(
        username="bench-helper", role=Role.HELPER, region=town, helper=helper
    )
    user.set_password(PASSWORD)
    user.save()
    office = User.objects.create(username="bench-office", role=Role.TOWN_OFFICE, region=town)
    home = (Decimal("32.310000"), Decimal("121.180000"))
    household = Household.objects.create(
        number="H32062310020100001",
        head_name="王建国",
        id_number="320623195001010013",
        members=3,
        village=village,
        address="东凌村三组12号",
        home_lat=home[0],
        home_lon=home[1],
        registered_on=timezone.localdate() - timedelta(days=3650),
    )
    Pairing.objects.create(helper=helper, household=household, start_date=household.registered_on)
    now = timezone.now()
    extension_grant(
        user=office,
        quarter=quarters_for_visit(now)[0],
        until=now + timedelta(days=2),
        reason="性能测试",
        helper=helper,
    )
    return {"username": user.username, "household": household.pk, "home": home}


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/app/", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start: {log.read_text()}")


def shell_sizes(base: str) -> tuple[int, int, int]:
    """(files, raw bytes, gzip bytes) of the page, its worker and manifest, and every shell
    file the worker precaches."""
    from fieldapp import shell

    urls = ["/app/", "/app/sw.js", "/app/manifest.webmanifest", *shell.asset_urls()]
    raw = packed = 0
    for url in urls:
        body = httpx.get(base + url, headers={"Accept-Encoding": "identity"}).content
        raw += len(body)
        packed += len(gzip.compress(body, compresslevel=6))
    return len(urls), raw, packed


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def cold_load(proxy, base: str, size) -> dict:
    from tests.browser import chromium
    from tests.fieldapp.phone import PhoneApp

    proxy.reset_counters()
    with chromium(size=size) as driver:
        phone = PhoneApp(driver, base)
        started = time.monotonic()
        phone.open()
        phone.wait_css("#login-form")
        shown = time.monotonic() - started
        phone.wait_offline_ready()
        ready = time.monotonic() - started
        # The worker's precache runs before it takes control; let any stragglers land.
        time.sleep(0.5)
    requests = list(proxy.requests)
    return {
        "requests": len(requests),
        "down": sum(r["down"] for r in requests),
        "up": sum(r["up"] for r in requests),
        "shown_s": shown,
        "ready_s": ready,
        "lines": [r["line"] for r in requests],
    }


def one_sync(proxy, base: str, who: dict, files: dict, args) -> dict:
    from tests.browser import PHONE, chromium, grant, set_network, set_offline, set_position
    from tests.fieldapp.phone import PhoneApp

    with chromium(size=PHONE) as driver:
        grant(driver, base, ["geolocation"])
        set_position(driver, lat=float(who["home"][0]), lng=float(who["home"][1]), accuracy=8)
        phone = PhoneApp(driver, base)
        phone.open()
        phone.login(who["username"], PASSWORD)
        phone.until(lambda: phone.household_status(who["household"]), what="household listed")
        phone.wait_offline_ready()
        proxy.cut()
        set_offline(driver, True)
        phone.new_visit(who["household"])
        phone.take_photos(files)
        phone.type_income(wages="3000", operating="-120.5", property="0", transfers="450")
        phone.save()
        proxy.reset_counters()
        proxy.restore()
        started = time.monotonic()
        set_network(
            driver, latency_ms=args.latency_ms, down_kbit=args.down_kbit, up_kbit=args.up_kbit
        )
        phone.until(lambda: phone.stored()["outbox"] == [], timeout=1800, what="the outbox emptied")
        elapsed = time.monotonic() - started
        requests = list(proxy.requests)
    sending = ("POST /api/v1/photos", "POST /api/v1/visits")
    visit = [r for r in requests if r["line"].startswith(sending)]
    return {
        "seconds": elapsed,
        "up": sum(r["up"] for r in visit),
        "down": sum(r["down"] for r in visit),
        "requests": visit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo-mb", type=float, default=2.0)
    parser.add_argument("--up-kbit", type=float, default=1500)
    parser.add_argument("--down-kbit", type=float, default=1500)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="relief_app_bench")
    parser.add_argument("--port", type=int, default=8120)
    args = parser.parse_args()

    from tests.netproxy import Proxy, free_port
    from tests.phone_photos import camera_jpeg

    var_dir = Path(tempfile.mkdtemp(prefix="app-bench-"))
    env = server_env(args.db, var_dir)
    recreate_db(args.db)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    who = seed(env)
    server = start_server(env, args.port, var_dir / "server.log")
    proxy = Proxy(("127.0.0.1", args.port), port=free_port(range(args.port + 1, args.port + 10)))
    proxy.start()
    base = proxy.url
    try:
        from tests.browser import PHONE

        files_n, raw, packed = shell_sizes(f"http://127.0.0.1:{args.port}")
        load = cold_load(proxy, base, PHONE)
        from django.utils import timezone

        now = timezone.now()
        photo_dir = var_dir / "photos"
        photo_dir.mkdir()
        syncs = []
        for run in range(args.runs):
            files = {}
            for i, kind in enumerate(("location", "scene", "passbook", "handbook")):
                path = photo_dir / f"{run}-{kind}.jpg"
                gps = who["home"] if i % 2 == 0 else None
                path.write_bytes(
                    camera_jpeg(
                        size_bytes=int(args.photo_mb * 1024 * 1024),
                        taken=now,
                        gps=gps,
                        seed=run * 10 + i,
                    )
                )
                files[kind] = path
            photo_bytes = sum(p.stat().st_size for p in files.values())
            result = one_sync(proxy, base, who, files, args)
            result["photo_bytes"] = photo_bytes
            syncs.append(result)
            print(f"  run {run + 1}: {result['seconds']:.1f} s, {kb(result['up'])} sent")
    finally:
        proxy.cut()
        server.terminate()
        server.wait(timeout=10)

    print()
    print("== the phone app (bench/app.py) ==")
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"(uptime), {os.cpu_count()} cores"
    )
    print(
        f"app shell: {files_n} files (page, worker, manifest, {files_n - 3} static), "
        f"{kb(raw)} raw, {kb(packed)} gzip -6"
    )
    print(
        f"cold load to offline-ready: {load['requests']} requests, {kb(load['down'])} received "
        f"on the wire (static gzip by WhiteNoise; page, worker, manifest uncompressed), "
        f"{kb(load['up'])} sent; login form shown in {load['shown_s']:.2f} s, offline-ready in "
        f"{load['ready_s']:.2f} s (unthrottled, loopback)"
    )
    for line in load["lines"]:
        print(f"    {line}")
    seconds = [s["seconds"] for s in syncs]
    ups = [s["up"] for s in syncs]
    photo = statistics.median(s["photo_bytes"] for s in syncs)
    up = statistics.median(ups)
    floor = up * 8 / (args.up_kbit * 1000)
    print(
        f"sync of one visit, 4 photos × {args.photo_mb:g} MB ({kb(photo)} of photos), link "
        f"{args.up_kbit:g} kbit/s up, {args.down_kbit:g} kbit/s down, {args.latency_ms:g} ms "
        f"latency: median {statistics.median(seconds):.1f} s over {len(seconds)} runs "
        f"({', '.join(f'{s:.1f}' for s in seconds)}); the link's floor for the bytes sent "
        f"{floor:.1f} s, ratio {statistics.median(seconds) / floor:.2f}"
    )
    print(
        f"bytes per visit: {kb(up)} sent ({up / photo:.4f} × the photos: "
        f"{kb(up - photo)} of multipart, headers and the visit's JSON), "
        f"{kb(statistics.median(s['down'] for s in syncs))} received"
    )
    for r in syncs[0]["requests"]:
        print(f"    {r['line'][:60]:<60} up {kb(r['up']):>12}  down {kb(r['down']):>9}")


if __name__ == "__main__":
    main()
