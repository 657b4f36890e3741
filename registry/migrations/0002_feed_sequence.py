from django.db import migrations

FEED_SEQUENCE = "registry_feed_seq"


def create_sequence(apps, schema_editor):
    # PostgreSQL numbers feed entries from a sequence; SQLite's single writer needs none.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {FEED_SEQUENCE}")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {FEED_SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(create_sequence, drop_sequence)]
