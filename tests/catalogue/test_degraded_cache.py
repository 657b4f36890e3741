"""With CACHE_URL pointing at a Redis that is down (a closed port), the catalogue's pages, exports
and API and the admin's saves all still answer: a dead cache costs speed, never an answer or a
save (issue 12.4, config/cache.py). The cache is configured exactly as config.settings builds it
from CACHE_URL."""

import pytest
from django.urls import reverse

from config.settings import caches_from_url
from registry.models import UseCase
from tests.catalogue.test_pages import SIGNAL_UID, TRANSLATION_UID, seed_catalogue
from tests.registry.test_admin import form_data

DEAD_REDIS = "redis://127.0.0.1:1/0"

PAGES = [
    "/",
    "/?search=signal",
    "/?stage=pilot&sort=-modified",
    "/results/?stage=production",
    "/agencies/",
    "/agencies/DE-BFARM/",
    "/statistics/",
    f"/use-cases/DE-BFARM/{TRANSLATION_UID}/",
    "/feeds/use-cases.atom",
]
API = [
    "/api/v1/use-cases/",
    "/api/v1/use-cases/?search=signal",
    f"/api/v1/use-cases/EMA/{SIGNAL_UID}/",
    "/api/v1/facets/",
    "/api/v1/stats/",
    "/api/v1/agencies/",
    "/api/v1/use-cases/export.csv",
    "/api/v1/use-cases/export.json",
    "/api/v1/use-cases/export.xlsx",
]


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = caches_from_url(DEAD_REDIS)
    settings.CATALOGUE_CACHE_SECONDS = 30
    settings.API_ANON_THROTTLE = "120/min"


@pytest.fixture
def catalogue_data(db):
    return seed_catalogue()


def test_the_cache_backend_answers_misses_while_redis_is_down(dead_cache):
    from django.core.cache import cache

    assert cache.get("anything", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1}) == ["a"]
    assert cache.add("debounce", True) is True
    cache.set("a", 1)
    with pytest.raises(ValueError):
        cache.incr("a")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_answers_while_the_cache_is_down(client, catalogue_data, dead_cache, url):
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[-2500:]


@pytest.mark.parametrize("url", API)
def test_every_api_read_answers_while_the_cache_is_down(client, catalogue_data, dead_cache, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]


def test_saving_a_network_record_in_the_admin_answers_while_the_cache_is_down(
    client, home_admin, dead_cache, django_capture_on_commit_callbacks
):
    client.force_login(home_admin)
    # The push-soon and webhook hooks run after the commit (as they do in production).
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:registry_usecase_add"),
            form_data(title="Saved while Redis is down", publication_level="network"),
        )
    assert response.status_code == 302
    assert UseCase.objects.filter(title="Saved while Redis is down").count() == 1


def test_an_unexpected_api_error_is_a_problem_body_not_an_html_page(
    client, catalogue_data, monkeypatch
):
    from catalogue import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("a fault the API did not foresee")

    monkeypatch.setattr(selectors, "catalogue_stats", broken)
    client.raise_request_exception = False
    response = client.get("/api/v1/stats/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 500 and "fault" not in body["detail"]
