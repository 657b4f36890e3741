"""The registrar's workflow in the admin: drafts may be incomplete, publishing is the gate, dates
are ISO, the form says once what is wrong, the list opens on the agency's own records."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from registry import quality, services
from registry.models import Agency, FeedEntry, UseCase
from registry.validation import RecordInvalid, publication_gaps, validate_record
from tests.factories import UseCaseFactory, valid_record
from tests.registry.test_admin import ADD, CHANGELIST, change_url, form_data

ACTION = "publish_to_network_action"


@pytest.fixture
def client_of(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def titles_in(response) -> set[str]:
    return {use_case.title for use_case in response.context["cl"].result_list}


# --- the validator: drafts and the publication gate ---------------------------------------------


def test_a_draft_needs_only_a_title_and_a_language():
    cleaned = validate_record({"title": "Chatbot", "language": "en", "publication_level": "draft"})
    assert cleaned["title"] == "Chatbot"
    assert cleaned["stage"] is None


def test_a_draft_without_a_title_is_refused_for_the_title_alone():
    with pytest.raises(RecordInvalid) as exc:
        validate_record({"title": "", "language": "en", "publication_level": "draft"})
    assert set(exc.value.errors) == {"title"}


def test_a_draft_still_refuses_a_malformed_value():
    with pytest.raises(RecordInvalid) as exc:
        validate_record(
            {"title": "T", "language": "en", "publication_level": "draft", "stage": "live"}
        )
    assert set(exc.value.errors) == {"stage"}


@pytest.mark.parametrize("level", ["internal", "network", "public"])
def test_raising_an_incomplete_record_above_draft_lists_everything_it_lacks(level):
    with pytest.raises(RecordInvalid) as exc:
        validate_record({"title": "Chatbot", "language": "en", "publication_level": level})
    assert {"summary", "purpose", "stage", "contact_email", "affects_individuals"} <= set(
        exc.value.errors
    )


def test_publication_gaps_are_what_the_refusal_would_say():
    record = valid_record(summary="", stage="production", publication_level="draft")
    gaps = publication_gaps(record)
    assert gaps == {
        "summary": ["This field is required."],
        "operational_since": ["Required when the stage is production."],
    }
    assert publication_gaps(valid_record()) == {}


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"started_on": "2025-06-01", "operational_since": "2024-01-01"}, "operational_since"),
        ({"operational_since": "2025-01-01", "retired_on": "2024-01-01"}, "retired_on"),
        ({"started_on": "2025-06-01", "retired_on": "2025-01-01"}, "retired_on"),
        ({"started_on": "2025-06-01", "next_review_on": "2020-01-01"}, "next_review_on"),
        ({"started_on": "2025-06-01", "next_review_on": "2025-06-01"}, "next_review_on"),
    ],
)
def test_a_lifecycle_runs_forward(dates, field):
    record = valid_record(stage="retired", **{"retired_on": "2026-01-01", **dates})
    with pytest.raises(RecordInvalid) as exc:
        validate_record(record)
    assert field in exc.value.errors


def test_dates_in_order_are_valid():
    validate_record(
        valid_record(
            stage="retired",
            started_on="2023-01-01",
            operational_since="2024-01-01",
            retired_on="2025-01-01",
            next_review_on="2027-01-01",
        )
    )


@pytest.mark.parametrize(
    "contact",
    ["ai-registry@example.europa.eu", "https://example.org/contact", "mailto:ai@example.org"],
)
def test_a_contact_is_a_mailbox_or_a_contact_page(contact):
    assert validate_record(valid_record(contact_email=contact))["contact_email"]


@pytest.mark.parametrize("contact", ["not an address", "ftp://example.org/x", "www.example.org"])
def test_a_contact_that_is_neither_is_refused_by_name(contact):
    with pytest.raises(RecordInvalid) as exc:
        validate_record(valid_record(contact_email=contact))
    assert "neither an e-mail address nor" in exc.value.errors["contact_email"][0]


# --- completeness and compliance -----------------------------------------------------------------


def test_a_complete_record_with_every_recommendation_scores_100():
    record = valid_record(
        risks_and_mitigations="Bias reviewed.",
        monitoring="Monthly precision report.",
        legal_basis="Regulation (EC) No 726/2004",
        next_review_on="2027-01-01",
    )
    assert quality.assess(record).completeness == 100


def test_a_record_lacking_something_required_scores_below_any_publishable_one():
    publishable = quality.assess(valid_record(description="", benefits="", data_sources=[]))
    lacking = quality.assess(valid_record(summary="", publication_level="draft"))
    assert lacking.gaps and not publishable.gaps
    assert lacking.completeness < quality.REQUIRED_POINTS <= publishable.completeness


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"ai_act_risk": "high", "ai_act_justification": ""}, quality.HIGH_RISK_UNJUSTIFIED),
        ({"ai_act_risk": "high", "human_oversight": None}, quality.HIGH_RISK_UNJUSTIFIED),
        (
            {"personal_data": "personal", "dpia_status": "planned"},
            quality.PERSONAL_DATA_WITHOUT_DPIA,
        ),
        (
            {"stage": "production", "operational_since": "2025-04-01"},
            quality.PRODUCTION_WITHOUT_REVIEW,
        ),
    ],
)
def test_compliance_checks_name_what_a_governance_officer_asks(overrides, flag):
    assert flag in quality.flags(valid_record(**overrides))
    assert quality.flags(valid_record()) == []


def test_a_passed_review_date_is_overdue_for_a_record_in_use_only():
    today = dt.date(2026, 6, 1)
    assert quality.is_review_overdue(dt.date(2026, 5, 31), "production", today)
    assert not quality.is_review_overdue(dt.date(2026, 6, 1), "production", today)
    assert not quality.is_review_overdue(dt.date(2026, 5, 31), "retired", today)


def test_stored_records_carry_their_gaps_score_and_flags(home_agency):
    draft = UseCaseFactory(publication_level="draft", summary="", personal_data="personal")
    draft.refresh_from_db()
    assert draft.gaps == ["summary"]
    assert quality.PERSONAL_DATA_WITHOUT_DPIA not in draft.compliance_flags  # DPIA done
    assert draft.completeness < quality.REQUIRED_POINTS
    assert list(UseCase.objects.incomplete()) == [draft]


def test_review_overdue_is_a_query_on_the_day(home_agency):
    overdue = UseCaseFactory(next_review_on=dt.date(2020, 1, 1), started_on=dt.date(2019, 1, 1))
    UseCaseFactory(next_review_on=dt.date(2999, 1, 1))
    assert list(UseCase.objects.review_overdue()) == [overdue]


# --- the agency's mailbox ---------------------------------------------------------------------


def test_a_record_without_a_contact_takes_its_agencys_mailbox(home_agency):
    home_agency.contact_email = "ai-office@example.europa.eu"
    home_agency.save()
    use_case = UseCaseFactory.build(
        origin=home_agency, contact_email="", publication_level="network"
    )
    services.save_use_case(use_case)
    use_case.refresh_from_db()
    assert use_case.contact_email == "ai-office@example.europa.eu"
    assert FeedEntry.objects.get(uid=use_case.uid).record["contact_email"] == (
        "ai-office@example.europa.eu"
    )


def test_a_record_with_its_own_contact_keeps_it(home_agency):
    home_agency.contact_email = "ai-office@example.europa.eu"
    home_agency.save()
    use_case = UseCaseFactory.build(origin=home_agency, contact_email="https://example.org/form")
    services.save_use_case(use_case)
    assert UseCase.objects.get(pk=use_case.pk).contact_email == "https://example.org/form"


def test_create_agency_sets_and_keeps_the_mailbox(db):
    call_command("create_agency", "EMA", "--contact-email=ai@ema.example.eu")
    call_command("create_agency", "EMA")
    assert Agency.objects.get(code="EMA").contact_email == "ai@ema.example.eu"


@pytest.fixture
def records_with_the_old_mailbox(home_agency, other_agency):
    home_agency.contact_email = "old-ai@example.europa.eu"
    home_agency.save()
    records = {
        "shared": UseCaseFactory.build(contact_email="", publication_level="network"),
        "draft": UseCaseFactory.build(contact_email="", publication_level="draft", title="Draft"),
        "typed": UseCaseFactory.build(contact_email="OLD-AI@example.europa.eu"),
        "own contact": UseCaseFactory.build(contact_email="https://example.org/form"),
    }
    for use_case in records.values():
        services.save_use_case(use_case)
    records["copy"] = UseCaseFactory(
        origin=other_agency, contact_email="old-ai@example.europa.eu", publication_level="network"
    )
    return records


def contacts(records) -> dict:
    return {key: UseCase.objects.get(pk=u.pk).contact_email for key, u in records.items()}


NEW_MAILBOX = "ai-office@example.europa.eu"


def assert_moved(records) -> None:
    assert contacts(records) == {
        "shared": NEW_MAILBOX,
        "draft": NEW_MAILBOX,
        "typed": NEW_MAILBOX,
        "own contact": "https://example.org/form",
        "copy": "old-ai@example.europa.eu",  # DE-BFARM's node says its contact
    }
    shared = UseCase.objects.get(pk=records["shared"].pk)
    assert shared.version == 2
    entry = FeedEntry.objects.get(uid=shared.uid)
    assert (entry.version, entry.record["contact_email"]) == (2, NEW_MAILBOX)
    assert UseCase.objects.get(pk=records["own contact"].pk).version == 1


def test_a_new_mailbox_moves_the_records_that_use_the_old_one(records_with_the_old_mailbox):
    agency = Agency.objects.get(code=records_with_the_old_mailbox["shared"].origin_id)
    change = services.change_agency_mailbox(agency, NEW_MAILBOX)
    assert Agency.objects.get(pk=agency.pk).contact_email == NEW_MAILBOX
    assert len(change.moved) == 3 and change.refused == []
    assert_moved(records_with_the_old_mailbox)


def test_the_agency_admin_changes_the_mailbox_and_the_records_follow(
    client_of, home_admin, records_with_the_old_mailbox
):
    url = reverse("admin:registry_agency_change", args=[home_admin.agency.pk])
    response = client_of(home_admin).post(url, {"contact_email": NEW_MAILBOX}, follow=True)
    shown = " ".join(str(m) for m in response.context["messages"])
    assert f"3 use cases now use the new mailbox {NEW_MAILBOX} as their contact" in shown
    assert_moved(records_with_the_old_mailbox)
    history = UseCase.objects.get(pk=records_with_the_old_mailbox["shared"].pk).history
    assert history.first().history_user == home_admin


def test_create_agency_moves_the_records_to_the_new_mailbox(records_with_the_old_mailbox):
    from io import StringIO

    out = StringIO()
    call_command("create_agency", "EMA", f"--contact-email={NEW_MAILBOX}", stdout=out)
    assert Agency.objects.get(code="EMA").contact_email == NEW_MAILBOX
    assert f"3 use case(s) now use the new mailbox {NEW_MAILBOX}" in out.getvalue()
    assert_moved(records_with_the_old_mailbox)


def test_a_malformed_new_mailbox_moves_nothing(records_with_the_old_mailbox):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="contact_email"):
        call_command("create_agency", "EMA", "--contact-email=not-an-address")
    assert Agency.objects.get(code="EMA").contact_email == "old-ai@example.europa.eu"
    assert contacts(records_with_the_old_mailbox)["shared"] == "old-ai@example.europa.eu"


def test_create_agency_refuses_a_malformed_mailbox(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="contact_email"):
        call_command("create_agency", "EMA", "--contact-email=not-an-address")
    assert not Agency.objects.filter(code="EMA").exists()


# --- the admin form -------------------------------------------------------------------------


def test_an_empty_add_form_names_each_missing_field_once_with_a_summary(client_of, home_admin):
    response = client_of(home_admin).post(ADD, {"language": "en", "publication_level": "draft"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"title": ["This field is required."]}
    assert response.content.decode().count("This field is required.") == 2  # summary + field
    assert 'href="#id_title"' in response.content.decode()


def test_a_draft_with_only_a_title_is_saved_and_says_what_it_lacks(client_of, home_admin):
    response = client_of(home_admin).post(
        ADD, {"title": "Chatbot for the service desk", "language": "en",
              "publication_level": "draft", "affects_individuals": "unknown"},
        follow=True,
    )  # fmt: skip
    use_case = UseCase.objects.get(title="Chatbot for the service desk")
    assert use_case.publication_level == "draft"
    assert use_case.affects_individuals is None
    assert "summary" in use_case.gaps
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "Before it can be published it still needs" in shown


def test_the_add_form_starts_with_no_answer_that_saving_refuses(client_of, home_admin):
    form = client_of(home_admin).get(ADD).context["adminform"].form
    assert form["affects_individuals"].value() is None
    html = str(form["affects_individuals"])
    assert '<input type="radio" name="affects_individuals" value="unknown" id=' in html
    assert 'value="unknown" id="id_affects_individuals_0" checked' in html


def test_dates_use_the_browsers_date_picker(client_of, home_admin):
    html = str(client_of(home_admin).get(ADD).context["adminform"].form["started_on"])
    assert 'type="date"' in html


@pytest.mark.parametrize("typed", ["01/03/2025", "01.03.2025", "1-3-2025"])
def test_an_ambiguous_date_is_refused_with_the_expected_form(client_of, home_admin, typed):
    response = client_of(home_admin).post(ADD, form_data(started_on=typed, title="Ambiguous"))
    errors = response.context["adminform"].form.errors
    assert "YYYY-MM-DD" in errors["started_on"][0]
    assert not UseCase.objects.filter(title="Ambiguous").exists()


def test_an_iso_date_is_stored_as_typed(client_of, home_admin):
    client_of(home_admin).post(ADD, form_data(started_on="2025-03-01", title="Iso date"))
    assert UseCase.objects.get(title="Iso date").started_on == dt.date(2025, 3, 1)


def test_dates_out_of_order_are_refused_when_published(client_of, home_admin):
    data = form_data(
        title="Backwards",
        stage="production",
        started_on="2025-06-01",
        operational_since="2024-01-01",
        next_review_on="2020-01-01",
    )
    errors = client_of(home_admin).post(ADD, data).context["adminform"].form.errors
    assert set(errors) == {"operational_since", "next_review_on"}


def test_the_change_form_lists_what_a_draft_lacks_linked_to_each_field(client_of, home_admin):
    draft = UseCaseFactory(publication_level="draft", summary="", purpose="")
    html = client_of(home_admin).get(change_url(draft)).content.decode()
    assert "Before it can be published it still needs" in html
    assert "href='#id_summary'" in html and "href='#id_purpose'" in html


# --- the list and its actions ---------------------------------------------------------------


def test_the_list_opens_on_the_agencys_own_records(client_of, home_admin, other_agency):
    UseCaseFactory(title="Ours")
    UseCaseFactory(title="Theirs", origin=other_agency, publication_level="network")
    client = client_of(home_admin)
    assert titles_in(client.get(CHANGELIST)) == {"Ours"}
    assert titles_in(client.get(f"{CHANGELIST}?origin=received")) == {"Theirs"}
    assert titles_in(client.get(f"{CHANGELIST}?origin=all")) == {"Ours", "Theirs"}


def test_the_list_filters_on_readiness_and_compliance(client_of, home_admin):
    UseCaseFactory(title="Complete")
    UseCaseFactory(title="Lacking", publication_level="draft", summary="")
    UseCaseFactory(
        title="Overdue", started_on=dt.date(2019, 1, 1), next_review_on=dt.date(2020, 1, 1)
    )
    client = client_of(home_admin)
    assert titles_in(client.get(f"{CHANGELIST}?ready=no")) == {"Lacking"}
    assert titles_in(client.get(f"{CHANGELIST}?compliance=review_overdue")) == {"Overdue"}
    page = client.get(CHANGELIST).content.decode()
    assert "<span>lacks</span>" in page.lower()


def test_publishing_an_incomplete_record_is_refused_with_what_it_lacks(client_of, home_admin):
    draft = UseCaseFactory(publication_level="draft", summary="", stage=None)
    response = client_of(home_admin).post(
        CHANGELIST, {"action": ACTION, "_selected_action": [draft.pk]}, follow=True
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "was not changed" in shown and "Summary" in shown and "Stage" in shown
    assert "No use case was changed" not in shown  # the refusal said so already
    draft.refresh_from_db()
    assert draft.publication_level == "draft"


def test_publishing_a_complete_record_says_where_it_goes(client_of, home_admin, settings):
    settings.HUB_URL = "https://hub.example.eu"
    ready = UseCaseFactory(publication_level="internal", title="Ready one")
    response = client_of(home_admin).post(
        CHANGELIST, {"action": ACTION, "_selected_action": [ready.pk]}, follow=True
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "Published “Ready one” to the network" in shown and "within seconds" in shown


def test_without_a_hub_publishing_says_when_the_network_gets_it(client_of, home_admin, settings):
    settings.HUB_URL = ""
    ready = UseCaseFactory(publication_level="internal", title="Ready one")
    response = client_of(home_admin).post(
        CHANGELIST, {"action": ACTION, "_selected_action": [ready.pk]}, follow=True
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "Published “Ready one” to the network" in shown
    assert "once this node syncs with a hub" in shown and "within seconds" not in shown


def shown_after_saving(client, use_case, **changes) -> list[str]:
    data = form_data(**{"publication_level": use_case.publication_level, **changes})
    response = client.post(change_url(use_case), data, follow=True)
    return [str(m) for m in response.context["messages"]]


def test_saving_a_shared_record_says_the_changes_follow_once(client_of, home_admin, settings):
    settings.HUB_URL = "https://hub.example.eu"
    public = services.save_use_case(UseCaseFactory(publication_level="public", title="Public one"))
    shown = shown_after_saving(client_of(home_admin), public, title="Public one, v2")
    assert shown == [
        "Saved the changes to “Public one, v2”; the hub has them within seconds, the other "
        "agencies at their next sync."
    ]


def test_without_a_hub_the_changes_wait_for_one(client_of, home_admin, settings):
    settings.HUB_URL = ""
    shared = services.save_use_case(UseCaseFactory(publication_level="network", title="Shared"))
    shown = shown_after_saving(client_of(home_admin), shared, title="Shared v2")
    assert shown == [
        "Saved the changes to “Shared v2”; the network gets them once this node syncs with a hub."
    ]


def test_publishing_in_the_form_says_it_was_published(client_of, home_admin, settings):
    settings.HUB_URL = "https://hub.example.eu"
    internal = UseCaseFactory(publication_level="internal", title="Internal one")
    shown = shown_after_saving(
        client_of(home_admin), internal, title="Internal one", publication_level="public"
    )
    assert len(shown) == 1 and "was changed successfully" not in shown[0]
    assert shown[0].startswith(
        "Published “Internal one” in the public catalogue and to the network's agencies; the hub "
        "has it within seconds"
    )


def test_saving_a_new_record_says_it_once(client_of, home_admin):
    response = client_of(home_admin).post(
        ADD, form_data(title="Brand new", publication_level="internal"), follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith("Saved “Brand new” at level Internal")


def test_withdrawing_says_the_network_removes_its_copies(client_of, home_admin):
    shared = UseCaseFactory(publication_level="network", title="Shared one")
    services.save_use_case(shared)  # the feed holds it
    response = client_of(home_admin).post(
        CHANGELIST, {"action": "withdraw_action", "_selected_action": [shared.pk]}, follow=True
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "Withdrew “Shared one” from the network" in shown


# --- the agency's mailbox in the admin; one way to write dates ------------------------------


def test_an_agency_admin_sets_the_agencys_mailbox_and_nothing_else(client_of, home_admin):
    url = reverse("admin:registry_agency_change", args=[home_admin.agency.pk])
    client = client_of(home_admin)
    response = client.post(url, {"contact_email": "ai-office@example.europa.eu", "name": "X"})
    assert response.status_code == 302
    agency = Agency.objects.get(pk=home_admin.agency.pk)
    assert agency.contact_email == "ai-office@example.europa.eu"
    assert agency.name != "X"


def test_an_agency_admin_cannot_open_another_agency(client_of, home_admin, other_agency):
    url = reverse("admin:registry_agency_change", args=[other_agency.pk])
    assert client_of(home_admin).get(url).status_code in (302, 403, 404)
    listed = client_of(home_admin).get(reverse("admin:registry_agency_changelist"))
    assert [a.code for a in listed.context["cl"].result_list] == [home_admin.agency_id]


def test_dates_read_the_same_in_the_admin_and_the_catalogue(client_of, home_admin):
    use_case = UseCaseFactory(
        publication_level="public", started_on=dt.date(2025, 3, 1), stage="pilot"
    )
    admin_page = client_of(home_admin).get(change_url(use_case)).content.decode()
    catalogue = client_of(home_admin).get(
        reverse("catalogue:use-case", args=[use_case.origin_id, str(use_case.uid)])
    )
    assert 'value="2025-03-01"' in admin_page  # the date picker's ISO value
    assert "1 March 2025" in catalogue.content.decode()
    assert "March 1, 2025" not in catalogue.content.decode()


def test_a_contact_left_empty_publishes_with_the_agencys_mailbox(client_of, home_admin):
    home_admin.agency.contact_email = "ai-office@example.europa.eu"
    home_admin.agency.save()
    response = client_of(home_admin).post(ADD, form_data(contact_email="", title="No contact"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    use_case = UseCase.objects.get(title="No contact")
    assert (use_case.publication_level, use_case.contact_email) == (
        "network",
        "ai-office@example.europa.eu",
    )


def test_what_a_draft_lacks_is_listed_in_the_forms_order(db):
    record = valid_record(publication_level="draft", summary="", purpose="", contact_email="")
    use_case = UseCaseFactory.build(**{k: v for k, v in record.items() if k != "related"})
    use_case.refresh_quality()
    assert use_case.gaps == ["summary", "purpose", "contact_email"]


def test_the_agencys_admins_read_what_was_sent_to_them_by_e_mail(client_of, home_admin):
    from registry.models import Notice

    Notice.objects.create(kind="reviews", key="k", period="2026-W48", subject="2 reviews due",
                          body="...", recipients=["a@example.eu"])  # fmt: skip
    page = client_of(home_admin).get(reverse("admin:registry_notice_changelist"))
    assert page.status_code == 200 and "2 reviews due" in page.content.decode()
    add = client_of(home_admin).get(reverse("admin:registry_notice_add"))
    assert add.status_code == 403


# --- small things in the form -----------------------------------------------------------------


def test_the_list_fields_say_that_a_comma_also_separates(client_of, home_admin):
    form = client_of(home_admin).get(ADD).context["adminform"].form
    for name in ("tags", "data_sources"):
        assert form.fields[name].help_text == "One per line (a comma also separates)."
    data = form_data(title="Commas", tags=["signals, triage", "nlp"])
    client_of(home_admin).post(ADD, data)
    assert UseCase.objects.get(title="Commas").tags == ["signals", "triage", "nlp"]


@pytest.mark.parametrize("typed", ["www.ema.europa.eu/contact", "WWW.ema.europa.eu/contact"])
def test_a_contact_page_typed_as_www_is_taken_as_https(client_of, home_admin, typed):
    response = client_of(home_admin).post(ADD, form_data(title="Www contact", contact_email=typed))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert UseCase.objects.get(title="Www contact").contact_email == f"https://{typed}"


def test_a_contact_that_is_neither_is_still_refused_in_the_form(client_of, home_admin):
    response = client_of(home_admin).post(ADD, form_data(title="Bad", contact_email="ema contact"))
    assert "contact_email" in response.context["adminform"].form.errors
