import pytest
from django.utils import translation

from registry.validation import RecordInvalid, validate_record
from tests.factories import valid_record


def errors_of(**overrides) -> dict[str, list[str]]:
    with pytest.raises(RecordInvalid) as exc:
        validate_record(valid_record(**overrides))
    return exc.value.errors


def test_a_complete_record_is_valid_and_dates_become_dates():
    cleaned = validate_record(valid_record())
    assert cleaned["started_on"].isoformat() == "2025-03-01"


@pytest.mark.parametrize("field", ["title", "summary", "purpose", "contact_email", "stage"])
def test_a_missing_required_field_is_named(field):
    record = valid_record()
    del record[field]
    with pytest.raises(RecordInvalid) as exc:
        validate_record(record)
    assert field in exc.value.errors


def test_an_unknown_enum_value_is_named_with_the_allowed_values():
    errors = errors_of(stage="live")
    assert "'live' is not one of" in errors["stage"][0]
    assert "production" in errors["stage"][0]


def test_an_unknown_field_is_an_error_under_schema_version_1():
    assert "colour" in errors_of(colour="blue")


def test_lists_must_have_at_least_one_process_and_technique():
    errors = errors_of(regulatory_processes=[], techniques=[])
    assert set(errors) == {"regulatory_processes", "techniques"}


def test_a_bad_date_is_named():
    assert "not an ISO date" in errors_of(started_on="31/12/2024")["started_on"][0]


def test_a_ten_megabyte_field_gets_a_clear_error():
    errors = errors_of(description="x" * 10_000_000)
    assert "at most 20000 characters" in errors["description"][0]


def test_summary_is_capped_at_350_characters():
    assert "summary" in errors_of(summary="s" * 351)


def test_production_needs_operational_since():
    assert "operational_since" in errors_of(stage="production", operational_since=None)


def test_retired_needs_retired_on():
    assert "retired_on" in errors_of(stage="retired", retired_on=None)


def test_dates_in_the_future_are_refused_except_next_review():
    errors = errors_of(started_on="2999-01-01", next_review_on="2999-01-01")
    assert set(errors) == {"started_on"}


def test_high_risk_needs_oversight_and_justification():
    errors = errors_of(ai_act_risk="high", human_oversight=None, ai_act_justification="")
    assert set(errors) == {"human_oversight", "ai_act_justification"}


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
