"""Supervisors' pages (risks, spot checks), mounted under /coverage/ by backend/urls.py
(namespace `supervision`): the URLs offices and supervisors already bookmarked stay."""

from django.urls import path

from supervision import views

app_name = "supervision"

urlpatterns = [
    path("risks/", views.risks, name="risks"),
    path("photo-pairs/<int:flag_id>/", views.photo_pair, name="photo_pair"),
    path("spot-checks/", views.spot_checks, name="spot_checks"),
    path("spot-checks/<int:draw_id>/", views.spot_check_draw, name="spot_check_draw"),
    path("spot-checks/check/<int:check_id>/", views.spot_check_record, name="spot_check_record"),
]
