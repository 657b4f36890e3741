"""Full-text search (registry.search): one behaviour on SQLite and PostgreSQL.

The table below runs on whichever database the suite runs on (CI runs it on both), so each
query must find the same records on SQLite (FTS5) and on PostgreSQL (tsvector)."""

import html
import re
import unicodedata

import pytest
from django.db import connection

from registry import search
from registry.models import UseCase
from tests.factories import UseCaseFactory

NEUTRAL = {
    "description": "",
    "purpose": "",
    "benefits": "",
    "business_unit": "",
    "tags": [],
    "data_sources": [],
}
RECORDS = {
    "en-mt": {
        "title": "Machine translation of product information",
        "summary": "Translates SmPC texts with a neural MT engine.",
    },
    "en-inspection": {
        "title": "Inspection planning assistant",
        "summary": "Ranks GMP inspection sites by risk.",
    },
    "en-gpt": {
        "title": "Summaries of assessment reports",
        "summary": "An LLM (GPT) drafts summaries for the CHMP.",
        "tags": ["COVID-19"],
    },
    "de": {
        "language": "de",
        "title": "Überwachung der Arzneimittelsicherheit",
        "title_en": "Medicine safety monitoring",
        "summary": "Automatische Prüfung von Nebenwirkungsmeldungen.",
    },
    "de-nfd": {
        "language": "de",
        "title": unicodedata.normalize("NFD", "Qualitätsmängel erkennen"),
        "title_en": "Detecting quality defects",
        "summary": unicodedata.normalize("NFD", "Meldungen über Qualitätsmängel sortieren."),
    },
    "fr": {
        "language": "fr",
        "title": "Traduction automatique des notices",
        "title_en": "Machine translation of package leaflets",
        "summary": "Système de traduction élaboré à l'Agence.",
    },
    "nl": {
        "language": "nl",
        "title": "Vertaling van bijsluiters",
        "title_en": "Translation of package leaflets",
        "summary": "Controle door de beoordelaar.",
    },
    "el": {
        "language": "el",
        "title": "Έλεγχος ασφάλειας φαρμάκων",
        "title_en": "Drug safety review",
        "summary": "Ανάλυση αναφορών ανεπιθύμητων ενεργειών.",
    },
    "pl": {
        "language": "pl",
        "title": "Łódzki rejestr zgłoszeń",
        "title_en": "Łódź reports register",
        "summary": "Analiza zgłoszeń działań niepożądanych leków.",
    },
}
ALL = set(RECORDS)
NFD = unicodedata.normalize("NFD", "Überwachung")

QUERIES = [
    # cases and accents, every script
    ("Überwachung", {"de"}),
    ("ÜBERWACHUNG", {"de"}),
    ("uberwachung", {"de"}),
    (NFD, {"de"}),
    ("qualitätsmängel", {"de-nfd"}),
    ("QUALITATSMANGEL", {"de-nfd"}),
    ("über", {"de-nfd"}),
    ("έλεγχος", {"el"}),
    ("ΈΛΕΓΧΟΣ", {"el"}),
    ("ελεγχος", {"el"}),
    ("ΑΣΦΑΛΕΙΑΣ φαρμάκων", {"el"}),
    ("lodz", {"pl"}),
    ("ŁÓDŹ", {"pl"}),
    ("zgloszen", {"pl"}),
    ("Zgłoszeń", {"pl"}),
    ("traduction", {"fr"}),
    ("ELABORE", {"fr"}),
    ("élaboré", {"fr"}),
    ("vertaling", {"nl"}),
    ("BIJSLUITERS", {"nl"}),
    # acronyms and words a language drops as stop words
    ("GPT", {"en-gpt"}),
    ("llm", {"en-gpt"}),
    ("MT", {"en-mt"}),
    ("CHMP", {"en-gpt"}),
    ("for the CHMP", {"en-gpt"}),
    ("covid-19", {"en-gpt"}),
    ("der", {"de"}),
    # OR, -word, phrases
    ("translation OR inspection", {"en-mt", "en-inspection", "fr", "nl"}),
    ("translation or inspection", {"en-mt", "en-inspection", "fr", "nl"}),
    ("translation -machine", {"nl"}),
    ("-machine", ALL - {"en-mt", "fr"}),
    ('"machine translation"', {"en-mt", "fr"}),
    ('"translation machine"', set()),
    ('"package leaflets" -vertaling', {"fr"}),
    ('leaflets -"machine translation"', {"nl"}),
    ("safety OR quality monitoring", {"de"}),
    ("", set()),
    ('"" - OR', set()),
]


@pytest.fixture
def indexed(db):
    return {key: UseCaseFactory(**{**NEUTRAL, **fields}).pk for key, fields in RECORDS.items()}


def found(query: str, indexed: dict) -> set[str]:
    keys = {pk: key for key, pk in indexed.items()}
    return {
        keys[pk] for pk in search.search(UseCase.objects.all(), query).values_list("pk", flat=True)
    }


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_search_finds_the_same_records_on_every_database(indexed, query, expected):
    assert found(query, indexed) == expected


def test_an_edited_record_is_found_by_its_new_text_only(indexed):
    record = UseCase.objects.get(pk=indexed["nl"])
    record.title = "Ελέγχος των φύλλων οδηγιών"
    record.save()

    assert found("vertaling", indexed) == set()
    assert found("ελεγχος", indexed) == {"el", "nl"}


def test_a_deleted_record_leaves_the_index(indexed):
    UseCase.objects.filter(pk=indexed["pl"]).delete()

    assert found("lodz", indexed) == set()


def test_an_updated_list_field_is_searched_in_its_own_characters(indexed):
    UseCase.objects.filter(pk=indexed["en-mt"]).update(tags=["Übersetzung"])

    assert found("ubersetzung", indexed) == {"en-mt"}


def test_title_matches_rank_first(db):
    in_text = UseCaseFactory(**NEUTRAL, title="Assistant", summary="Checks leaflets.")
    in_title = UseCaseFactory(**NEUTRAL, title="Leaflets checker", summary="Checks them.")

    ranked = search.search(UseCase.objects.all(), "leaflets").order_by("-search_rank")

    assert [uc.pk for uc in ranked] == [in_title.pk, in_text.pk]
    assert [getattr(uc, search.IN_TITLE) for uc in ranked] == [True, False]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming is PostgreSQL's")
def test_postgresql_finds_other_forms_of_a_word_in_the_records_language(indexed):
    assert found("translations", indexed) == {"en-mt", "fr", "nl"}
    assert found("Überwachungen", indexed) == {"de"}


# ---- snippets -----------------------------------------------------------------------------------

HOSTILE = (
    "Intro words first. <script>alert('x')</script> closes </mark> here, &lt; stays text, "
    "\"double\" and 'single' quotes, \x02 \x03 markers, <mark>fake</mark> and the signal word."
)


def marked_words(snippet: str) -> list[str]:
    return [html.unescape(word) for word in re.findall(r"<mark>(.*?)</mark>", snippet)]


def test_snippets_let_no_record_text_open_or_close_markup(db):
    record = UseCaseFactory(**NEUTRAL, title="Hostile", summary=HOSTILE)

    snippet = search.snippets([record], "signal mark script")[record.pk]

    outside = re.sub(r"<mark>[^<>]*</mark>", "", snippet)
    assert "<" not in outside and ">" not in outside
    assert set(marked_words(snippet)) == {"script", "mark", "markers", "signal"}
    assert html.unescape(re.sub(r"</?mark>", "", snippet)) == HOSTILE


def test_snippets_keep_quotes_and_entities_as_text(db):
    record = UseCaseFactory(**NEUTRAL, title="Hostile", summary=HOSTILE)

    snippet = search.snippets([record], "quotes")[record.pk]

    assert "&amp;lt;" in snippet and "&quot;double&quot;" in snippet and "&#x27;single" in snippet


LONG = " ".join(f"word{i:03d}" for i in range(200)) + " database fields."


def test_snippets_are_cut_at_word_boundaries(db):
    record = UseCaseFactory(**{**NEUTRAL, "description": LONG}, title="Long", summary="")

    snippet = search.snippets([record], "database")[record.pk]

    text = html.unescape(re.sub(r"</?mark>", "", snippet))
    assert text.startswith("… ") and text.endswith("database fields.")
    excerpt = text.removeprefix("… ")
    start = LONG.index(excerpt)
    assert LONG[start - 1] == " " and excerpt.split()[0] in LONG.split()
    assert marked_words(snippet) == ["database"]


def test_snippets_mark_matches_in_any_case_accent_and_normal_form(indexed):
    record = UseCase.objects.get(pk=indexed["de-nfd"])

    snippet = search.snippets([record], "QUALITATSMANGEL")[record.pk]

    assert [unicodedata.normalize("NFC", w) for w in marked_words(snippet)] == ["Qualitätsmängel"]
