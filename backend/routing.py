"""Websocket routes of every app, gathered in one list."""

from grievances.routing import websocket_urlpatterns as grievance_routes
from visits.routing import websocket_urlpatterns as visit_routes

websocket_urlpatterns = [*grievance_routes, *visit_routes]
