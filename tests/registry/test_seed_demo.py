import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from registry.demo import seed
from registry.demo.agencies import AGENCIES
from registry.models import Agency, FeedEntry, UseCase, User
from registry.validation import validate_record

RECORD_MD_AGENCIES = {
    "EMA", "DE-BFARM", "DE-PEI", "FR-ANSM", "NL-CBG-MEB", "ES-AEMPS", "IT-AIFA", "SE-MPA",
    "DK-DKMA", "IE-HPRA", "BE-FAMHP", "AT-BASG", "PL-URPL",
}  # fmt: skip


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def own_records(code: str = "EMA"):
    return UseCase.objects.filter(origin_id=code)


@pytest.fixture
def seeded(db):
    with override_settings(NODE_AGENCY="EMA", NODE_ROLE="agency", DEBUG=True):
        return seed_demo()


def test_it_creates_the_agencies_of_record_md(seeded):
    assert set(Agency.objects.values_list("code", flat=True)) == RECORD_MD_AGENCIES
    ema = Agency.objects.get(code="EMA")
    assert (ema.name, ema.country, ema.kind) == ("European Medicines Agency", "EU", "ema")
    assert Agency.objects.get(code="DE-PEI").country == "DE"
    for agency in Agency.objects.all():
        agency.full_clean()
    assert "Agencies: 13 created, 0 already there." in seeded


def test_it_creates_a_superuser_and_an_agency_admin_and_prints_their_logins(seeded):
    admin = User.objects.get(username="admin")
    agency_admin = User.objects.get(username="ema-admin")
    assert admin.is_superuser and admin.check_password(seed.DEMO_PASSWORD)
    assert agency_admin.is_staff and not agency_admin.is_superuser
    assert agency_admin.agency_id == "EMA"
    assert agency_admin.check_password(seed.DEMO_PASSWORD)
    assert f"admin / {seed.DEMO_PASSWORD}" in seeded
    assert f"ema-admin / {seed.DEMO_PASSWORD}" in seeded


def test_it_writes_a_few_dozen_valid_records_of_the_own_agency(seeded):
    records = list(own_records())
    assert 30 <= len(records) <= 40
    assert UseCase.objects.exclude(origin_id="EMA").count() == 0
    for record in records:
        validate_record(record.to_record())
        assert record.version == 1
    assert f"Use cases of EMA: {len(records)} created, 0 already there." in seeded


def test_the_records_vary_in_stage_risk_language_and_publication(seeded):
    records = list(own_records())
    assert len({r.stage for r in records}) >= 4
    assert len({t for r in records for t in r.techniques}) >= 6
    assert len({p for r in records for p in r.regulatory_processes}) >= 10
    high = [r for r in records if r.ai_act_risk == "high"]
    assert len(high) >= 2
    assert all(r.human_oversight and r.ai_act_justification for r in high)
    foreign = [r for r in records if r.language != "en"]
    assert {r.language for r in foreign} == {"de", "fr", "nl"}
    assert all(r.title_en for r in foreign)
    levels = [r.publication_level for r in records]
    assert levels.count("network") + levels.count("public") > len(levels) / 2
    assert {"draft", "internal"} & set(levels)
    for record in records:
        if record.ai_act_risk == "prohibited":
            assert record.publication_level == "internal"


def test_shared_records_are_in_the_feed(seeded):
    shared = own_records().filter(publication_level__in=["network", "public"])
    assert FeedEntry.objects.filter(origin="EMA", deleted=False).count() == shared.count() > 0


@override_settings(NODE_AGENCY="EMA", DEBUG=True)
def test_running_it_again_creates_nothing(seeded):
    before = sorted(own_records().values_list("uid", "version"))
    again = seed_demo()
    assert sorted(own_records().values_list("uid", "version")) == before
    assert User.objects.count() == 2
    assert "Agencies: 0 created, 13 already there." in again
    assert f"Use cases of EMA: 0 created, {len(before)} already there." in again
    assert "(existing user, password unchanged)" in again


def test_each_node_seeds_different_records_of_its_own_agency(db):
    with override_settings(NODE_AGENCY="EMA", DEBUG=True):
        seed_demo()
    with override_settings(NODE_AGENCY="DE-BFARM", DEBUG=True):
        seed_demo()
    ema, bfarm = own_records("EMA"), own_records("DE-BFARM")
    assert not set(ema.values_list("uid", flat=True)) & set(bfarm.values_list("uid", flat=True))
    assert set(ema.values_list("title", flat=True)) != set(bfarm.values_list("title", flat=True))
    assert bfarm.filter(language="de").exists()
    assert not bfarm.filter(medicine_scope="veterinary").exists()  # BfArM: human medicines
    assert User.objects.get(username="de-bfarm-admin").agency_id == "DE-BFARM"


def test_every_demo_agency_gets_its_own_valid_selection():
    selections = set()
    for agency in AGENCIES:
        records = seed.demo_records(agency.code)
        assert 30 <= len(records) <= 40
        for _, record in records:
            validate_record(record)
        selections.add(json.dumps(records, sort_keys=True))
    assert len(selections) == len(AGENCIES)


@override_settings(NODE_AGENCY="EMA", DEBUG=False)
def test_it_refuses_demo_passwords_when_debug_is_off(db):
    with pytest.raises(CommandError, match="--password"):
        seed_demo()
    assert not User.objects.exists()
    assert not UseCase.objects.exists()
    seed_demo("--password", "a-long-production-secret-9")
    assert User.objects.get(username="admin").check_password("a-long-production-secret-9")


@override_settings(NODE_AGENCY="EMA", DEBUG=True)
def test_a_weak_password_is_refused(db):
    with pytest.raises(CommandError, match="Password refused"):
        seed_demo("--password", "123")


@override_settings(NODE_AGENCY="EMRN-HUB", NODE_ROLE="hub", DEBUG=True)
def test_a_hub_gets_agencies_and_logins_but_no_records(db):
    output = seed_demo()
    assert Agency.objects.filter(code="EMRN-HUB").exists()
    assert not UseCase.objects.exists()
    assert "Hub node" in output


@override_settings(NODE_AGENCY="EMRN-HUB", NODE_ROLE="hub", DEBUG=True)
def test_with_inventories_skips_missing_files_cleanly(db, tmp_path):
    output = seed_demo("--with-inventories", "--data-dir", str(tmp_path))
    assert output.count("not found, skipped.") == 2
    assert not UseCase.objects.filter(source_key__isnull=False).exists()


REGISTRATION = {
    "name": "Parkeercontrole",
    "organization": "Gemeente Voorbeeld",
    "description_short": "Scanauto's herkennen kentekens om parkeerrechten te controleren.",
    "lars": "12345678",
    "status": "In gebruik",
    "contact_email": None,
    "create_dt": "2023-03-31 08:34:12+00:00",
}


@override_settings(NODE_AGENCY="EMRN-HUB", NODE_ROLE="hub", DEBUG=True)
def test_with_inventories_the_hub_imports_the_reference_registers_it_finds(db, tmp_path):
    path = tmp_path / seed.REFERENCE_REGISTERS[1][0]
    path.write_text(json.dumps([REGISTRATION]), encoding="utf-8")
    output = seed_demo("--with-inventories", "--data-dir", str(tmp_path))
    assert "REF-NL-AR: created 1, updated 0, unchanged 0, deleted 0, skipped 0" in output
    imported = UseCase.objects.get(source_key="nl-register:12345678")
    assert imported.origin_id == "REF-NL-AR"
    assert imported.business_unit == "Gemeente Voorbeeld"
    assert imported.contact_email == ""  # no demo mailbox passed off as the register's


@override_settings(NODE_AGENCY="EMA", DEBUG=True)
def test_with_inventories_an_agency_never_imports_a_register_as_its_own(db, tmp_path):
    path = tmp_path / seed.REFERENCE_REGISTERS[1][0]
    path.write_text(json.dumps([REGISTRATION]), encoding="utf-8")
    output = seed_demo("--with-inventories", "--data-dir", str(tmp_path))
    assert "Reference registers are imported on the hub" in output
    assert not UseCase.objects.filter(source_key__isnull=False).exists()
