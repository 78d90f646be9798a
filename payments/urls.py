"""Web pages of this app, mounted at /payments/ by backend/urls.py."""

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.xlsx", views.overview_xlsx, name="export"),
    path("warnings/", views.warnings, name="warnings"),
    path("warnings/<int:warning_id>/close", views.warning_close, name="warning_close"),
    path("load/", views.load, name="load"),
    path("public/", views.public_index, name="public_index"),
    path("public/<str:code>/", views.public_village, name="public_village"),
]
