"""PostgreSQL: registry_unaccent(text), unaccent with its dictionary named, declared IMMUTABLE.

unaccent itself is STABLE (its rules could change), so a query built from it was evaluated
again for every row the GIN index proposed; with an immutable wrapper the planner folds each
search's tsquery to a constant once (registry.search). The rules file only changes with a
PostgreSQL upgrade, after which `UPDATE registry_usecase SET id = id` rebuilds the documents
(docs/operations.md)."""

from django.db import migrations

FORWARD = """CREATE OR REPLACE FUNCTION registry_unaccent(text) RETURNS text
    AS $$ SELECT unaccent('unaccent'::regdictionary, $1) $$
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS registry_unaccent(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0011_search_fts5_unaccent"),
    ]

    operations = [migrations.RunPython(forward, backward)]
