from django.apps import AppConfig


class GrievancesConfig(AppConfig):
    name = "grievances"
    verbose_name = "诉求与投诉"

    def ready(self) -> None:
        from grievances import jobs, services
        from notifications.jobs import due_jobs
        from workdays.services import calendar_loaded

        due_jobs.register(jobs.run)  # deadline warnings, overdue marks, provisional deadlines
        # A newly published year turns provisional deadlines into final ones at once.
        calendar_loaded.register(services.recompute_provisional_deadlines)
