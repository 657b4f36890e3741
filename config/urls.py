from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from sync import views as sync_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("federation/v1/", include("sync.urls")),
    re_path(r"^federation/", sync_views.not_found),  # other versions and paths: a problem body
    path("api/v1/", include("catalogue.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Both under the site's CSP (docs/security.md): Swagger UI's init script from its own URL
    # (?script), no inline style; ReDoc's styled-components insert <style> elements, so inline
    # styles (never scripts) are allowed on that one page, and so is the Redocly logo ReDoc
    # always shows (it hides it when offline).
    path(
        "api/schema/swagger/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="catalogue/api_docs/swagger_ui.html"
        ),
        name="swagger",
    ),
    path(
        "api/schema/redoc/",
        csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["https://cdn.redoc.ly"]})(
            SpectacularRedocView.as_view(
                url_name="schema", template_name="catalogue/api_docs/redoc.html"
            )
        ),
        name="redoc",
    ),
    path("", include("catalogue.urls")),
]

if settings.OIDC_ENABLED:  # single sign-on (registry/oidc.py): /oidc/authenticate/, /callback/
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))
