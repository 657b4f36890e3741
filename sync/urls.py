from django.urls import re_path

from sync import views

app_name = "federation"
# PROTOCOL.md names the paths without a trailing slash; one is tolerated rather than redirected.
urlpatterns = [
    re_path(r"^node/?$", views.node, name="node"),
    re_path(r"^changes/?$", views.changes, name="changes"),
    re_path(r"", views.not_found),
]
