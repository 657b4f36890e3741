"""import_inventory on records whose rows the file no longer contains: reported without
--withdraw-missing, shared ones withdrawn with it (docs/import-mapping.md, "Rows removed at the
source"). The small files are made of rows of the real inventories in ../shared/data."""

import json

import pytest
from django.conf import settings
from django.core.management import CommandError

from registry.importers import removed, us_omb
from registry.importers.base import ImportRefused
from registry.models import FeedEntry, UseCase
from tests.factories import AgencyFactory, UseCaseFactory
from tests.registry.test_import_inventory import (
    MAILBOX,
    nl_registrations,
    run_import,
    state,
    summary_of,
    us_csv,
    us_rows,
)

PUBLISH = ("--publication-level", "network", "--contact-email", MAILBOX)


def real_us_rows() -> list[dict]:
    """Four deployed FDA use cases (complete: they publish) and DOC-53, which has no stage (a
    draft), as the real file has them."""
    rows = us_rows()
    fda = [r for r in rows if "FDA" in r["agency_bureau"] and r["development_stage"] == "Deployed"]
    no_stage = next(r for r in rows if r["id"] == "DOC-53")
    return [*fda[:4], no_stage]


def keys_of(rows: list[dict]) -> list[str]:
    return [us_omb.source_row(n, row).key for n, row in enumerate(rows, 1)]


@pytest.fixture
def imported(db, tmp_path):
    """The five real rows imported at network level, beside a hand-made shared record, a
    hand-made record with a key of no format we know, and two Dutch registrations."""
    AgencyFactory(code=settings.NODE_AGENCY, name="Home", country="EU")
    rows = real_us_rows()
    output = run_import(us_csv(tmp_path, *rows), "us-omb-2025", *PUBLISH)
    assert summary_of(output) == (
        "created 5 (4 network, 1 draft), updated 0, unchanged 0, skipped 0; "
        "1 draft lacks something to be published: 1 purpose missing, 1 stage missing"
    )
    nl_file = tmp_path / "register.json"
    nl_file.write_text(json.dumps(nl_registrations()[:2]), encoding="utf-8")
    run_import(nl_file, "nl-register", *PUBLISH)
    UseCaseFactory(title="Made in the admin", publication_level="network")
    UseCaseFactory(title="Keyed by hand", source_key="spreadsheet:1", publication_level="network")
    return rows


def level_of(key: str) -> str:
    return UseCase.objects.get(source_key=key).publication_level


def test_rows_removed_from_the_file_are_listed_and_nothing_changes(imported, tmp_path):
    keys = keys_of(imported)
    before = state()
    output = run_import(us_csv(tmp_path, *imported[1:4]), "us-omb-2025")
    shared, draft = (UseCase.objects.get(source_key=k) for k in (keys[0], keys[4]))
    assert keys[4] == "us-omb-2025:DOC:DOC-53"
    assert f"no longer in the file: {keys[0]} (network) {shared.title}\n" in output
    assert f"no longer in the file: {keys[4]} (draft) {draft.title}\n" in output
    assert output.count("no longer in the file: ") == 2 + 1  # two lines and the summary
    assert summary_of(output) == (
        "created 0, updated 0, unchanged 3 (3 network), skipped 0; 2 no longer in the file: "
        "run again with --withdraw-missing to withdraw the 1 shared"
    )
    assert state() == before


def test_the_summary_says_them_when_every_missing_record_is_shared(imported, tmp_path):
    output = run_import(us_csv(tmp_path, *imported[1:]), "us-omb-2025")
    assert summary_of(output).endswith(
        "; 1 no longer in the file: run again with --withdraw-missing to withdraw them"
    )


def test_withdraw_missing_takes_shared_records_back_and_leaves_a_tombstone(imported, tmp_path):
    keys = keys_of(imported)
    gone = UseCase.objects.get(source_key=keys[0])
    draft = UseCase.objects.get(source_key=keys[4])
    untouched = UseCase.objects.exclude(pk__in=[gone.pk, draft.pk])
    others = list(untouched.order_by("pk").values_list("pk", "version", "publication_level"))
    output = run_import(us_csv(tmp_path, *imported[1:4]), "us-omb-2025", "--withdraw-missing")
    assert f"no longer in the file: {keys[0]} (network) {gone.title}: withdrawn, now internal" in (
        output
    )
    assert f"({draft.publication_level}) {draft.title}: left as it is (not shared)" in output
    assert summary_of(output).endswith(
        "; 2 no longer in the file: 1 withdrawn, 1 not shared, left as they are"
    )
    gone.refresh_from_db()
    assert (gone.publication_level, gone.version) == ("internal", 2)
    tombstone = FeedEntry.objects.get(uid=gone.uid)
    assert (tombstone.deleted, tombstone.version) == (True, 2)
    assert gone.history.first().history_change_reason == (
        "No longer in inventory.csv (us-omb-2025): withdrawn by the import"
    )
    assert UseCase.objects.get(pk=draft.pk).version == draft.version
    assert list(untouched.order_by("pk").values_list("pk", "version", "publication_level")) == (
        others
    )


def test_records_of_another_format_or_made_by_hand_are_never_missing(imported, tmp_path):
    before = state()
    output = run_import(us_csv(tmp_path, *imported), "us-omb-2025", "--withdraw-missing")
    assert "no longer in the file" not in output
    assert summary_of(output).startswith(
        "created 0, updated 0, unchanged 5 (4 network, 1 draft), skipped 0;"
    )
    assert state() == before
    assert UseCase.objects.filter(source_key__startswith="nl-register:").count() == 2


def test_a_withdrawn_record_is_still_listed_but_not_withdrawn_again(imported, tmp_path):
    smaller = us_csv(tmp_path, *imported[1:])
    run_import(smaller, "us-omb-2025", "--withdraw-missing")
    before = state()
    output = run_import(smaller, "us-omb-2025", "--withdraw-missing")
    assert summary_of(output).endswith("; 1 no longer in the file: 1 not shared, left as they are")
    assert "(internal)" in output
    assert state() == before


def test_a_dry_run_says_what_it_would_withdraw_and_stores_nothing(imported, tmp_path):
    before = state()
    output = run_import(
        us_csv(tmp_path, *imported[1:]), "us-omb-2025", "--withdraw-missing", "--dry-run"
    )
    assert f"no longer in the file: {keys_of(imported)[0]} (network) " in output
    assert ": would be withdrawn" in output
    assert summary_of(output).endswith("; 1 no longer in the file: 1 would be withdrawn")
    assert state() == before


def test_withdrawing_most_shared_records_is_refused_without_force(imported, tmp_path):
    last_only = us_csv(tmp_path, imported[3])
    before = state()
    with pytest.raises(CommandError) as refused:
        run_import(last_only, "us-omb-2025", "--withdraw-missing")
    assert str(refused.value) == (
        "--withdraw-missing would withdraw 3 of the 4 shared records imported from us-omb-2025 "
        "(75%), more than the 50% allowed: is this the whole file? Check it, or add --force to "
        "withdraw them anyway. Nothing was imported."
    )
    assert state() == before
    # The dry run is refused the same way: it shows what the real run would do.
    with pytest.raises(CommandError):
        run_import(last_only, "us-omb-2025", "--withdraw-missing", "--dry-run")
    output = run_import(last_only, "us-omb-2025", "--withdraw-missing", "--force")
    assert "3 withdrawn" in summary_of(output)
    shared = UseCase.objects.filter(source_key__startswith="us-omb-2025:").shared()
    assert list(shared.values_list("source_key", flat=True)) == [keys_of(imported)[3]]


def test_the_share_that_may_be_withdrawn_is_an_option(imported, tmp_path):
    half = us_csv(tmp_path, *imported[2:])
    with pytest.raises(CommandError, match=r"2 of the 4 .* more than the 40% allowed"):
        run_import(half, "us-omb-2025", "--withdraw-missing", "--max-withdraw-percent", "40")
    output = run_import(half, "us-omb-2025", "--withdraw-missing")
    assert "2 withdrawn" in summary_of(output)


def test_a_file_without_rows_never_withdraws_anything(imported, tmp_path):
    before = state()
    with pytest.raises(CommandError, match="has a header but no rows"):
        run_import(us_csv(tmp_path), "us-omb-2025", "--withdraw-missing", "--force")
    assert state() == before


def test_no_rows_refuse_a_withdrawal_even_when_forced(imported):
    existing = {uc.source_key: uc for uc in UseCase.objects.exclude(source_key=None)}
    gone = removed.find(existing, "us-omb-2025", set())
    assert len(gone) == 5
    with pytest.raises(ImportRefused, match="The file has no rows"):
        removed.check_withdrawal(gone, existing, "us-omb-2025", rows=0, max_share=1, force=True)


def test_force_without_withdraw_missing_is_refused(imported, tmp_path):
    with pytest.raises(CommandError, match="--force only goes with --withdraw-missing"):
        run_import(us_csv(tmp_path, *imported), "us-omb-2025", "--force")


def test_a_row_back_in_the_file_republishes_only_when_asked(imported, tmp_path):
    key = keys_of(imported)[0]
    run_import(us_csv(tmp_path, *imported[1:]), "us-omb-2025", "--withdraw-missing")
    run_import(us_csv(tmp_path, *imported), "us-omb-2025")
    assert level_of(key) == "internal"
    run_import(us_csv(tmp_path, *imported), "us-omb-2025", *PUBLISH)
    assert level_of(key) == "network"
    assert not FeedEntry.objects.get(uid=UseCase.objects.get(source_key=key).uid).deleted


def test_next_years_file_under_another_name_is_the_same_source(imported, tmp_path):
    elsewhere = tmp_path / "next-year"
    elsewhere.mkdir()
    renamed = us_csv(elsewhere, *imported[1:]).rename(elsewhere / "inventory-2026.csv")
    output = run_import(renamed, "us-omb-2025")
    assert summary_of(output).endswith(
        "; 1 no longer in the file: run again with --withdraw-missing to withdraw them"
    )
