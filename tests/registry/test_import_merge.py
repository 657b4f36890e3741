"""Re-importing an inventory over records edited here (docs/import-mapping.md, "Updates merge"):
what the row states replaces the stored value, what it does not state keeps it; an update never
lowers a record's publication level unless --publication-level draft says so; the summary counts
rows by their level; the list of records no longer in the file is capped. The small files are
made of rows of the real inventories in ../shared/data."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from registry import services
from registry.importers import service, us_omb
from registry.importers.service import ImportReport, Replaced, RowReasons, import_inventory
from registry.models import FeedEntry, UseCase
from tests.factories import AgencyFactory
from tests.registry.test_import_inventory import (
    MAILBOX,
    nl_file,
    nl_registrations,
    run_import,
    state,
    summary_of,
    us_csv,
    us_rows,
)

HAND_PURPOSE = "Emulate radiative transfer in the climate model at a fraction of the cost."
NO_STAGE_KEY = "us-omb-2025:DOC:DOC-53"
DEPLOYED_KEY = "us-omb-2025:DHS:DHS-101"


@pytest.fixture
def home(db):
    return AgencyFactory(code=settings.NODE_AGENCY, name="Home", country="EU")


def real_row(row_id: str, **values: str) -> dict:
    return next(r for r in us_rows() if r["id"] == row_id) | values


def no_stage(**values: str) -> dict:
    """DOC-53 as the real file has it: no stage and no problem solved (purpose not stated)."""
    return real_row("DOC-53", **values)


def deployed(**values: str) -> dict:
    """DHS-101: a deployed use case with a contact, a purpose and a date: it publishes."""
    return real_row("DHS-101", **values)


def record(key: str) -> UseCase:
    return UseCase.objects.get(source_key=key)


def complete_by_hand(key: str, level: str = "public") -> UseCase:
    """What the tester did in the admin: fill in the stage and purpose, publish."""
    use_case = record(key)
    use_case.stage = "development"
    use_case.purpose = HAND_PURPOSE
    use_case.publication_level = level
    use_case._change_reason = "Completed in the admin"
    return services.save_use_case(use_case)


def service_import(path, **options) -> ImportReport:
    return import_inventory(
        path=path, fmt=us_omb.FORMAT, agency_code=settings.NODE_AGENCY, **options
    )


# ---- the tester's report ------------------------------------------------------------------


def test_a_reimport_keeps_hand_completions_their_level_and_the_catalogue_page(home, tmp_path):
    path = us_csv(tmp_path, no_stage(), deployed())
    first = service_import(path)
    assert first.summary() == (
        "created 2 (2 draft), updated 0, unchanged 0, skipped 0; "
        "1 draft lacks something to be published: 1 purpose missing, 1 stage missing"
    )
    assert record(NO_STAGE_KEY).purpose == ""  # not stated: missing, nothing invented
    published = complete_by_hand(NO_STAGE_KEY)
    assert (published.publication_level, published.gaps) == ("public", [])
    page = f"/use-cases/{settings.NODE_AGENCY}/{published.uid}/"
    assert Client().get(page).status_code == 200
    before = state()

    report = service_import(path)

    assert report.summary() == "created 0, updated 0, unchanged 2 (1 public, 1 draft), skipped 0"
    assert state() == before
    kept = record(NO_STAGE_KEY)
    assert (kept.publication_level, kept.stage, kept.purpose, kept.version) == (
        "public",
        "development",
        HAND_PURPOSE,
        published.version,
    )
    assert not FeedEntry.objects.filter(uid=kept.uid, deleted=True).exists()
    cache.clear()
    assert Client().get(page).status_code == 200


def test_a_row_that_states_a_new_value_replaces_it_and_keeps_the_hand_completions(home, tmp_path):
    run_import(us_csv(tmp_path, no_stage()), "us-omb-2025")
    published = complete_by_hand(NO_STAGE_KEY)
    renamed = "GitHub Copilot for Code Modernization and Review"
    output = run_import(us_csv(tmp_path, no_stage(use_case_name=renamed)), "us-omb-2025")
    assert summary_of(output) == "created 0, updated 1 (1 public), unchanged 0, skipped 0"
    updated = record(NO_STAGE_KEY)
    assert (updated.title, updated.summary) == (renamed, renamed)  # the title as summary follows
    assert (updated.stage, updated.purpose, updated.publication_level) == (
        "development",
        HAND_PURPOSE,
        "public",
    )
    assert updated.version == published.version + 1
    entry = FeedEntry.objects.get(uid=updated.uid)
    assert (entry.deleted, entry.record["title"]) == (False, renamed)


def test_a_stated_value_replaces_a_hand_edit_and_says_so(home, tmp_path):
    path = us_csv(tmp_path, deployed(), no_stage())
    run_import(path, "us-omb-2025")
    edited = record(DEPLOYED_KEY)
    edited.title = "Edited here"
    edited._change_reason = "Edited in the admin"
    services.save_use_case(edited)
    source_change = record(NO_STAGE_KEY).title + " (v2)"  # a change in the source, not here
    output = run_import(
        us_csv(tmp_path, deployed(), no_stage(use_case_name=source_change)), "us-omb-2025"
    )
    assert record(DEPLOYED_KEY).title == deployed()["use_case_name"]
    assert f"updated row 1 ({DEPLOYED_KEY}): the file replaced edits made here to title" in output
    assert NO_STAGE_KEY not in output
    assert summary_of(output) == (
        "created 0, updated 2 (2 draft), unchanged 0, skipped 0; "
        "1 draft lacks something to be published: 1 purpose missing, 1 stage missing; "
        "1 updated record had edits made here replaced: 1 title"
    )


def test_what_the_row_does_not_state_never_overwrites_a_hand_value(home_with_mailbox, tmp_path):
    # An empty purpose, 'not assessed' and the agency's mailbox (the row gives none) are the
    # mapping's defaults, not statements of the row.
    path = us_csv(tmp_path, no_stage(contact_email=""))
    run_import(path, "us-omb-2025")
    imported = record(NO_STAGE_KEY)
    assert (imported.purpose, imported.ai_act_risk, imported.contact_email) == (
        "",
        "not_assessed",
        MAILBOX,
    )
    imported.purpose = HAND_PURPOSE
    imported.ai_act_risk = "minimal"
    imported.contact_email = "climate-ai@bea.example.gov"
    services.save_use_case(imported)
    before = state()
    output = run_import(path, "us-omb-2025")
    assert summary_of(output).startswith("created 0, updated 0, unchanged 1 (1 draft), skipped 0")
    kept = record(NO_STAGE_KEY)
    assert (kept.purpose, kept.ai_act_risk, kept.contact_email) == (
        HAND_PURPOSE,
        "minimal",
        "climate-ai@bea.example.gov",
    )
    assert state() == before


@pytest.fixture
def home_with_mailbox(db):
    return AgencyFactory(
        code=settings.NODE_AGENCY, name="Home", country="EU", contact_email=MAILBOX
    )


def test_a_hand_translation_of_a_dutch_title_survives_a_reimport(home, tmp_path):
    path = nl_file(tmp_path, nl_registrations()[0])
    run_import(path, "nl-register")
    imported = UseCase.objects.get()
    assert imported.title_en == ""
    imported.title_en = "Translated by hand"
    services.save_use_case(imported)
    run_import(path, "nl-register")
    assert UseCase.objects.get().title_en == "Translated by hand"


def test_the_merge_rules():
    mapped = {
        "title": "New",
        "summary": "New",
        "purpose": "",
        "stage": None,
        "techniques": ["other"],
        "tags": [],
        "uses_gpai": False,
        "vendor": "N/A",
        "business_unit": "DOC: BEA",
        "description": "Operational date not in the source: set to the inventory date.",
        "operational_since": "2025-12-22",
    }
    stored = {
        "title": "Old",
        "summary": "Old",  # the title as summary from the last import: follows the new title
        "purpose": HAND_PURPOSE,
        "stage": "development",
        "techniques": ["nlp"],
        "tags": ["kept"],
        "uses_gpai": True,
        "vendor": "Acme",
        "business_unit": "hand",
        "description": "hand",
        "operational_since": "2021-03-01",
    }
    assert service.merge(mapped, stored) == {
        "title": "New",
        "summary": "New",
        "purpose": HAND_PURPOSE,
        "stage": "development",
        "techniques": ["nlp"],
        "tags": ["kept"],
        "uses_gpai": True,
        "vendor": "Acme",
        "business_unit": "DOC: BEA",
        "description": mapped["description"],
        "operational_since": "2021-03-01",
    }


def test_a_placeholder_an_earlier_import_stored_is_not_kept_as_if_it_were_data():
    """Earlier mappers stored invented text for what a row left unsaid; a re-import clears it."""
    mapped = {"purpose": "", "title_en": "", "title": "TVL Risicomodel"}
    stored = {
        "purpose": service.LEGACY_NOT_STATED,
        "title_en": "TVL Risicomodel" + service.LEGACY_UNTRANSLATED,
        "title": "TVL Risicomodel",
    }
    assert service.merge(mapped, stored) == mapped


# ---- an update never lowers a level on its own ------------------------------------------


@pytest.mark.parametrize("level", ["internal", "network", "public"])
def test_an_update_that_would_lack_something_at_its_level_is_kept_and_reported(
    home, tmp_path, level
):
    run_import(us_csv(tmp_path, deployed()), "us-omb-2025", "--publication-level", level)
    assert record(DEPLOYED_KEY).publication_level == level
    before = state()
    # A deployed row dated in the future lacks a valid operational_since (RECORD.md).
    output = run_import(us_csv(tmp_path, deployed(operational_date="2099-01-01")), "us-omb-2025")
    assert summary_of(output) == (
        f"created 0, updated 0, unchanged 0, kept 1 (1 {level}), skipped 0; 1 kept as stored, "
        f"the update would lack at its level: 1 operational_since: Must not be in the future "
        f"at {level}"
    )
    assert f"kept row 1 ({DEPLOYED_KEY}) at {level}, the update would lack: operational_since" in (
        output
    )
    assert "--publication-level draft stores the row as a draft" in output
    assert state() == before
    assert record(DEPLOYED_KEY).publication_level == level


def test_only_an_explicit_draft_level_lowers_a_published_record(home, tmp_path):
    run_import(us_csv(tmp_path, deployed()), "us-omb-2025", "--publication-level", "network")
    future = us_csv(tmp_path, deployed(operational_date="2099-01-01"))
    output = run_import(future, "us-omb-2025", "--publication-level", "draft")
    assert summary_of(output) == (
        "created 0, updated 1 (1 draft), unchanged 0, skipped 0; "
        "1 draft lacks something to be published: 1 operational_since: Must not be in the future"
    )
    lowered = record(DEPLOYED_KEY)
    assert (lowered.publication_level, lowered.operational_since.year) == ("draft", 2099)
    assert FeedEntry.objects.get(uid=lowered.uid).deleted


def test_a_draft_whose_update_lacks_something_is_still_updated(home, tmp_path):
    run_import(us_csv(tmp_path, deployed()), "us-omb-2025")
    output = run_import(us_csv(tmp_path, deployed(operational_date="2099-01-01")), "us-omb-2025")
    assert summary_of(output).startswith("created 0, updated 1 (1 draft), unchanged 0, skipped 0;")
    assert record(DEPLOYED_KEY).operational_since.year == 2099


# ---- records no longer in the file --------------------------------------------------------


def test_the_missing_list_is_capped_and_list_missing_prints_it_all(home, tmp_path):
    rows = [r for r in us_rows() if r["agency"] == "DOC" and r["id"].startswith("DOC-")][:24]
    run_import(us_csv(tmp_path, *rows), "us-omb-2025", "--contact-email", MAILBOX)
    keys = [us_omb.source_row(number, row).key for number, row in enumerate(rows, 1)]
    gone = sorted(keys[1:])
    # One beyond the first 20 by key, shared: shared records are listed first.
    shared = gone[-1]
    complete_by_hand(shared, "network")
    smaller = us_csv(tmp_path, rows[0])
    for extra in ([], ["--dry-run"]):
        output = run_import(smaller, "us-omb-2025", *extra)
        listed = [line for line in output.splitlines() if line.startswith("no longer in the file")]
        assert len(listed) == 20
        assert listed[0].startswith(f"no longer in the file: {shared} (network) ")
        assert "\n... and 3 more (--list-missing prints them all)\n" in output
        assert summary_of(output).endswith(
            "; 23 no longer in the file: run again with --withdraw-missing to withdraw the 1 shared"
        )
    output = run_import(smaller, "us-omb-2025", "--list-missing")
    listed = [line for line in output.splitlines() if line.startswith("no longer in the file")]
    assert len(listed) == 23
    assert {line.split()[5] for line in listed} == set(gone)
    assert "--list-missing prints them all" not in output


# ---- the summary by level -----------------------------------------------------------------


def test_the_summary_counts_rows_by_the_level_they_end_at(home, tmp_path):
    path = us_csv(tmp_path, deployed(), no_stage(), real_row("DHS-183"))
    output = run_import(path, "us-omb-2025", "--publication-level", "network")
    assert summary_of(output) == (
        "created 3 (2 network, 1 draft), updated 0, unchanged 0, skipped 0; "
        "1 draft lacks something to be published: 1 purpose missing, 1 stage missing"
    )
    changed = us_csv(tmp_path, deployed(use_case_name="Renamed"), no_stage(), real_row("DHS-183"))
    output = run_import(changed, "us-omb-2025", "--publication-level", "public")
    assert summary_of(output) == (
        "created 0, updated 2 (2 public), unchanged 1 (1 draft), skipped 0; "
        "1 draft lacks something to be published: 1 purpose missing, 1 stage missing"
    )


def test_the_summary_wording_of_kept_rows_and_replaced_edits():
    report = ImportReport(rows=4)
    for outcome, level in [("created", "draft"), ("created", "public"), ("kept", "network")]:
        report.count(outcome, level)
    report.drafts = [RowReasons(1, "a", {"stage": ["This field is required."]})]
    report.kept = [RowReasons(3, "c", {"contact_email": ["This field is required."]}, "network")]
    report.replaced = [Replaced(4, "d", ["title", "purpose"])]
    assert report.summary() == (
        "created 2 (1 public, 1 draft), updated 0, unchanged 0, kept 1 (1 network), skipped 0; "
        "1 draft lacks something to be published: 1 stage missing; "
        "1 kept as stored, the update would lack at its level: 1 contact_email missing at "
        "network; 1 updated record had edits made here replaced: 1 title, 1 purpose"
    )
