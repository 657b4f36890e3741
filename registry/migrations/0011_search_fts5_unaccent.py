"""Full-text search that finds what people type, on both databases (registry.search).

SQLite: an FTS5 table (tokenizer unicode61) holding each use case's folded text
(registry.search_query.fold: NFKC, case folded, no diacritics) in three columns weighted like
PostgreSQL's A/B/C, kept by triggers that call the Python function registry_search_fold
(registered on every connection by registry.apps).

PostgreSQL: the unaccent extension (CREATE EXTENSION needs a role allowed to create it, see
docs/operations.md); the search document rebuilt as stems in the record's language (title_en in
English) plus unstemmed words ('simple'), so acronyms and stop words are found too, all after
NFKC and unaccent; a title-only vector (search_title) GIN-indexed for the title-first ranking.
"""

import importlib

from django.db import migrations

from registry.search import FTS_TABLE, SQLITE_FOLD_FUNCTION, register_sqlite_functions

# PostgreSQL text search configuration for a record's ISO 639-1 language; others: 'simple'.
LANGUAGE_CONFIGS = {
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hu": "hungarian",
    "it": "italian",
    "lt": "lithuanian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "sv": "swedish",
}
# The weighted texts (title_en is added to A in English); {tags} and {sources}: JSON lists.
A_TEXT = "coalesce({p}title, '')"
B_TEXT = (
    "coalesce({p}summary, '') || ' ' || coalesce({p}product, '') || ' ' || "
    "coalesce({p}vendor, '') || ' ' || {tags}"
)
C_TEXT = (
    "coalesce({p}purpose, '') || ' ' || coalesce({p}description, '') || ' ' || "
    "coalesce({p}benefits, '') || ' ' || coalesce({p}business_unit, '') || ' ' || {sources}"
)


def _pg_strings(column: str) -> str:
    return (
        f"coalesce((SELECT string_agg(v #>> '{{}}', ' ') FROM jsonb_path_query({column}, "
        "'strict $.**') AS v WHERE jsonb_typeof(v) = 'string'), '')"
    )


def _pg_fold(text: str) -> str:
    return f"unaccent(normalize({text}, NFKC))"


def _pg_vector(text: str, config: str = "config") -> str:
    return f"to_tsvector({config}, {_pg_fold(text)}) || to_tsvector('simple', {_pg_fold(text)})"


def _pg_texts(p: str) -> dict[str, str]:
    fields = {"tags": _pg_strings(f"{p}tags"), "sources": _pg_strings(f"{p}data_sources")}
    return {
        "A": A_TEXT.format(p=p),
        "B": B_TEXT.format(p=p, **fields),
        "C": C_TEXT.format(p=p, **fields),
    }


def _pg_trigger_function() -> str:
    texts = _pg_texts("NEW.")
    title_en = "coalesce(NEW.title_en, '')"
    title = (
        f"{_pg_vector(texts['A'])} || to_tsvector('english', {_pg_fold(title_en)})"
        f" || to_tsvector('simple', {_pg_fold(title_en)})"
    )
    cases = " ".join(f"WHEN '{code}' THEN '{cfg}'" for code, cfg in LANGUAGE_CONFIGS.items())
    return f"""CREATE OR REPLACE FUNCTION registry_usecase_search_document() RETURNS trigger AS $$
        DECLARE config regconfig := (CASE NEW.language {cases} ELSE 'simple' END)::regconfig;
        BEGIN
            NEW.search_title := {title};
            NEW.search_document := setweight(NEW.search_title, 'A')
                || setweight({_pg_vector(texts["B"])}, 'B')
                || setweight({_pg_vector(texts["C"])}, 'C');
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql"""


POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "ALTER TABLE registry_usecase ADD COLUMN search_title tsvector",
    _pg_trigger_function(),
    "UPDATE registry_usecase SET id = id",  # the trigger rebuilds every row's vectors
    "CREATE INDEX registry_usecase_search_title_gin ON registry_usecase USING gin (search_title)",
]


def _sqlite_strings(column: str) -> str:
    return (
        f"coalesce((SELECT group_concat(value, ' ') FROM json_tree({column}) "
        "WHERE type = 'text'), '')"
    )


def _sqlite_values(p: str) -> str:
    fields = {"tags": _sqlite_strings(f"{p}tags"), "sources": _sqlite_strings(f"{p}data_sources")}
    title = f"coalesce({p}title, '') || ' ' || coalesce({p}title_en, '')"
    texts = [title, B_TEXT.format(p=p, **fields), C_TEXT.format(p=p, **fields)]
    return ", ".join(f"{SQLITE_FOLD_FUNCTION}({text})" for text in texts)


INDEXED_COLUMNS = (
    "title, title_en, summary, product, vendor, tags, purpose, description, benefits, "
    "business_unit, data_sources"
)
SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body_b, body_c, "
    "tokenize = 'unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON registry_usecase BEGIN
        INSERT INTO {FTS_TABLE} (rowid, title, body_b, body_c)
        VALUES (new.id, {_sqlite_values("new.")});
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF {INDEXED_COLUMNS}
        ON registry_usecase BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
        INSERT INTO {FTS_TABLE} (rowid, title, body_b, body_c)
        VALUES (new.id, {_sqlite_values("new.")});
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON registry_usecase BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
    END""",
    f"INSERT INTO {FTS_TABLE} (rowid, title, body_b, body_c) "
    f"SELECT id, {_sqlite_values('')} FROM registry_usecase",
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        statements = POSTGRESQL_FORWARD
    elif connection.vendor == "sqlite":
        register_sqlite_functions(connection)
        statements = SQLITE_FORWARD
    else:
        return
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for suffix in ("insert", "update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif schema_editor.connection.vendor == "postgresql":
        # The document of migration 0003 comes back with its trigger function.
        module = importlib.import_module("registry.migrations.0003_search_document")
        schema_editor.execute("DROP INDEX IF EXISTS registry_usecase_search_title_gin")
        schema_editor.execute("ALTER TABLE registry_usecase DROP COLUMN IF EXISTS search_title")
        schema_editor.execute(module.POSTGRESQL_FORWARD[1].replace("CREATE", "CREATE OR REPLACE"))
        schema_editor.execute(module.POSTGRESQL_FORWARD[3])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_import_source_fingerprint"),
    ]

    operations = [migrations.RunPython(forward, backward)]
