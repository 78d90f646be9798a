"""photos_bulk_receive: the Photo rows photo_receive and photo_process store, for many photos."""

import io
import uuid

import pytest
from django.core.files.base import ContentFile
from django.forms.models import model_to_dict

from common.errors import AppError
from media import images
from media.models import Photo
from media.processing import photo_process
from media.services import BulkPhoto, Processed, photo_receive, photos_bulk_receive
from tests.visits.helpers import HOME, at, make_jpeg

SKIP = {"id", "original", "display", "thumbnail", "created_at"}


def _bulk_row(picture: bytes, user, **changes) -> BulkPhoto:
    made = images.make_derivatives(io.BytesIO(picture))
    hashes = (made.phash, made.phash_mirrored)
    processed = Processed("d.jpg", "t.jpg", made.width, made.height, *hashes)
    row = {
        "id": uuid.uuid4(),
        "data": picture,
        "kind": "scene",
        "user_id": user.pk,
        "region_id": user.region_id,
        "created_at": at("2026-12-25 10:20"),
        "processed": processed,
    }
    return BulkPhoto(**{**row, **changes})


@pytest.mark.django_db
def test_bulk_photo_is_the_row_the_real_path_stores(helper_a_user):
    data = make_jpeg(taken=at("2026-12-25 10:00"), gps=HOME, seed=5)
    upload = ContentFile(data, name="p.jpg")
    real = photo_receive(photo_id=uuid.uuid4(), file=upload, kind="scene", user=helper_a_user).photo
    real = photo_process(photo_id=real.pk)
    (bulk,) = photos_bulk_receive(rows=[_bulk_row(data, helper_a_user)])
    bulk = Photo.objects.get(pk=bulk.pk)
    fields = [f.name for f in Photo._meta.concrete_fields if f.name not in SKIP]
    assert model_to_dict(bulk, fields=fields) == model_to_dict(real, fields=fields)
    assert bulk.original.read() == data


@pytest.mark.django_db
def test_a_bad_photo_refuses_the_batch(helper_a_user):
    good = _bulk_row(make_jpeg(seed=1), helper_a_user)
    for bad in (
        _bulk_row(make_jpeg(seed=4), helper_a_user, data=b"not a picture"),
        _bulk_row(make_jpeg(seed=2), helper_a_user, kind="selfie"),
        _bulk_row(make_jpeg(seed=3), helper_a_user, user_id=None),
    ):
        with pytest.raises(AppError):
            photos_bulk_receive(rows=[good, bad])
    assert not Photo.objects.exists()
