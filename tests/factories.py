import datetime as dt

import factory
from django.conf import settings

from registry import vocabularies as v
from registry.models import Agency, UseCase, User


def valid_record(**overrides) -> dict:
    """A complete wire record (RECORD.md) that passes validation."""
    record = {
        "title": "Signal detection assistant for EudraVigilance",
        "title_en": "",
        "language": "en",
        "summary": "Ranks disproportionality signals so assessors review the strongest first.",
        "description": "Gradient-boosted model over EudraVigilance case counts.",
        "purpose": "Shorten the time from case arrival to signal validation.",
        "benefits": "Assessors screen 30% fewer false positives.",
        "outputs": ["prediction"],
        "regulatory_processes": ["pharmacovigilance"],
        "medicine_scope": "human",
        "workplan_area": "tools_technology",
        "business_unit": "Pharmacovigilance Office",
        "techniques": ["machine_learning"],
        "tags": ["signals"],
        "stage": "pilot",
        "started_on": "2025-03-01",
        "operational_since": None,
        "retired_on": None,
        "next_review_on": None,
        "ai_act_role": "deployer",
        "ai_act_risk": "minimal",
        "ai_act_justification": "",
        "uses_gpai": False,
        "gpai_model": "",
        "eu_database_ref": "",
        "affects_individuals": False,
        "personal_data": "pseudonymised",
        "dpia_status": "done",
        "legal_basis": "",
        "data_sources": ["EudraVigilance"],
        "human_oversight": "human_in_the_loop",
        "risks_and_mitigations": "",
        "monitoring": "",
        "sourcing": "in_house",
        "vendor": "",
        "product": "",
        "hosting": "on_premise",
        "code_url": "",
        "reusable": True,
        "contact_email": "ai-registry@example.europa.eu",
        "related": [],
        "publication_level": "network",
    }
    record.update(overrides)
    return record


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"XX-AG{n}")
    name = factory.LazyAttribute(lambda a: f"Agency {a.code}")
    country = "DE"
    kind = v.AgencyKind.HUMAN


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    agency = factory.SubFactory(AgencyFactory)
    password = factory.django.Password("correct-horse-battery")


class UseCaseFactory(factory.django.DjangoModelFactory):
    """A valid own record saved straight to the table (no version bump, no feed entry): use
    registry.services to exercise the real write path."""

    class Meta:
        model = UseCase

    origin = factory.LazyFunction(
        lambda: AgencyFactory(code=settings.NODE_AGENCY, name="Home agency", country="EU")
    )
    version = 1
    modified = factory.LazyFunction(lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        record = valid_record(publication_level="draft")
        record.update(kwargs)
        for name in ("started_on", "operational_since", "retired_on", "next_review_on"):
            if isinstance(record.get(name), str):
                record[name] = dt.date.fromisoformat(record[name])
        return record
