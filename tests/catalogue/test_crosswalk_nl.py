"""The crosswalk to the Dutch algorithm register (catalogue.crosswalks.nl_register): the export
validates against the register's own field config (register-config-v1_0.json) and, where the
names line up, its JSON Schema; it round-trips through our `nl-register` importer; it keeps the
catalogue's visibility. The standard's files are read from ../shared/standards (never copied)."""

import datetime as dt
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from catalogue.crosswalks import nl_register as nl
from catalogue.selectors import NETWORK_FIELDS
from registry.models import UseCase
from tests.catalogue.test_api import keys, visible
from tests.catalogue.test_api_export import streamed_text
from tests.factories import UseCaseFactory

STANDARD_DIR = Path(settings.BASE_DIR).parent / "shared" / "standards" / "nl-algoritmeregister"
EXPORT = "/api/v1/use-cases/export.nl-register.json"
# The fields docs/crosswalk-nl-register.md says come back unchanged through our importer.
ROUND_TRIP_FIELDS = (
    "title",
    "language",
    "summary",
    "purpose",
    "stage",
    "contact_email",
    "legal_basis",
    "risks_and_mitigations",
    "human_oversight",
    "sourcing",
    "vendor",
    "code_url",
    "data_sources",
    "tags",
)
# Come back as the first of their month: begin_date and end_date are months (YYYY-MM).
MONTH_FIELDS = ("operational_since", "retired_on")
THEMES = {"Organisatie en bedrijfsvoering", "Zorg en gezondheid"}
# Config name -> JSON Schema name, for the fields that exist in both (PROVENANCE.md).
SCHEMA_NAMES = {
    "name": "name",
    "description_short": "description_short",
    "organization": "organization",
    "category": "theme",
    "status": "status",
    "begin_date": "start_date",
    "end_date": "end_date",
    "contact_email": "contact",
    "website": "link",
    "publication_category": "publication_category",
    "url": "source_link",
    "goal": "purpose_and_impact",
    "proportionality": "considerations",
    "human_intervention": "human_intervention",
    "risks": "risk_management",
    "lawful_basis": "legal_basis",
    "process_index_url": "processing_register_link",
    "impacttoetsen": "impact_assessment_explanation",
    "source_data": "data",
    "methods_and_models": "technical_operation",
    "provider": "supplier",
    "publiccode": "source_code_link",
    "lang": "language",
    "source_id": "source_id",
    "tags": "search_terms",
}
SCHEMA_CATEGORY_SUFFIX = {
    "Hoog-risico AI-systeem": " (Categorie A)",
    "Impactvolle algoritmes": " (Categorie B)",
    "Overige algoritmes": " (Categorie C)",
}


def standard_file(name: str) -> dict:
    path = STANDARD_DIR / name
    assert path.is_file(), (
        f"{path} is missing. The crosswalk tests read the Dutch register's standard from "
        "../shared/standards next to the repository; put the shared files there (CI has them)."
    )
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config() -> dict:
    return standard_file("register-config-v1_0.json")["properties"]


@pytest.fixture(scope="module")
def json_schema() -> dict:
    return standard_file("publicatiestandaard-v1.0.0.schema.json")


# ---- a validator of the register's config format --------------------------------------------


def is_required(spec: dict) -> bool:
    return spec.get("required") is True  # source_data_grouping says "false", a string


def config_errors(registration: dict, config: dict) -> list[str]:
    """Every way `registration` breaks the config: unknown or missing fields, types, lengths,
    permitted values, list items, HTML tags outside allowed_html_tags."""
    errors = [f"{name}: not a field of the config" for name in registration if name not in config]
    for name, spec in config.items():
        value = registration.get(name)
        if value in (None, "", []):
            errors += [f"{name}: required"] if is_required(spec) else []
        elif spec["type"] == "array":
            errors += _array_errors(name, value, spec)
        else:
            errors += _value_errors(name, value, spec)
    return errors


def _value_errors(name: str, value, spec: dict) -> list[str]:
    if not isinstance(value, str):
        return [f"{name}: {value!r} is not a string"]
    errors = []
    if spec["type"] == "enum" and value not in spec["permitted_values"]:
        errors.append(f"{name}: {value!r} is not permitted")
    if len(value) > spec.get("max_length", len(value)):
        errors.append(f"{name}: {len(value)} characters, more than {spec['max_length']}")
    allowed = set(spec.get("allowed_html_tags", []))
    for tag in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", value):
        if tag.lower() not in allowed:
            errors.append(f"{name}: HTML tag <{tag}> not allowed")
    return errors


def _array_errors(name: str, value, spec: dict) -> list[str]:
    if not isinstance(value, list):
        return [f"{name}: {value!r} is not a list"]
    errors = []
    for item in value:
        if "permitted_values" in spec and item not in spec["permitted_values"]:
            errors.append(f"{name}: {item!r} is not permitted")
        if "items" in spec:
            item = item if isinstance(item, dict) else {}
            errors += [f"{name}[]: {e}" for e in config_errors(item, spec["items"])]
    return errors


def in_json_schema_names(registration: dict) -> dict:
    """The registration in the JSON Schema's names and values, empty fields left out."""
    document = {
        SCHEMA_NAMES[name]: value
        for name, value in registration.items()
        if name in SCHEMA_NAMES and value not in ("", [])
    }
    document["schema"] = "1.0.0" if registration["standard_version"] == "1.0" else "?"
    category = registration["publication_category"]
    document["publication_category"] = category + SCHEMA_CATEGORY_SUFFIX.get(category, "")
    titles = [item["title"] for item in registration["impacttoetsen_grouping"]]
    if titles:
        document["impact_assessments"] = ", ".join(titles)
    return document


def json_schema_errors(registration: dict, schema: dict, config: dict) -> list[str]:
    """The JSON Schema's rules, requiring only what the config requires too (the two disagree on
    required fields; the config is what the register reads)."""
    schema = dict(schema)
    schema["required"] = [SCHEMA_NAMES[n] for n, spec in config.items() if is_required(spec)]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    document = in_json_schema_names(registration)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def export(client, url: str = EXPORT, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    if response.streaming:
        return json.loads(streamed_text(response))
    return response.json()


def uid_of(registration: dict) -> str:
    return registration["source_id"].split("/", 1)[1]


# ---- the validator itself -------------------------------------------------------------------


def test_the_config_validator_names_every_rule_a_registration_breaks(config):
    bad = {
        "name": "x" * 101,
        "status": "Gepland",
        "category": ["Gezondheid"],
        "goal": "<script>alert(1)</script><p>ok</p>",
        "lawful_basis_grouping": [{"title": "Wet"}],
        "colour": "blue",
    }

    errors = config_errors(bad, config)

    assert "name: 101 characters, more than 100" in errors
    assert "status: 'Gepland' is not permitted" in errors
    assert "category: 'Gezondheid' is not permitted" in errors
    assert "goal: HTML tag <script> not allowed" in errors
    assert "goal: HTML tag <p> not allowed" not in errors
    assert "lawful_basis_grouping[]: link: required" in errors
    assert "colour: not a field of the config" in errors
    assert {"description_short: required", "organization: required", "lang: required"} <= set(
        errors
    )
    assert "source_data_grouping: required" not in errors


def test_the_crosswalk_uses_the_lengths_and_values_of_the_register_config(config):
    lengths = {name: spec["max_length"] for name, spec in config.items() if "max_length" in spec}
    permitted = {name: spec.get("permitted_values", []) for name, spec in config.items()}

    assert lengths == nl.MAX_LENGTH
    assert set(nl.STATUS.values()) == set(permitted["status"])
    assert {nl.HIGH_RISK, nl.IMPACTFUL, nl.OTHER} == set(permitted["publication_category"])
    assert {nl.CORPORATE_THEME, nl.HEALTH_THEME} <= set(permitted["category"])
    assert nl.LANGUAGE in permitted["lang"]
    assert nl.STANDARD_VERSION in permitted["standard_version"]
    assert nl.DPIA_TITLE in config["impacttoetsen_grouping"]["items"]["title"]["recommended_items"]


# ---- the export validates -------------------------------------------------------------------


def test_every_registration_of_the_catalogue_validates_against_the_register_config(
    member_client, catalogue, config
):
    document = export(member_client)

    assert len(document["registrations"]) == len(visible(catalogue, network=True))
    for registration in document["registrations"]:
        assert config_errors(registration, config) == [], registration["source_id"]
        assert set(registration) == set(config) - {"publication_dt"}


def test_every_registration_validates_against_the_json_schema_where_the_names_line_up(
    member_client, catalogue, config, json_schema
):
    document = export(member_client)

    for registration in document["registrations"]:
        assert json_schema_errors(registration, json_schema, config) == [], registration
        assert len(registration["name"]) < 100  # "Tekst (<100 tekens)"


def test_the_json_schema_check_fails_on_what_the_config_allows_but_the_schema_does_not(
    config, json_schema
):
    registration = {name: "" for name in config} | {
        "name": "x" * 100,
        "description_short": "Kort.",
        "organization": "EMA",
        "status": "In gebruik",
        "contact_email": "ai@example.org",
        "publication_category": "Overige algoritmes",
        "lang": "nld",
        "standard_version": "1.0",
        "begin_date": "2024-1",
        "impacttoetsen_grouping": [],
    }

    assert config_errors(registration, config) == []
    errors = json_schema_errors(registration, json_schema, config)
    assert any(e.startswith("$.name") for e in errors)
    assert any(e.startswith("$.start_date") for e in errors)


def test_a_record_maps_onto_the_register_fields_value_by_value(member_client, agencies):
    use_case = UseCaseFactory(
        origin=agencies[0],
        publication_level="network",
        stage="production",
        operational_since="2024-03-15",
        ai_act_risk="high",
        ai_act_justification="Ranks cases about patients.",
        human_oversight="human_on_the_loop",
        regulatory_processes=["pharmacovigilance", "corporate_services"],
        data_sources=["EudraVigilance", "literature"],
        tags=["signals", "pv"],
        sourcing="vendor",
        vendor="Acme Analytics",
        risks_and_mitigations="False signals are checked by an assessor.",
        source_key="nl-register:4711",
    )
    url = reverse("api:use-case-nl-register", args=[use_case.origin_id, use_case.uid])

    document = export(member_client, url)

    assert document["standard_version"] == "1.0"
    (r,) = document["registrations"]
    assert r["name"] == use_case.title
    assert r["description_short"] == use_case.summary
    assert r["organization"] == "European Medicines Agency"
    assert r["category"] == ["Organisatie en bedrijfsvoering", "Zorg en gezondheid"]
    assert (r["status"], r["begin_date"], r["end_date"]) == ("In gebruik", "2024-03", "")
    assert r["publication_category"] == "Hoog-risico AI-systeem"
    assert "human on the loop" in r["human_intervention"]
    assert r["source_data"] == "EudraVigilance; literature"
    assert r["tags"] == "signals, pv"
    assert r["provider"] == "Acme Analytics"
    assert r["risks"] == use_case.risks_and_mitigations
    assert r["impacttoetsen_grouping"] == [{"title": "Data Protection Impact Assessment (DPIA)"}]
    assert "gepseudonimiseerde persoonsgegevens" in r["impacttoetsen"]
    assert "Ranks cases about patients." in r["proportionality"]
    assert r["source_id"] == f"{use_case.origin_id}/{use_case.uid}"
    assert r["url"] == f"http://testserver/api/v1/use-cases/{use_case.origin_id}/{use_case.uid}/"
    assert (r["lang"], r["lars"]) == ("nld", "4711")
    assert document["notes"] == [
        {
            "source_id": r["source_id"],
            "field": "lang",
            "message": "the register takes Dutch text (nld); this record's text is in 'en' and "
            "is exported untranslated",
        }
    ]


def test_long_texts_are_cut_at_a_word_marked_and_reported_never_silently(
    anon_client, agencies, config
):
    title = ("Automatische signaaldetectie voor bijwerkingenmeldingen " * 4).strip()
    use_case = UseCaseFactory(
        origin=agencies[0],
        publication_level="public",
        language="nl",
        title_en="Signal detection",
        title=title[:200],
        purpose="woord " * 600,
        code_url="https://example.org/" + "a" * 600,
    )
    url = reverse("api:use-case-nl-register", args=[use_case.origin_id, use_case.uid])

    document = export(anon_client, url)

    (r,) = document["registrations"]
    assert config_errors(r, config) == []
    assert r["name"].endswith(" …") and len(r["name"]) < 100
    assert title.startswith(r["name"].removesuffix(" …"))
    assert (
        r["name"].removesuffix(" …").endswith(("signaaldetectie", "voor", "bijwerkingenmeldingen"))
    )
    assert r["goal"].endswith("woord …") and len(r["goal"]) < 2500
    assert r["publiccode"] == ""
    notes = {n["field"]: n["message"] for n in document["notes"]}
    assert set(notes) == {"name", "goal", "publiccode"}
    assert notes["name"] == (
        f"cut from 200 to {len(r['name'])} characters (marked '…'): the register takes fewer "
        "than 100"
    )
    assert notes["publiccode"] == "left out: 620 characters, the register takes fewer than 500"


def test_a_text_without_spaces_is_cut_at_the_limit_and_still_marked(anon_client, agencies):
    use_case = UseCaseFactory(origin=agencies[0], publication_level="public", title="x" * 150)

    document = export(anon_client, EXPORT)

    (r,) = [r for r in document["registrations"] if uid_of(r) == str(use_case.uid)]
    assert r["name"] == "x" * 97 + " …"


def test_a_prohibited_practice_is_exported_as_high_risk_with_a_note(agencies):
    use_case = UseCaseFactory.build(ai_act_risk="prohibited", language="nl", origin=agencies[0])

    registration, notes = nl.registration(use_case, fields=NETWORK_FIELDS)

    assert registration["publication_category"] == "Hoog-risico AI-systeem"
    assert [n.field for n in notes] == ["publication_category"]


def test_plain_text_is_escaped_for_the_registers_html_fields(agencies, config):
    use_case = UseCaseFactory.build(
        description="Reads <b>documents</b> & extracts findings.",
        origin=agencies[0],
    )

    registration, _ = nl.registration(use_case, fields=NETWORK_FIELDS)

    assert registration["methods_and_models"].startswith(
        "Reads &lt;b&gt;documents&lt;/b&gt; &amp; extracts findings."
    )
    assert config_errors(registration, config) == []


# ---- visibility and filters -----------------------------------------------------------------


def test_anonymous_visitors_export_public_records_without_network_fields(
    anon_client, member_client, catalogue
):
    anonymous = export(anon_client)["registrations"]
    member = export(member_client)["registrations"]

    assert {tuple(r["source_id"].split("/")) for r in anonymous} == keys(
        visible(catalogue, network=False)
    )
    assert {tuple(r["source_id"].split("/")) for r in member} == keys(
        visible(catalogue, network=True)
    )
    assert all(r["risks"] == "" for r in anonymous)
    assert all(r["risks"].startswith("Network-only risk note") for r in member)
    assert not any("Example LLM" in r["methods_and_models"] for r in anonymous)
    assert any("Example LLM" in r["methods_and_models"] for r in member)


def test_one_record_is_exported_only_to_those_who_may_see_it(anon_client, member_client, catalogue):
    network = next(r for r in catalogue if r.publication_level == "network")
    draft = next(r for r in catalogue if r.publication_level == "draft")

    def get(client, row):
        return client.get(reverse("api:use-case-nl-register", args=[row.origin_id, row.uid]))

    assert get(anon_client, network).status_code == 404
    assert get(anon_client, network)["Content-Type"] == "application/problem+json"
    response = get(member_client, network)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{network.origin_id}-{network.uid}.nl-register.json"'
    )
    assert get(member_client, draft).status_code == 404


def test_the_set_export_takes_the_catalogue_filters_and_streams_an_attachment(
    member_client, catalogue
):
    response = member_client.get(EXPORT, {"stage": "production", "search": ""})

    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="use-cases.nl-register.json"'
    registrations = json.loads(streamed_text(response))["registrations"]
    expected = [r for r in visible(catalogue, network=True) if r.stage == "production"]
    assert {uid_of(r) for r in registrations} == {str(r.uid) for r in expected}
    assert {r["status"] for r in registrations} == {"In gebruik"}


def test_a_bad_filter_is_a_problem_naming_the_parameter(anon_client, catalogue):
    response = anon_client.get(EXPORT, {"stage": "operational"})

    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


# ---- pages ----------------------------------------------------------------------------------


def test_the_use_case_page_and_the_catalogue_link_to_the_export(anon_client, catalogue):
    public = next(r for r in catalogue if r.publication_level == "public")
    single = reverse("api:use-case-nl-register", args=[public.origin_id, public.uid])

    page = anon_client.get(reverse("catalogue:use-case", args=[public.origin_id, public.uid]))
    listing = anon_client.get(reverse("catalogue:home"), {"stage": "production"})

    assert f'href="{single}"' in page.content.decode()
    assert f'href="{EXPORT}?stage=production"' in listing.content.decode()


# ---- round trip through our importer --------------------------------------------------------


def dutch_record(i: int, origin, **overrides) -> dict:
    stage = ["development", "production", "retired"][i % 3]
    oversight = ["human_in_the_loop", "human_on_the_loop", "human_out_of_the_loop", None][i % 4]
    return {
        "origin": origin,
        "publication_level": "public" if i % 2 else "network",
        "title": f"Signaaldetectie in bijwerkingenmeldingen {i}",
        "title_en": f"Signal detection in adverse reaction reports {i}",
        "language": "nl",
        "summary": f"Rangschikt signalen zodat beoordelaars de sterkste eerst zien ({i}).",
        "purpose": f"De tijd tussen melding en beoordeling verkorten.\n\nTweede alinea {i}.",
        "stage": stage,
        "started_on": "2023-09-14",
        "operational_since": "2024-02-15" if stage != "development" else None,
        "retired_on": "2025-06-30" if stage == "retired" else None,
        "regulatory_processes": ["corporate_services"] if i % 4 == 3 else ["pharmacovigilance"],
        "tags": ["signalen", f"bijwerkingen {i}"] if i % 2 else [],
        "human_oversight": oversight,
        "ai_act_risk": "minimal",
        "sourcing": "vendor" if i % 2 else "in_house",
        "vendor": f"Leverancier {i} B.V." if i % 2 else "",
        "code_url": f"https://code.example.org/signalen-{i}" if i % 2 else "",
        "legal_basis": f"Geneesmiddelenwet, artikel {i}" if i % 3 else "",
        "data_sources": [f"EudraVigilance {i}"] if i % 3 != 2 else [],
        "risks_and_mitigations": f"Valse signalen worden door een beoordelaar gecontroleerd {i}.",
        "contact_email": f"signalen-{i}@cbg-meb.example.nl",
        **overrides,
    }


def first_of_month(day: dt.date | None) -> dt.date | None:
    return day.replace(day=1) if day else None


def test_the_export_imports_through_our_importer_to_the_same_field_values(
    member_client, agencies, tmp_path
):
    home = agencies[0]
    originals = [UseCaseFactory(**dutch_record(i, home)) for i in range(8)]
    originals[0].source_key = "nl-register:4711"
    originals[0].save()
    expected = {uc.title: {f: uc.to_record()[f] for f in ROUND_TRIP_FIELDS} for uc in originals}
    months = {uc.title: [first_of_month(getattr(uc, f)) for f in MONTH_FIELDS] for uc in originals}
    corporate = {uc.title for uc in originals if uc.regulatory_processes == ["corporate_services"]}
    document = export(member_client)
    path = tmp_path / "registrations.json"
    path.write_text(json.dumps(document["registrations"], ensure_ascii=False), encoding="utf-8")
    UseCase.objects.all().delete()

    out = io.StringIO()
    call_command(
        "import_inventory",
        str(path),
        "--agency",
        home.code,
        "--format",
        "nl-register",
        stdout=out,
    )

    assert "created 8 (8 draft), updated 0, unchanged 0, skipped 0" in out.getvalue()
    imported = {uc.title: uc for uc in UseCase.objects.all()}
    assert set(imported) == set(expected)
    for title, fields in expected.items():
        assert {f: imported[title].to_record()[f] for f in ROUND_TRIP_FIELDS} == fields, title
    assert imported[originals[0].title].source_key == "nl-register:4711"
    stages = {uc.stage for uc in imported.values()}
    assert stages == {"development", "production", "retired"}
    oversight = {uc.human_oversight for uc in imported.values()}
    assert oversight == {"human_in_the_loop", "human_on_the_loop", "human_out_of_the_loop", None}
    # Dates to month precision; the register has no start-of-work date.
    for title, uc in imported.items():
        assert [getattr(uc, f) for f in MONTH_FIELDS] == months[title], title
        assert uc.started_on is None
        assert not {"operational_since", "retired_on"} & set(uc.gaps), (title, uc.gaps)
    assert {uc.operational_since for uc in imported.values()} == {None, dt.date(2024, 2, 1)}
    assert {uc.retired_on for uc in imported.values()} == {None, dt.date(2025, 6, 1)}
    # The themes are no tags; corporate services alone comes back, other processes are guessed.
    assert all(not THEMES & set(uc.tags) for uc in imported.values())
    assert {uc.title for uc in imported.values() if uc.tags == []} == {
        uc.title for uc in originals if uc.tags == []
    }
    for title, uc in imported.items():
        if title in corporate:
            assert uc.regulatory_processes == ["corporate_services"], title
        else:
            assert "corporate_services" not in uc.regulatory_processes, title
        assert "Themes: " in uc.description
    assert len(corporate) == 2
    # The generated description has no stand-ins for what the registration does not say.
    for uc in imported.values():
        assert "None" not in uc.description and "LARS ." not in uc.description, uc.description
        assert "registration date" not in uc.description
    assert imported[originals[0].title].description.endswith(
        "Source: Dutch national Algorithm Register (publication standard 1.0): "
        "European Medicines Agency, LARS 4711."
    )
    assert imported[originals[1].title].description.endswith(
        "Source: Dutch national Algorithm Register (publication standard 1.0): "
        "European Medicines Agency."
    )


def test_a_field_the_importer_changes_is_caught_by_the_round_trip_comparison(
    member_client, agencies, tmp_path
):
    """The comparison above can fail: a stage the register cannot say (pilot) comes back as
    development, a list of two data sources as one, a day as the first of its month, and a tag
    with a comma as two tags."""
    UseCaseFactory(
        **dutch_record(
            1,
            agencies[0],
            stage="pilot",
            data_sources=["EudraVigilance", "CTIS"],
            operational_since="2024-02-15",
            tags=["signalen, bijwerkingen"],
        )
    )
    path = tmp_path / "registrations.json"
    path.write_text(json.dumps(export(member_client)["registrations"]), encoding="utf-8")
    UseCase.objects.all().delete()

    call_command(
        "import_inventory",
        str(path),
        "--agency",
        agencies[0].code,
        "--format",
        "nl-register",
        stdout=io.StringIO(),
    )

    (imported,) = UseCase.objects.all()
    assert imported.stage == "development"
    assert imported.data_sources == ["EudraVigilance; CTIS"]
    assert imported.operational_since == dt.date(2024, 2, 1)
    assert imported.tags == ["signalen", "bijwerkingen"]
