from django.apps import AppConfig


class FieldappConfig(AppConfig):
    name = "fieldapp"
    verbose_name = "帮扶走访手机应用"
