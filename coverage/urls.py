"""Office pages of visit coverage, mounted at /coverage/ by backend/urls.py (namespace
`coverage`)."""

from django.urls import path

from coverage import views

app_name = "coverage"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("pending/", views.pending, name="pending"),
    path("flagged/", views.flagged, name="flagged"),
    path("exit-candidates/", views.exit_candidates, name="exit_candidates"),
]
