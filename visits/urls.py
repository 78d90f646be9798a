"""Office web pages of visits, mounted at /coverage/ by backend/urls.py (namespace `coverage`)."""

from django.urls import path

from visits import supervision_views, views

app_name = "coverage"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("pending/", views.pending, name="pending"),
    path("flagged/", views.flagged, name="flagged"),
    path("exit-candidates/", views.exit_candidates, name="exit_candidates"),
    # Supervision (spot checks) adds its pages below this line.
    path("risks/", supervision_views.risks, name="risks"),
    path("spot-checks/", supervision_views.spot_checks, name="spot_checks"),
    path("spot-checks/<int:draw_id>/", supervision_views.spot_check_draw, name="spot_check_draw"),
    path(
        "spot-checks/check/<int:check_id>/",
        supervision_views.spot_check_record,
        name="spot_check_record",
    ),
]
