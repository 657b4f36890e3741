"""Crosswalks to the UK ATRS (v3.0 field table) and to the EU AI Act database registration of a
deployer (Annex VIII, Section C), on realistic records. The standards are read from
../shared/standards (beside the repository), never from a copy."""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from catalogue.crosswalks import eu_ai_act, uk_atrs
from tests.catalogue.test_api import keys, visible
from tests.factories import UseCaseFactory

STANDARDS = Path(__file__).resolve().parents[2].parent / "shared" / "standards"
ATRS_TABLE = STANDARDS / "uk-atrs" / "atrs-v3.0-template_table.md"
AI_ACT_ANNEXES = STANDARDS / "eu-ai-act" / "ai-act-annexes.json"


def atrs_table() -> list[tuple[str, str, str, str, str]]:
    """(reference, attribute, name, tier, category) of every row of the shipped v3.0 table."""
    rows = []
    for line in ATRS_TABLE.read_text(encoding="utf-8").splitlines():
        cells = [cell.replace("<br>", "").strip() for cell in line.strip().strip("|").split("|")]
        if re.fullmatch(r"\d+(\.\d+)+", cells[0]):
            rows.append(tuple(cells[:5]))
    return rows


def section_c_items() -> list[str]:
    """The numbered items of Annex VIII Section C, from the shipped annexes."""
    annexes = json.loads(AI_ACT_ANNEXES.read_text(encoding="utf-8"))
    content = next(a["content"] for a in annexes if a["annex"] == "VIII")
    section_c = content.split("Section C")[1]
    items = re.split(r"\s\d\.\s", section_c)[1:]
    return [item.strip().rstrip(";.").strip() for item in items]


def realistic(**overrides):
    """A published pharmacovigilance use case as an agency would record it."""
    values = {
        "publication_level": "public",
        "title": "Triage of individual case safety reports for medication errors",
        "summary": "Flags ICSRs that describe medication errors so assessors see them first.",
        "description": "A fine-tuned transformer classifies the narrative of each incoming ICSR.",
        "purpose": "Medication errors were found late in the weekly screening.",
        "benefits": "Errors are reviewed within two days instead of ten.",
        "outputs": ["classification", "recommendation"],
        "regulatory_processes": ["pharmacovigilance", "icsr_processing"],
        "medicine_scope": "human",
        "business_unit": "Pharmacovigilance Office, Signal Management",
        "techniques": ["nlp", "machine_learning"],
        "tags": ["icsr", "medication errors"],
        "stage": "pilot",
        "ai_act_role": "deployer",
        "ai_act_risk": "minimal",
        "personal_data": "special_category",
        "dpia_status": "done",
        "legal_basis": "Regulation (EU) 2018/1725, Article 5(1)(a)",
        "data_sources": ["EudraVigilance", "internal documents"],
        "human_oversight": "human_in_the_loop",
        "risks_and_mitigations": "Missed errors: a weekly sample is screened by hand.",
        "monitoring": "Monthly recall on a hand-labelled sample.",
        "sourcing": "vendor",
        "vendor": "Example Analytics GmbH",
        "product": "CaseSorter 4",
        "hosting": "eu_cloud",
        "contact_email": "pv-ai@example.europa.eu",
    }
    values.update(overrides)
    return UseCaseFactory(**values)


def high_risk(**overrides):
    return realistic(
        title="Prioritisation of GMP inspections of manufacturing sites",
        ai_act_risk="high",
        ai_act_justification="Its ranking bears on which manufacturers are inspected first.",
        regulatory_processes=["inspections"],
        **overrides,
    )


def atrs_url(use_case, extension: str) -> str:
    return f"/api/v1/use-cases/{use_case.origin_id}/{use_case.uid}/uk-atrs.{extension}"


def annex_url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.origin_id}/{use_case.uid}/eu-ai-act-annex-viii.json"


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8")
    return response.content.decode("utf-8")


def csv_table(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body_text(response))))


# ---- UK ATRS ----------------------------------------------------------------------------------


def test_the_atrs_fields_are_the_v3_table_in_its_order():
    table = atrs_table()

    assert len(table) == 65
    assert [(f.reference, f.attribute, f.name, f.tier, f.category) for f in uk_atrs.FIELDS] == table


def test_atrs_json_of_a_record_holds_every_v3_field_by_category_in_table_order(
    anon_client, agencies
):
    use_case = realistic()

    response = anon_client.get(atrs_url(use_case, "json"))

    assert response.status_code == 200
    record = response.json()
    categories = list(dict.fromkeys(row[4] for row in atrs_table()))
    assert list(record["sections"]) == categories
    for category, fields in record["sections"].items():
        assert list(fields) == [row[1] for row in atrs_table() if row[4] == category]
    assert record["standard_version"] == "3.0"
    assert record["source"] == {
        "origin": use_case.origin_id,
        "uid": str(use_case.uid),
        "version": use_case.version,
        "url": f"http://testserver/use-cases/{use_case.origin_id}/{use_case.uid}/",
    }


def test_atrs_values_come_from_the_record_and_the_rest_is_empty(anon_client, agencies):
    use_case = realistic()

    sections = anon_client.get(atrs_url(use_case, "json")).json()["sections"]

    tier1 = sections["Tier 1 Information"]
    assert tier1["name"] == use_case.title
    assert tier1["description"] == f"{use_case.summary}\n\n{use_case.purpose}"
    assert tier1["contact_email"] == "pv-ai@example.europa.eu"
    assert tier1["website_url"].endswith(f"/use-cases/{use_case.origin_id}/{use_case.uid}/")
    assert sections["Title Information"]["organisation_name"] == "European Medicines Agency"
    assert sections["Title Information"]["phase"] == "Pilot/beta"
    assert sections["Tool Specification"]["phase"] == "Pilot/beta"
    owner = sections["Owner and Responsibility"]
    assert owner["team"] == "Pharmacovigilance Office, Signal Management"
    assert owner["external_supplier_involvement"] == "Yes"
    assert owner["external_supplier"] == "Example Analytics GmbH"
    assert owner["senior_responsible_owner"] is None
    assert owner["companies_house_number"] is None
    assert sections["Decision-making Process"]["human_decisions_and_review"] == (
        "Human in the loop"
    )
    assert sections["Model Specification"]["model_architecture"] == (
        "Natural language processing; Machine learning"
    )
    assert sections["Data Specification"]["source_data_name"] == (
        "EudraVigilance; internal documents"
    )
    assert sections["Data Specification"]["sensitive_attributes"] == "Special category data"
    assert (
        "EU AI Act risk class: Minimal risk"
        in (sections["Risks, mitigations and impact assessments"]["impact_assessment"])
    )
    assert sections["Metadata"]["id"] is None


def test_atrs_leaves_network_tier_fields_empty_for_anonymous_readers(
    anon_client, member_client, agencies
):
    use_case = realistic()

    public = anon_client.get(atrs_url(use_case, "json")).json()["sections"]
    member = member_client.get(atrs_url(use_case, "json")).json()["sections"]

    risks = "Risks, mitigations and impact assessments"
    assert public[risks]["risks_and_mitigations"] is None
    assert public["Data Specification"]["data_access_and_storage"] is None
    assert member[risks]["risks_and_mitigations"] == use_case.risks_and_mitigations
    assert member["Data Specification"]["data_access_and_storage"] == "Hosting: EU cloud"


def test_atrs_csv_of_a_record_has_the_v3_attributes_in_order_then_its_row(anon_client, agencies):
    use_case = realistic()

    response = anon_client.get(atrs_url(use_case, "csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, row = csv_table(response)
    attributes = [row[1] for row in atrs_table()]
    repeated = {a for a in attributes if attributes.count(a) > 1}
    assert header == [
        f"{attribute} ({reference})" if attribute in repeated else attribute
        for reference, attribute, *_ in atrs_table()
    ]
    assert repeated == {"phase"}
    values = dict(zip(header, row, strict=True))
    assert values["name"] == use_case.title
    assert values["senior_responsible_owner"] == ""


def test_atrs_csv_keeps_formulas_from_running_in_spreadsheets(anon_client, agencies):
    use_case = realistic(business_unit='=HYPERLINK("http://x")', vendor="+31 vendor")

    single = dict(zip(*csv_table(anon_client.get(atrs_url(use_case, "csv"))), strict=True))
    header, exported = csv_table(anon_client.get("/api/v1/use-cases/export.uk-atrs.csv"))

    assert single["team"] == '\'=HYPERLINK("http://x")'
    assert single["external_supplier"] == "'+31 vendor"
    assert dict(zip(header, exported, strict=True))["team"] == '\'=HYPERLINK("http://x")'


def test_atrs_csv_export_holds_the_filtered_visible_records(anon_client, member_client, catalogue):
    def exported(client, params=None):
        header, *rows = csv_table(client.get("/api/v1/use-cases/export.uk-atrs.csv", params))
        return {dict(zip(header, row, strict=True))["website_url"] for row in rows}

    def urls(rows):
        return {f"http://testserver/use-cases/{origin}/{uid}/" for origin, uid in keys(rows)}

    shown = visible(catalogue, network=False)
    assert exported(anon_client) == urls(shown)
    assert exported(member_client) == urls(visible(catalogue, network=True))
    assert exported(anon_client, {"agency": "FR-ANSM"}) == urls(
        r for r in shown if r.origin_id == "FR-ANSM"
    )


def test_atrs_json_export_is_one_array_of_records(anon_client, catalogue):
    response = anon_client.get("/api/v1/use-cases/export.uk-atrs.json", {"ai_act_risk": "high"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="use-cases.uk-atrs.json"'
    records = json.loads(body_text(response))
    expected = [r for r in visible(catalogue, network=False) if r.ai_act_risk == "high"]
    assert {(r["source"]["origin"], r["source"]["uid"]) for r in records} == keys(expected)
    assert all(r["standard_version"] == "3.0" for r in records)


def test_atrs_export_refuses_bad_filters(anon_client, agencies):
    response = anon_client.get("/api/v1/use-cases/export.uk-atrs.csv", {"stage": "nonsense"})

    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


def test_atrs_of_a_record_the_reader_may_not_see_is_not_found(anon_client, member_client, agencies):
    network = realistic(publication_level="network")
    draft = realistic(publication_level="draft")

    assert anon_client.get(atrs_url(network, "json")).status_code == 404
    assert anon_client.get(atrs_url(network, "csv")).status_code == 404
    assert member_client.get(atrs_url(network, "json")).status_code == 200
    assert member_client.get(atrs_url(draft, "json")).status_code == 404


# ---- EU AI Act, Annex VIII Section C -----------------------------------------------------------


def test_annex_viii_items_are_section_c_word_for_word():
    assert list(eu_ai_act.ITEMS) == section_c_items()
    assert len(eu_ai_act.ITEMS) == 5


def test_annex_viii_is_refused_for_a_record_that_is_not_high_risk(anon_client, agencies):
    use_case = realistic(ai_act_risk="limited")

    response = anon_client.get(annex_url(use_case))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert "high-risk AI systems only" in response.json()["detail"]
    assert "'limited'" in response.json()["detail"]


def test_annex_viii_lists_each_item_with_the_record_value_and_what_it_lacks(anon_client, agencies):
    use_case = high_risk()

    response = anon_client.get(annex_url(use_case))

    assert response.status_code == 200
    registration = response.json()
    items = registration["items"]
    assert [item["number"] for item in items] == [1, 2, 3, 4, 5]
    assert [item["text"] for item in items] == section_c_items()
    deployer = items[0]
    assert deployer["value"]["name"] == "European Medicines Agency"
    assert deployer["value"]["contact_email"] == "pv-ai@example.europa.eu"
    assert deployer["value"]["address"] is None
    assert eu_ai_act.LACKS_CONTACT_DETAILS in deployer["lacks"]
    assert items[1]["value"] is None and items[1]["lacks"] == [eu_ai_act.LACKS_SUBMITTER]
    assert items[2]["value"] is None and items[2]["lacks"] == [eu_ai_act.LACKS_PROVIDER_ENTRY]
    assert items[3]["value"] is None and items[3]["lacks"] == [eu_ai_act.LACKS_FRIA]
    assert items[4]["value"]["dpia_status"] == "done"
    assert items[4]["lacks"] == [eu_ai_act.LACKS_DPIA_SUMMARY]
    assert f"4: {eu_ai_act.LACKS_FRIA}" in registration["lacks"]
    assert len(registration["lacks"]) == sum(len(item["lacks"]) for item in items)


def test_annex_viii_takes_what_the_record_says_and_lacks_less(anon_client, agencies):
    entry = "https://ec.europa.eu/ai-act-database/systems/HR-0042"
    use_case = high_risk(eu_database_ref=entry, personal_data="none", dpia_status=None)

    items = anon_client.get(annex_url(use_case)).json()["items"]

    assert items[2] == {**items[2], "value": entry, "lacks": []}
    assert items[4]["value"]["applicable"] is False
    assert items[4]["lacks"] == []


def test_annex_viii_says_a_dpia_still_in_progress_is_not_finished(anon_client, agencies):
    use_case = high_risk(dpia_status="in_progress")

    lacks = anon_client.get(annex_url(use_case)).json()["items"][4]["lacks"]

    assert lacks == [
        eu_ai_act.LACKS_DPIA_DONE.format(status="in progress"),
        eu_ai_act.LACKS_DPIA_SUMMARY,
    ]


def test_annex_viii_follows_the_catalogue_visibility(anon_client, member_client, agencies):
    network = high_risk(publication_level="network")

    assert anon_client.get(annex_url(network)).status_code == 404
    assert member_client.get(annex_url(network)).status_code == 200


# ---- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("risk", "offered"), [("high", True), ("minimal", False)])
def test_the_use_case_page_offers_atrs_and_annex_viii_only_for_high_risk(
    client, agencies, risk, offered
):
    use_case = high_risk() if risk == "high" else realistic()

    page = client.get(reverse("catalogue:use-case", args=[use_case.origin_id, use_case.uid]))

    html = page.content.decode()
    assert f'href="{atrs_url(use_case, "csv")}"' in html
    assert f'href="{atrs_url(use_case, "json")}"' in html
    assert (f'href="{annex_url(use_case)}"' in html) is offered


def test_the_catalogue_offers_atrs_exports_of_the_same_filters(client, catalogue):
    page = client.get(reverse("catalogue:home"), {"agency": "FR-ANSM", "sort": "title"})

    html = page.content.decode()
    assert 'href="/api/v1/use-cases/export.uk-atrs.csv?agency=FR-ANSM"' in html
    assert 'href="/api/v1/use-cases/export.uk-atrs.json?agency=FR-ANSM"' in html
