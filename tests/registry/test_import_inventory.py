"""import_inventory on the two real inventories in ../shared/data (never copied into the
repository) and on small broken files written here."""

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction

from registry import services
from registry.importers import nl_register, us_omb
from registry.importers.base import MapOptions, SourceRow
from registry.importers.service import ImportReport, RowReasons
from registry.importers.text import meaningful
from registry.models import Agency, FeedEntry, UseCase
from registry.validation import validate_record
from tests.factories import AgencyFactory, UseCaseFactory

DATA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data"
US_FILE = "us_omb_2025_individually_reported_AI_use_cases.csv"
NL_FILE = "nl_minbzk_algoritmeregister_pub_data_2023-05.json"
MAILBOX = "ai-registry@ema.example.org"

# What every Dutch registration lacks: the register has no English titles.
ENGLISH_TITLE = "title_en: An English title is required when the language is not English, "
TITLE_EN = f"117 {ENGLISH_TITLE}"


def real_file(name: str) -> Path:
    path = DATA_DIR / name
    assert path.is_file(), (
        f"The real inventory {path} is missing. The import tests read it from ../shared/data "
        "next to the repository; put the shared data there (CI has it)."
    )
    return path


def us_rows() -> list[dict]:
    with real_file(US_FILE).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def gives_a_contact(cell: str | None) -> bool:
    """The source names an address or a contact page (counted here without the importer)."""
    cell = cell or ""
    return "@" in cell or "http" in cell.lower()


def nl_registrations() -> list[dict]:
    return json.loads(real_file(NL_FILE).read_text(encoding="utf-8"))


def run_import(path, fmt: str, *args: str, agency: str | None = None) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_inventory",
        str(path),
        "--agency",
        agency or settings.NODE_AGENCY,
        "--format",
        fmt,
        *args,
        stdout=out,
        stderr=err,
    )
    return out.getvalue() + err.getvalue()


def summary_of(output: str) -> str:
    return [line for line in output.splitlines() if line.startswith("created ")][-1]


def state() -> list[tuple]:
    """What an import must leave alone: every record's key, version and feed state."""
    records = list(UseCase.objects.order_by("pk").values_list("pk", "version", "title"))
    feed = list(FeedEntry.objects.order_by("pk").values_list("pk", "version", "seq"))
    return records + feed


@pytest.fixture(scope="class")
def us_import(django_db_setup, django_db_blocker):
    """The real US file imported once for the class below, with no option and an agency without
    a mailbox (the hardest case), rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        Agency.objects.create(code=settings.NODE_AGENCY, name="Home", country="EU", kind="ema")
        output = run_import(real_file(US_FILE), "us-omb-2025")
        yield output
        transaction.set_rollback(True)


def us_record(title: str) -> UseCase:
    return UseCase.objects.get(origin_id=settings.NODE_AGENCY, title=title)


class TestTheUsInventory:
    """One import of the real US file, shared by these tests (it takes half a minute)."""

    def test_every_us_row_is_a_record_or_an_accounted_skip(self, us_import, db):
        rows = us_rows()
        titled = [r for r in rows if r["use_case_name"].strip()]
        no_stage = [r for r in titled if not r["development_stage"].strip()]
        no_contact = [r for r in titled if not gives_a_contact(r["contact_email"])]
        # No purpose stated: nothing is invented for it, the record is a draft that lacks it.
        no_purpose = [r for r in titled if not meaningful(r["problem_solved"])]
        lacking = [r for r in titled if r in no_stage or r in no_contact or r in no_purpose]
        counts = (len(rows), len(titled), len(no_stage), len(no_contact), len(no_purpose))
        assert counts == (3611, 3610, 338, 1116, 606)
        assert summary_of(us_import) == (
            "created 3610 (3610 draft), updated 0, unchanged 0, skipped 1; "
            f"{len(lacking)} drafts lack something to be published: "
            "1116 contact_email missing, 606 purpose missing, 338 stage missing; "
            "2 ids are repeated in the file, rows matched on their content"
        )
        records = UseCase.objects.filter(source_key__startswith="us-omb-2025:")
        assert records.count() == len(titled) >= 3500
        assert records.exclude(gaps=[]).count() == len(lacking)
        assert us_import.count("\nskipped row ") + us_import.startswith("skipped row ") == 1

    def test_drafts_are_reported_by_reason_not_row_by_row(self, us_import, db):
        assert "DOC-53" not in us_import  # a draft without a stage
        assert us_import.count("drafts lack something") == 1

    def test_the_import_reports_progress_on_stderr(self, us_import, db):
        assert "500/3611 rows" in us_import
        assert "3611/3611 rows" in us_import

    def test_skip_reasons_name_the_row_its_key_and_the_fields(self, us_import, db):
        assert (
            "skipped row 838 (us-omb-2025:DOI:DOI-0015): title: This field is required."
            in us_import
        )

    def test_a_row_without_a_stage_is_a_draft_that_says_what_it_lacks(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:DOC:DOC-53")
        assert (record.publication_level, record.stage) == ("draft", None)
        assert "stage" in record.gaps
        assert record.completeness < 70

    def test_a_row_without_any_contact_lacks_only_that(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:VA:VA-24-1938")
        assert (record.contact_email, record.gaps) == ("", ["contact_email"])
        # A name is not a contact, but it is kept where the agency will see it.
        named = UseCase.objects.get(source_key="us-omb-2025:DOC:DOC-195")
        assert named.gaps == ["purpose", "stage", "contact_email"]  # in the form's order
        assert "Contact given in the source: Gerardo Nixon." in named.description

    def test_renamed_use_cases_keep_their_new_name_and_mention_the_old_one(self, us_import, db):
        record = us_record("FAR-based Facility Signal Detection Tool")
        assert "Previously named: Post-market Surveillance Reports Signal Detection" in (
            record.description
        )
        assert record.stage == "production"
        assert record.operational_since.isoformat() == "2024-06-01"  # 'Jun-24'
        assert record.regulatory_processes == ["pharmacovigilance"]
        assert record.medicine_scope == "human"  # HHS/FDA/CDER
        assert record.publication_level == "draft"
        assert record.version == 1

    def test_month_year_dates_become_the_first_of_the_month(self, us_import, db):
        record = us_record("Grant management support: structuring information in applications")
        assert record.operational_since.isoformat() == "2025-07-01"  # 'Jul-25'
        assert record.techniques == ["agentic"]

    def test_high_impact_use_cases_are_high_risk_with_oversight_and_justification(
        self, us_import, db
    ):
        high = UseCase.objects.filter(ai_act_risk="high")
        assert high.count() == sum(r["is_high_impact"] == "High-impact" for r in us_rows()) == 445
        record = UseCase.objects.get(source_key="us-omb-2025:VA:VA-24-4923")
        assert record.human_oversight == "human_on_the_loop"
        assert record.ai_act_justification.startswith(
            "Reported as high-impact AI under OMB M-25-21"
        )
        assert record.affects_individuals is True
        # Deployed without a date: the inventory's submission date, said so in the description.
        assert record.operational_since.isoformat() == "2025-12-22"
        assert "Operational date not in the source" in record.description

    def test_a_contact_page_is_the_contact_when_there_is_no_mailbox(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:TREAS:BEP-25")
        assert record.contact_email.startswith("https://")
        assert record.gaps == []
        assert record.operational_since.isoformat() == "2024-04-24"  # '4/24/2024'
        assert UseCase.objects.get(source_key="us-omb-2025:DHS:DHS-2729").contact_email == (
            "ai@hq.dhs.gov"
        )

    def test_personal_data_follows_has_pii_and_the_pia_link(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:DHS:DHS-2729")
        assert (record.personal_data, record.dpia_status) == ("personal", "done")
        assert record.stage == "pilot"
        assert record.started_on.isoformat() == "2025-10-09"
        assert record.ai_act_risk == "not_assessed"
        assert record.ai_act_justification  # the US 'presumed but not high-impact' reasoning

    def test_retired_rows_get_the_inventory_date_as_retirement_date(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:DOL:DOL-26")
        assert record.stage == "retired"
        assert record.retired_on.isoformat() == "2025-12-22"
        assert "withheld-in-source" in record.tags

    def test_repeated_ids_fall_back_to_numbered_hash_keys(self, us_import, db):
        keys = set(
            UseCase.objects.filter(title__in=["Copilot for Appian", "RelativityOne"]).values_list(
                "source_key", flat=True
            )
        )
        assert len(keys) == 2
        assert all(key.startswith("us-omb-2025:STB:h") for key in keys)  # id 'TBD' twice

    def test_every_imported_record_passes_the_record_validator(self, us_import, db):
        for record in UseCase.objects.all().iterator():
            validate_record(record.to_record())

    def test_reimporting_the_unchanged_file_changes_nothing(self, us_import, db):
        before = state()
        output = run_import(real_file(US_FILE), "us-omb-2025")
        assert summary_of(output) == (
            "created 0, updated 0, unchanged 3610 (3610 draft), skipped 1; "
            "1533 drafts lack something to be published: "
            "1116 contact_email missing, 606 purpose missing, 338 stage missing; "
            "2 ids are repeated in the file, rows matched on their content"
        )
        assert state() == before
        assert set(UseCase.objects.values_list("version", flat=True)) == {1}

    def test_a_changed_record_is_updated_and_keeps_its_publication_level(self, us_import, db):
        record = UseCase.objects.get(source_key="us-omb-2025:TREAS:BEP-25")
        record.title = "Edited here"
        services.publish_to_network(record)
        output = run_import(real_file(US_FILE), "us-omb-2025")
        assert summary_of(output).startswith(
            "created 0, updated 1 (1 network), unchanged 3609 (3609 draft), skipped 1;"
        )
        record.refresh_from_db()
        assert (record.title, record.publication_level, record.version) == (
            "Sub-Asset Maintenance Model",
            "network",
            3,
        )
        assert (
            FeedEntry.objects.get(uid=record.uid).record["title"] == "Sub-Asset Maintenance Model"
        )


@pytest.fixture
def home(db):
    return AgencyFactory(code=settings.NODE_AGENCY, name="Home", country="EU")


@pytest.fixture
def home_with_mailbox(db):
    return AgencyFactory(
        code=settings.NODE_AGENCY, name="Home", country="EU", contact_email=MAILBOX
    )


def test_every_dutch_registration_is_a_record(home):
    registrations = nl_registrations()
    without_status = [r for r in registrations if not (r["status"] or "").strip()]
    no_contact = [r for r in registrations if not gives_a_contact(r["contact_email"])]
    assert (len(registrations), len(without_status), len(no_contact)) == (117, 46, 80)
    output = run_import(real_file(NL_FILE), "nl-register")
    assert summary_of(output) == (
        "created 117 (117 draft), updated 0, unchanged 0, skipped 0; "
        "117 drafts lack something to be published: "
        f"{TITLE_EN}80 contact_email missing, 46 stage missing"
    )
    assert UseCase.objects.count() == 117
    output = run_import(real_file(NL_FILE), "nl-register")
    assert summary_of(output) == (
        "created 0, updated 0, unchanged 117 (117 draft), skipped 0; "
        "117 drafts lack something to be published: "
        f"{TITLE_EN}80 contact_email missing, 46 stage missing"
    )


def test_the_agency_mailbox_is_the_default_contact_and_a_reimport_changes_nothing(
    home_with_mailbox,
):
    output = run_import(real_file(NL_FILE), "nl-register")
    assert summary_of(output) == (
        "created 117 (117 draft), updated 0, unchanged 0, skipped 0; "
        f"117 drafts lack something to be published: {TITLE_EN}46 stage missing"
    )
    record = UseCase.objects.get(source_key="nl-register:62129549")
    assert record.contact_email == MAILBOX  # the source gives a contact form, no address
    assert "Contact given in the source: Voor contact over deze registratie" in (record.description)
    before = state()
    output = run_import(real_file(NL_FILE), "nl-register")
    assert summary_of(output) == (
        "created 0, updated 0, unchanged 117 (117 draft), skipped 0; "
        f"117 drafts lack something to be published: {TITLE_EN}46 stage missing"
    )
    assert state() == before


def test_dutch_registrations_are_dutch_records_and_no_english_title_is_invented(home):
    run_import(real_file(NL_FILE), "nl-register", "--contact-email", MAILBOX)
    record = UseCase.objects.get(source_key="nl-register:62129549")
    assert record.title == "TVL Risicomodel"
    assert record.language == "nl"
    assert record.title_en == ""  # the register has none: missing, not a placeholder
    assert "title_en" in record.gaps
    assert record.operational_since.isoformat() == "2020-12-18"  # 'In gebruik sinds 18-12-2020'
    assert record.contact_email == MAILBOX
    stopped = UseCase.objects.get(source_key="nl-register:44714491")
    assert (stopped.stage, stopped.retired_on.isoformat()) == ("retired", "2023-03-31")
    assert UseCase.objects.get(source_key="nl-register:48536774").stage == "pilot"


def test_without_a_mailbox_a_contact_page_of_the_source_is_the_contact(home):
    run_import(real_file(NL_FILE), "nl-register")
    record = UseCase.objects.get(source_key="nl-register:19331472")
    assert record.contact_email == (
        "https://formulieren.kadaster.nl/contact_kadaster_algoritmeregister"
    )
    assert "contact_email" not in record.gaps


def test_the_publication_level_option_never_publishes_a_record_without_an_english_title(home):
    output = run_import(
        real_file(NL_FILE),
        "nl-register",
        "--contact-email",
        MAILBOX,
        "--publication-level",
        "network",
    )
    assert summary_of(output) == (
        "created 117 (117 draft), updated 0, unchanged 0, skipped 0; "
        f"117 drafts lack something to be published: {TITLE_EN}46 stage missing"
    )
    assert not UseCase.objects.filter(publication_level="network").exists()
    assert all("title_en" in gaps for gaps in UseCase.objects.values_list("gaps", flat=True))
    assert not FeedEntry.objects.filter(deleted=False).exists()


def test_a_dry_run_stores_nothing(home):
    output = run_import(real_file(NL_FILE), "nl-register", "--contact-email", MAILBOX, "--dry-run")
    assert "Dry run: nothing was stored." in output
    assert summary_of(output) == (
        "created 117 (117 draft), updated 0, unchanged 0, skipped 0; "
        f"117 drafts lack something to be published: {TITLE_EN}46 stage missing"
    )
    assert not UseCase.objects.exists()


# The register's publication standard 1.0, the form catalogue/crosswalks/nl_register.py writes.


def nl_1_0(**values) -> dict:
    """A registration in the field names of register-config-v1_0.json (no 0.x create_dt)."""
    return {
        "name": "Roosterplanning",
        "description_short": "Stelt roosters voor.",
        "organization": "Gemeente Voorbeeld",
        "category": ["Organisatie en bedrijfsvoering"],
        "status": "Buiten gebruik",
        "begin_date": "2021-04",
        "end_date": "2024-11",
        "contact_email": "algoritmes@voorbeeld.example.nl",
        "goal": "Roosters sneller maken.",
        "tags": "HR, roosters",
        "lang": "nld",
        "standard_version": "1.0",
        "source_id": "GV/1",
        "lars": "",
    } | values


def nl_file(tmp_path: Path, *registrations: dict) -> Path:
    path = tmp_path / "registrations.json"
    path.write_text(json.dumps(list(registrations), ensure_ascii=False), encoding="utf-8")
    return path


def nl_map(registration: dict) -> dict:
    row = SourceRow(1, "nl-register:x", registration)
    return nl_register.map_row(row, MapOptions(today=dt.date(2025, 6, 1))).record


def test_a_1_0_registration_gives_its_months_as_dates_and_its_themes_as_no_tags(home, tmp_path):
    output = run_import(nl_file(tmp_path, nl_1_0()), "nl-register")
    assert summary_of(output) == (
        "created 1 (1 draft), updated 0, unchanged 0, skipped 0; 1 draft lacks something to be "
        "published: 1 title_en: An English title is required when the language is not English"
    )
    record = UseCase.objects.get()
    assert record.stage == "retired"
    assert (record.started_on, record.operational_since, record.retired_on) == (
        None,
        dt.date(2021, 4, 1),
        dt.date(2024, 11, 1),
    )
    assert record.tags == ["HR", "roosters"]
    assert record.regulatory_processes == ["corporate_services"]
    assert "Themes: Organisatie en bedrijfsvoering" in record.description
    assert record.description.endswith(
        "Source: Dutch national Algorithm Register (publication standard 1.0): Gemeente Voorbeeld."
    )
    assert "registration date" not in record.description


def test_a_1_0_registration_without_a_month_or_a_registration_date_lacks_the_date(home, tmp_path):
    registrations = [
        nl_1_0(status="In gebruik", begin_date="", end_date=""),
        nl_1_0(name="Zonder einde", begin_date="", end_date="", lars="123"),
    ]
    output = run_import(nl_file(tmp_path, *registrations), "nl-register")
    assert summary_of(output) == (
        "created 2 (2 draft), updated 0, unchanged 0, skipped 0; "
        "2 drafts lack something to be published: "
        f"2 {ENGLISH_TITLE}"
        "1 operational_since: Required when the stage is production, "
        "1 retired_on: Required when the stage is retired"
    )
    for record in UseCase.objects.all():
        assert (record.operational_since, record.retired_on) == (None, None)
        assert "None" not in record.description and "LARS ." not in record.description
        assert "registration date" not in record.description
    assert UseCase.objects.get(title="Zonder einde").description.endswith(
        ": Gemeente Voorbeeld, LARS 123."
    )


def test_a_1_0_publication_date_is_the_registration_date_fallback():
    published = "2024-05-17T09:12:44.5Z"
    record = nl_map(nl_1_0(status="In gebruik", begin_date="", publication_dt=published))
    assert record["operational_since"] == "2024-05-17"
    assert "set to the registration date 2024-05-17." in record["description"]
    record = nl_map(nl_1_0(status="In gebruik", begin_date="", publication_dt="onbekend"))
    assert record["operational_since"] is None


@pytest.mark.parametrize(
    ("themes", "goal", "processes"),
    [
        (["Organisatie en bedrijfsvoering"], "Signal detection.", ["corporate_services"]),
        (
            ["Organisatie en bedrijfsvoering", "Zorg en gezondheid"],
            "Roosters maken.",
            ["corporate_services", "other"],
        ),
        (
            ["Organisatie en bedrijfsvoering", "Zorg en gezondheid"],
            "Signal detection.",
            ["corporate_services", "pharmacovigilance"],
        ),
        (["Zorg en gezondheid"], "Signal detection.", ["pharmacovigilance"]),
        (["Zorg en gezondheid"], "Roosters maken.", ["other"]),
        ([], "Signal detection.", ["pharmacovigilance"]),
    ],
)
def test_the_corporate_theme_alone_decides_corporate_services(themes, goal, processes):
    record = nl_map(nl_1_0(category=themes, description_short=goal))
    assert record["regulatory_processes"] == processes
    assert record["tags"] == ["HR", "roosters"]


def test_months_keep_their_order_and_a_month_that_is_no_date_skips_the_row(home, tmp_path):
    registrations = [
        nl_1_0(name="Omgekeerd", begin_date="2024-11", end_date="2021-04"),
        nl_1_0(name="Voorjaar", begin_date="voorjaar 2021", lars="7"),
        nl_1_0(name="Maand 13", end_date="2024-13", lars="8"),
    ]
    output = run_import(nl_file(tmp_path, *registrations), "nl-register")
    assert summary_of(output) == (
        "created 1 (1 draft), updated 0, unchanged 0, skipped 2; "
        "1 draft lacks something to be published: "
        f"1 {ENGLISH_TITLE}"
        "1 retired_on: Must not be before operational since"
    )
    assert "operational_since: 'voorjaar 2021' is not an ISO date" in output
    assert "retired_on: '2024-13' is not an ISO date" in output


# Bad input: a clear error, and nothing already stored changes.


@pytest.fixture
def stored(home):
    UseCaseFactory(source_key="us-omb-2025:HHS:X-1")
    return state()


def us_csv(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "inventory.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=us_omb.COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: "" for name in us_omb.COLUMNS} | row)
    return path


def us_row(**values) -> dict:
    return {
        "agency": "HHS",
        "agency_name": "Department of Health and Human Services",
        "id": "HHS-T-1",
        "use_case_name": "Adverse event report triage",
        "agency_bureau": "HHS/FDA/CDER",
        "contact_email": "ai@fda.example.gov",
        "development_stage": "Deployed",
        "is_high_impact": "Not High-impact",
        "problem_solved": "Too many reports to read.",
        "operational_date": "01/2024",
        "classification": "NLP",
    } | values


@pytest.mark.parametrize(
    ("fmt", "agency", "extra", "message"),
    [
        ("xlsx", None, [], "Unknown format 'xlsx'"),
        ("us-omb-2025", None, ["--publication-level", "everyone"], "Unknown publication level"),
        ("us-omb-2025", "XX-NONE", [], "No agency 'XX-NONE' here"),
        ("us-omb-2025", "DE-BFARM", [], "only the origin writes its records"),
    ],
)
def test_a_bad_request_is_refused_and_changes_nothing(
    stored, tmp_path, fmt, agency, extra, message
):
    AgencyFactory(code="DE-BFARM")
    with pytest.raises(CommandError, match=message):
        run_import(us_csv(tmp_path, us_row()), fmt, *extra, agency=agency)
    assert state() == stored


def test_a_missing_file_is_refused(stored, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "nowhere.csv", "us-omb-2025")
    assert state() == stored


def test_the_dutch_file_announced_as_the_us_format_is_refused(stored):
    with pytest.raises(CommandError, match="This is not a us-omb-2025 CSV: .*Nothing was imported"):
        run_import(real_file(NL_FILE), "us-omb-2025")
    assert state() == stored


def test_the_us_file_announced_as_the_dutch_format_is_refused(stored):
    with pytest.raises(CommandError, match="This is not a nl-register JSON file"):
        run_import(real_file(US_FILE), "nl-register")
    assert state() == stored


def test_a_truncated_file_is_refused_before_anything_is_written(stored, tmp_path):
    path = tmp_path / "truncated.csv"
    path.write_bytes(real_file(US_FILE).read_bytes()[:200_000])
    with pytest.raises(CommandError, match="truncated or garbled|unexpected end of data"):
        run_import(path, "us-omb-2025")
    assert state() == stored


def test_a_garbled_file_is_refused(stored, tmp_path):
    path = tmp_path / "garbled.csv"
    path.write_bytes(b"\xff\xfe\x00binary\x00" * 100)
    with pytest.raises(CommandError, match="not UTF-8 text"):
        run_import(path, "us-omb-2025")
    assert state() == stored


def test_bad_rows_are_skipped_with_reasons_and_good_rows_still_import(stored, tmp_path):
    path = us_csv(
        tmp_path,
        us_row(),
        us_row(id="HHS-T-2", development_stage="Operational"),
        us_row(id="HHS-T-3", operational_date="31.12.2024"),
        us_row(id="HHS-T-4", problem_solved="x" * 10_000_000),
        us_row(id="HHS-T-5", use_case_name=""),
        us_row(id="HHS-T-6", development_stage=""),
    )
    output = run_import(path, "us-omb-2025")
    # The record stored before is not in this file: listed, and left alone.
    assert summary_of(output) == (
        "created 2 (2 draft), updated 0, unchanged 0, skipped 4; "
        "1 draft lacks something to be published: 1 stage missing; "
        "1 no longer in the file, none of them shared"
    )
    assert "row 2 (us-omb-2025:HHS:HHS-T-2): stage: 'Operational' is not one of" in output
    assert (
        "row 3 (us-omb-2025:HHS:HHS-T-3): operational_since: '31.12.2024' is not an ISO" in output
    )
    assert "row 4 (us-omb-2025:HHS:HHS-T-4): purpose: Ensure this value has at most 20000" in output
    assert "row 5 (us-omb-2025:HHS:HHS-T-5): title: This field is required." in output
    assert "HHS-T-6" not in output
    assert UseCase.objects.count() == 3
    assert UseCase.objects.get(source_key="us-omb-2025:HHS:X-1").version == 1


def test_rows_the_source_withholds_never_go_public(home, tmp_path):
    path = us_csv(tmp_path, us_row(is_withheld="Yes - Disclosure Risk"), us_row(id="HHS-T-2"))
    run_import(path, "us-omb-2025", "--publication-level", "public")
    levels = dict(UseCase.objects.values_list("source_key", "publication_level"))
    assert levels == {"us-omb-2025:HHS:HHS-T-1": "network", "us-omb-2025:HHS:HHS-T-2": "public"}


def test_a_published_record_whose_row_no_longer_gives_its_contact_keeps_it(home, tmp_path):
    # An update merges: a cell the row leaves empty keeps the stored value (test_import_merge).
    run_import(us_csv(tmp_path, us_row()), "us-omb-2025", "--publication-level", "network")
    record = UseCase.objects.get()
    assert (record.publication_level, record.gaps) == ("network", [])
    before = state()
    output = run_import(us_csv(tmp_path, us_row(contact_email="")), "us-omb-2025")
    assert summary_of(output) == "created 0, updated 0, unchanged 1 (1 network), skipped 0"
    record.refresh_from_db()
    assert (record.publication_level, record.contact_email) == ("network", "ai@fda.example.gov")
    assert not FeedEntry.objects.get(uid=record.uid).deleted
    assert state() == before


def test_drafts_are_grouped_by_reason_most_frequent_first(home, tmp_path):
    path = us_csv(
        tmp_path,
        us_row(development_stage=""),
        us_row(id="HHS-T-2", development_stage="", contact_email=""),
        us_row(id="HHS-T-3", development_stage=""),
        us_row(id="HHS-T-4", development_stage="Pilot", operational_date="2024-05-01"),
        us_row(id="HHS-T-5", contact_email="Jane Doe"),
    )
    output = run_import(path, "us-omb-2025", "--publication-level", "internal")
    assert summary_of(output) == (
        "created 5 (1 internal, 4 draft), updated 0, unchanged 0, skipped 0; "
        "4 drafts lack something to be published: "
        "3 stage missing, 2 contact_email missing"
    )
    assert UseCase.objects.filter(publication_level="internal").count() == 1


def test_the_summary_names_a_handful_of_reasons_then_dots():
    def draft(number: int, **errors: list[str]) -> RowReasons:
        return RowReasons(number, f"k{number}", errors)

    report = ImportReport(rows=9, counts={"created": 9, "updated": 0, "unchanged": 0})
    report.drafts = [
        draft(1, stage=["This field is required."], a=["This field is required."]),
        draft(2, stage=["This field is required."], b=["This field is required."]),
        draft(3, retired_on=["Must not be before operational since (1 January 2026)."]),
        draft(4, retired_on=["Must not be before operational since (1 March 2025)."]),
        draft(5, stage=["This field is required."], c=["This field is required."]),
        draft(6, d=["This field is required."], e=["This field is required."]),
        draft(7, f=["This field is required."]),
    ]
    assert report.summary(groups=3) == (
        "created 9, updated 0, unchanged 0, skipped 0; "
        "7 drafts lack something to be published: 3 stage missing, "
        "2 retired_on: Must not be before operational since, 1 a missing, ..."
    )
    assert report.summary(groups=9).endswith("1 e missing, 1 f missing")


def test_a_reimport_reads_an_empty_enum_stored_as_text_as_unchanged(home, tmp_path):
    path = us_csv(tmp_path, us_row(), us_row(id="HHS-T-2", development_stage=""))
    run_import(path, "us-omb-2025")
    # A writer other than the importer may store an empty choice as '' instead of NULL.
    UseCase.objects.update(hosting="", human_oversight="")
    UseCase.objects.filter(stage=None).update(stage="")
    before = state()
    output = run_import(path, "us-omb-2025")
    assert summary_of(output) == (
        "created 0, updated 0, unchanged 2 (2 draft), skipped 0; "
        "1 draft lacks something to be published: 1 stage missing"
    )
    assert state() == before
