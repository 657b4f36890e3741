from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from sync import views as sync_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("federation/v1/", include("sync.urls")),
    re_path(r"^federation/", sync_views.not_found),  # other versions and paths: a problem body
    path("api/v1/", include("catalogue.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/swagger/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
    path("api/schema/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("catalogue.urls")),
]
