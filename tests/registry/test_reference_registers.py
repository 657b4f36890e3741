"""Reference registers (registry.reference): public inventories of bodies outside the network,
imported on the hub under reserved origins, never as an agency's records."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from registry import reference, services
from registry import vocabularies as v
from registry.canonical import record_hash
from registry.importers.reference_register import import_reference_register
from registry.models import Agency, FeedEntry, UseCase
from registry.validation import RecordInvalid, validate_record
from sync import auth, receiver
from tests.registry.test_import_inventory import us_csv
from tests.sync.conftest import envelope

HUB = "EMRN-HUB"
US = "REF-US-OMB"
NL = "REF-NL-AR"


@pytest.fixture
def hub(settings, db):
    settings.NODE_ROLE = "hub"
    settings.NODE_AGENCY = HUB
    return settings


def us_row(**values) -> dict:
    """A row as the OMB file has them: no contact, nothing about the network's workplan."""
    return {
        "agency": "HHS",
        "agency_name": "Department of Health and Human Services",
        "id": "HHS-T-1",
        "use_case_name": "Duplicate adverse event report detection",
        "agency_bureau": "HHS/FDA/CDER",
        "development_stage": "Deployed",
        "is_high_impact": "Not High-impact",
        "problem_solved": "Finds duplicate reports in FAERS.",
        "operational_date": "01/2024",
        "classification": "Classical ML",
    } | values


def nl_json(tmp_path: Path, *items: dict) -> Path:
    path = tmp_path / "nl.json"
    path.write_text(json.dumps(list(items), ensure_ascii=False), encoding="utf-8")
    return path


def nl_item(**values) -> dict:
    return {
        "name": "Verkeerslichtregeling",
        "organization": "Provincie Voorbeeld",
        "description_short": "Regelt verkeerslichten op provinciale wegen.",
        "lars": "1234",
        "status": "In gebruik",
        "contact_email": "",
        "lang": "nld",
    } | values


def test_the_us_inventory_is_imported_as_its_register_naming_each_true_organisation(hub, tmp_path):
    path = us_csv(tmp_path, us_row(), us_row(id="DOI-1", agency="DOI", agency_bureau="USGS"))
    report = import_reference_register(path=path, register_key="us-omb-2025")
    assert report.summary() == (f"{US}: created 2, updated 0, unchanged 0, deleted 0, skipped 0")
    fda = UseCase.objects.get(source_key="us-omb-2025:HHS:HHS-T-1")
    assert fda.origin_id == US
    assert fda.business_unit == "HHS / FDA / CDER"
    assert fda.reference_label == "US federal AI inventory — HHS / FDA / CDER"
    assert fda.publication_level == v.PublicationLevel.PUBLIC
    assert fda.contact_email == ""  # the file states none: nothing invented
    assert fda.workplan_area is None  # the network's workplan does not apply outside it
    assert fda.gaps == []
    # In production without a review date: the network's checks govern agencies, not the FDA.
    assert fda.compliance_flags == []
    register = Agency.objects.get(code=US)
    assert register.kind == v.AgencyKind.REFERENCE_REGISTER
    assert register.is_reference
    # The hub serves them on its feed like every other record.
    assert FeedEntry.objects.filter(origin=US, deleted=False).count() == 2
    assert not UseCase.objects.filter(origin_id=HUB).exists()


def test_the_dutch_register_names_the_registering_organisation(hub, tmp_path):
    import_reference_register(
        path=nl_json(tmp_path, nl_item()), register_key="nl-algorithm-register"
    )
    record = UseCase.objects.get(origin_id=NL)
    assert record.reference_label == "Dutch algorithm register — Provincie Voorbeeld"
    assert record.language == "nl"
    assert record.title_en == ""  # no invented translation


def test_a_reimport_changes_nothing_and_a_row_gone_from_the_file_leaves_a_tombstone(hub, tmp_path):
    both = us_csv(tmp_path, us_row(), us_row(id="HHS-T-2", use_case_name="Label search"))
    import_reference_register(path=both, register_key="us-omb-2025")
    again = import_reference_register(path=both, register_key="us-omb-2025")
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}
    one = us_csv(tmp_path, us_row(use_case_name="Duplicate ICSR detection"))
    report = import_reference_register(path=one, register_key="us-omb-2025")
    assert report.counts == {"created": 0, "updated": 1, "unchanged": 0, "deleted": 1}
    assert list(UseCase.objects.values_list("title", flat=True)) == ["Duplicate ICSR detection"]
    assert FeedEntry.objects.filter(origin=US, deleted=True).count() == 1


def test_a_repeated_id_never_moves_a_record_to_another_row(hub, tmp_path):
    """Rows sharing an id are matched on their content, as in an agency's import: removing the
    first never makes the second overwrite the first's record (registry.importers.keys)."""
    first = us_row()
    second = us_row(use_case_name="Label search", problem_solved="Searches drug labels.")
    import_reference_register(path=us_csv(tmp_path, first, second), register_key="us-omb-2025")
    uids = dict(UseCase.objects.values_list("title", "uid"))
    report = import_reference_register(path=us_csv(tmp_path, second), register_key="us-omb-2025")
    assert report.counts == {"created": 0, "updated": 0, "unchanged": 1, "deleted": 1}
    assert dict(UseCase.objects.values_list("title", "uid")) == {
        "Label search": uids["Label search"]
    }


def test_a_row_without_an_organisation_or_title_is_skipped_with_its_reason(hub, tmp_path):
    path = us_csv(tmp_path, us_row(use_case_name=""), us_row(id="X-2", agency="", agency_bureau=""))
    report = import_reference_register(path=path, register_key="us-omb-2025")
    assert report.counts["created"] == 0
    assert [s.split(": ", 1)[1] for s in report.skipped] == [
        "title: This field is required.",
        "business_unit: This field is required.",
    ]


def test_reference_registers_are_imported_only_on_the_hub(settings, db, tmp_path):
    settings.NODE_ROLE, settings.NODE_AGENCY = "agency", "EMA"
    with pytest.raises(CommandError, match="imported on the hub"):
        call_command(
            "import_reference_register", str(us_csv(tmp_path, us_row())), "--register=us-omb-2025"
        )
    assert not UseCase.objects.exists()


def test_import_inventory_never_writes_a_reference_origin(hub, tmp_path):
    with pytest.raises(CommandError):
        call_command(
            "import_inventory",
            str(us_csv(tmp_path, us_row())),
            f"--agency={US}",
            "--format=us-omb-2025",
        )
    assert not UseCase.objects.exists()


def test_the_validator_asks_of_a_reference_record_only_what_a_register_has():
    record = {
        "title": "Exoplanet detection",
        "language": "en",
        "business_unit": "NASA / GSFC",
        "publication_level": "public",
    }
    assert validate_record(record, reference=True)["title"] == "Exoplanet detection"
    with pytest.raises(RecordInvalid) as agency_rules:
        validate_record(record)
    assert {"summary", "purpose", "contact_email", "workplan_area"} <= set(
        agency_rules.value.errors
    )
    with pytest.raises(RecordInvalid) as no_organisation:
        validate_record({**record, "business_unit": ""}, reference=True)
    assert set(no_organisation.value.errors) == {"business_unit"}
    with pytest.raises(RecordInvalid) as prohibited:
        validate_record({**record, "ai_act_risk": "prohibited"}, reference=True)
    assert set(prohibited.value.errors) == {"publication_level"}


def reference_envelope(origin=US):
    record = {
        "title": "Volcano eruption forecasting",
        "language": "en",
        "business_unit": "DOI / USGS",
        "stage": "production",
        "operational_since": "2024-01-01",
        "publication_level": "public",
    }
    return envelope(origin=origin, record=record)


def test_the_hub_refuses_reference_records_from_any_peer_even_with_a_token_of_that_code(
    hub, client
):
    token = auth.issue_token(agency=US)[1]
    response = client.post(
        "/federation/v1/changes",
        json.dumps({"changes": [reference_envelope()]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    answer = response.json()["results"][0]
    assert answer["status"] == "rejected"
    assert "only the hub writes its records" in answer["errors"]["origin"][0]
    assert not UseCase.objects.exists()


def test_an_agency_takes_reference_records_from_the_hub_read_only(settings, db):
    settings.NODE_ROLE, settings.NODE_AGENCY = "agency", "EMA"
    results = receiver.receive(
        [reference_envelope()], received_from=HUB, may_send=lambda origin: True
    )
    assert results[0]["status"] == "applied"
    copy = UseCase.objects.get(origin_id=US)
    assert copy.reference_label == "US federal AI inventory — DOI / USGS"
    assert copy.compliance_flags == []
    assert Agency.objects.get(code=US).kind == v.AgencyKind.REFERENCE_REGISTER
    with pytest.raises(services.NotOwnRecord):
        services.save_use_case(copy)


def test_an_agency_record_under_a_reserved_code_is_never_valid_by_the_relaxed_rules(settings, db):
    """The relaxed rules follow the origin: an agency cannot use them for its own records."""
    settings.NODE_ROLE, settings.NODE_AGENCY = "agency", "EMA"
    thin = {**reference_envelope(origin="EMA")["record"]}
    results = receiver.receive(
        [envelope(origin="DE-BFARM", record=thin, hash=record_hash(thin))],
        received_from=HUB,
        may_send=lambda origin: True,
    )
    assert results[0]["status"] == "rejected"
    assert reference.is_reference(US) and not reference.is_reference("EMA")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("REF-UK-ATRS", v.AgencyKind.HUMAN), ("DE-BFARM", v.AgencyKind.REFERENCE_REGISTER)],
)
def test_a_reserved_code_is_never_an_agency_and_an_agency_never_a_register(db, code, kind):
    with pytest.raises(ValidationError, match="reserved for reference registers"):
        services.create_or_update_agency(code=code, name="Someone", country="DE", kind=kind)
    assert not Agency.objects.filter(code=code).exists()


def test_a_reference_record_states_only_what_its_register_states(hub, tmp_path):
    """Issue 11 (newcomer): no AI Act role or risk class, no DPIA, personal data, sourcing or
    effect on people that the file does not state; the US 'high-impact' is OMB's, not the AI
    Act's high risk, and stays a tag and a line of the description."""
    path = us_csv(
        tmp_path,
        us_row(),
        us_row(
            id="HHS-T-2",
            use_case_name="Benefit eligibility scoring",
            is_high_impact="High-impact",
            HI_justification="Decides on benefits.",
            has_pii="Yes",
            contracting_usage="In-house development",
        ),
    )
    import_reference_register(path=path, register_key="us-omb-2025")
    plain = UseCase.objects.get(source_key="us-omb-2025:HHS:HHS-T-1")
    assert (plain.ai_act_role, plain.ai_act_risk, plain.sourcing) == (None, None, None)
    assert (plain.personal_data, plain.dpia_status, plain.affects_individuals) == (None, None, None)
    high = UseCase.objects.get(source_key="us-omb-2025:HHS:HHS-T-2")
    assert (high.ai_act_role, high.ai_act_risk, high.ai_act_justification) == (None, None, "")
    assert high.human_oversight is None
    assert high.sourcing == v.Sourcing.IN_HOUSE  # stated by contracting_usage
    assert (high.personal_data, high.dpia_status) == (v.PersonalData.PERSONAL, None)
    assert high.affects_individuals is True  # high-impact: decisions on rights or safety
    assert "us-high-impact" in high.tags
    assert high.description.startswith(
        "US OMB: high-impact AI under OMB M-25-21 (not an EU AI Act risk class). "
        "Justification: Decides on benefits."
    )


def test_a_dutch_reference_record_states_no_role_dpia_or_personal_data_it_lacks(hub, tmp_path):
    silent = nl_item()
    stated = nl_item(
        lars="5678",
        name="Parkeerhandhaving",
        source_data="Kentekens van geparkeerde auto's",
        dpia="Ja, DPIA uitgevoerd",
        provider="Leverancier BV",
    )
    unread = nl_item(lars="9012", name="Subsidiecheck", source_data="Naam en adres")
    import_reference_register(
        path=nl_json(tmp_path, silent, stated, unread), register_key="nl-algorithm-register"
    )
    record = UseCase.objects.get(title="Verkeerslichtregeling")
    assert (record.ai_act_role, record.ai_act_risk, record.sourcing) == (None, None, None)
    assert (record.personal_data, record.dpia_status) == (None, None)
    assert record.affects_individuals is None
    parking = UseCase.objects.get(title="Parkeerhandhaving")
    assert (parking.personal_data, parking.dpia_status) == ("personal", "done")
    assert (parking.sourcing, parking.affects_individuals) == ("vendor", True)
    # Personal data stated, no DPIA field: the DPIA is not stated, never "planned".
    assert UseCase.objects.get(title="Subsidiecheck").dpia_status is None


def test_the_command_reports_an_id_a_new_row_repeats(hub, tmp_path, capsys):
    """Issue 11: as import_inventory does, 'id ... is repeated in rows 1, 2'."""
    first = us_row()
    again = us_row(use_case_name="Label search", problem_solved="Searches drug labels.")
    call_command(
        "import_reference_register", us_csv(tmp_path, first, again), register="us-omb-2025"
    )
    out = capsys.readouterr().out
    assert "id us-omb-2025:HHS:HHS-T-1 is repeated in rows 1, 2" in out
    assert f"{US}: created 2," in out


def test_no_peer_token_is_issued_for_a_reserved_origin(hub):
    """Issue 11: `issue_peer_token REF-US-OMB` on the hub succeeded."""
    from registry.importers.reference_register import ensure_register_agency
    from sync.models import PeerToken

    ensure_register_agency(reference.REGISTERS["us-omb-2025"])
    with pytest.raises(CommandError, match="reserved origin of a reference register"):
        call_command("issue_peer_token", US)
    assert not PeerToken.objects.exists()
