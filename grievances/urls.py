"""Web pages of this app, mounted at /grievances/ by backend/urls.py."""

from django.urls import path

from grievances import views

app_name = "grievances"

urlpatterns = [
    path("", views.public_new, name="public_new"),
    path("track/", views.public_track, name="public_track"),
    path("staff/", views.staff_queue, name="staff_queue"),
    path("staff/export.xlsx", views.staff_export_xlsx, name="staff_export"),
    path("staff/stats/", views.staff_stats, name="staff_stats"),
    path("staff/stats.xlsx", views.staff_stats_xlsx, name="staff_stats_xlsx"),
    path("staff/<int:case_id>/", views.staff_case, name="staff_case"),
]
