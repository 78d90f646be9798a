"""Websocket routes of every app, gathered in one list."""

from coverage.routing import websocket_urlpatterns as visit_routes
from grievances.routing import websocket_urlpatterns as grievance_routes
from notifications.routing import websocket_urlpatterns as notification_routes

websocket_urlpatterns = [*notification_routes, *grievance_routes, *visit_routes]
