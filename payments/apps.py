from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "补贴发放(一卡通)"

    def ready(self) -> None:
        from notifications.jobs import due_jobs
        from payments import jobs

        due_jobs.register(jobs.run)  # the warning rules, when something they read has changed
