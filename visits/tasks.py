"""Background work for visits, through Django's tasks API (the django-tasks backport): run in
process after the commit by default, by `manage.py db_worker` with TASKS_BACKEND=database."""

from django_tasks import task


@task()
def check_visit(visit_id: str) -> None:
    """The flags that compare a newly committed visit with other visits."""
    from visits.services import visit_check

    visit_check(visit_id)
