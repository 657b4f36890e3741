"""Full-text search over the catalogue.

PostgreSQL: every use-case row carries a weighted tsvector in the column `search_document`,
maintained by a trigger and GIN-indexed (migration 0003). The column is not a model field on
purpose: the record's fields are the model's, this is an index the database keeps. Queries use
websearch_to_tsquery (quotes, OR, -word), rank with ts_rank, rows whose title matches first
(TITLE_TIER), and highlight with ts_headline.

SQLite (the laptop default): every word must occur (icontains) in one of the same fields; the
rank counts where the words occur, weighted like the PostgreSQL document; snippets are cut and
highlighted in Python.

Only P-tier text is searched, so a search never reveals a network-only field.
"""

import html
import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, Case, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

SEARCH_CONFIG = "english"
MAX_QUERY_LENGTH = 500
MAX_WORDS = 12
# Weight A, B, C fields of the search document (and of the SQLite rank).
WEIGHTED_FIELDS = {
    "A": ("title", "title_en"),
    "B": ("summary", "tags", "product", "vendor"),
    "C": ("purpose", "description", "benefits", "business_unit", "data_sources"),
}
SNIPPET_FIELDS = ("summary", "description", "purpose")
SQLITE_WEIGHTS = {"A": 10, "B": 4, "C": 1}
MARK_START, MARK_STOP = "\x02", "\x03"
# Identical to the expression of migration 0005's GIN index (else the index goes unused).
TITLE_DOCUMENT_SQL = (
    "to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(title_en, ''))"
)
# PostgreSQL: rows whose title matches rank above all others (ts_rank stays far below this), and
# are annotated IN_TITLE so that a page can be read from them first (catalogue.selectors).
TITLE_TIER = 10
IN_TITLE = "search_in_title"
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def normalise_query(query: str) -> str:
    """The query as searched: NULs removed (databases reject them), length capped."""
    return query.replace("\x00", " ").strip()[:MAX_QUERY_LENGTH]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def search(qs: QuerySet, query: str) -> QuerySet:
    """Rows matching query, annotated with `search_rank` (higher is better)."""
    query = normalise_query(query)
    if is_postgresql():
        return _search_postgresql(qs, query)
    return _search_sqlite(qs, query)


def _tsquery_sql() -> str:
    return f"websearch_to_tsquery('{SEARCH_CONFIG}'::regconfig, %s)"


def _search_postgresql(qs: QuerySet, query: str) -> QuerySet:
    table = qs.model._meta.db_table
    tsquery = _tsquery_sql()
    matches = RawSQL(
        f'"{table}"."search_document" @@ {tsquery}', [query], output_field=BooleanField()
    )
    in_title = RawSQL(f"{TITLE_DOCUMENT_SQL} @@ {tsquery}", [query], output_field=BooleanField())
    rank = RawSQL(
        f'ts_rank("{table}"."search_document", {tsquery}) '
        f"+ CASE WHEN {TITLE_DOCUMENT_SQL} @@ {tsquery} THEN {TITLE_TIER} ELSE 0 END",
        [query, query],
        output_field=FloatField(),
    )
    # ts_rank is a float4; compare and order it as float8 so cursors round-trip exactly.
    return qs.filter(matches).annotate(search_rank=Cast(rank, FloatField()), **{IN_TITLE: in_title})


def _stems(text: str) -> list[str]:
    """The distinct stems of text's words as the search document holds them, in text order,
    each quoted as a tsquery operand (stop words dropped)."""
    sql = (
        f"SELECT lexeme FROM unnest(to_tsvector('{SEARCH_CONFIG}'::regconfig, %s)) "
        "ORDER BY positions[1]"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [text])
        return ["'" + lexeme.replace("'", "''") + "'" for (lexeme,) in cursor.fetchall()]


def _similar_titles_postgresql(qs: QuerySet, tsquery: str) -> QuerySet:
    # Operands are stems already (_stems): taken as they are, not stemmed again.
    query = "%s::tsquery"
    matches = RawSQL(f"{TITLE_DOCUMENT_SQL} @@ {query}", [tsquery], output_field=BooleanField())
    # Ranked on the stored search document (its title is weight A): recomputing the titles'
    # tsvector for every candidate cost more than finding them.
    table = qs.model._meta.db_table
    rank = RawSQL(
        f'ts_rank("{table}"."search_document", {query})', [tsquery], output_field=FloatField()
    )
    return qs.filter(matches).annotate(search_rank=Cast(rank, FloatField()))


def query_words(query: str) -> list[str]:
    return list(dict.fromkeys(w.lower() for w in _WORD_RE.findall(query)))[:MAX_WORDS]


def _search_sqlite(qs: QuerySet, query: str) -> QuerySet:
    words = query_words(query)
    if not words:
        return qs.none().annotate(search_rank=Value(0, output_field=IntegerField()))
    fields = [name for names in WEIGHTED_FIELDS.values() for name in names]
    for word in words:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        qs = qs.filter(any_field)
    rank = Value(0, output_field=IntegerField())
    for weight, names in WEIGHTED_FIELDS.items():
        for name in names:
            for word in words:
                rank = rank + Case(
                    When(**{f"{name}__icontains": word}, then=SQLITE_WEIGHTS[weight]),
                    default=0,
                    output_field=IntegerField(),
                )
    return qs.annotate(search_rank=rank)


def snippets(use_cases: Iterable, query: str) -> dict[int, str]:
    """Highlighted excerpts for the given rows, by primary key: HTML-escaped text in which only
    the matches are wrapped in <mark> (safe to insert into a page as is)."""
    use_cases = list(use_cases)
    query = normalise_query(query)
    if not use_cases or not query:
        return {}
    if is_postgresql():
        raw = _headlines_postgresql([uc.pk for uc in use_cases], query)
    else:
        words = query_words(query)
        raw = {uc.pk: _headline_python(_snippet_text(uc), words) for uc in use_cases}
    return {pk: _marked_html(text) for pk, text in raw.items()}


def _snippet_text(use_case) -> str:
    return " … ".join(getattr(use_case, name) for name in SNIPPET_FIELDS if getattr(use_case, name))


def _headlines_postgresql(pks: list[int], query: str) -> dict[int, str]:
    from registry.models import UseCase

    text = " || ' … ' || ".join(f"coalesce({name}, '')" for name in SNIPPET_FIELDS)
    options = (
        f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=30, MinWords=12, MaxFragments=2"
    )
    headline = RawSQL(
        f"ts_headline('{SEARCH_CONFIG}'::regconfig, {text}, {_tsquery_sql()}, %s)",
        [query, options],
    )
    rows = UseCase.objects.filter(pk__in=pks).annotate(h=headline).values_list("pk", "h")
    return dict(rows)


def _headline_python(text: str, words: list[str], width: int = 200) -> str:
    lowered = text.lower()
    hits = [lowered.find(word) for word in words if lowered.find(word) >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    excerpt = text[start : start + width]
    if not words:
        return excerpt
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    marked = pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_STOP}", excerpt)
    return ("… " if start else "") + marked + (" …" if start + width < len(text) else "")


def _marked_html(text: str) -> str:
    escaped = html.escape(text or "")
    return escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


SIMILAR_MAX_WORDS = 6


def similar(qs: QuerySet, text: str) -> QuerySet:
    """Rows sharing longer words of text, annotated with `search_rank` (most shared first).

    PostgreSQL: rows whose title shares at least two of the words (any pair, so a common word
    alone does not pull in half the catalogue; titles GIN-indexed, migration 0005), ranked by
    ts_rank on the whole search document, where the title weighs most; elsewhere any word in
    title or summary, ranked by count."""
    words = [word for word in query_words(normalise_query(text)) if len(word) > 3]
    if not words:
        return qs.none().annotate(search_rank=Value(0, output_field=IntegerField()))
    if is_postgresql():
        # Pairs of distinct stems: "Generative ... Generation" would otherwise pair a stem
        # with itself, and that one common word would pull in half the catalogue.
        stems = _stems(" ".join(words))[:SIMILAR_MAX_WORDS]
        if not stems:
            return qs.none().annotate(search_rank=Value(0, output_field=IntegerField()))
        pairs = [f"({a} & {b})" for i, a in enumerate(stems) for b in stems[i + 1 :]]
        # A short title has too few words for pairs to find anything: any word then.
        tsquery = " | ".join(pairs) if len(stems) > 2 else " | ".join(stems)
        return _similar_titles_postgresql(qs, tsquery)
    any_word = Q()
    rank = Value(0, output_field=IntegerField())
    for word in words:
        in_title = Q(title__icontains=word) | Q(title_en__icontains=word)
        in_summary = Q(summary__icontains=word)
        any_word |= in_title | in_summary
        rank = rank + Case(When(in_title, then=3), default=0, output_field=IntegerField())
        rank = rank + Case(When(in_summary, then=1), default=0, output_field=IntegerField())
    return qs.filter(any_word).annotate(search_rank=rank)
