"""Background work for photos, through Django's tasks API (the django-tasks backport).

Embedded default: the immediate backend runs it in process after the commit. Production:
`TASKS_BACKEND=database` and `manage.py db_worker` processes.
"""

from django_tasks import task

from media.processing import photo_process


@task()
def process_photo(photo_id: str) -> None:
    """Derivatives, perceptual hash, then the processed hooks; a bad image is marked failed."""
    photo_process(photo_id=photo_id)
