"""Websocket routes of every app, gathered in one list."""

from backend.notifications.routing import websocket_urlpatterns as notification_routes
from grievances.routing import websocket_urlpatterns as grievance_routes
from visits.routing import websocket_urlpatterns as visit_routes

websocket_urlpatterns = [*notification_routes, *grievance_routes, *visit_routes]
