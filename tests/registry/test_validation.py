import datetime as dt

import pytest
from django.utils import translation

from registry.validation import FIELDS, RecordInvalid, validate_record
from tests.factories import valid_record


def errors_of(**overrides) -> dict[str, list[str]]:
    with pytest.raises(RecordInvalid) as exc:
        validate_record(valid_record(**overrides))
    return exc.value.errors


def test_a_complete_record_is_valid_and_dates_become_dates():
    cleaned = validate_record(valid_record())
    assert cleaned["started_on"].isoformat() == "2025-03-01"


# RECORD.md's "yes" and "at least one" fields, written out so that a field made optional in
# FIELDS fails a test instead of silently dropping out of the parametrized one below.
RECORD_MD_REQUIRED = {
    "title",
    "language",
    "summary",
    "purpose",
    "regulatory_processes",
    "medicine_scope",
    "workplan_area",
    "techniques",
    "stage",
    "ai_act_role",
    "ai_act_risk",
    "affects_individuals",
    "personal_data",
    "sourcing",
    "contact_email",
    "publication_level",
}
REQUIRED_FIELDS = [name for name, field in FIELDS.items() if field.required]
PAST_ONLY_DATES = ["started_on", "operational_since", "retired_on"]


def test_the_required_fields_are_those_of_record_md():
    assert set(REQUIRED_FIELDS) == RECORD_MD_REQUIRED


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_missing_required_field_is_named(field):
    record = valid_record()
    del record[field]
    with pytest.raises(RecordInvalid) as exc:
        validate_record(record)
    assert exc.value.errors == {field: ["This field is required."]}


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_required_field_sent_as_null_is_named(field):
    assert set(errors_of(**{field: None})) == {field}


def test_an_unknown_enum_value_is_named_with_the_allowed_values():
    errors = errors_of(stage="live")
    assert "'live' is not one of" in errors["stage"][0]
    assert "production" in errors["stage"][0]


def test_an_unknown_field_is_an_error_under_schema_version_1():
    assert "colour" in errors_of(colour="blue")


def test_lists_must_have_at_least_one_process_and_technique():
    errors = errors_of(regulatory_processes=[], techniques=[])
    assert set(errors) == {"regulatory_processes", "techniques"}


@pytest.mark.parametrize("text", ["31/12/2024", "20241231", "2024-W01-1", "2024-12-31T00:00"])
def test_a_date_not_written_yyyy_mm_dd_is_named(text):
    assert "not an ISO date (YYYY-MM-DD)" in errors_of(started_on=text)["started_on"][0]


def test_an_enormous_bad_enum_value_is_not_echoed_whole():
    message = errors_of(stage="x" * 1_000_000)["stage"][0]
    assert "is not one of" in message
    assert len(message) < 300


def test_a_ten_megabyte_field_gets_a_clear_error():
    errors = errors_of(description="x" * 10_000_000)
    assert "at most 20000 characters" in errors["description"][0]


def test_summary_is_capped_at_350_characters():
    assert "summary" in errors_of(summary="s" * 351)


def test_title_is_capped_at_200_characters():
    validate_record(valid_record(title="t" * 200))
    assert errors_of(title="t" * 201) == {
        "title": ["Ensure this value has at most 200 characters (it has 201)."]
    }


@pytest.mark.parametrize("field", ["regulatory_processes", "techniques"])
def test_an_empty_list_of_a_required_list_field_is_named(field):
    assert errors_of(**{field: []}) == {field: ["This field is required."]}


def test_production_needs_operational_since():
    assert "operational_since" in errors_of(stage="production", operational_since=None)


def test_retired_needs_retired_on():
    assert "retired_on" in errors_of(stage="retired", retired_on=None)


def test_dates_in_the_future_are_refused_except_next_review():
    errors = errors_of(started_on="2999-01-01", next_review_on="2999-06-01")
    assert set(errors) == {"started_on"}


@pytest.mark.parametrize("field", PAST_ONLY_DATES)
def test_a_date_in_the_future_is_named(field):
    record = valid_record(**{field: "2025-06-03"})
    with pytest.raises(RecordInvalid) as exc:
        validate_record(record, today=dt.date(2025, 6, 1))
    assert exc.value.errors == {field: ["Must not be in the future."]}


@pytest.mark.parametrize("field", PAST_ONLY_DATES)
def test_a_date_of_tomorrow_is_accepted_for_agencies_in_other_time_zones(field):
    validate_record(valid_record(**{field: "2025-06-02"}), today=dt.date(2025, 6, 1))


def test_next_review_may_be_in_the_future():
    validate_record(valid_record(next_review_on="2999-01-01"), today=dt.date(2025, 6, 1))


def test_high_risk_needs_oversight_and_justification():
    errors = errors_of(ai_act_risk="high", human_oversight=None, ai_act_justification="")
    assert set(errors) == {"human_oversight", "ai_act_justification"}


def test_high_risk_needs_a_justification_even_with_oversight():
    errors = errors_of(ai_act_risk="high", ai_act_justification="")
    assert errors == {"ai_act_justification": ["Required when the AI Act risk class is high."]}
    validate_record(valid_record(ai_act_risk="high", ai_act_justification="Annex III 5(a)."))


@pytest.mark.parametrize("risk", ["limited", "minimal", "not_assessed"])
def test_a_justification_is_not_required_below_high(risk):
    # RECORD.md also asks for one when a high-risk-area use is claimed not high-risk, but no field
    # marks a high-risk area, so that part is guidance only; other nodes accept such records.
    validate_record(valid_record(ai_act_risk=risk, ai_act_justification=""))


def test_prohibited_cannot_be_published_beyond_internal():
    assert "publication_level" in errors_of(ai_act_risk="prohibited", publication_level="network")
    validate_record(valid_record(ai_act_risk="prohibited", publication_level="internal"))


def test_personal_data_needs_a_dpia_status():
    assert "dpia_status" in errors_of(personal_data="personal", dpia_status=None)
    validate_record(valid_record(personal_data="none", dpia_status=None))


def test_a_non_english_record_needs_an_english_title():
    assert "title_en" in errors_of(language="de", title_en="")


def test_related_links_need_origin_uid_and_kind():
    assert "related" in errors_of(
        related=[{"origin": "EMA", "uid": "nope", "kind": "duplicate_of"}]
    )


def test_a_non_object_record_is_refused():
    with pytest.raises(RecordInvalid) as exc:
        validate_record(["not", "a", "record"])
    assert "record" in exc.value.errors


def test_messages_are_translated_in_the_language_active_when_validating():
    record = valid_record()
    del record["title"]
    with translation.override("de"), pytest.raises(RecordInvalid) as exc:
        validate_record(record)
    assert exc.value.errors["title"] == ["Dieses Feld ist zwingend erforderlich."]
    assert errors_of(title="")["title"] == ["This field is required."]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("title", "Title with \x1b[31m escape", "U+001B"),
        ("benefits", "Saves time\x07 bell", "U+0007"),
        ("purpose", "A NEL\x85 from Windows-1252", "U+0085"),
        ("summary", "Nul\x00 in text", "U+0000"),
    ],
)
def test_a_control_character_in_text_is_refused_and_named(field, value, code):
    message = errors_of(**{field: value})[field][0]
    assert code in message and "cannot be shown" in message
    assert value not in message


def test_a_control_character_in_a_list_item_is_refused():
    assert "U+001B" in errors_of(tags=["ok", "bad\x1b"])["tags"][0]


def test_tab_and_line_breaks_are_text_not_control_characters():
    cleaned = validate_record(valid_record(description="First line\r\nsecond\tcolumn"))
    assert cleaned["description"] == "First line\r\nsecond\tcolumn"
