"""Reads for photos, always through the area rule."""

import uuid

from django.db.models import QuerySet

from accounts.roles import is_department, is_field_worker
from accounts.scoping import in_area
from common.errors import NotFound
from media.models import Photo


def photos_for_user(user) -> QuerySet[Photo]:
    """The photos `user` may read: their own uploads, and for staff who read an area (offices,
    supervisors, admins) every photo whose region lies in it; departments, their cases' photos.
    Helpers and pairing units have a region too, but it is where they work, not an area they
    supervise: they read back only their own photos (a colleague's passbook pages are not
    theirs to see)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Photo.objects.none()
    own = Photo.objects.filter(uploaded_by=user)
    if is_field_worker(user):
        return own.order_by("-created_at")
    if is_department(user):
        # A department handles the cases assigned to it, not the area's register: it reads the
        # photos of its cases, never the visits' passbook pages of the county it sits in.
        if user.unit_id is None:
            # `department_id = NULL` would match every unassigned case's photos.
            return own.order_by("-created_at")
        # Through the reverse relation that grievances declares: media never imports it. A
        # visit's passbook page may back several cases, so the photos are picked by id.
        used = Photo.objects.filter(grievance_uses__grievance__department_id=user.unit_id)
        cases = Photo.objects.filter(pk__in=used.values("pk"))
        return (cases | own).order_by("-created_at")
    return (in_area(Photo.objects.all(), user) | own).order_by("-created_at")


def photo_for_user(*, user, photo_id: uuid.UUID | str) -> Photo:
    """One photo the user may read; "not yours" and "does not exist" are the same 404."""
    photo = photos_for_user(user).filter(pk=photo_id).first()
    if photo is None:
        raise NotFound("照片不存在")
    return photo


def photo_url(photo_id, variant: str = "display") -> str:
    """Where a page shows a photo from: the area-checked file endpoint, never a media URL."""
    from django.urls import reverse

    return reverse("api:photo_file", kwargs={"photo_id": photo_id}) + f"?variant={variant}"
