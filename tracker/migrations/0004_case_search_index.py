from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# The case list's full-text search (tracker.filters.SEARCH_VECTOR) as a GIN index.
# PostgreSQL only: SQLite has no such index and searches with a contains-match.
SEARCH_INDEX = GinIndex(
    SearchVector("title", "summary", "place_name", config="english"), name="tracker_case_search"
)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("tracker", "Case"), SEARCH_INDEX)


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("tracker", "Case"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0003_transition_justification")]

    operations = [migrations.RunPython(add_search_index, remove_search_index)]
