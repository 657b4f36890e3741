"""The terms the linked-data exports (catalogue.linked_data) use, and how the record's codes map
onto them.

DCAT-AP 3 describes the catalogue; the AI system's facts use the W3C Data Privacy Vocabulary's
AI extension (`ai:`) and EU AI Act extension (`eu-aiact:`), version 2.3. Only terms defined in
the two shipped files (../shared/standards/dpv/2.3/ai.ttl and eu-aiact.ttl) are used: they import
nothing, so DPV core (`dpv:hasPurpose`, `dpv:PersonalData`, ...) is out of reach and the record's
purpose and personal data are expressed with what the extensions define (docs/linked-data.md).
"""

from dataclasses import dataclass

from django.db import models
from rdflib import Namespace

from registry import vocabularies as v

AI = Namespace("https://w3id.org/dpv/ai#")
EU_AIACT = Namespace("https://w3id.org/dpv/legal/eu/aiact#")
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
ISO639_1 = Namespace("http://id.loc.gov/vocabulary/iso639-1/")

# Prefixes of both serialisations: the JSON-LD @context and the Turtle @prefix lines.
PREFIXES: dict[str, Namespace] = {
    prefix: Namespace(iri)
    for prefix, iri in (
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
        ("xsd", "http://www.w3.org/2001/XMLSchema#"),
        ("dcat", "http://www.w3.org/ns/dcat#"),
        ("dct", "http://purl.org/dc/terms/"),
        ("foaf", "http://xmlns.com/foaf/0.1/"),
        ("prov", "http://www.w3.org/ns/prov#"),
        ("skos", "http://www.w3.org/2004/02/skos/core#"),
        ("vcard", "http://www.w3.org/2006/vcard/ns#"),
        ("ai", str(AI)),
        ("eu-aiact", str(EU_AIACT)),
    )
}

# ai_act_risk: "limited" is the AI Act's transparency-obligations tier; not_assessed says nothing.
RISK_LEVELS = {
    v.AiActRisk.PROHIBITED: EU_AIACT.RiskLevelProhibited,
    v.AiActRisk.HIGH: EU_AIACT.RiskLevelHigh,
    v.AiActRisk.LIMITED: EU_AIACT.RiskLevelTransparencyRequired,
    v.AiActRisk.MINIMAL: EU_AIACT.RiskLevelMinimal,
}

# ai_act_role: the origin agency's role(s), as a prov:Attribution's dcat:hadRole.
ROLES = {
    v.AiActRole.PROVIDER: (EU_AIACT.AIProvider,),
    v.AiActRole.DEPLOYER: (EU_AIACT.AIDeployer,),
    v.AiActRole.PROVIDER_AND_DEPLOYER: (EU_AIACT.AIProvider, EU_AIACT.AIDeployer),
}

# techniques: DPV-AI sorts these into techniques, capabilities and kinds of AI, each with its
# own property; agentic and other have no fitting term.
TECHNIQUES = {
    v.Technique.MACHINE_LEARNING: (AI.hasTechnique, AI.MachineLearning),
    v.Technique.OPTIMISATION: (AI.hasTechnique, AI.OptimisationMethod),
    v.Technique.RULE_BASED: (AI.hasTechnique, AI.RuleBasedTechnique),
    v.Technique.SPEECH: (AI.hasTechnique, AI.AudioProcessing),
    v.Technique.NLP: (AI.hasCapability, AI.NaturalLanguageProcessing),
    v.Technique.COMPUTER_VISION: (AI.hasCapability, AI.ComputerVision),
    v.Technique.GENERATIVE_LLM: (AI.hasAI, AI.GenAI),
    v.Technique.AGENTIC: (AI.hasAI, AI.AIAgent),
}

# Every DPV term the exports can emit (tests check each against the shipped files).
DPV_CLASSES = (EU_AIACT.AISystem, EU_AIACT.IntendedPurpose, AI.Data, AI.GPAIModel)
DPV_PROPERTIES = (EU_AIACT.hasRiskLevel, AI.hasAISystem, AI.hasData, AI.hasGPAIModel)
# The DPV concepts the records point at, with the English skos:prefLabel of the shipped files
# (the catalogue's head repeats them: DCAT-AP wants a label on every skos:Concept).
DPV_CONCEPTS = {
    EU_AIACT.RiskLevelProhibited: "Risk Level - Prohibited",
    EU_AIACT.RiskLevelHigh: "Risk Level - High",
    EU_AIACT.RiskLevelTransparencyRequired: "Risk Level - Transparency Required",
    EU_AIACT.RiskLevelMinimal: "Risk Level - Minimal",
    EU_AIACT.AIProvider: "AI Provider",
    EU_AIACT.AIDeployer: "AI Deployer",
    AI.MachineLearning: "Machine Learning",
    AI.OptimisationMethod: "Optimisation Method",
    AI.RuleBasedTechnique: "Rule Technique",
    AI.AudioProcessing: "Audio Processing",
    AI.NaturalLanguageProcessing: "Natural Language Processing",
    AI.ComputerVision: "Computer Vision",
    AI.GenAI: "Generative AI",
    AI.AIAgent: "AI Agent",
}
DPV_TERMS = (
    *DPV_CLASSES,
    *DPV_PROPERTIES,
    *DPV_CONCEPTS,
    *{prop for prop, _ in TECHNIQUES.values()},
)

# ISO 639-1 to the EU Publications Office language table DCAT-AP recommends (EU and EEA
# languages); any other language gets the Library of Congress ISO 639-1 IRI.
EU_LANGUAGES = {
    "bg": "BUL", "cs": "CES", "da": "DAN", "de": "DEU", "el": "ELL", "en": "ENG", "es": "SPA",
    "et": "EST", "fi": "FIN", "fr": "FRA", "ga": "GLE", "hr": "HRV", "hu": "HUN", "is": "ISL",
    "it": "ITA", "lt": "LIT", "lv": "LAV", "mt": "MLT", "nl": "NLD", "no": "NOR", "pl": "POL",
    "pt": "POR", "ro": "RON", "sk": "SLK", "sl": "SLV", "sv": "SWE",
}  # fmt: skip


@dataclass(frozen=True)
class ConceptScheme:
    """A record enumeration published as a SKOS concept scheme at /vocabularies/<name>."""

    name: str
    title: str
    choices: type[models.TextChoices]


SCHEMES = {
    scheme.name: scheme
    for scheme in (
        ConceptScheme(
            "regulatory-processes",
            "Regulatory processes of the European medicines regulatory network",
            v.RegulatoryProcess,
        ),
        ConceptScheme(
            "personal-data",
            "Personal data an AI use case of the network processes",
            v.PersonalData,
        ),
    )
}
THEMES = SCHEMES["regulatory-processes"]
PERSONAL_DATA = SCHEMES["personal-data"]
