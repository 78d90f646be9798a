from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = "走访"

    def ready(self) -> None:
        from media.processing import processed_hooks
        from visits.checks import photo_processed

        # A photo's hash may be ready after its visit was checked: look again then.
        processed_hooks.register(photo_processed)
