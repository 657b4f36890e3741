"""/api/v1/ (included by config/urls.py). A use case's address is /use-cases/{origin}/{uid}/:
uids are unique within their origin agency, not across the network."""

from django.urls import path, re_path

from catalogue import api
from catalogue.crosswalks import eu_ai_act, uk_atrs

app_name = "api"

urlpatterns = [
    path("use-cases/", api.UseCaseListView.as_view(), name="use-case-list"),
    path("use-cases/export.csv", api.CSVExportView.as_view(), name="use-case-export-csv"),
    path("use-cases/export.json", api.JSONExportView.as_view(), name="use-case-export-json"),
    path("use-cases/export.xlsx", api.XLSXExportView.as_view(), name="use-case-export-xlsx"),
    path(
        "use-cases/export.nl-register.json",
        api.NLRegisterExportView.as_view(),
        name="use-case-export-nl-register",
    ),
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
    path(
        "use-cases/<str:origin>/<uuid:uid>/nl-register.json",
        api.NLRegisterUseCaseView.as_view(),
        name="use-case-nl-register",
    ),
    path("facets/", api.FacetsView.as_view(), name="facets"),
    path("stats/", api.StatsView.as_view(), name="stats"),
    path("agencies/", api.AgencyListView.as_view(), name="agency-list"),
    # Crosswalks to the UK ATRS and the EU AI Act database (docs/crosswalk-*.md).
    path(
        "use-cases/export.uk-atrs.csv",
        uk_atrs.AtrsCSVExportView.as_view(),
        name="use-case-export-uk-atrs-csv",
    ),
    path(
        "use-cases/export.uk-atrs.json",
        uk_atrs.AtrsJSONExportView.as_view(),
        name="use-case-export-uk-atrs-json",
    ),
    path(
        "use-cases/<str:origin>/<uuid:uid>/uk-atrs.json",
        uk_atrs.AtrsRecordView.as_view(),
        name="use-case-uk-atrs-json",
    ),
    path(
        "use-cases/<str:origin>/<uuid:uid>/uk-atrs.csv",
        uk_atrs.AtrsRecordCSVView.as_view(),
        name="use-case-uk-atrs-csv",
    ),
    path(
        "use-cases/<str:origin>/<uuid:uid>/eu-ai-act-annex-viii.json",
        eu_ai_act.AnnexViiiView.as_view(),
        name="use-case-eu-ai-act-annex-viii",
    ),
    # Linked data: DCAT-AP 3 and DPV in JSON-LD and Turtle (docs/linked-data.md).
    *(
        path(
            f"use-cases/export.{fmt}",
            api.LinkedDataExportView.as_view(fmt=fmt),
            name=f"use-case-export-{fmt}",
        )
        for fmt in ("jsonld", "ttl")
    ),
    *(
        path(
            f"use-cases/<str:origin>/<uuid:uid>.{fmt}",
            api.UseCaseLinkedDataView.as_view(fmt=fmt),
            name=f"use-case-{fmt}",
        )
        for fmt in ("jsonld", "ttl")
    ),
    re_path(r"^[\s\S]*$", api.NotFoundView.as_view(), name="not-found"),
]
