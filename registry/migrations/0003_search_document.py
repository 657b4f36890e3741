"""Catalogue indexes: keyset pagination on every vendor; on PostgreSQL also the full-text search
document (a trigger-maintained, GIN-indexed tsvector column) and GIN indexes for the JSON list
filters. The model does not declare these (they change no field), so they are plain SQL."""

from django.db import migrations

SEARCH_DOCUMENT = """
    setweight(to_tsvector('english'::regconfig,
        coalesce({p}title, '') || ' ' || coalesce({p}title_en, '')), 'A') ||
    setweight(to_tsvector('english'::regconfig,
        coalesce({p}summary, '') || ' ' || coalesce({p}tags::text, '') || ' ' ||
        coalesce({p}product, '') || ' ' || coalesce({p}vendor, '')), 'B') ||
    setweight(to_tsvector('english'::regconfig,
        coalesce({p}purpose, '') || ' ' || coalesce({p}description, '') || ' ' ||
        coalesce({p}benefits, '') || ' ' || coalesce({p}business_unit, '') || ' ' ||
        coalesce({p}data_sources::text, '')), 'C')
"""

POSTGRESQL_FORWARD = [
    "ALTER TABLE registry_usecase ADD COLUMN search_document tsvector",
    f"""CREATE FUNCTION registry_usecase_search_document() RETURNS trigger AS $$
        BEGIN
            NEW.search_document := {SEARCH_DOCUMENT.format(p="NEW.")};
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER registry_usecase_search_document
        BEFORE INSERT OR UPDATE ON registry_usecase
        FOR EACH ROW EXECUTE FUNCTION registry_usecase_search_document()""",
    f"UPDATE registry_usecase SET search_document = {SEARCH_DOCUMENT.format(p='')}",
    "CREATE INDEX registry_usecase_search_gin ON registry_usecase USING gin (search_document)",
    "CREATE INDEX registry_usecase_techniques_gin ON registry_usecase "
    "USING gin (techniques jsonb_path_ops)",
    "CREATE INDEX registry_usecase_processes_gin ON registry_usecase "
    "USING gin (regulatory_processes jsonb_path_ops)",
    "CREATE INDEX registry_usecase_outputs_gin ON registry_usecase "
    "USING gin (outputs jsonb_path_ops)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS registry_usecase_outputs_gin",
    "DROP INDEX IF EXISTS registry_usecase_processes_gin",
    "DROP INDEX IF EXISTS registry_usecase_techniques_gin",
    "DROP TRIGGER IF EXISTS registry_usecase_search_document ON registry_usecase",
    "DROP FUNCTION IF EXISTS registry_usecase_search_document()",
    "ALTER TABLE registry_usecase DROP COLUMN IF EXISTS search_document",
]
# Keyset pagination walks these in order: (sort key, id).
KEYSET_INDEXES = {
    "registry_usecase_title_keyset": "title, id",
    "registry_usecase_modified_keyset": "modified, id",
    "registry_usecase_created_keyset": "created, id",
    "registry_usecase_origin_keyset": "origin, title, id",
}


def forward(apps, schema_editor):
    for name, columns in KEYSET_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {name} ON registry_usecase ({columns})")
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement)
    for name in KEYSET_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_feed_sequence"),
    ]

    operations = [migrations.RunPython(forward, backward)]
