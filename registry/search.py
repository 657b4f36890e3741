"""Full-text search over the catalogue: one syntax and one meaning on SQLite and PostgreSQL.

The query is parsed once (registry.search_query: words, "phrases", OR, -word) and compiled for
the database; only P-tier text is indexed, so a search never reveals a network-only field.

SQLite (the laptop default): the FTS5 table FTS_TABLE (tokenizer unicode61) holds each row's
text folded by registry.search_query.fold (NFKC, case folded in every script, diacritics
removed), kept by triggers (migration 0011); the query's words are folded the same way. Rank:
which columns hold the query, weighted like PostgreSQL's A, B, C.

PostgreSQL: the trigger-kept tsvector columns `search_document` (weights A title, B summary,
tags, product, vendor, C the rest) and `search_title` hold, after NFKC and unaccent, the stems
in the record's language (title_en in English) and the words unstemmed, so that an acronym or a
word its language drops as a stop word is still found (migration 0011). Each term of the query
is matched as its stems in every configured language or as the plain words: phraseto_tsquery
per language, run once per search and deduplicated (SearchQuery's expression would be one
alternative per language, which the planner took for half the table), then combined by the
parsed query's AND, OR and NOT. Rank: ts_rank (SearchRank, django.contrib.postgres.search).

On both, rows whose title matches rank above all others (TITLE_TIER) and are annotated IN_TITLE
so that a page can be read from them first (catalogue.selectors). PostgreSQL also finds other
forms of a word (stemming); SQLite finds the word as typed, in any case and accent.

Snippets are built in Python from the stored text, the same on both: whole words only, as
segments escaped one by one, so no character of a record can open or close markup.
"""

import html
import re
import unicodedata
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQueryField, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from registry import search_query
from registry.search_query import ParsedQuery, Term

MAX_QUERY_LENGTH = 500
MAX_WORDS = 12
FTS_TABLE = "registry_usecase_fts"
SQLITE_FOLD_FUNCTION = "registry_search_fold"
# The languages the stored stems may be in (migration 0011's LANGUAGE_CONFIGS), and 'simple'.
SEARCH_CONFIGS = (
    "simple",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hungarian",
    "irish",
    "italian",
    "lithuanian",
    "norwegian",
    "portuguese",
    "romanian",
    "spanish",
    "swedish",
)
SNIPPET_FIELDS = ("summary", "description", "purpose")
SNIPPET_WORDS = 30
SNIPPET_LEAD_WORDS = 6
# English stems for the PostgreSQL "similar" search (migration 0005's GIN index).
SEARCH_CONFIG = "english"
TITLE_DOCUMENT_SQL = (
    "to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(title_en, ''))"
)
# Rows whose title matches rank above all others (ts_rank and SQLite's weights stay far below).
TITLE_TIER = 1000
# SQLite rank: which FTS columns hold the whole query, weighted as PostgreSQL's A, B, C.
SQLITE_COLUMN_WEIGHTS = {"title": TITLE_TIER + 10, "body_b": 4, "body_c": 1}
IN_TITLE = "search_in_title"
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_TOKEN_RE = re.compile(r"[^\W_]+")


def normalise_query(query: str) -> str:
    """The query as searched: NULs removed (databases reject them), length capped."""
    return query.replace("\x00", " ").strip()[:MAX_QUERY_LENGTH]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def register_sqlite_functions(wrapper) -> None:
    """Give a SQLite connection the fold function the FTS triggers call (registry.apps does
    this for every new connection)."""
    wrapper.connection.create_function(SQLITE_FOLD_FUNCTION, 1, _sqlite_fold, deterministic=True)


def _sqlite_fold(text):
    return search_query.fold(text) if isinstance(text, str) else ""


def search(qs: QuerySet, query: str) -> QuerySet:
    """Rows matching query (registry.search_query syntax), annotated with `search_rank` (float,
    higher is better) and IN_TITLE; a query without any word matches nothing."""
    parsed = search_query.parse(normalise_query(query))
    if not parsed:
        return qs.none().annotate(search_rank=Value(0.0), **{IN_TITLE: Value(False)})
    if is_postgresql():
        return _search_postgresql(qs, parsed)
    return _search_sqlite(qs, parsed)


# ---- PostgreSQL ---------------------------------------------------------------------------------


def _term_tsquery(term: Term) -> str:
    """The term as a tsquery: its stems in any configured language, or the plain words (NFKC,
    unaccent), as distinct alternatives. Computed once per search by phraseto_tsquery and
    deduplicated, so that the planner sees a few lexemes rather than one per language and
    estimates (and uses the GIN index) as for a plain word."""
    sql = (
        "SELECT DISTINCT phraseto_tsquery(config::regconfig, "
        "registry_unaccent(normalize(%s, NFKC)))::text FROM unnest(%s::text[]) AS config"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [term.text, list(SEARCH_CONFIGS)])
        alternatives = sorted(text for (text,) in cursor.fetchall() if text)
    return " | ".join(f"( {text} )" for text in alternatives)


def _postgresql_query(parsed: ParsedQuery) -> tuple[str, list[str]]:
    """(tsquery of the groups, "" when there is none; [tsquery per excluded term])."""
    groups = []
    for group in parsed.groups:
        either = [text for text in map(_term_tsquery, group) if text]
        groups.append(" | ".join(either) or "''")  # '' matches nothing
    excluded = [text for text in map(_term_tsquery, parsed.excluded) if text]
    return " & ".join(f"( {group} )" for group in groups), excluded


def _tsquery_match(column: str, tsquery: str) -> RawSQL:
    # Trigger-kept columns the model does not declare (migration 0011).
    return RawSQL(
        f'"registry_usecase"."{column}" @@ %s::tsquery', [tsquery], output_field=BooleanField()
    )


def _search_postgresql(qs: QuerySet, parsed: ParsedQuery) -> QuerySet:
    positive, excluded = _postgresql_query(parsed)
    for tsquery in excluded:
        qs = qs.exclude(_tsquery_match("search_document", tsquery))
    if not positive:
        return qs.annotate(search_rank=Value(0.0), **{IN_TITLE: Value(False)})
    document = RawSQL('"registry_usecase"."search_document"', [], output_field=SearchVectorField())
    query = RawSQL("%s::tsquery", [positive], output_field=SearchQueryField())
    in_title = _tsquery_match("search_title", positive)
    rank = SearchRank(document, query) + Case(
        When(in_title, then=Value(float(TITLE_TIER))), default=Value(0.0)
    )
    return qs.filter(_tsquery_match("search_document", positive)).annotate(
        # ts_rank is a float4: ordered as float8 so that cursors round-trip exactly.
        search_rank=Cast(rank, FloatField()),
        **{IN_TITLE: in_title},
    )


# ---- SQLite -------------------------------------------------------------------------------------


def _fts_string(term: Term) -> str:
    # One FTS5 string: its words must follow one another (a phrase; one word is a phrase too).
    return '"' + " ".join(term.words).replace('"', '""') + '"'


def _fts_expression(parsed: ParsedQuery) -> str:
    groups = ["(" + " OR ".join(_fts_string(t) for t in group) + ")" for group in parsed.groups]
    return " AND ".join(groups)


def _fts_rowids() -> str:
    return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"


def _search_sqlite(qs: QuerySet, parsed: ParsedQuery) -> QuerySet:
    table = qs.model._meta.db_table
    for term in parsed.excluded:
        excluded = RawSQL(
            f'"{table}"."id" NOT IN ({_fts_rowids()})',
            [_fts_string(term)],
            output_field=BooleanField(),
        )
        qs = qs.filter(excluded)
    if not parsed.groups:
        return qs.annotate(search_rank=Value(0.0), **{IN_TITLE: Value(False)})
    expression = _fts_expression(parsed)
    matches = RawSQL(
        f'"{table}"."id" IN ({_fts_rowids()})', [expression], output_field=BooleanField()
    )
    # Each IN list is computed once per query (a bm25 per row, in a correlated subquery, cost
    # ten times more): the rank says which columns hold the whole query, weighted like
    # PostgreSQL's A, B, C, with the title tier on top.
    in_column = {
        column: (f'"{table}"."id" IN ({_fts_rowids()})', f"{{{column}}} : ({expression})")
        for column in SQLITE_COLUMN_WEIGHTS
    }
    rank = RawSQL(
        " + ".join(
            f"CASE WHEN {condition} THEN {SQLITE_COLUMN_WEIGHTS[column]} ELSE 0 END"
            for column, (condition, _) in in_column.items()
        ),
        [query for _, query in in_column.values()],
        output_field=FloatField(),
    )
    in_title = RawSQL(in_column["title"][0], [in_column["title"][1]], output_field=BooleanField())
    return qs.filter(matches).annotate(search_rank=Cast(rank, FloatField()), **{IN_TITLE: in_title})


# ---- snippets -----------------------------------------------------------------------------------


def snippets(use_cases: Iterable, query: str) -> dict[int, str]:
    """Highlighted excerpts for the given rows, by primary key: about SNIPPET_WORDS whole words
    of the summary, description and purpose around the first match, as HTML in which every
    piece of record text is escaped on its own and only the matched words are wrapped in
    <mark> (safe to insert into a page or an API answer as is). The same on both databases."""
    use_cases = list(use_cases)
    parsed = search_query.parse(normalise_query(query))
    wanted = parsed.highlighted_words()
    if not use_cases or not parsed:
        return {}
    return {uc.pk: _snippet_html(_snippet_segments(_snippet_text(uc), wanted)) for uc in use_cases}


def _snippet_text(use_case) -> str:
    # NFC, so that a decomposed letter is one character of its word (and shown as one).
    text = " … ".join(getattr(use_case, name) for name in SNIPPET_FIELDS if getattr(use_case, name))
    return unicodedata.normalize("NFC", text)


def _matches(word: str, wanted: set[str]) -> bool:
    # A longer form of a searched word (PostgreSQL finds it by its stem) is marked too.
    return any(
        word == w or (len(w) >= 4 and word.startswith(w) and len(word) - len(w) <= 3)
        for w in wanted
    )


def _snippet_segments(text: str, wanted: set[str]) -> list[tuple[str, bool]]:
    """text cut to whole words around the first match, as (piece, is_match) in order; an
    ellipsis piece marks where text was left out."""
    tokens = list(_TOKEN_RE.finditer(text))
    hits = [
        i for i, token in enumerate(tokens) if _matches(search_query.fold(token.group()), wanted)
    ]
    first = max(0, hits[0] - SNIPPET_LEAD_WORDS) if hits else 0
    last = min(len(tokens), first + SNIPPET_WORDS)
    if not tokens:
        return []
    # Cut at the spaces around the words kept, so "&lt;" or "(GPT)" stay whole.
    start = _space_before(text, tokens[first].start()) if first else 0
    end = _space_after(text, tokens[last - 1].end()) if last < len(tokens) else len(text)
    marked = set(hits)
    segments: list[tuple[str, bool]] = [("… ", False)] if first else []
    position = start
    for i in range(first, last):
        token = tokens[i]
        if i in marked:
            segments += [(text[position : token.start()], False), (token.group(), True)]
            position = token.end()
    segments.append((text[position:end], False))
    if last < len(tokens):
        segments.append((" …", False))
    return [segment for segment in segments if segment[0]]


def _space_before(text: str, position: int) -> int:
    while position > 0 and not text[position - 1].isspace():
        position -= 1
    return position


def _space_after(text: str, position: int) -> int:
    while position < len(text) and not text[position].isspace():
        position += 1
    return position


def _snippet_html(segments: list[tuple[str, bool]]) -> str:
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if is_match else html.escape(piece)
        for piece, is_match in segments
    )


# ---- similar use cases --------------------------------------------------------------------------

SIMILAR_MAX_WORDS = 6


def query_words(query: str) -> list[str]:
    """The distinct lower-cased words of query, at most MAX_WORDS."""
    return list(dict.fromkeys(w.lower() for w in _WORD_RE.findall(query)))[:MAX_WORDS]


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
