from django.apps import AppConfig


class RegisterConfig(AppConfig):
    name = "register"
    label = "register"
    verbose_name = "建档立卡台账"
