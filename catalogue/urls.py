from django.urls import path, re_path

from catalogue import feeds, linked_data, views

app_name = "catalogue"

urlpatterns = [
    path("", views.catalogue, name="home"),
    path("results/", views.catalogue_results, name="results"),
    # Any uid, so that a malformed one gets the catalogue's 404 page, not the resolver's.
    path("use-cases/<str:origin>/<str:uid>/", views.use_case_detail, name="use-case"),
    path("agencies/", views.agency_list, name="agency-list"),
    path("agencies/<str:code>/", views.agency_detail, name="agency"),
    path("statistics/", views.statistics, name="statistics"),
    path("feeds/use-cases.atom", feeds.use_case_feed, name="feed"),
    # The SKOS concept schemes the linked-data exports point at (catalogue.linked_data).
    path("vocabularies/<slug:name>", linked_data.concept_scheme, name="vocabulary"),
    path("vocabularies/<slug:name>.<slug:fmt>", linked_data.concept_scheme, name="vocabulary"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Last: what nothing above (nor the admin, API or federation) answers.
    re_path(r"^(?P<path>.*/)$", views.not_found, name="not-found"),
]
