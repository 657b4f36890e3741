"""Re-import keys never move to another row (registry.importers.keys; docs/import-mapping.md,
"Keys"). Both faults are reproduced with rows of the real OMB file in ../shared/data: a new row
that reuses another row's id, and two id-less rows of one name and bureau (ED's "Generative AI -
Code Generation" of the Institute of Education Sciences, rows 1490 and 1491, which differ in
their benefits; HHS's two "Chatbot" rows, 1780 and 1781, are identical in every cell)."""

import pytest
from django.conf import settings

from registry.importers import keys, nl_register
from registry.importers.base import SourceRow
from registry.importers.text import plain_text
from registry.models import UseCase
from tests.factories import AgencyFactory
from tests.registry.test_import_inventory import (
    nl_1_0,
    nl_file,
    run_import,
    summary_of,
    us_csv,
    us_rows,
)


@pytest.fixture
def home(db):
    return AgencyFactory(code=settings.NODE_AGENCY, name="Home", country="EU")


def real_row(agency: str, row_id: str) -> dict:
    return next(r for r in us_rows() if r["agency"] == agency and r["id"] == row_id)


def same_name_pair() -> list[dict]:
    """ED's two id-less "Generative AI - Code Generation" rows of the Institute of Education
    Sciences: same name, same bureau, different benefits."""
    rows = [
        r
        for r in us_rows()
        if r["agency"] == "ED"
        and r["use_case_name"] == "Generative AI - Code Generation"
        and r["agency_bureau"] == "Institute of Education Sciences"
    ]
    assert len(rows) == 2 and not any(r["id"].strip() for r in rows)
    assert rows[0]["benefits"] != rows[1]["benefits"]
    return rows


def chatbots() -> list[dict]:
    """HHS's two id-less "Chatbot" rows, identical in every cell in the real file."""
    rows = [r for r in us_rows() if r["agency"] == "HHS" and r["use_case_name"] == "Chatbot"]
    assert len(rows) == 2 and rows[0] == rows[1] and not rows[0]["id"].strip()
    return rows


def by_uid() -> dict[str, tuple[str, str]]:
    return {str(uc.uid): (uc.title, uc.purpose) for uc in UseCase.objects.all()}


def test_a_new_row_reusing_an_id_leaves_the_unchanged_row_its_key_and_record(home, tmp_path):
    first, other = real_row("DHS", "DHS-2705"), real_row("DHS", "DHS-313")
    run_import(us_csv(tmp_path, first, other), "us-omb-2025")
    original = UseCase.objects.get(source_key="us-omb-2025:DHS:DHS-2705")
    before = by_uid()
    reused = {**real_row("DHS", "DHS-314"), "id": "DHS-2705"}  # a new row, a wrong id

    output = run_import(us_csv(tmp_path, first, other, reused), "us-omb-2025")

    assert summary_of(output).startswith("created 1 (1 draft), updated 0, unchanged 2")
    assert "1 id is repeated in the file, rows matched on their content" in output
    assert "id us-omb-2025:DHS:DHS-2705 is repeated in rows 1, 3" in output
    assert UseCase.objects.count() == 3
    original.refresh_from_db()
    assert original.source_key == "us-omb-2025:DHS:DHS-2705"
    assert by_uid()[str(original.uid)] == before[str(original.uid)]
    new = UseCase.objects.exclude(uid__in=before).get()
    assert new.title == reused["use_case_name"].strip()
    assert new.source_key.startswith("us-omb-2025:DHS:DHS-2705~")


def test_the_row_order_of_repeated_ids_does_not_matter(home, tmp_path):
    first = real_row("DHS", "DHS-2705")
    reused = {**real_row("DHS", "DHS-314"), "id": "DHS-2705"}
    run_import(us_csv(tmp_path, first, reused), "us-omb-2025")
    before = {uc.source_key: (uc.uid, uc.title) for uc in UseCase.objects.all()}
    output = run_import(us_csv(tmp_path, reused, first), "us-omb-2025")
    assert summary_of(output).startswith("created 0, updated 0, unchanged 2")
    assert {uc.source_key: (uc.uid, uc.title) for uc in UseCase.objects.all()} == before


def test_removing_the_first_of_two_id_less_rows_of_one_name_leaves_the_second_its_record(
    home, tmp_path
):
    first, second = same_name_pair()
    run_import(us_csv(tmp_path, first, second), "us-omb-2025")
    assert UseCase.objects.count() == 2
    before = by_uid()

    output = run_import(us_csv(tmp_path, second), "us-omb-2025")

    assert summary_of(output).startswith("created 0, updated 0, unchanged 1")
    assert "1 no longer in the file" in output
    assert by_uid() == before  # no uid now describes the other system


def test_an_id_less_row_edited_at_the_source_updates_its_own_record(home, tmp_path):
    first, second = same_name_pair()
    run_import(us_csv(tmp_path, first, second), "us-omb-2025")
    before = by_uid()
    edited = {**second, "problem_solved": "Drafts code for statistical analyses."}

    output = run_import(us_csv(tmp_path, first, edited), "us-omb-2025")

    assert summary_of(output).startswith("created 0, updated 1 (1 draft), unchanged 1")
    after = by_uid()
    assert after.keys() == before.keys()
    changed = [uid for uid in after if after[uid] != before[uid]]
    assert len(changed) == 1
    assert after[changed[0]][1] == edited["problem_solved"]
    assert before[changed[0]][1] == second["problem_solved"].strip()


def test_rows_identical_in_every_cell_are_kept_apart_and_stay_two_records(home, tmp_path):
    output = run_import(us_csv(tmp_path, *chatbots()), "us-omb-2025")
    assert summary_of(output).startswith("created 2 (2 draft)")
    output = run_import(us_csv(tmp_path, *chatbots()), "us-omb-2025")
    assert summary_of(output).startswith("created 0, updated 0, unchanged 2")


def test_records_keyed_before_content_matching_keep_their_keys(home, tmp_path):
    """Records imported by the numbering ('k#2') and without fingerprints are matched too."""
    first, _ = same_name_pair()
    run_import(us_csv(tmp_path, first), "us-omb-2025")
    record = UseCase.objects.get()
    UseCase.objects.filter(pk=record.pk).update(source_fingerprint="")
    output = run_import(us_csv(tmp_path, first), "us-omb-2025")
    assert summary_of(output).startswith("created 0, updated 0, unchanged 1")
    assert keys.base_key("us-omb-2025:HHS:habc#2") == "us-omb-2025:HHS:habc"
    assert keys.base_key("us-omb-2025:HHS:HHS-1~c0ffee") == "us-omb-2025:HHS:HHS-1"
    assert keys.base_key("nl-register:12#x") == "nl-register:12#x"


def test_assign_keys_matches_on_content_never_on_position():
    def row(number, key, content, identity="i", has_id=True):
        return SourceRow(number, key, {}, has_id=has_id, identity=identity, content=content)

    stored = {"k": "i:aaa", "k~bbbbbbbbbbbb": "i:bbbbbbbbbbbb"}
    keyed = keys.assign_keys([row(1, "k", "bbbbbbbbbbbb"), row(2, "k", "aaa")], stored)
    assert [r.key for r in keyed.rows] == ["k~bbbbbbbbbbbb", "k"]
    assert [str(d) for d in keyed.duplicate_ids] == [
        "id k is repeated in rows 1, 2: each row was matched on its content"
    ]
    # Id-less rows are not reported as repeated ids.
    keyed = keys.assign_keys([row(1, "h", "x", has_id=False), row(2, "h", "y", has_id=False)], {})
    assert keyed.duplicate_ids == []
    assert [r.key for r in keyed.rows] == ["h", "h~y"]


# ---- HTML in imported text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            "<p>In de provincie &amp; gemeente.</p><p>Tweede <b>alinea</b>.</p>",
            "In de provincie & gemeente.\n\nTweede alinea.",
        ),
        ("<ul><li>een</li><li>twee<ul><li>sub</li></ul></li></ul>", "• een\n• twee\n  • sub"),
        ("Regel<br>volgende", "Regel\nvolgende"),
        ("<script>alert(1)</script>Zichtbaar", "Zichtbaar"),
        # Text without markup keeps its own line breaks, and a lone '<' is no tag.
        ("a < b, en c > d\n\nnieuwe alinea", "a < b, en c > d\n\nnieuwe alinea"),
        ("<3 algoritmes", "<3 algoritmes"),
        # Character references without tags, as one row of the OMB file has them.
        ("images &amp; decomposition", "images & decomposition"),
        ("AT&T; R&D", "AT&T; R&D"),
    ],
)
def test_html_becomes_plain_text_with_paragraphs_and_lists(html, text):
    assert plain_text(html) == text


def test_a_dutch_registration_in_html_is_stored_as_plain_text(home, tmp_path):
    registration = nl_1_0(
        description_short="<p>In de provincie Utrecht.</p><p>Met <i>twee</i> alinea's.</p>",
        goal="<ul><li>Verkeer meten</li><li>Files voorspellen</li></ul>",
    )
    run_import(nl_file(tmp_path, registration), nl_register.FORMAT)
    record = UseCase.objects.get()
    assert record.summary == "In de provincie Utrecht. Met twee alinea's."  # one line
    assert record.purpose == "• Verkeer meten\n• Files voorspellen"
    assert "<" not in record.description
