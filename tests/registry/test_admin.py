from html import unescape

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from registry import services
from registry.models import FeedEntry, UseCase, User
from tests.factories import UseCaseFactory, UserFactory, valid_record

CHANGELIST = reverse("admin:registry_usecase_changelist")
ADD = reverse("admin:registry_usecase_add")


def change_url(use_case):
    return reverse("admin:registry_usecase_change", args=[use_case.pk])


def history_url(use_case):
    return reverse("admin:registry_usecase_history", args=[use_case.pk])


def history_form_url(use_case, historical):
    return reverse("admin:registry_usecase_simple_history", args=[use_case.pk, historical.pk])


def form_data(**overrides) -> dict:
    """What the admin form posts for a valid record."""
    record = valid_record(**overrides)
    data = {}
    for name, value in record.items():
        if name == "related":
            data[name] = "[]"
        elif name in ("tags", "data_sources"):
            data[name] = "\n".join(value)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif name == "affects_individuals":
            data[name] = "true" if value else "false"
        elif value is not None:
            data[name] = value
    data["affects_individuals"] = "true" if record["affects_individuals"] else "false"
    return data


@pytest.fixture
def admin_client_of(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def copy_from_other_agency(other_agency):
    return UseCaseFactory(origin=other_agency, publication_level="network", title="Copy from BfArM")


def test_an_agency_admin_registers_a_use_case_through_the_admin(admin_client_of, home_admin):
    client = admin_client_of(home_admin)
    response = client.post(ADD, form_data(title="ICSR triage assistant"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    use_case = UseCase.objects.get(title="ICSR triage assistant")
    assert (use_case.origin_id, use_case.version) == (home_admin.agency_id, 1)
    assert use_case.history.first().history_user == home_admin


def test_the_add_form_names_the_field_of_a_broken_cross_field_rule(admin_client_of, home_admin):
    client = admin_client_of(home_admin)
    response = client.post(ADD, form_data(stage="production", operational_since=""))
    assert response.status_code == 200
    assert "operational_since" in response.context["adminform"].form.errors
    assert not UseCase.objects.exists()


def test_admin_pages_render_for_an_agency_admin(
    admin_client_of, home_admin, copy_from_other_agency
):
    own = UseCaseFactory(publication_level="draft")
    client = admin_client_of(home_admin)
    for url in (CHANGELIST, ADD, change_url(own), change_url(copy_from_other_agency)):
        assert client.get(url).status_code == 200, url
    filtered = (
        f"{CHANGELIST}?stage=pilot&regulatory_processes=pharmacovigilance&origin=own&q=signal"
    )
    assert client.get(filtered).status_code == 200


@pytest.fixture
def local_draft(home_agency):
    """A draft of this node's agency in two versions (two history rows)."""
    draft = UseCaseFactory(publication_level="draft", title="EMA secret draft")
    draft.title = "EMA secret draft v2"
    return services.save_use_case(draft)


@pytest.fixture
def staff_without_agency(db):
    return UserFactory(username="no-agency", agency=None)


def test_an_admin_of_another_agency_does_not_see_local_drafts(
    admin_client_of, other_admin, local_draft
):
    client = admin_client_of(other_admin)
    assert b"EMA secret draft" not in client.get(CHANGELIST).content
    assert client.get(change_url(local_draft)).status_code in (302, 403, 404)


@pytest.mark.parametrize("username", ["other_admin", "staff_without_agency"])
def test_staff_outside_the_agency_neither_see_nor_revert_the_history_of_a_local_draft(
    admin_client_of, request, username, local_draft
):
    client = admin_client_of(request.getfixturevalue(username))
    first = local_draft.history.earliest("history_date")
    assert client.get(history_url(local_draft)).status_code in (403, 404)
    assert client.get(history_form_url(local_draft, first)).status_code in (403, 404)
    revert = client.post(
        history_form_url(local_draft, first),
        form_data(title="EMA secret draft", publication_level="draft"),
    )
    assert revert.status_code in (403, 404)
    local_draft.refresh_from_db()
    assert (local_draft.title, local_draft.version) == ("EMA secret draft v2", 2)
    assert local_draft.history.count() == 2


def test_the_history_of_a_published_record_stays_with_its_agency(
    admin_client_of, other_admin, home_admin, local_draft
):
    published = services.publish_to_network(local_draft)
    assert admin_client_of(other_admin).get(change_url(published)).status_code == 200
    assert admin_client_of(other_admin).get(history_url(published)).status_code == 403
    first = published.history.earliest("history_date")
    assert admin_client_of(other_admin).get(history_form_url(published, first)).status_code == 403
    assert admin_client_of(home_admin).get(history_url(published)).status_code == 200


def test_the_home_agency_admin_views_the_history_of_its_draft_and_reverts_it(
    admin_client_of, home_admin, local_draft
):
    client = admin_client_of(home_admin)
    first = local_draft.history.earliest("history_date")
    assert b"EMA secret draft v2" in client.get(history_url(local_draft)).content
    assert client.get(history_form_url(local_draft, first)).status_code == 200
    revert = client.post(
        history_form_url(local_draft, first),
        form_data(title="EMA secret draft", publication_level="draft"),
    )
    assert revert.status_code == 302
    local_draft.refresh_from_db()
    assert (local_draft.title, local_draft.version) == ("EMA secret draft", 3)


@pytest.mark.parametrize("username", ["other_admin", "staff_without_agency"])
def test_the_services_refuse_a_write_from_a_view_that_forgot_to_check(
    request, username, local_draft
):
    user = request.getfixturevalue(username)
    local_draft.title = "Overwritten"
    with pytest.raises(PermissionDenied):
        services.save_use_case(local_draft, user=user)
    with pytest.raises(PermissionDenied):
        services.delete_use_case(local_draft, user=user)
    local_draft.refresh_from_db()
    assert (local_draft.title, local_draft.version) == ("EMA secret draft v2", 2)


@pytest.mark.parametrize("superuser", [False, True])
def test_nobody_reverts_a_received_copy(
    admin_client_of, home_admin, copy_from_other_agency, superuser
):
    user = UserFactory(is_superuser=True, agency=None) if superuser else home_admin
    client = admin_client_of(user)
    first = copy_from_other_agency.history.earliest("history_date")
    client.post(history_form_url(copy_from_other_agency, first), form_data(title="Hijacked"))
    copy_from_other_agency.refresh_from_db()
    assert (copy_from_other_agency.title, copy_from_other_agency.version) == ("Copy from BfArM", 1)
    assert copy_from_other_agency.history.count() == 1


def test_an_admin_cannot_edit_a_copy_from_another_agency(
    admin_client_of, home_admin, copy_from_other_agency
):
    client = admin_client_of(home_admin)
    page = client.get(change_url(copy_from_other_agency))
    assert b'name="title"' not in page.content  # shown read-only
    client.post(change_url(copy_from_other_agency), form_data(title="Hijacked"))
    copy_from_other_agency.refresh_from_db()
    assert copy_from_other_agency.title == "Copy from BfArM"


def test_not_even_a_superuser_edits_a_received_copy(admin_client_of, copy_from_other_agency):
    superuser = UserFactory(is_superuser=True, agency=None)
    client = admin_client_of(superuser)
    client.post(change_url(copy_from_other_agency), form_data(title="Hijacked"))
    copy_from_other_agency.refresh_from_db()
    assert copy_from_other_agency.title == "Copy from BfArM"


def test_an_admin_of_another_agency_cannot_create_or_edit_records_here(
    admin_client_of, other_admin, home_agency
):
    own = UseCaseFactory(publication_level="network", title="EMA record")
    client = admin_client_of(other_admin)
    assert client.post(ADD, form_data(title="Made by BfArM")).status_code == 403
    client.post(change_url(own), form_data(title="Edited by BfArM"))
    own.refresh_from_db()
    assert own.title == "EMA record"
    assert not UseCase.objects.filter(title="Made by BfArM").exists()


def test_publish_and_withdraw_actions_change_the_level_and_the_feed(admin_client_of, home_admin):
    draft = UseCaseFactory(publication_level="draft", version=0)
    services.save_use_case(draft)
    client = admin_client_of(home_admin)
    client.post(CHANGELIST, {"action": "publish_to_network_action", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.publication_level == "network"
    assert FeedEntry.objects.get(uid=draft.uid).deleted is False
    client.post(CHANGELIST, {"action": "withdraw_action", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.publication_level == "internal"
    assert FeedEntry.objects.get(uid=draft.uid).deleted is True


def test_publishing_a_prohibited_record_reports_the_error(admin_client_of, home_admin):
    draft = UseCaseFactory(publication_level="internal", ai_act_risk="prohibited")
    response = admin_client_of(home_admin).post(
        CHANGELIST,
        {"action": "publish_to_network_action", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "publication_level" in response.content.decode()
    draft.refresh_from_db()
    assert draft.publication_level == "internal"


def test_deleting_in_the_admin_leaves_a_tombstone(admin_client_of, home_admin):
    record = UseCaseFactory(publication_level="draft", version=0)
    services.publish_to_network(record)
    delete_url = reverse("admin:registry_usecase_delete", args=[record.pk])
    admin_client_of(home_admin).post(delete_url, {"post": "yes"})
    assert not UseCase.objects.filter(pk=record.pk).exists()
    assert FeedEntry.objects.get(uid=record.uid).deleted is True


def test_only_superusers_manage_agencies_and_users(admin_client_of, home_admin, other_agency):
    client = admin_client_of(home_admin)
    # An agency admin keeps its own agency's mailbox (test_registrar_workflow) and nothing more.
    assert client.get(reverse("admin:registry_agency_add")).status_code == 403
    other = reverse("admin:registry_agency_change", args=[other_agency.pk])
    assert client.get(other).status_code in (302, 403)
    assert client.get(reverse("admin:registry_user_changelist")).status_code == 403
    superuser = UserFactory(is_superuser=True, agency=None)
    client = admin_client_of(superuser)
    assert client.get(reverse("admin:registry_agency_changelist")).status_code == 200
    assert client.get(reverse("admin:registry_user_add")).status_code == 200


def test_a_superuser_adds_a_user_through_the_admin(admin_client_of, home_agency):
    client = admin_client_of(UserFactory(is_superuser=True, agency=None))
    password = "a-long-enough-passphrase-42"
    response = client.post(
        reverse("admin:registry_user_add"),
        {"username": "new-admin", "agency": home_agency.code, "is_staff": "on",
         "password1": password, "password2": password},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="new-admin")
    assert (user.agency_id, user.is_staff, user.check_password(password)) == (
        home_agency.code,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("stage=production", {"In production"}),
        ("ai_act_risk=high", {"High risk"}),
        ("publication_level=public", {"Public"}),
        ("origin=received", {"Received"}),
        ("origin=own", {"In production", "High risk", "Public"}),
        ("origin__code__exact=DE-BFARM", {"Received"}),
    ],
)
def test_the_list_filters_keep_only_matching_records(
    admin_client_of, home_admin, other_agency, query, titles
):
    UseCaseFactory(title="In production", stage="production", publication_level="internal")
    UseCaseFactory(title="High risk", ai_act_risk="high", publication_level="network")
    UseCaseFactory(title="Public", publication_level="public")
    UseCaseFactory(title="Received", origin=other_agency, publication_level="network")
    response = admin_client_of(home_admin).get(f"{CHANGELIST}?{query}")
    assert {use_case.title for use_case in response.context["cl"].result_list} == titles


def test_the_history_page_shows_who_changed_what(admin_client_of, home_admin):
    client = admin_client_of(home_admin)
    client.post(ADD, form_data(title="Translation memory"))
    use_case = UseCase.objects.get(title="Translation memory")
    client.post(change_url(use_case), form_data(title="Translation memory v2"))
    history = client.get(reverse("admin:registry_usecase_history", args=[use_case.pk]))
    assert history.status_code == 200
    page = " ".join(history.content.decode().split())
    assert home_admin.username in page
    assert "<strong>Title:</strong> Translation memory &nbsp;&rarr;&nbsp;&nbsp;Translation" in page
    assert use_case.history.count() == 2


def test_nobody_adds_a_use_case_at_the_hub(admin_client_of, settings, db):
    settings.NODE_ROLE, settings.NODE_AGENCY = "hub", "EMRN-HUB"
    client = admin_client_of(UserFactory(is_superuser=True, agency=None))
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data(title="A hub's own record")).status_code == 403
    assert not UseCase.objects.exists()


# --- a record this admin may not change, read --------------------------------------------------


@pytest.fixture
def detailed_copy(other_agency, home_agency):
    target = UseCaseFactory(publication_level="network", title="Signal detection at EMA")
    return UseCaseFactory(
        origin=other_agency,
        publication_level="network",
        title="Übersetzung der Produktinformation",
        outputs=["prediction", "generated_content"],
        techniques=["machine_learning"],
        regulatory_processes=["pharmacovigilance"],
        tags=["translation", "product information"],
        affects_individuals=True,
        related=[{"origin": home_agency.code, "uid": str(target.uid), "kind": "same_product"}],
    )


def test_another_agencys_copy_reads_in_words_with_its_agency_first(
    admin_client_of, home_admin, detailed_copy
):
    page = admin_client_of(home_admin).get(change_url(detailed_copy))
    html = page.content.decode()
    text = unescape(" ".join(html.split()))
    # Its agency and who changes it, first; nothing about publishing it from here.
    assert "A copy of BfArM's record: only its agency changes it." in text
    assert text.index("BfArM (DE-BFARM)") < text.index("field-title_shown")
    assert "may be published" not in text and "before publishing" not in text.lower()
    # Values in words: labels, not codes or JSON; yes/no in words, not an icon.
    assert "Prediction, Generated content" in text
    assert "Pharmacovigilance" in text and '["' not in html and "[{" not in html
    assert "translation, product information" in text
    assert "icon-yes.svg" not in html and "icon-unknown.svg" not in html
    assert '<div class="readonly">Yes</div>' in text
    assert "Same product: <a href=" in text and "Signal detection at EMA" in text
    # No editing help.
    assert 'class="help"' not in html and "A JSON list" not in html
    assert "Must be answered before publishing" not in html
    # Its page in the catalogue, reached by the URL's name.
    catalogue = reverse("catalogue:use-case", args=["DE-BFARM", str(detailed_copy.uid)])
    assert f'href="{catalogue}"' in html
    assert admin_client_of(home_admin).get(catalogue).status_code == 200


def test_an_unanswered_question_of_a_copy_says_so_in_words(
    admin_client_of, home_admin, detailed_copy
):
    UseCase.objects.filter(pk=detailed_copy.pk).update(affects_individuals=None, tags=[])
    text = " ".join(
        admin_client_of(home_admin).get(change_url(detailed_copy)).content.decode().split()
    )
    assert '<div class="readonly">Not answered</div>' in text


def test_a_superuser_reads_the_history_of_a_copy_in_words(admin_client_of, detailed_copy):
    client = admin_client_of(UserFactory(is_superuser=True, agency=None))
    first = detailed_copy.history.earliest("history_date")
    page = client.get(history_form_url(detailed_copy, first))
    assert page.status_code == 200
    assert "Prediction, Generated content" in page.content.decode()


def test_the_own_records_form_keeps_its_help_and_readiness(admin_client_of, home_admin):
    own = UseCaseFactory(publication_level="network")
    html = admin_client_of(home_admin).get(change_url(own)).content.decode()
    assert "may be published" in html and 'class="help"' in html and 'name="title"' in html
    assert "only its agency changes it" not in html


# --- the list: one way to write dates, a uid finds its record ----------------------------------


def test_the_list_writes_dates_as_everywhere_else(admin_client_of, home_admin):
    import datetime as dt

    use_case = UseCaseFactory(title="Dated")
    modified = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    UseCase.objects.filter(pk=use_case.pk).update(modified=modified)
    html = admin_client_of(home_admin).get(CHANGELIST).content.decode()
    assert "29 November 2026" in html and "29 Nov 2026" not in html


def test_a_uid_typed_in_the_search_finds_its_record_wherever_it_comes_from(
    admin_client_of, home_admin, copy_from_other_agency
):
    UseCaseFactory(title="Another one")
    client = admin_client_of(home_admin)
    uid = copy_from_other_agency.uid
    for typed in (str(uid), uid.hex, str(uid).upper(), f"  {uid}  "):
        response = client.get(CHANGELIST, {"q": typed})
        assert response.status_code == 200, typed
        found = [u.title for u in response.context["cl"].result_list]
        assert found == ["Copy from BfArM"], typed


@pytest.mark.parametrize(
    "typed", ["not-a-uid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "%"]
)
def test_a_malformed_uid_in_the_search_finds_nothing_and_breaks_nothing(
    admin_client_of, home_admin, typed
):
    UseCaseFactory(title="Signal detection")
    response = admin_client_of(home_admin).get(CHANGELIST, {"q": typed})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
