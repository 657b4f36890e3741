"""/api/v1/ (included by config/urls.py). A use case's address is /use-cases/{origin}/{uid}/:
uids are unique within their origin agency, not across the network."""

from django.urls import path, re_path

from catalogue import api

app_name = "api"

urlpatterns = [
    path("use-cases/", api.UseCaseListView.as_view(), name="use-case-list"),
    path("use-cases/export.csv", api.CSVExportView.as_view(), name="use-case-export-csv"),
    path("use-cases/export.json", api.JSONExportView.as_view(), name="use-case-export-json"),
    path(
        "use-cases/<str:origin>/<uuid:uid>/",
        api.UseCaseDetailView.as_view(),
        name="use-case-detail",
    ),
    path(
        "use-cases/<str:origin>/<uuid:uid>/similar/",
        api.SimilarUseCasesView.as_view(),
        name="use-case-similar",
    ),
    path("facets/", api.FacetsView.as_view(), name="facets"),
    path("stats/", api.StatsView.as_view(), name="stats"),
    path("agencies/", api.AgencyListView.as_view(), name="agency-list"),
    re_path(r"^[\s\S]*$", api.NotFoundView.as_view(), name="not-found"),
]
