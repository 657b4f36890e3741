"""PostgreSQL: a covering index of every column the facet and statistics counts read, so
counting the whole catalogue is an index-only scan of a narrow index instead of a scan of the
wide table (titles, descriptions, search documents). Not a model change: plain SQL."""

from django.db import migrations

COLUMNS = (
    "stage, ai_act_risk, ai_act_role, medicine_scope, workplan_area, personal_data, "
    "dpia_status, human_oversight, sourcing, hosting, origin, started_on, operational_since, "
    "techniques, regulatory_processes, outputs"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX registry_usecase_facets_covering ON registry_usecase "
            f"(publication_level) INCLUDE ({COLUMNS})"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS registry_usecase_facets_covering")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_search_document"),
    ]

    operations = [migrations.RunPython(forward, backward)]
