"""PostgreSQL: a GIN index on the titles' tsvector, for "similar use cases" (pairs of title
words). The expression must stay identical to registry.search.TITLE_DOCUMENT_SQL, or the
planner cannot use the index."""

from django.db import migrations

TITLE_DOCUMENT_SQL = (
    "to_tsvector('english'::regconfig, coalesce(title, '') || ' ' || coalesce(title_en, ''))"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX registry_usecase_title_gin ON registry_usecase "
            f"USING gin (({TITLE_DOCUMENT_SQL}))"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS registry_usecase_title_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_facet_covering_index"),
    ]

    operations = [migrations.RunPython(forward, backward)]
