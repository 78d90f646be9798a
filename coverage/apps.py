from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "coverage"
    verbose_name = "走访覆盖"

    def ready(self) -> None:
        from coverage import jobs
        from notifications.jobs import due_jobs

        due_jobs.register(jobs.run)  # window and coverage reminders
