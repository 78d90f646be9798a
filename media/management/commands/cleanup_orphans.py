"""Delete stored photo files that no Photo points to, once they are older than a grace period.

Orphans arise when a process dies between storing an original and inserting its row, or when a
photo is processed twice (a re-run after a crash writes fresh derivatives). A racing upload
that loses on the primary key deletes its own copy at once; this is the safety net. The grace
period keeps files of uploads still in flight.
"""

import datetime as dt
from collections.abc import Iterator

from django.core.files.storage import Storage, default_storage
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from media.models import Photo

FOLDERS = ("photos", "photos-display", "photos-thumb")


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    try:
        dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in dirs:
        yield from _walk(storage, f"{folder}/{sub}")


def _referenced(names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 500):
        batch = names[start : start + 500]
        rows = Photo.objects.filter(
            Q(original__in=batch) | Q(display__in=batch) | Q(thumbnail__in=batch)
        ).values_list("original", "display", "thumbnail")
        for row in rows:
            found.update(row)
    return found


def cleanup_orphans(
    *, grace: dt.timedelta, dry_run: bool = False, storage: Storage | None = None
) -> list[str]:
    """Delete (or, dry run, list) orphan files older than `grace`; returns their names."""
    storage = storage or default_storage
    cutoff = timezone.now() - grace
    orphans: list[str] = []
    for folder in FOLDERS:
        names = list(_walk(storage, folder))
        referenced = _referenced(names)
        for name in names:
            if name in referenced:
                continue
            try:
                modified = storage.get_modified_time(name)
            except (FileNotFoundError, NotImplementedError):
                continue
            if modified > cutoff:
                continue
            orphans.append(name)
            if not dry_run:
                storage.delete(name)
    return orphans


class Command(BaseCommand):
    help = "删除没有照片记录指向、且超过宽限期的照片文件"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--grace-hours", type=int, default=24)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, grace_hours: int, dry_run: bool, **options) -> None:
        orphans = cleanup_orphans(grace=dt.timedelta(hours=grace_hours), dry_run=dry_run)
        for name in orphans:
            self.stdout.write(name)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(orphans)} orphan file(s)"))
