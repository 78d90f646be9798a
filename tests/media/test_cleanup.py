import datetime as dt
import os
import time
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from media import processing, services
from media.management.commands.cleanup_orphans import cleanup_orphans
from tests.media.helpers import make_jpeg


def _age(root, name: str, hours: int) -> None:
    old = time.time() - hours * 3600
    os.utime(root / name, (old, old))


def test_only_old_unreferenced_files_are_deleted(helper_a_user, _photo_storage):
    photo = services.photo_receive(
        photo_id=uuid.uuid4(),
        file=ContentFile(make_jpeg(), name="x"),
        kind="scene",
        user=helper_a_user,
    ).photo
    processing.photo_process(photo_id=photo.pk)
    photo.refresh_from_db()
    old_orphan = default_storage.save("photos/2025/01/old.jpg", ContentFile(b"x"))
    new_orphan = default_storage.save("photos-display/2025/01/new.jpg", ContentFile(b"y"))
    for name in (old_orphan, photo.original.name, photo.display.name, photo.thumbnail.name):
        _age(_photo_storage, name, 48)

    assert cleanup_orphans(grace=dt.timedelta(hours=24), dry_run=True) == [old_orphan]
    assert default_storage.exists(old_orphan)
    call_command("cleanup_orphans", "--grace-hours", "24")
    assert not default_storage.exists(old_orphan)
    for kept in (new_orphan, photo.original.name, photo.display.name, photo.thumbnail.name):
        assert default_storage.exists(kept)
