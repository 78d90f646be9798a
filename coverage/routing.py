"""Websocket routes of this app."""

from django.urls import re_path

from coverage.consumers import CoverageConsumer

websocket_urlpatterns = [
    re_path(r"^ws/coverage/(?P<code>\d{12})/$", CoverageConsumer.as_asgi()),
]
