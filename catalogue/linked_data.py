"""The catalogue as linked data: JSON-LD and Turtle built with rdflib (docs/linked-data.md).

The network's catalogue is a DCAT-AP 3 `dcat:Catalog` published by this node's agency; each use
case is a `dcat:Resource` (none of DCAT's subclasses, dataset, data service, series, catalogue,
fits an AI system) and an `eu-aiact:AISystem`, published by its origin agency, themed by the
regulatory-process concept scheme (/vocabularies/regulatory-processes). Every linked resource
states its type, so the export conforms to DCAT-AP's shapes.ttl and range.ttl.

IRIs stand under settings.CATALOGUE_BASE_URI, the same on every node of a network, so a use case
has one IRI wherever it is read:
    {base}                                    the catalogue
    {base}use-cases/{origin}/{uid}            a use case (#purpose, #data, #provider, ... its parts)
    {base}agencies/{code}                     an agency
    {base}vocabularies/{scheme}#{code}        a concept of a published scheme

Visibility is the caller's: `fields` is selectors.visible_fields(user=...), so the N-tier facts
(the general-purpose AI model) appear only for members of the network.

The whole-catalogue export streams: a head (the catalogue, the agencies, the schemes), then the
records a batch at a time, each batch its own small graph serialised on its own, so memory stays
flat however many records there are (export_chunks).
"""

import datetime as dt
import json
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.serializers.jsonld import from_rdf

from catalogue.linked_vocabularies import (
    AI,
    DPV_CONCEPTS,
    EU_AIACT,
    EU_LANGUAGE,
    EU_LANGUAGES,
    ISO639_1,
    PERSONAL_DATA,
    PREFIXES,
    RISK_LEVELS,
    ROLES,
    SCHEMES,
    TECHNIQUES,
    THEMES,
    ConceptScheme,
)
from registry import reference
from registry.models import Agency, UseCase

DCAT, DCT, FOAF, PROV = PREFIXES["dcat"], PREFIXES["dct"], PREFIXES["foaf"], PREFIXES["prov"]
RDF, SKOS, VCARD, XSD = PREFIXES["rdf"], PREFIXES["skos"], PREFIXES["vcard"], PREFIXES["xsd"]

JSONLD = "jsonld"
TURTLE = "ttl"
CONTENT_TYPES = {JSONLD: "application/ld+json", TURTLE: "text/turtle; charset=utf-8"}
CONTEXT = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
BATCH_RECORDS = 200
CATALOGUE_TITLE = "AI use cases of the European medicines regulatory network"
CATALOGUE_DESCRIPTION = (
    "The AI tools the agencies of the European medicines regulatory network run: purpose, "
    "lifecycle stage, EU AI Act risk class and role, personal data, as this node sees them."
)
NOT_IN_IRI = set(' <>"{}|\\^`\t\r\n')
RELATION_PROPERTIES = {
    "supersedes": DCT.replaces,
    "derived_from": PROV.wasDerivedFrom,
    "duplicate_of": DCT.relation,
    "same_product": DCT.relation,
}


# ---- IRIs -------------------------------------------------------------------------------------


def base_uri() -> str:
    return settings.CATALOGUE_BASE_URI


def catalogue_uri() -> URIRef:
    return URIRef(base_uri())


def use_case_uri(origin: str, uid) -> URIRef:
    return URIRef(f"{base_uri()}use-cases/{origin}/{uid}")


def agency_uri(code: str) -> URIRef:
    return URIRef(f"{base_uri()}agencies/{code}")


def scheme_uri(scheme: ConceptScheme) -> URIRef:
    return URIRef(f"{base_uri()}vocabularies/{scheme.name}")


def concept_uri(scheme: ConceptScheme, code: str) -> URIRef:
    return URIRef(f"{scheme_uri(scheme)}#{code}")


def language_uri(code: str) -> URIRef:
    if code in EU_LANGUAGES:
        return EU_LANGUAGE[EU_LANGUAGES[code]]
    return ISO639_1[code]


# ---- graphs -----------------------------------------------------------------------------------


def new_graph() -> Graph:
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, replace=True)
    return graph


def add_scheme(graph: Graph, scheme: ConceptScheme) -> None:
    """The scheme and each of its values with its English label."""
    uri = scheme_uri(scheme)
    graph.add((uri, RDF.type, SKOS.ConceptScheme))
    graph.add((uri, DCT.title, Literal(scheme.title, lang="en")))
    graph.add((uri, SKOS.prefLabel, Literal(scheme.title, lang="en")))
    with translation.override("en"):
        for code, label in scheme.choices.choices:
            concept = concept_uri(scheme, code)
            graph.add((concept, RDF.type, SKOS.Concept))
            graph.add((concept, SKOS.prefLabel, Literal(str(label), lang="en")))
            graph.add((concept, SKOS.notation, Literal(code)))
            graph.add((concept, SKOS.inScheme, uri))
            graph.add((concept, SKOS.topConceptOf, uri))
            graph.add((uri, SKOS.hasTopConcept, concept))


def scheme_graph(scheme: ConceptScheme) -> Graph:
    graph = new_graph()
    add_scheme(graph, scheme)
    return graph


def add_agency(graph: Graph, code: str, name: str) -> None:
    uri = agency_uri(code)
    graph.add((uri, RDF.type, FOAF.Agent))
    graph.add((uri, RDF.type, FOAF.Organization))
    graph.add((uri, FOAF.name, Literal(name)))
    graph.add((uri, DCT.identifier, Literal(code)))


def head_graph(agencies: Iterable[Agency]) -> Graph:
    """The catalogue, its publisher (this node's agency), the given agencies, the concept
    schemes and the DPV concepts the records point at, each with its type."""
    graph = new_graph()
    catalogue = catalogue_uri()
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCT.title, Literal(CATALOGUE_TITLE, lang="en")))
    graph.add((catalogue, DCT.description, Literal(CATALOGUE_DESCRIPTION, lang="en")))
    graph.add((catalogue, DCT.publisher, agency_uri(settings.NODE_AGENCY)))
    graph.add((catalogue, DCAT.themeTaxonomy, scheme_uri(THEMES)))
    node = Agency.objects.filter(code=settings.NODE_AGENCY).first()
    add_agency(graph, settings.NODE_AGENCY, node.name if node else settings.NODE_AGENCY)
    for agency in agencies:
        add_agency(graph, agency.code, agency.name)
    for scheme in SCHEMES.values():
        add_scheme(graph, scheme)
    for concept, label in DPV_CONCEPTS.items():
        graph.add((concept, RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.prefLabel, Literal(label, lang="en")))
    for roles in ROLES.values():
        for role in roles:
            graph.add((role, RDF.type, DCAT.Role))
    return graph


def add_use_case(graph: Graph, use_case: UseCase, *, fields: tuple[str, ...]) -> None:
    """The use case's triples: DCAT-AP for the catalogue entry, DPV for the AI system."""
    uri = use_case_uri(use_case.origin_id, use_case.uid)
    graph.add((catalogue_uri(), DCAT.resource, uri))
    graph.add((uri, RDF.type, DCAT.Resource))
    graph.add((uri, RDF.type, EU_AIACT.AISystem))
    graph.add((uri, DCT.identifier, Literal(f"{use_case.origin_id}/{use_case.uid}")))
    graph.add((uri, DCT.publisher, agency_uri(use_case.origin_id)))
    graph.add((uri, DCAT.version, Literal(str(use_case.version))))
    graph.add(
        (uri, DCT.modified, Literal(use_case.modified.astimezone(dt.UTC), datatype=XSD.dateTime))
    )
    if use_case.is_reference:
        _add_reference(graph, uri, use_case)
    _add_texts(graph, uri, use_case)
    _add_links(graph, uri, use_case)
    _add_ai_act(graph, uri, use_case)
    _add_ai_facts(graph, uri, use_case, fields=fields)


def _add_reference(graph: Graph, uri: URIRef, use_case: UseCase) -> None:
    """A reference register's record (registry.reference): the register publishes it, like any
    origin; the body that runs the system is its dct:creator, the register's site its source."""
    organisation = BNode()
    graph.add((organisation, RDF.type, FOAF.Organization))
    graph.add((organisation, FOAF.name, Literal(use_case.business_unit)))
    graph.add((uri, DCT.creator, organisation))
    register = reference.register_for(use_case.origin_id)
    if register is not None:
        graph.add((uri, DCT.source, URIRef(register.url)))


def _add_texts(graph: Graph, uri: URIRef, use_case: UseCase) -> None:
    lang = use_case.language or None
    graph.add((uri, DCT.title, Literal(use_case.title, lang=lang)))
    if use_case.title_en and use_case.language != "en":
        graph.add((uri, DCT.title, Literal(use_case.title_en, lang="en")))
    if use_case.summary:
        graph.add((uri, DCT.description, Literal(use_case.summary, lang=lang)))
    for tag in use_case.tags or []:
        graph.add((uri, DCAT.keyword, Literal(tag, lang=lang)))
    if use_case.language:
        language = language_uri(use_case.language)
        graph.add((uri, DCT.language, language))
        graph.add((language, RDF.type, DCT.LinguisticSystem))


def _add_links(graph: Graph, uri: URIRef, use_case: UseCase) -> None:
    page = URIRef(f"{uri}/")
    graph.add((uri, DCAT.landingPage, page))
    graph.add((page, RDF.type, FOAF.Document))
    for code in use_case.regulatory_processes or []:
        graph.add((uri, DCAT.theme, concept_uri(THEMES, code)))
    for url in (use_case.eu_database_ref, use_case.code_url):
        if _is_iri(url):
            graph.add((uri, FOAF.page, URIRef(url)))
            graph.add((URIRef(url), RDF.type, FOAF.Document))
    contact = _contact(use_case.contact_email)
    if contact is not None:
        point = URIRef(f"{uri}#contact")
        graph.add((uri, DCAT.contactPoint, point))
        graph.add((point, RDF.type, VCARD.Kind))
        graph.add((point, *contact))
    for link in use_case.related or []:
        other = use_case_uri(link["origin"], link["uid"])
        graph.add((uri, RELATION_PROPERTIES.get(link["kind"], DCT.relation), other))
        graph.add((other, RDF.type, DCAT.Resource))


def _is_iri(value: str) -> bool:
    """An absolute http(s) URL that Turtle and JSON-LD can carry as an IRI as it is."""
    return bool(value) and value.startswith(("https://", "http://")) and not NOT_IN_IRI & set(value)


def _contact(value: str) -> tuple[URIRef, URIRef] | None:
    """A mailbox, or the contact page some imported records give instead."""
    value = (value or "").strip()
    if _is_iri(value):
        return VCARD.hasURL, URIRef(value)
    if "@" in value and not NOT_IN_IRI & set(value):
        return VCARD.hasEmail, URIRef(f"mailto:{value}")
    return None


def _add_ai_act(graph: Graph, uri: URIRef, use_case: UseCase) -> None:
    """Risk level, and the origin agency's role(s) as qualified attributions."""
    if use_case.ai_act_risk in RISK_LEVELS:
        graph.add((uri, EU_AIACT.hasRiskLevel, RISK_LEVELS[use_case.ai_act_risk]))
    for role in ROLES.get(use_case.ai_act_role, ()):
        attribution = URIRef(f"{uri}#{role.fragment}")
        graph.add((uri, PROV.qualifiedAttribution, attribution))
        graph.add((attribution, RDF.type, PROV.Attribution))
        graph.add((attribution, PROV.agent, agency_uri(use_case.origin_id)))
        graph.add((attribution, DCAT.hadRole, role))


def _add_ai_facts(graph: Graph, uri: URIRef, use_case: UseCase, *, fields) -> None:
    """Techniques, the intended purpose (a context that uses the system), the data it
    processes typed by the personal-data scheme, and (N tier) its general-purpose model."""
    for code in use_case.techniques or []:
        if code in TECHNIQUES:
            prop, concept = TECHNIQUES[code]
            graph.add((uri, prop, concept))
    if use_case.purpose:
        purpose = URIRef(f"{uri}#purpose")
        graph.add((purpose, RDF.type, EU_AIACT.IntendedPurpose))
        graph.add((purpose, AI.hasAISystem, uri))
        lang = use_case.language or None
        graph.add((purpose, DCT.description, Literal(use_case.purpose, lang=lang)))
    if use_case.personal_data:
        data = URIRef(f"{uri}#data")
        graph.add((uri, AI.hasData, data))
        graph.add((data, RDF.type, AI.Data))
        graph.add((data, DCT.type, concept_uri(PERSONAL_DATA, use_case.personal_data)))
    if "uses_gpai" in fields and use_case.uses_gpai:
        model = URIRef(f"{uri}#gpai-model")
        graph.add((uri, AI.hasGPAIModel, model))
        graph.add((model, RDF.type, AI.GPAIModel))
        if use_case.gpai_model:
            graph.add((model, DCT.title, Literal(use_case.gpai_model)))


def use_case_graph(use_case: UseCase, *, fields: tuple[str, ...]) -> Graph:
    """One use case with the catalogue head it needs (its agency), a document of its own."""
    graph = head_graph([use_case.origin])
    add_use_case(graph, use_case, fields=fields)
    return graph


# ---- serialisation ----------------------------------------------------------------------------


def jsonld_nodes(graph: Graph) -> list[dict]:
    """The graph's node objects, compacted against CONTEXT (which the document states once)."""
    document = from_rdf(graph, context_data=CONTEXT, auto_compact=True)
    document.pop("@context", None)
    return document.get("@graph", [document] if document else [])


def turtle_body(graph: Graph) -> str:
    """The graph's Turtle without its @prefix lines (the document states PREFIXES once)."""
    text = graph.serialize(format="turtle")
    return "".join(line for line in text.splitlines(True) if not line.startswith("@prefix"))


def turtle_prefixes() -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n"


def document(graph: Graph, fmt: str) -> str:
    if fmt == JSONLD:
        return json.dumps({"@context": CONTEXT, "@graph": jsonld_nodes(graph)}, default=str)
    return turtle_prefixes() + turtle_body(graph)


def export_chunks(rows, *, fields: tuple[str, ...], fmt: str) -> Iterator[str]:
    """The catalogue of rows (a queryset) as one JSON-LD or Turtle document, streamed: the head,
    then BATCH_RECORDS records at a time read through a server-side cursor, each batch a graph
    of its own serialised on its own. In JSON-LD the batches' node objects are items of the one
    top-level @graph array; node objects sharing an @id (the catalogue's dcat:resource links)
    merge when the document is expanded, so the whole stays one valid JSON-LD document."""
    head = head_graph(Agency.objects.order_by("code"))
    if fmt == JSONLD:
        yield from _jsonld_chunks(head, rows, fields=fields)
    else:
        yield turtle_prefixes() + turtle_body(head)
        for graph in _batches(rows, fields=fields):
            yield turtle_body(graph)


def _jsonld_chunks(head: Graph, rows, *, fields) -> Iterator[str]:
    nodes = [json.dumps(node, default=str) for node in jsonld_nodes(head)]
    yield '{"@context": ' + json.dumps(CONTEXT) + ', "@graph": [\n' + ",\n".join(nodes)
    for graph in _batches(rows, fields=fields):
        nodes = [json.dumps(node, default=str) for node in jsonld_nodes(graph)]
        yield "".join(",\n" + node for node in nodes)
    yield "\n]}\n"


def _batches(rows, *, fields) -> Iterator[Graph]:
    graph, count = new_graph(), 0
    for use_case in rows.iterator(chunk_size=BATCH_RECORDS * 2):
        add_use_case(graph, use_case, fields=fields)
        count += 1
        if count == BATCH_RECORDS:
            yield graph
            graph, count = new_graph(), 0
    if count:
        yield graph


# ---- the concept schemes' page ----------------------------------------------------------------


def concept_scheme(request: HttpRequest, name: str, fmt: str | None = None) -> HttpResponse:
    """/vocabularies/<name>[.jsonld|.ttl]: a published concept scheme, the document its concept
    IRIs (…/vocabularies/<name>#<code>) resolve to. Without a suffix, `Accept:
    application/ld+json` gets JSON-LD and anything else Turtle. Public, like the codes."""
    scheme = SCHEMES.get(name)
    if scheme is None or fmt not in (None, JSONLD, TURTLE):
        raise Http404("No such vocabulary.")
    if fmt is None:
        fmt = JSONLD if "application/ld+json" in request.headers.get("Accept", "") else TURTLE
    response = HttpResponse(document(scheme_graph(scheme), fmt), content_type=CONTENT_TYPES[fmt])
    response["Vary"] = "Accept"
    return response
