"""Records of reference registers (registry.reference) in the catalogue: labelled as such on every
card, page and export, kept apart from the network's agencies, and found as similar use cases."""

import csv
import io

import feedparser
import pytest
from django.conf import settings

from catalogue import linked_data
from registry import vocabularies as v
from tests.catalogue.test_linked_data import (  # noqa: F401 (dcat_ap_shapes is a fixture)
    EXPORT,
    conformance,
    dcat_ap_shapes,
    parsed,
)
from tests.factories import AgencyFactory, UseCaseFactory

US = "REF-US-OMB"
LABEL = "US federal AI inventory — HHS / FDA / CDER"
NOTE = "reference record, not an agency of the network"


@pytest.fixture
def records(db):
    ema = AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")
    AgencyFactory(code="DE-BFARM", name="BfArM", country="DE")
    register = AgencyFactory(
        code=US,
        name="US Federal AI Use Case Inventory (OMB, 2025)",
        country="US",
        kind=v.AgencyKind.REFERENCE_REGISTER,
    )
    own = UseCaseFactory(
        origin=ema, publication_level="public", title="Duplicate ICSR detection in EudraVigilance"
    )
    fda = UseCaseFactory(
        origin=register,
        publication_level="public",
        title="Duplicate adverse event report detection in FAERS",
        business_unit="HHS / FDA / CDER",
        summary="Flags likely duplicate reports in the FDA adverse event reporting system.",
        description="Record linkage over FAERS reports.",
        data_sources=["FAERS"],
    )
    return own, fda


def test_a_result_card_names_the_register_and_the_organisation(client, records):
    page = client.get("/", {"search": "duplicate"}).content.decode()
    assert LABEL in page
    assert NOTE in page


def test_the_use_case_page_says_who_runs_it_and_that_it_is_no_agency(client, records):
    _, fda = records
    page = client.get(f"/use-cases/{US}/{fda.uid}/").content.decode()
    assert '<dd id="run-by">HHS / FDA / CDER</dd>' in page
    assert "Source register (not an agency)" in page
    assert f"{LABEL}: a reference record from a public register outside the network" in page


def test_an_agency_record_carries_no_reference_label(client, records):
    own, _ = records
    page = client.get(f"/use-cases/{own.origin_id}/{own.uid}/").content.decode()
    assert 'id="reference-note"' not in page
    assert NOTE not in client.get("/", {"search": "EudraVigilance"}).content.decode()


def test_the_agency_facet_keeps_the_network_apart_from_other_registers(client, records):
    facets = client.get("/").context["facets"]
    agency_groups = [group for group in facets if group["param"] == "agency"]
    assert [str(group["label"]) for group in agency_groups] == [
        "Network agencies",
        "Other public registers",
    ]
    network, registers = ([o["value"] for o in g["options"]] for g in agency_groups)
    assert US not in network and settings.NODE_AGENCY in network
    assert registers == [US]


def test_the_agency_list_shows_registers_under_their_own_heading_and_never_the_hub(
    client, records, settings
):
    settings.NODE_ROLE, settings.NODE_AGENCY = "hub", "EMRN-HUB"
    AgencyFactory(code="EMRN-HUB", name="Network hub", country="EU")
    groups = client.get("/agencies/").context["groups"]
    (network_heading, network), (registers_heading, registers) = groups
    assert (str(network_heading), str(registers_heading)) == (
        "Network agencies",
        "Other public registers",
    )
    assert [a.code for a in registers] == [US]
    assert US not in [a.code for a in network]
    assert "EMRN-HUB" not in [a.code for a in network + registers]


def test_exports_and_the_api_carry_the_register_and_the_organisation(anon_client, records):
    own, fda = records
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(anon_client.get("/api/v1/use-cases/export.csv").streaming_content).decode()
            )
        )
    )
    by_uid = {row["uid"]: row for row in rows}
    assert (
        by_uid[str(fda.uid)]["reference_register"] == "US Federal AI Use Case Inventory (OMB, 2025)"
    )
    assert by_uid[str(fda.uid)]["organisation"] == "HHS / FDA / CDER"
    assert by_uid[str(own.uid)]["reference_register"] == ""
    assert by_uid[str(own.uid)]["organisation"] == "European Medicines Agency"
    data = anon_client.get(f"/api/v1/use-cases/{US}/{fda.uid}/").json()
    assert (data["reference_register"], data["organisation"]) == (
        "US Federal AI Use Case Inventory (OMB, 2025)",
        "HHS / FDA / CDER",
    )


def test_similar_use_cases_include_what_a_register_records(anon_client, records):
    own, fda = records
    similar = anon_client.get(f"/api/v1/use-cases/{own.origin_id}/{own.uid}/similar/").json()
    assert [item["uid"] for item in similar["results"]] == [str(fda.uid)]
    assert similar["results"][0]["organisation"] == "HHS / FDA / CDER"


def test_the_atom_feed_names_the_organisation_and_its_register(client, records):
    _, fda = records
    feed = feedparser.parse(client.get("/feeds/use-cases.atom").content)
    authors = {entry.title: entry.author for entry in feed.entries}
    assert authors[fda.title] == ("HHS / FDA / CDER — US Federal AI Use Case Inventory (OMB, 2025)")
    assert authors["Duplicate ICSR detection in EudraVigilance"] == "European Medicines Agency"


def test_linked_data_names_the_organisation_as_creator_and_still_conforms(
    anon_client,
    records,
    dcat_ap_shapes,  # noqa: F811
):
    _, fda = records
    graph = parsed(anon_client.get(EXPORT.format(fmt="ttl")), "ttl")
    uri = linked_data.use_case_uri(US, fda.uid)
    (creator,) = graph.objects(uri, linked_data.DCT.creator)
    assert str(graph.value(creator, linked_data.FOAF.name)) == "HHS / FDA / CDER"
    assert (uri, linked_data.DCT.source, None) in graph
    conforms, report = conformance(graph, dcat_ap_shapes)
    assert conforms, report


def test_other_registers_formats_name_the_organisation_not_the_register(anon_client, records):
    _, fda = records
    dutch = anon_client.get(f"/api/v1/use-cases/{US}/{fda.uid}/nl-register.json").json()
    assert dutch["registrations"][0]["organization"] == "HHS / FDA / CDER"
    uk = anon_client.get(f"/api/v1/use-cases/{US}/{fda.uid}/uk-atrs.json").json()
    assert "HHS / FDA / CDER" in str(uk)
    assert "US Federal AI Use Case Inventory (OMB, 2025)" not in str(uk)


def test_a_reference_record_is_never_review_overdue_nor_said_to_pass_the_checks(
    client, anon_client, records
):
    """Issue 11 (newcomer): the network's compliance checks govern its agencies' records; a
    register's record with a past review date gets no flag, badge, filter match or claim."""
    import datetime as dt

    from registry.models import UseCase

    own, fda = records
    past = dt.date(2020, 1, 1)
    UseCase.objects.filter(pk__in=[own.pk, fda.pk]).update(next_review_on=past, stage="production")
    overdue = anon_client.get("/api/v1/use-cases/", {"review_overdue": "1"}).json()
    assert [item["origin"] for item in overdue["results"]] == [own.origin_id]
    data = anon_client.get(f"/api/v1/use-cases/{US}/{fda.uid}/").json()
    assert "review_overdue" not in data["compliance"]
    assert UseCase.objects.review_overdue().get() == own
    page = client.get(f"/use-cases/{US}/{fda.uid}/").content.decode()
    assert 'id="review-overdue"' not in page
    assert "Passes every compliance check" not in page
    assert "apply to its agencies' own records, not to a public register's" in page
    cards = client.get("/", {"search": "duplicate"}).content.decode()
    assert cards.count('class="badge overdue"') == 1  # the agency's, not the register's


def test_the_source_filter_keeps_the_agencies_apart_from_the_registers_everywhere(
    client, anon_client, records
):
    """Issue 11: `source=agencies|registers` in the catalogue, the API and the statistics, so
    the network's stage and risk figures are not mixed with a public register's."""
    own, fda = records
    agencies = anon_client.get("/api/v1/stats/", {"source": "agencies"}).json()
    assert (agencies["total"], agencies["reference_total"]) == (1, 0)
    assert agencies["by_stage"][own.stage] == 1 and sum(agencies["by_stage"].values()) == 1
    registers = anon_client.get("/api/v1/stats/", {"source": "registers"}).json()
    assert (registers["total"], registers["reference_total"]) == (1, 1)
    listed = anon_client.get("/api/v1/use-cases/", {"source": "registers"}).json()["results"]
    assert [item["origin"] for item in listed] == [US]
    both = anon_client.get("/api/v1/use-cases/", {"source": "agencies,registers"}).json()
    assert len(both["results"]) == 2
    bad = anon_client.get("/api/v1/use-cases/", {"source": "hub"})
    assert bad.status_code == 400 and "source" in bad.json()["errors"]
    schema = anon_client.get("/api/schema/").content.decode()
    assert "name: source" in schema and "- registers" in schema
    page = client.get("/", {"source": "agencies"})
    assert [item["use_case"] for item in page.context["results"]] == [own]
    statistics = client.get("/statistics/").content.decode()
    assert 'href="/statistics/?source=agencies"' in statistics
    assert "Other public registers only" in statistics
    chosen = client.get("/statistics/", {"source": "registers"}).content.decode()
    assert "Source: Other public registers only" in chosen
    assert 'href="/statistics/?source=registers" aria-current="page"' in chosen


def test_an_agency_page_counts_every_record_with_a_stage_or_not(client, records):
    """Issue 11: /agencies/REF-NL-AR/ said 71 of 117 (only the records that state a stage)."""
    _, fda = records
    UseCaseFactory(origin=fda.origin, publication_level="public", stage=None, title="No stage")
    page = client.get(f"/agencies/{US}/")
    assert page.context["total"] == 2
    assert "<dt>Use cases you can see</dt><dd>2</dd>" in page.content.decode()


def test_a_page_without_similar_use_cases_names_registers_too(client, records):
    _, fda = records
    alone = UseCaseFactory(
        origin=fda.origin,
        publication_level="public",
        title="Zyxwv qrstu",
        summary="Zyxwv.",
        tags=[],
    )
    page = client.get(f"/use-cases/{US}/{alone.uid}/").content.decode()
    assert "No similar use case found yet, at other agencies or in public registers." in page
