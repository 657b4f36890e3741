"""Seed a demo node: the network's agencies, two logins and a few dozen use cases of the node's own
agency. Deterministic per agency code, so re-running changes nothing and each node of a demo
network shows its own records."""

import datetime as dt
import hashlib
import random
import uuid
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.password_validation import validate_password

from registry import services
from registry.demo.agencies import AGENCIES, DemoAgency, describe
from registry.demo.translations import LOCALISED
from registry.demo.use_cases import ASSESSMENT, PHARMACOVIGILANCE
from registry.demo.use_cases_operations import HIGH_RISK, INSPECTIONS_AND_SUPPLY, OPERATIONS
from registry.models import Agency, UseCase, User
from registry.validation import validate_record

TEMPLATES = [*PHARMACOVIGILANCE, *ASSESSMENT, *INSPECTIONS_AND_SUPPLY, *OPERATIONS, *HIGH_RISK]
DEMO_NAMESPACE = uuid.UUID("6f1d9a43-51a4-4c2e-9a39-3f0c8e1b7d20")
DEMO_PASSWORD = "registry-demo-2025"
SUPERUSER = "admin"
# (file in the data folder, registry.reference register key): imported on the hub only.
REFERENCE_REGISTERS = (
    ("us_omb_2025_individually_reported_AI_use_cases.csv", "us-omb-2025"),
    ("nl_minbzk_algoritmeregister_pub_data_2023-05.json", "nl-algorithm-register"),
)
LATEST_DEMO_DATE = dt.date(2025, 11, 1)  # demo dates stay in the past whenever the demo runs
LEVELS = (("public", 45), ("network", 35), ("internal", 10), ("draft", 10))


class Login(NamedTuple):
    username: str
    role: str
    created: bool
    password: str | None  # None: an existing user whose password was left alone


def demo_mailbox(code: str) -> str:
    return f"ai-registry@{code.lower()}.example.org"


def demo_uid(code: str, slug: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{code}/{slug}")


def default_data_dir() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "data"


def seed_agencies(node_code: str) -> tuple[int, int]:
    """Create the demo agencies (and this node's, when it is not one of them)."""
    agencies = list(AGENCIES)
    if node_code not in {a.code for a in agencies}:
        agencies.append(describe(node_code))
    created = 0
    for agency in agencies:
        _, new = Agency.objects.get_or_create(
            code=agency.code,
            defaults={"name": agency.name, "country": agency.country, "kind": agency.kind},
        )
        created += new
    return created, len(agencies) - created


def users_to_create(node_code: str) -> list[str]:
    names = [SUPERUSER, admin_username(node_code)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    return [name for name in names if name not in existing]


def admin_username(code: str) -> str:
    return f"{code.lower()}-admin"


def seed_users(node_code: str, *, password: str | None) -> list[Login]:
    """A superuser and an agency admin; existing users keep their password unless one is given."""
    logins = []
    superuser = User.objects.filter(username=SUPERUSER).first()
    if superuser is None or password:
        chosen = password or DEMO_PASSWORD
        created = superuser is None
        superuser = superuser or User(username=SUPERUSER, agency_id=node_code)
        validate_password(chosen, superuser)
        superuser.is_staff = superuser.is_superuser = superuser.is_active = True
        superuser.set_password(chosen)
        superuser.save()
        logins.append(Login(SUPERUSER, "superuser", created, chosen))
    else:
        logins.append(Login(SUPERUSER, "superuser", False, None))
    logins.append(_seed_agency_admin(node_code, password))
    return logins


def _seed_agency_admin(node_code: str, password: str | None) -> Login:
    username = admin_username(node_code)
    role = f"agency admin of {node_code}"
    if User.objects.filter(username=username).exists() and not password:
        return Login(username, role, False, None)
    chosen = password or DEMO_PASSWORD
    _, created = services.create_agency_admin(
        username=username, agency_code=node_code, email=demo_mailbox(node_code), password=chosen
    )
    return Login(username, role, created, chosen)


def seed_use_cases(node_code: str) -> tuple[int, int]:
    """The node's demo records, written through registry.services; existing ones are left as
    they are (an admin may have edited them)."""
    created = existing = 0
    for slug, record in demo_records(node_code):
        uid = demo_uid(node_code, slug)
        if UseCase.objects.filter(origin_id=node_code, uid=uid).exists():
            existing += 1
            continue
        services.save_use_case(UseCase(origin_id=node_code, uid=uid, **validate_record(record)))
        created += 1
    return created, existing


def demo_records(code: str) -> list[tuple[str, dict]]:
    """(slug, wire record) for each demo use case of this agency, the same on every run."""
    agency = describe(code)
    rng = _rng(code)
    chosen = _choose(agency, rng)
    languages = _languages(agency, [t["slug"] for t in chosen], rng)
    ema_slugs = {t["slug"] for t in _choose(describe("EMA"), _rng("EMA"))}
    return [
        (t["slug"], _record(agency, t, rng, languages.get(t["slug"]), ema_slugs)) for t in chosen
    ]


def _languages(agency: DemoAgency, slugs: list[str], rng: random.Random) -> dict[str, str]:
    """Which records an agency writes in its own language: most of the translatable ones (a few
    at EMA, which works in English), the languages taken in turn."""
    if not agency.languages:
        return {}
    translatable = [slug for slug in slugs if slug in LOCALISED]
    share = 0.35 if agency.kind == "ema" else 0.75
    count = min(len(translatable), max(2, len(agency.languages), round(len(translatable) * share)))
    picked = rng.sample(translatable, count)
    return {slug: agency.languages[i % len(agency.languages)] for i, slug in enumerate(picked)}


def _rng(code: str) -> random.Random:
    return random.Random(int(hashlib.sha256(code.encode()).hexdigest(), 16))


def _choose(agency: DemoAgency, rng: random.Random) -> list[dict]:
    candidates = [
        t for t in TEMPLATES if not (t["scope"] == "veterinary" and agency.kind == "human")
    ]
    rest = [t for t in candidates if not t["always"]]
    picked = set(map(id, rng.sample(rest, rng.randint(28, min(34, len(rest))))))
    return [t for t in candidates if t["always"] or id(t) in picked]


def _record(
    agency: DemoAgency, t: dict, rng: random.Random, language: str | None, ema_slugs: set[str]
) -> dict:
    stage = rng.choice(t["stages"])
    return {
        **_text(t, language),
        "outputs": t["outputs"],
        "regulatory_processes": t["processes"],
        "medicine_scope": _scope(agency, t["scope"]),
        "workplan_area": t["workplan"],
        "business_unit": t["unit"],
        "techniques": t["techniques"],
        "tags": t["tags"],
        "stage": stage,
        **_dates(stage, rng),
        "ai_act_role": "deployer" if t["sourcing"] == "vendor" else "provider_and_deployer",
        "ai_act_risk": t["risk"],
        "ai_act_justification": t["justification"],
        "uses_gpai": bool(t["gpai"]),
        "gpai_model": t["gpai"],
        "eu_database_ref": "",
        "affects_individuals": t["affects"],
        "personal_data": t["personal"],
        "dpia_status": t["dpia"],
        "legal_basis": "",
        "data_sources": t["data_sources"],
        "human_oversight": t["oversight"],
        "risks_and_mitigations": t["risks"],
        "monitoring": t["monitoring"],
        "sourcing": t["sourcing"],
        "vendor": t["vendor"],
        "product": t["product"],
        "hosting": t["hosting"],
        "code_url": "",
        "reusable": t.get("reusable", False),
        "contact_email": demo_mailbox(agency.code),
        "related": _related(agency, t, ema_slugs),
        "publication_level": _level(t, rng),
    }


def _text(t: dict, language: str | None) -> dict:
    english = {
        "title": t["title"],
        "title_en": "",
        "language": "en",
        "summary": t["summary"],
        "description": t["description"],
        "purpose": t["purpose"],
        "benefits": t["benefits"],
    }
    if language is None:
        return english
    title, summary, purpose = LOCALISED[t["slug"]][language]
    # Description and benefits exist only in English: a record keeps to one language.
    localised = {"title": title, "summary": summary, "purpose": purpose}
    return {
        **english,
        **localised,
        "title_en": t["title"],
        "language": language,
        "description": "",
        "benefits": "",
    }


def _scope(agency: DemoAgency, scope: str) -> str:
    if scope == "both" and agency.kind == "human":
        return "human"
    return scope


def _dates(stage: str, rng: random.Random) -> dict:
    started = dt.date(rng.randint(2019, 2024), rng.randint(1, 12), 1)
    live = min(_add_months(started, rng.randint(6, 18)), LATEST_DEMO_DATE)
    dates = {
        "started_on": None,
        "operational_since": None,
        "retired_on": None,
        "next_review_on": None,
    }
    if stage in {"development", "pilot", "production", "suspended", "retired"}:
        dates["started_on"] = started.isoformat()
    if stage in {"production", "retired"}:
        dates["operational_since"] = live.isoformat()
        dates["next_review_on"] = _add_months(live, 24).isoformat()
    if stage == "retired":
        dates["retired_on"] = min(_add_months(live, 12), LATEST_DEMO_DATE).isoformat()
        dates["next_review_on"] = None
    return dates


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1, day=1)


def _level(t: dict, rng: random.Random) -> str:
    if t["risk"] == "prohibited":
        return "internal"  # RECORD.md: never published beyond internal
    levels, weights = zip(*LEVELS, strict=True)
    return rng.choices(levels, weights)[0]


def _related(agency: DemoAgency, t: dict, ema_slugs: set[str]) -> list[dict]:
    """Agencies that use the same product as EMA say so: the network sees who shares a tool."""
    if not t["product"] or agency.code == "EMA" or t["slug"] not in ema_slugs:
        return []
    return [{"origin": "EMA", "uid": str(demo_uid("EMA", t["slug"])), "kind": "same_product"}]
