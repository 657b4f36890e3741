import json
import uuid

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from registry.admin_related import RelatedUseCasesField
from registry.models import UseCase
from tests.factories import UseCaseFactory, UserFactory
from tests.registry.test_admin import ADD, change_url, form_data

SEARCH = reverse("admin:registry_usecase_related_search")
SIMILAR = reverse("admin:registry_usecase_similar")


@pytest.fixture
def own_draft(home_agency):
    return UseCaseFactory(publication_level="draft", title="Signal triage at the home agency")


@pytest.fixture
def received_copy(other_agency):
    return UseCaseFactory(
        origin=other_agency, publication_level="network", title="Signal triage at BfArM"
    )


@pytest.fixture
def received_draft(other_agency):
    """Another agency's draft: never in this node's view for an agency admin."""
    return UseCaseFactory(
        origin=other_agency, publication_level="draft", title="Signal triage secret of BfArM"
    )


def titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["title"] for item in response.json()["results"]}


def test_related_search_finds_own_records_and_received_copies_but_not_another_agencys_draft(
    client, home_admin, own_draft, received_copy, received_draft
):
    client.force_login(home_admin)
    response = client.get(SEARCH, {"q": "signal TRIAGE"})
    assert titles(response) == {own_draft.title, received_copy.title}
    found = {item["uid"]: item for item in response.json()["results"]}
    copy = found[str(received_copy.uid)]
    assert (copy["origin"], copy["agency"], copy["stage"]) == ("DE-BFARM", "BfArM", "Pilot")
    assert copy["url"] == change_url(received_copy)
    assert copy["catalogue_url"] == f"/use-cases/DE-BFARM/{received_copy.uid}/"


def test_related_search_matches_every_word_of_the_title_or_the_uid(
    client, home_admin, own_draft, received_copy
):
    client.force_login(home_admin)
    assert titles(client.get(SEARCH, {"q": "triage bfarm"})) == {received_copy.title}
    assert titles(client.get(SEARCH, {"q": str(own_draft.uid)})) == {own_draft.title}
    assert titles(client.get(SEARCH, {"q": "signal", "exclude": own_draft.pk})) == {
        received_copy.title
    }
    assert titles(client.get(SEARCH, {"q": ""})) == set()


def test_similar_lists_this_agencys_and_other_agencies_use_cases_but_no_foreign_draft(
    client, home_admin, own_draft, received_copy, received_draft
):
    client.force_login(home_admin)
    response = client.get(SIMILAR, {"title": "Triage of signals", "summary": ""})
    assert titles(response) == {own_draft.title, received_copy.title}
    item = next(i for i in response.json()["results"] if i["origin"] == "DE-BFARM")
    assert (item["agency"], item["stage"], item["url"]) == (
        "BfArM",
        "Pilot",
        change_url(received_copy),
    )
    excluded = client.get(SIMILAR, {"title": "Triage of signals", "exclude": own_draft.pk})
    assert titles(excluded) == {received_copy.title}


def test_similar_returns_at_most_five(client, home_admin, other_agency):
    for n in range(7):
        UseCaseFactory(origin=other_agency, publication_level="network", title=f"Triage {n}")
    client.force_login(home_admin)
    assert len(titles(client.get(SIMILAR, {"title": "Triage"}))) == 5


@pytest.mark.parametrize("url", [SEARCH, SIMILAR])
def test_the_endpoints_send_anonymous_and_non_staff_users_to_the_login(client, url, home_agency):
    params = {"q": "signal", "title": "signal triage"}
    assert client.get(url, params)["Location"].startswith(reverse("admin:login"))
    client.force_login(UserFactory(agency=home_agency, is_staff=False))
    assert client.get(url, params)["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("url", [SEARCH, SIMILAR])
def test_the_endpoints_refuse_staff_who_may_not_register_use_cases_here(
    client, url, other_admin, received_copy
):
    client.force_login(other_admin)
    response = client.get(url, {"q": "signal", "title": "signal triage"})
    assert response.status_code == 403
    assert b"Signal triage" not in response.content


def field_for(user, instance=None) -> RelatedUseCasesField:
    return RelatedUseCasesField(user=user, instance=instance or UseCase())


def test_the_field_accepts_a_received_copy_as_a_line_or_as_json(home_admin, received_copy):
    field = field_for(home_admin)
    link = {"origin": "DE-BFARM", "uid": str(received_copy.uid), "kind": "same_product"}
    assert field.clean(f"de-bfarm {received_copy.uid} same_product\n\n") == [link]
    assert field.clean(json.dumps([link])) == [link]
    assert field.clean("") == []


def test_the_field_refuses_an_unknown_uid_naming_it(home_admin, received_copy):
    unknown = uuid.uuid4()
    with pytest.raises(ValidationError) as refused:
        field_for(home_admin).clean(f"DE-BFARM {unknown} duplicate_of")
    assert f"DE-BFARM {unknown} is not a use case of this node" in refused.value.messages[0]


def test_the_field_refuses_an_unknown_origin_and_another_agencys_draft(
    home_admin, received_copy, received_draft
):
    field = field_for(home_admin)
    with pytest.raises(ValidationError, match="not a use case of this node"):
        field.clean(f"FR-ANSM {received_copy.uid} duplicate_of")
    with pytest.raises(ValidationError) as refused:
        field.clean(f"DE-BFARM {received_draft.uid} duplicate_of")
    assert str(received_draft.uid) in refused.value.messages[0]


def test_the_field_refuses_the_record_itself(home_admin, own_draft):
    with pytest.raises(ValidationError, match="is this use case itself"):
        field_for(home_admin, own_draft).clean(f"EMA {own_draft.uid} duplicate_of")


def test_the_field_names_a_line_it_cannot_read_and_a_kind_it_does_not_know(
    home_admin, received_copy
):
    field = field_for(home_admin)
    with pytest.raises(ValidationError, match="Line 2: write the agency code"):
        field.clean(f"DE-BFARM {received_copy.uid} same_product\nDE-BFARM same_product")
    with pytest.raises(ValidationError, match="'cousin_of' is not one of"):
        field.clean(f"DE-BFARM {received_copy.uid} cousin_of")


def test_a_stored_link_whose_record_left_the_view_is_kept(home_admin, other_agency):
    gone = {"origin": "DE-BFARM", "uid": str(uuid.uuid4()), "kind": "derived_from"}
    own = UseCaseFactory(related=[gone])
    assert field_for(home_admin, own).clean(f"DE-BFARM {gone['uid']} derived_from") == [gone]


def test_a_relation_picked_in_the_admin_is_saved_in_related(client, home_admin, received_copy):
    client.force_login(home_admin)
    data = form_data(title="Adverse event coding helper", summary="Codes verbatim terms.")
    data["related"] = f"DE-BFARM {received_copy.uid} derived_from"
    response = client.post(ADD, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = UseCase.objects.get(title="Adverse event coding helper")
    assert saved.related == [
        {"origin": "DE-BFARM", "uid": str(received_copy.uid), "kind": "derived_from"}
    ]


def test_the_admin_form_shows_a_refused_relation_and_saves_nothing(
    client, home_admin, received_draft
):
    client.force_login(home_admin)
    data = form_data(title="Adverse event coding helper")
    data["related"] = f"DE-BFARM {received_draft.uid} duplicate_of"
    response = client.post(ADD, data)
    assert response.status_code == 200
    assert "related" in response.context["adminform"].form.errors
    assert not UseCase.objects.filter(title="Adverse event coding helper").exists()


def test_the_form_renders_the_picker_with_the_related_titles(
    client, home_admin, received_copy, received_draft
):
    own = UseCaseFactory(
        related=[{"origin": "DE-BFARM", "uid": str(received_copy.uid), "kind": "same_product"}]
    )
    client.force_login(home_admin)
    page = client.get(change_url(own)).content.decode()
    assert 'id="related-picker"' in page
    assert 'id="related-search"' in page
    assert "registry/admin/related.js" in page
    assert f'data-exclude="{own.pk}"' in page
    assert f'data-similar-url="{SIMILAR}"' in page
    assert "Signal triage at BfArM" in page
    assert f"DE-BFARM {received_copy.uid} same_product" in page
    assert "Signal triage secret of BfArM" not in page


def warnings_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == messages.WARNING]


def test_saving_a_new_use_case_warns_of_similar_ones_with_their_agency_and_links(
    client, home_admin, received_copy, received_draft
):
    client.force_login(home_admin)
    response = client.post(ADD, form_data(title="Triage of signals", summary="Ranks signals."))
    assert response.status_code == 302
    (warning,) = warnings_of(response)
    assert "Similar use cases exist already" in warning
    assert f'<a href="{change_url(received_copy)}">Signal triage at BfArM</a> (BfArM, Pilot)' in (
        warning
    )
    assert "secret" not in warning
    assert UseCase.objects.get(title="Triage of signals").pk


def test_no_similarity_warning_when_nothing_is_similar_or_it_is_related_already(
    client, home_admin, received_copy
):
    client.force_login(home_admin)
    lonely = form_data(title="Translation memory cleanup", summary="Deduplicates memories.")
    assert warnings_of(client.post(ADD, lonely)) == []
    related = form_data(title="Triage of signals", summary="Ranks signals.")
    related["related"] = f"DE-BFARM {received_copy.uid} duplicate_of"
    assert warnings_of(client.post(ADD, related)) == []


def test_changing_a_use_case_does_not_warn_of_similar_ones(client, home_admin, received_copy):
    own = UseCaseFactory(title="Triage of signals")
    client.force_login(home_admin)
    response = client.post(change_url(own), form_data(title="Triage of signals"))
    assert response.status_code == 302
    assert warnings_of(response) == []
