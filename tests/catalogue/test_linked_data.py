"""Linked data (catalogue/linked_data.py): JSON-LD and Turtle of one use case and of the filtered
catalogue, checked with rdflib, with pySHACL against the DCAT-AP 3.0.1 shapes and against the
DPV 2.3 vocabularies, all read from ../shared/standards (never copied here)."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from catalogue import linked_data
from catalogue.linked_vocabularies import AI, DPV_CONCEPTS, DPV_TERMS, EU_AIACT, PREFIXES
from registry import vocabularies as v
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db

STANDARDS = Path(settings.BASE_DIR).parent / "shared" / "standards"
DCAT_AP_SHAPES = STANDARDS / "dcat-ap" / "3.0.1" / "html" / "shacl"
DPV_FILES = [STANDARDS / "dpv" / "2.3" / "ai.ttl", STANDARDS / "dpv" / "2.3" / "eu-aiact.ttl"]
DCAT, DCT, RDF, SKOS = PREFIXES["dcat"], PREFIXES["dct"], PREFIXES["rdf"], PREFIXES["skos"]
PROV, VCARD = PREFIXES["prov"], PREFIXES["vcard"]
EXPORT = "/api/v1/use-cases/export.{fmt}"
RDFLIB_FORMATS = {"jsonld": "json-ld", "ttl": "turtle"}


def standard_file(path: Path) -> Path:
    assert path.is_file(), (
        f"{path} is missing. The linked-data tests read the public standards from "
        "../shared/standards next to the repository; put them there (CI has them)."
    )
    return path


@pytest.fixture(scope="module")
def dcat_ap_shapes() -> Graph:
    """shapes.ttl (cardinalities, node kinds, datatypes) and range.ttl (the classes of linked
    resources): PROVENANCE.md says both need nothing beyond the exported graph."""
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        shapes.parse(standard_file(DCAT_AP_SHAPES / name), format="turtle")
    return shapes


@pytest.fixture(scope="module")
def dpv_vocabularies() -> Graph:
    graph = Graph()
    for path in DPV_FILES:
        graph.parse(standard_file(path), format="turtle")
    return graph


def body_of(response) -> bytes:
    assert response.status_code == 200, response.content
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def parsed(response, fmt: str) -> Graph:
    return Graph().parse(data=body_of(response), format=RDFLIB_FORMATS[fmt])


def conformance(graph: Graph, shapes: Graph) -> tuple[bool, str]:
    conforms, _, text = validate(graph, shacl_graph=shapes)
    return conforms, text


def resources(graph: Graph) -> set[URIRef]:
    return set(graph.objects(linked_data.catalogue_uri(), DCAT.resource))


def iri_of(use_case) -> URIRef:
    return linked_data.use_case_uri(use_case.origin_id, use_case.uid)


# ---- the whole catalogue ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_catalogue_export_parses_and_conforms_to_dcat_ap_shapes_and_ranges(
    catalogue, member_client, dcat_ap_shapes, fmt
):
    graph = parsed(member_client.get(EXPORT.format(fmt=fmt)), fmt)
    assert (linked_data.catalogue_uri(), RDF.type, DCAT.Catalog) in graph
    conforms, report = conformance(graph, dcat_ap_shapes)
    assert conforms, report


def test_the_shapes_catch_a_catalogue_without_a_publisher(catalogue, member_client, dcat_ap_shapes):
    graph = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    graph.remove((linked_data.catalogue_uri(), DCT.publisher, None))
    assert not conformance(graph, dcat_ap_shapes)[0]


def test_the_shapes_catch_a_theme_that_does_not_state_its_type(
    catalogue, member_client, dcat_ap_shapes
):
    graph = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    graph.remove((linked_data.catalogue_uri(), DCAT.themeTaxonomy, None))
    scheme = URIRef(f"{settings.CATALOGUE_BASE_URI}vocabularies/regulatory-processes")
    graph.add((linked_data.catalogue_uri(), DCAT.themeTaxonomy, URIRef(f"{scheme}-untyped")))
    assert not conformance(graph, dcat_ap_shapes)[0]


def test_jsonld_and_turtle_exports_hold_the_same_graph(catalogue, member_client):
    as_jsonld = parsed(member_client.get(EXPORT.format(fmt="jsonld")), "jsonld")
    as_turtle = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    assert len(as_jsonld) > 300
    assert isomorphic(as_jsonld, as_turtle)


def test_anonymous_readers_get_only_public_records(catalogue, anon_client):
    graph = parsed(anon_client.get(EXPORT.format(fmt="jsonld")), "jsonld")
    public = {iri_of(uc) for uc in catalogue if uc.publication_level == "public"}
    assert public and resources(graph) == public


def test_network_members_get_network_and_public_records(catalogue, member_client):
    graph = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    shared = {iri_of(uc) for uc in catalogue if uc.publication_level in ("public", "network")}
    assert resources(graph) == shared
    drafts = {iri_of(uc) for uc in catalogue if uc.publication_level in ("draft", "internal")}
    assert drafts and not drafts & set(graph.subjects())


def test_the_general_purpose_model_a_network_tier_fact_reaches_members_only(
    catalogue, anon_client, member_client
):
    anonymous = parsed(anon_client.get(EXPORT.format(fmt="ttl")), "ttl")
    member = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    assert not list(anonymous.triples((None, AI.hasGPAIModel, None)))
    models = list(member.triples((None, AI.hasGPAIModel, None)))
    assert models
    titles = {str(t) for _, _, m in models for t in member.objects(m, DCT.title)}
    assert titles == {"Example LLM 1.0"}


def test_the_export_applies_the_catalogue_filters(catalogue, member_client):
    graph = parsed(member_client.get(EXPORT.format(fmt="jsonld") + "?stage=production"), "jsonld")
    expected = {
        iri_of(uc)
        for uc in catalogue
        if uc.stage == "production" and uc.publication_level in ("public", "network")
    }
    assert expected and resources(graph) == expected


def test_a_bad_filter_is_a_problem_body(catalogue, anon_client):
    response = anon_client.get(EXPORT.format(fmt="ttl") + "?stage=nonsense")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "stage" in response.json()["errors"]


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_the_export_streams_the_records_a_batch_at_a_time(
    catalogue, member_client, monkeypatch, fmt
):
    monkeypatch.setattr(linked_data, "BATCH_RECORDS", 4)
    response = member_client.get(EXPORT.format(fmt=fmt))
    assert response.streaming
    assert response["Content-Type"].startswith(linked_data.CONTENT_TYPES[fmt].split(";")[0])
    chunks = list(response.streaming_content)
    shared = [uc for uc in catalogue if uc.publication_level in ("public", "network")]
    # The head, one chunk per batch of 4, and (JSON-LD) the closing bracket.
    assert len(chunks) >= 1 + len(shared) // 4
    graph = Graph().parse(data=b"".join(chunks), format=RDFLIB_FORMATS[fmt])
    assert len(resources(graph)) == len(shared)


def test_the_jsonld_export_is_one_document_with_the_context_stated_once(catalogue, anon_client):
    document = json.loads(body_of(anon_client.get(EXPORT.format(fmt="jsonld"))))
    assert set(document) == {"@context", "@graph"}
    assert document["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert not any("@context" in node for node in document["@graph"])


def test_an_empty_catalogue_is_still_a_valid_catalogue(agencies, anon_client, dcat_ap_shapes):
    for fmt in ("jsonld", "ttl"):
        graph = parsed(anon_client.get(EXPORT.format(fmt=fmt)), fmt)
        assert resources(graph) == set()
        assert conformance(graph, dcat_ap_shapes)[0]


# ---- one use case -----------------------------------------------------------------------------


def record_url(use_case, fmt: str) -> str:
    return f"/api/v1/use-cases/{use_case.origin_id}/{use_case.uid}.{fmt}"


def test_one_use_case_in_both_formats_is_the_same_conforming_graph(
    catalogue, anon_client, dcat_ap_shapes
):
    use_case = next(uc for uc in catalogue if uc.publication_level == "public")
    as_jsonld = parsed(anon_client.get(record_url(use_case, "jsonld")), "jsonld")
    as_turtle = parsed(anon_client.get(record_url(use_case, "ttl")), "ttl")
    assert isomorphic(as_jsonld, as_turtle)
    assert resources(as_turtle) == {iri_of(use_case)}
    conforms, report = conformance(as_turtle, dcat_ap_shapes)
    assert conforms, report


def test_one_use_case_answers_in_its_media_type(catalogue, anon_client):
    use_case = next(uc for uc in catalogue if uc.publication_level == "public")
    assert anon_client.get(record_url(use_case, "jsonld"))["Content-Type"] == (
        "application/ld+json"
    )
    assert anon_client.get(record_url(use_case, "ttl"))["Content-Type"].startswith("text/turtle")


@pytest.mark.parametrize("level", ["network", "internal", "draft"])
def test_a_use_case_anonymous_readers_may_not_see_is_not_found(catalogue, anon_client, level):
    use_case = next(uc for uc in catalogue if uc.publication_level == level)
    response = anon_client.get(record_url(use_case, "ttl"))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_network_record_is_served_to_members(catalogue, member_client):
    use_case = next(uc for uc in catalogue if uc.publication_level == "network")
    graph = parsed(member_client.get(record_url(use_case, "jsonld")), "jsonld")
    assert (iri_of(use_case), RDF.type, DCAT.Resource) in graph


def test_the_ai_act_facts_use_the_dpv_terms(agencies, anon_client):
    use_case = UseCaseFactory(
        origin=agencies[1],
        publication_level="public",
        ai_act_risk="high",
        ai_act_justification="Bears on decisions about products.",
        human_oversight="human_in_the_loop",
        ai_act_role="provider_and_deployer",
        regulatory_processes=["pharmacovigilance", "shortages"],
        techniques=["machine_learning", "nlp", "other"],
        personal_data="special_category",
        dpia_status="done",
        purpose="Rank case reports for assessors.",
        language="de",
        title="Signalerkennung",
        title_en="Signal detection",
    )
    graph = parsed(anon_client.get(record_url(use_case, "ttl")), "ttl")
    uri = iri_of(use_case)
    assert (uri, RDF.type, EU_AIACT.AISystem) in graph
    assert set(graph.objects(uri, EU_AIACT.hasRiskLevel)) == {EU_AIACT.RiskLevelHigh}
    roles = {graph.value(a, DCAT.hadRole) for a in graph.objects(uri, PROV.qualifiedAttribution)}
    assert roles == {EU_AIACT.AIProvider, EU_AIACT.AIDeployer}
    agents = {graph.value(a, PROV.agent) for a in graph.objects(uri, PROV.qualifiedAttribution)}
    assert agents == {linked_data.agency_uri("DE-BFARM")} == set(graph.objects(uri, DCT.publisher))
    themes = {str(t).rsplit("#", 1)[1] for t in graph.objects(uri, DCAT.theme)}
    assert themes == {"pharmacovigilance", "shortages"}
    assert set(graph.objects(uri, AI.hasTechnique)) == {AI.MachineLearning}
    assert set(graph.objects(uri, AI.hasCapability)) == {AI.NaturalLanguageProcessing}
    purpose = graph.value(predicate=AI.hasAISystem, object=uri)
    assert (purpose, RDF.type, EU_AIACT.IntendedPurpose) in graph
    assert graph.value(purpose, DCT.description) == Literal(
        "Rank case reports for assessors.", lang="de"
    )
    data = graph.value(uri, AI.hasData)
    assert str(graph.value(data, DCT.type)).endswith("/vocabularies/personal-data#special_category")
    assert set(graph.objects(uri, DCT.title)) == {
        Literal("Signalerkennung", lang="de"),
        Literal("Signal detection", lang="en"),
    }
    language = URIRef("http://publications.europa.eu/resource/authority/language/DEU")
    assert set(graph.objects(uri, DCT.language)) == {language}


def test_a_risk_class_not_assessed_states_no_risk_level(agencies, anon_client):
    use_case = UseCaseFactory(
        origin=agencies[0], publication_level="public", ai_act_risk="not_assessed"
    )
    graph = parsed(anon_client.get(record_url(use_case, "ttl")), "ttl")
    assert not list(graph.objects(iri_of(use_case), EU_AIACT.hasRiskLevel))


def test_iris_stand_under_the_catalogue_base_uri(catalogue, anon_client, settings):
    settings.CATALOGUE_BASE_URI = "https://registry.example.eu/ai/"
    graph = parsed(anon_client.get(EXPORT.format(fmt="ttl")), "ttl")
    catalogue_iri = URIRef("https://registry.example.eu/ai/")
    assert (catalogue_iri, RDF.type, DCAT.Catalog) in graph
    use_case = next(uc for uc in catalogue if uc.publication_level == "public")
    expected = URIRef(
        f"https://registry.example.eu/ai/use-cases/{use_case.origin_id}/{use_case.uid}"
    )
    assert expected in set(graph.objects(catalogue_iri, DCAT.resource))


# ---- types and vocabularies -------------------------------------------------------------------

# Values of these properties are addresses (a mailbox, a web page of a contact), not resources.
ADDRESS_PROPERTIES = {VCARD.hasEmail, VCARD.hasURL}


def test_every_linked_resource_states_its_type(catalogue, member_client):
    graph = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    untyped = {
        (p, o)
        for _, p, o in graph
        if isinstance(o, URIRef)
        and p != RDF.type
        and p not in ADDRESS_PROPERTIES
        and graph.value(o, RDF.type) is None
    }
    assert not untyped


def dpv_iris(graph: Graph) -> set[URIRef]:
    namespaces = (str(AI), str(EU_AIACT))
    return {
        term
        for triple in graph
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(namespaces)
    }


def test_every_dpv_term_emitted_is_defined_in_the_shipped_vocabularies(
    catalogue, member_client, dpv_vocabularies
):
    graph = parsed(member_client.get(EXPORT.format(fmt="ttl")), "ttl")
    emitted = dpv_iris(graph)
    assert {AI.hasGPAIModel, EU_AIACT.hasRiskLevel, AI.hasData} <= emitted
    undefined = {term for term in emitted if (term, RDF.type, None) not in dpv_vocabularies}
    assert not undefined


def test_every_dpv_term_the_mappings_can_emit_is_defined_in_the_shipped_vocabularies(
    dpv_vocabularies,
):
    undefined = {term for term in DPV_TERMS if (term, RDF.type, None) not in dpv_vocabularies}
    assert not undefined


def test_dpv_concepts_carry_the_labels_of_the_shipped_vocabularies(dpv_vocabularies):
    for concept, label in DPV_CONCEPTS.items():
        assert Literal(label, lang="en") in set(dpv_vocabularies.objects(concept, SKOS.prefLabel))


def test_the_dpv_term_check_would_catch_a_term_the_files_do_not_define(dpv_vocabularies):
    assert (EU_AIACT.RiskLevelLimited, RDF.type, None) not in dpv_vocabularies
    assert (URIRef("https://w3id.org/dpv#hasPurpose"), RDF.type, None) not in dpv_vocabularies


# ---- the concept schemes ----------------------------------------------------------------------


def test_the_regulatory_process_scheme_lists_every_process_with_its_label(client):
    response = client.get("/vocabularies/regulatory-processes")
    assert response["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=response.content, format="turtle")
    scheme = URIRef(f"{settings.CATALOGUE_BASE_URI}vocabularies/regulatory-processes")
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    concepts = set(graph.objects(scheme, SKOS.hasTopConcept))
    labels = {
        str(graph.value(c, SKOS.notation)): str(graph.value(c, SKOS.prefLabel)) for c in concepts
    }
    assert labels == {code: str(label) for code, label in v.RegulatoryProcess.choices}
    assert all((c, SKOS.inScheme, scheme) in graph for c in concepts)


def test_the_scheme_answers_jsonld_when_asked(client):
    negotiated = client.get("/vocabularies/regulatory-processes", HTTP_ACCEPT="application/ld+json")
    suffixed = client.get("/vocabularies/regulatory-processes.jsonld")
    for response in (negotiated, suffixed):
        assert response["Content-Type"] == "application/ld+json"
    as_jsonld = Graph().parse(data=suffixed.content, format="json-ld")
    turtle = client.get("/vocabularies/regulatory-processes.ttl").content
    assert isomorphic(as_jsonld, Graph().parse(data=turtle, format="turtle"))


@pytest.mark.parametrize(
    "path", ["/vocabularies/no-such-scheme", "/vocabularies/regulatory-processes.xml"]
)
def test_an_unknown_scheme_or_format_is_not_found(client, path):
    assert client.get(path).status_code == 404


def test_the_pages_link_the_linked_data(catalogue, client):
    use_case = next(uc for uc in catalogue if uc.publication_level == "public")
    page = client.get(f"/use-cases/{use_case.origin_id}/{use_case.uid}/").content.decode()
    assert record_url(use_case, "jsonld") in page and record_url(use_case, "ttl") in page
    home = client.get("/?stage=production").content.decode()
    assert "/api/v1/use-cases/export.jsonld?stage=production" in home
    assert "/api/v1/use-cases/export.ttl?stage=production" in home
