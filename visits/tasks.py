"""Background work for visits, through Django's tasks API (the django-tasks backport). In
production (TASKS_BACKEND=database) `manage.py db_worker` runs it; the embedded default's
immediate backend runs it in process, at once, where it is queued."""

from django_tasks import task

from visits.checks import visit_check


@task()
def check_visit(visit_id: str) -> None:
    """The flags that compare a newly committed visit with other visits."""
    visit_check(visit_id)
