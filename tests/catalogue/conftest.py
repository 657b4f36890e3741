import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from registry import vocabularies as v
from tests.factories import AgencyFactory, UseCaseFactory, UserFactory

TITLES = [
    "Signal detection assistant for adverse reactions",
    "Translation of product information with a language model",
    "Inspection report summariser",
    "Clinical trial application triage",
    "Shortage prediction from supply data",
    "Chatbot for internal regulatory guidance",
]
LEVELS = ["public", "network", "public", "public", "draft", "internal"]
TECHNIQUES = [["nlp"], ["machine_learning", "nlp"], ["generative_llm"], ["computer_vision"]]
PROCESSES = [
    ["pharmacovigilance"],
    ["product_information", "communication_translation"],
    ["inspections"],
    ["clinical_trials", "scientific_advice"],
    ["shortages"],
]
RISKS = ["minimal", "limited", "high", "not_assessed"]
HOSTING = ["on_premise", "eu_cloud", "saas", "non_eu_cloud"]


@pytest.fixture(autouse=True)
def generous_throttle(settings):
    """Throttling is tested on its own; elsewhere it must not get in the way."""
    settings.API_ANON_THROTTLE = "100000/min"
    # Basic auth checks the password on every request: a slow hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agencies(db):
    return [
        AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU"),
        AgencyFactory(code="DE-BFARM", name="BfArM", country="DE"),
        AgencyFactory(code="FR-ANSM", name="ANSM", country="FR"),
        AgencyFactory(code="NL-CBG-MEB", name="CBG-MEB", country="NL"),
    ]


def catalogue_record(i: int, origin) -> dict:
    """The i-th record of the test catalogue: every field varies on its own cycle."""
    stage = v.Stage.values[i % len(v.Stage.values)]
    risk = RISKS[i % len(RISKS)]
    received = origin.code != settings.NODE_AGENCY
    return {
        "origin": origin,
        "title": f"{TITLES[i % len(TITLES)]} {i:02d}",
        "summary": f"Use case number {i} of the test catalogue.",
        "description": "Reads <b>documents</b> & extracts findings." if i % 2 else "",
        "publication_level": LEVELS[i % len(LEVELS)],
        "stage": stage,
        "operational_since": dt.date(2024, 1 + i % 12, 10) if stage == "production" else None,
        "retired_on": dt.date(2025, 6, 1) if stage == "retired" else None,
        "started_on": dt.date(2023, 1 + i % 12, 1),
        "ai_act_risk": risk,
        "ai_act_justification": "Bears on decisions about products." if risk == "high" else "",
        "ai_act_role": v.AiActRole.values[i % 3],
        "medicine_scope": v.MedicineScope.values[i % 4],
        "workplan_area": v.WorkplanArea.values[i % 4],
        "personal_data": v.PersonalData.values[i % 4],
        "dpia_status": None if i % 4 == 0 else v.DpiaStatus.values[i % 4],
        "human_oversight": v.HumanOversight.values[i % 3],
        "sourcing": v.Sourcing.values[i % 5],
        "hosting": HOSTING[i % 4],
        "techniques": TECHNIQUES[i % 4],
        "regulatory_processes": PROCESSES[i % 5],
        "outputs": ["prediction"] if i % 2 else ["extraction", "generated_content"],
        "tags": ["catalogue", f"t{i % 3}"],
        "uses_gpai": i % 2 == 0,
        "gpai_model": "Example LLM 1.0" if i % 2 == 0 else "",
        "risks_and_mitigations": f"Network-only risk note {i}.",
        "reusable": i % 3 == 0,
        "affects_individuals": i % 2 == 1,
        "modified": dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i, hours=i),
        "received_at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC) if received else None,
        "received_from": "EMRN-HUB" if received else "",
        "version": 1 + i % 3,
    }


@pytest.fixture
def catalogue(agencies):
    """30 use cases of four agencies (the home agency's own and received copies), every
    publication level included; returns the rows."""
    return [UseCaseFactory(**catalogue_record(i, agencies[i % 4])) for i in range(30)]


@pytest.fixture
def member(agencies):
    """An authenticated user of the network (any agency)."""
    return UserFactory(username="member", agency=agencies[1], is_staff=False)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def member_client(member):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth("member", "correct-horse-battery"))
    return client


def basic_auth(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
