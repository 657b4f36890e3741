from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.catalogue, name="home"),
    path("use-cases/<str:origin>/<uuid:uid>/", views.use_case_detail, name="use-case"),
    path("agencies/", views.agency_list, name="agency-list"),
    path("agencies/<str:code>/", views.agency_detail, name="agency"),
    path("statistics/", views.statistics, name="statistics"),
]
