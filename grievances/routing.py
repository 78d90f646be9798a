"""Websocket routes of this app."""

from django.urls import path

from grievances.consumers import GrievanceConsumer

websocket_urlpatterns = [path("ws/grievances/", GrievanceConsumer.as_asgi())]
