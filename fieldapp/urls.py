from django.urls import path

from fieldapp import views

app_name = "fieldapp"

urlpatterns = [
    path("", views.index, name="index"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
