"""The catalogue's facets are counted in memory (catalogue.facet_index); the database's counts
(catalogue.counts.facet_counts over the filtered queryset) are the reference they must equal."""

import datetime as dt
import random
import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.utils import timezone

from catalogue import counts, facet_index, selectors
from catalogue.filters import FACET_FIELDS, FILTERS
from tests.factories import UseCaseFactory

OTHER_FILTERS = [
    {"reusable": "true"},
    {"affects_individuals": "false"},
    {"started_on_after": "2023-06-01"},
    {"operational_since_before": "2024-08-31"},
]
SEARCHES = ["signal", "translation", "report"]


def database_counts(user, params: dict, search: str, fields) -> tuple[dict, int]:
    qs = selectors.visible_use_cases(user=user)
    qs = selectors.search_use_cases(
        selectors.filter_use_cases(qs, params=params, user=user), query=search
    )
    return selectors.facet_counts(qs, fields=fields), qs.count()


def random_request(rnd: random.Random, catalogue, user) -> tuple[dict, str]:
    """One to three facet filters with one or two values each, sometimes a yes/no or date
    filter, sometimes a search."""
    allowed = selectors.facet_fields(user=user)
    params = {}
    for name in rnd.sample(allowed, rnd.randint(1, 3)):
        spec = FILTERS[name]
        if spec.kind == "agency":
            values = {uc.origin_id for uc in catalogue}
        elif spec.kind == "country":
            values = {uc.origin.country for uc in catalogue}
        else:
            values = set(spec.choices.values)
        params[name] = ",".join(rnd.sample(sorted(values), rnd.randint(1, 2)))
    if rnd.random() < 0.4:
        params.update(rnd.choice(OTHER_FILTERS))
    search = rnd.choice(SEARCHES) if rnd.random() < 0.4 else ""
    return params, search


@pytest.mark.parametrize("seed", range(24))
def test_counts_in_memory_equal_the_databases_for_any_filters(catalogue, member, seed):
    rnd = random.Random(seed)
    user = member if seed % 2 else AnonymousUser()
    fields = selectors.facet_fields(user=user)
    params, search = random_request(rnd, catalogue, user)

    in_memory = selectors.catalogue_facet_counts(
        params=params, search=search, user=user, fields=fields
    )

    assert in_memory == database_counts(user, params, search, fields), (params, search)


@pytest.mark.parametrize("seed", range(12))
def test_a_widened_facet_counts_as_if_its_own_filter_were_not_given(catalogue, member, seed):
    rnd = random.Random(100 + seed)
    user = member if seed % 2 else AnonymousUser()
    fields = selectors.facet_fields(user=user)
    params, search = random_request(rnd, catalogue, user)

    widened, total = selectors.catalogue_facet_counts(
        params=params, search=search, user=user, fields=fields, widen=True
    )

    assert total == database_counts(user, params, search, fields)[1]
    for name in fields:
        without = {key: value for key, value in params.items() if key != name}
        assert widened[name] == database_counts(user, without, search, (name,))[0][name], name


def test_drafts_and_internal_records_are_never_counted(catalogue, member):
    levels = {"draft", "internal"}
    assert any(uc.publication_level in levels for uc in catalogue)
    index = facet_index.current()
    held = set(index.pks.tolist())
    assert held == {uc.pk for uc in catalogue if uc.publication_level not in levels}
    counted, _ = selectors.catalogue_facet_counts(
        params={"publication_level": "draft,internal"},
        search="",
        user=member,
        fields=("publication_level",),
    )
    assert counted["publication_level"] == {"draft": 0, "internal": 0, "network": 0, "public": 0}


def test_every_facet_field_is_held(catalogue):
    assert set(facet_index.current().columns) == set(FACET_FIELDS)


def test_the_index_is_rebuilt_when_the_catalogue_changes_and_kept_while_it_does_not(catalogue):
    first = facet_index.current()
    assert facet_index.current() is first  # nothing changed: the same arrays
    UseCaseFactory(publication_level="public", stage="idea")
    assert facet_index.current() is first  # the stamp is kept STAMP_SECONDS
    cache.delete(counts.STAMP_KEY)  # what STAMP_SECONDS passing does
    rebuilt = facet_index.current()
    assert rebuilt is not first
    assert len(rebuilt.pks) == len(first.pks) + 1


def test_the_stamp_follows_a_received_copy_changed_in_place(catalogue):
    """A copy's `modified` is its origin's and may be older than the newest row's, and an update
    changes neither the count nor the newest pk: the arrival time still moves the stamp."""
    copy = next(uc for uc in catalogue if uc.received_at and uc.publication_level == "public")
    before = counts.catalogue_stamp()
    copy.stage = "retired" if copy.stage != "retired" else "idea"
    copy.modified = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    copy.received_at = timezone.now()
    copy.save()
    cache.delete(counts.STAMP_KEY)
    assert counts.catalogue_stamp() != before


def test_an_index_older_than_its_maximum_age_is_rebuilt(catalogue, monkeypatch):
    first = facet_index.current()
    monkeypatch.setattr(facet_index, "MAX_AGE_SECONDS", 0)
    assert facet_index.current() is not first


def test_while_one_thread_rebuilds_the_others_count_from_the_last_index(catalogue):
    first = facet_index.current()
    UseCaseFactory(publication_level="public", stage="idea")
    cache.delete(counts.STAMP_KEY)
    counts.catalogue_stamp()  # the new stamp, cached: the reader below needs no database
    seen = []
    with facet_index._building:  # as if another thread were rebuilding
        reader = threading.Thread(target=lambda: seen.append(facet_index.current()))
        reader.start()
        reader.join(timeout=10)
        assert seen == [first]
    assert facet_index.current() is not first
