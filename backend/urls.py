from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mobile_api.api import api
from web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("grievances/", include("grievances.urls")),
    path("coverage/", include("coverage.urls")),
    path("coverage/", include("supervision.urls")),
    path("app/", include("fieldapp.urls")),
    path("payments/", include("payments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.BENCH_BARE_UPLOAD:
    # Only for bench/visits.py: the floor a real upload is compared with.
    from mobile_api.bench import bench_api

    urlpatterns.insert(0, path("api/v1/bench/", bench_api.urls))

# Unmatched URLs under /api/ answer the API's JSON 404 (an id that does not fit `{int:…}`).
handler404 = "mobile_api.errors.not_found_view"
