"""Anonymous answers of the catalogue's pages and API reads are cached whole
(catalogue/response_cache.py); what each visitor may see must never leak through the cache."""

import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue import counts, response_cache
from tests.factories import UseCaseFactory

PAGES = ["/", "/?search=signal&stage=pilot", "/agencies/", "/agencies/DE-BFARM/", "/statistics/"]
API = [
    "/api/v1/use-cases/",
    "/api/v1/use-cases/?search=signal&page_size=5",
    "/api/v1/facets/",
    "/api/v1/stats/",
    "/api/v1/agencies/",
]


@pytest.fixture(autouse=True)
def response_cache_on(settings):
    settings.CATALOGUE_CACHE_SECONDS = 30


def first_of(catalogue, level: str):
    return next(uc for uc in catalogue if uc.publication_level == level)


def page_url(uc) -> str:
    return f"/use-cases/{uc.origin_id}/{uc.uid}/"


def api_url(uc) -> str:
    return f"/api/v1/use-cases/{uc.origin_id}/{uc.uid}/"


def network_uids(catalogue) -> list[str]:
    return [str(uc.uid) for uc in catalogue if uc.publication_level == "network"]


@pytest.mark.parametrize("url", [*PAGES, *API, "use-case page", "use-case API"])
def test_an_anonymous_repeat_is_served_from_the_cache_without_queries(
    client, catalogue, url, django_assert_num_queries
):
    public = first_of(catalogue, "public")
    url = {"use-case page": page_url(public), "use-case API": api_url(public)}.get(url, url)
    first = client.get(url)

    with django_assert_num_queries(0):
        again = client.get(url)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content


@pytest.mark.parametrize("url", ["/", "/api/v1/use-cases/?page_size=200"])
def test_a_member_is_never_served_the_anonymous_answer_nor_the_reverse(
    client, catalogue, member, url
):
    hidden = network_uids(catalogue)
    anonymous_before = client.get(url).content.decode()
    client.force_login(member)
    as_member = client.get(url).content.decode()
    client.logout()
    anonymous_after = client.get(url).content.decode()

    assert any(uid in as_member for uid in hidden)
    for html in (anonymous_before, anonymous_after):
        assert not any(uid in html for uid in hidden)


def test_a_network_record_seen_by_a_member_stays_hidden_from_anonymous_visitors(
    client, anon_client, member_client, member, catalogue
):
    network = first_of(catalogue, "network")
    client.force_login(member)
    member_page = client.get(page_url(network))
    member_api = member_client.get(api_url(network))
    client.logout()

    assert member_page.status_code == member_api.status_code == 200
    assert client.get(page_url(network)).status_code == 404
    assert anon_client.get(api_url(network)).status_code == 404


def test_authenticated_answers_are_neither_stored_nor_served_from_the_cache(
    member_client, catalogue
):
    member_client.get("/api/v1/facets/")
    with CaptureQueriesContext(connection) as queries:
        member_client.get("/api/v1/facets/")
    assert len(queries) > 0


@pytest.mark.parametrize("kind", ["page", "api"])
def test_an_error_is_not_cached(client, agencies, kind):
    uid = uuid.uuid4()
    url = f"/use-cases/EMA/{uid}/" if kind == "page" else f"/api/v1/use-cases/EMA/{uid}/"
    missing = client.get(url)
    UseCaseFactory(origin=agencies[0], uid=uid, publication_level="public")

    assert missing.status_code == 404
    assert client.get(url).status_code == 200


def test_exports_are_never_cached(client, catalogue):
    client.get("/api/v1/use-cases/export.csv")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/use-cases/export.csv")
        b"".join(again.streaming_content)
    assert len(queries) > 0


@pytest.mark.parametrize("seconds, grows", [(30, False), (0, True)])
def test_a_change_shows_at_once_only_with_catalogue_cache_seconds_zero(
    anon_client, catalogue, settings, seconds, grows
):
    settings.CATALOGUE_CACHE_SECONDS = seconds
    before = anon_client.get("/api/v1/facets/").json()["total"]
    UseCaseFactory(origin=catalogue[0].origin, publication_level="public")
    cache.delete(counts.STAMP_KEY)  # only the response cache may hold it back

    after = anon_client.get("/api/v1/facets/").json()["total"]

    assert after == (before + 1 if grows else before)


@pytest.mark.parametrize("url", ["/?stage=no-such-stage", "/agencies/DE-BFARM/?cursor=x"])
def test_a_bad_request_is_not_stored(client, catalogue, monkeypatch, url):
    stored = []
    real_set = cache.set
    monkeypatch.setattr(
        cache, "set", lambda key, *a, **kw: stored.append(key) or real_set(key, *a, **kw)
    )

    answer = client.get(url)
    client.get("/")

    assert answer.status_code == 400
    assert [key.startswith(response_cache.KEY_PREFIX) for key in stored].count(True) == 1
