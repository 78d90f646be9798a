"""Benchmark: the photo pipeline's two halves on the shared full-size phone photos.

    python bench/photos.py [--photos 150] [--workers 2] [--database-url postgres://...]

1. Request path, in process: POST /api/v1/photos through Django's test client (token auth,
   multipart parsing, header and EXIF checks, SHA-256, storing the original, the insert and
   queueing the task), milliseconds per upload; and the `photo_receive` service alone.
2. Processing: the uploads' tasks are queued in the database (TASKS_BACKEND=database); then
   `--workers` real `manage.py db_worker --batch` processes run them. Prints fully processed
   photos per second (display copy, thumbnail and hashes saved), over the wall clock including
   worker start-up, and over the span from the first task started to the last finished.
3. For reference, the same decode-and-derive work in a process pool with no database.

Uses DATABASE_URL or postgres://postgres@127.0.0.1:5432/relief_media_bench (created when
missing, flushed first); `--database-url sqlite` uses a throw-away SQLite file. Files go to a
temporary directory that is removed at the end. Target on a 2-core machine: >= 30 photos/s.
"""

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "photos" / "mobile"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/relief_media_bench"
# Full-size phone photos only (the folder also holds a 100x78 Kodak thumbnail-sized file).
MIN_PIXELS = 4_000_000


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def full_size_photos() -> list[Path]:
    from PIL import Image

    found = []
    for path in sorted(PHOTOS.iterdir()):
        try:
            with Image.open(path) as img:
                if img.width * img.height >= MIN_PIXELS:
                    found.append(path)
        except OSError:
            continue
    return found


def _derive(data: bytes) -> float:
    """CPU seconds this process spent making one photo's derivatives (robust to other load on
    the machine, unlike the wall clock)."""
    from media.images import make_derivatives

    started = time.process_time()
    make_derivatives(io.BytesIO(data))
    return time.process_time() - started


def _pool_init() -> None:
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    args = parser.parse_args()

    if not PHOTOS.is_dir():
        sys.exit(f"no photos at {PHOTOS}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-photos-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "TASKS_BACKEND": "database",
        "VAR_DIR": str(tmp),
        "AXES_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
    }
    if args.database_url == "sqlite":
        env.pop("DATABASE_URL", None)
    else:
        ensure_database(args.database_url)
        env["DATABASE_URL"] = args.database_url
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from accounts.models import ApiToken, User, hash_token
    from accounts.roles import Role
    from media.models import Photo, PhotoStatus
    from media.services import photo_receive
    from media.tasks import process_photo
    from regions.models import Level, Region

    try:
        call_command("migrate", verbosity=0)
        if settings.IS_POSTGRES:
            call_command("flush", interactive=False, verbosity=0)
        town = Region.objects.create(code="320623100000", name="掘港镇", level=Level.TOWN)
        user = User.objects.create(username="bench-helper", role=Role.HELPER, region=town)
        raw = ApiToken.new_key()
        ApiToken.objects.create(
            user=user,
            key_hash=hash_token(raw),
            device_name="bench",
            expires_at=timezone.now() + settings.API_TOKEN_TTL,
        )
        sources = [(p.name, p.read_bytes()) for p in full_size_photos()]
        print(f"photos: {', '.join(name for name, _ in sources)}")
        print(f"database: {'PostgreSQL' if settings.IS_POSTGRES else 'SQLite'}")

        # The CPU cost of starting one (Django, the task
        # modules, numpy and scipy for the hash), so the per-photo figure can leave it out.
        worker_cmd = [
            sys.executable,
            str(ROOT / "manage.py"),
            "db_worker",
            "--batch",
            "--interval",
            "0",
            "--no-startup-delay",
        ]
        # One task for a photo that does not exist: it imports everything, then returns.
        process_photo.enqueue(str(uuid.uuid4()))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        startup_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        DBTaskResult.objects.all().delete()

        # 1. Request path, in process.
        client = Client()
        timings = []
        for i in range(args.photos):
            name, data = sources[i % len(sources)]
            started = time.perf_counter()
            response = client.post(
                "/api/v1/photos",
                data={
                    "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
                    "id": str(uuid.uuid4()),
                    "kind": "scene",
                },
                headers={"Authorization": f"Bearer {raw}"},
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.content
        timings.sort()
        mean_mb = statistics.mean(len(d) for _, d in sources) / 1024 / 1024
        print(
            f"request path (POST /api/v1/photos in process, {mean_mb:.1f} MB average photo): "
            f"p50 {timings[len(timings) // 2]:.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f}"
            f" ms, mean {statistics.mean(timings):.1f} ms"
        )
        service = []
        for i in range(min(30, args.photos)):
            name, data = sources[i % len(sources)]
            upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
            started = time.perf_counter()
            photo_receive(photo_id=uuid.uuid4(), file=upload, kind="scene", user=user)
            service.append((time.perf_counter() - started) * 1000)
        print(f"  photo_receive alone: median {statistics.median(service):.1f} ms")
        queued = DBTaskResult.objects.count()

        # 2. Real db_worker processes.
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        workers = [
            subprocess.Popen(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        for worker in workers:
            worker.wait()
        wall = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (children.ru_utime - children_before.ru_utime) + (
            children.ru_stime - children_before.ru_stime
        )
        processed = Photo.objects.filter(status=PhotoStatus.PROCESSED).count()
        failed = Photo.objects.filter(status=PhotoStatus.FAILED).count()
        spans = DBTaskResult.objects.exclude(finished_at=None)
        first = min(spans.values_list("started_at", flat=True))
        last = max(spans.values_list("finished_at", flat=True))
        span = (last - first).total_seconds()
        print(
            f"processing with {args.workers} db_worker processes: {processed} of {queued} photos "
            f"processed ({failed} failed)"
        )
        print(f"  {processed / wall:.1f} photos/s over the wall clock (incl. worker start-up)")
        print(f"  {processed / span:.1f} photos/s from first task started to last finished")
        steady_cpu = worker_cpu - args.workers * startup_cpu
        print(
            f"  worker CPU {worker_cpu * 1000 / max(processed, 1):.0f} ms per photo with start-up"
            f" ({startup_cpu:.1f} s a worker), {steady_cpu * 1000 / max(processed, 1):.0f} ms"
            f" without: {args.workers} idle cores keep up with "
            f"{args.workers * processed / steady_cpu:.1f} photos/s"
        )

        # 3. The decode-and-derive work alone, no database or storage.
        blobs = [sources[i % len(sources)][1] for i in range(args.photos)]
        with ProcessPoolExecutor(args.workers, initializer=_pool_init) as pool:
            list(pool.map(_derive, blobs[: args.workers]))  # warm up
            started = time.perf_counter()
            cpu = list(pool.map(_derive, blobs))
            pure = time.perf_counter() - started
        per_photo = statistics.mean(cpu)
        print(f"  derivatives alone in {args.workers} processes: {len(blobs) / pure:.1f} photos/s")
        print(
            f"  CPU per photo {per_photo * 1000:.0f} ms: {args.workers} idle cores could do "
            f"{args.workers / per_photo:.1f} photos/s (load average now "
            f"{os.getloadavg()[0]:.1f})"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
