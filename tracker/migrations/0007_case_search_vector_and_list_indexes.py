import importlib

import django.contrib.postgres.search
from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

# Full-text search read a tsvector worked out for every case at every search (a
# search for a common word over 100,000 cases took 1.5 s, twice: page and count).
# It is now a column that PostgreSQL keeps up to date, with a GIN index; the
# expression index of migration 0004 gives way to it. SQLite keeps the column empty
# and searches with a contains-match.
SEARCH_INDEX = GinIndex(fields=["search_vector"], name="case_search_vector_idx")

TRIGGER = """
CREATE FUNCTION tracker_case_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := to_tsvector(
        'english',
        coalesce(NEW.title, '') || ' ' || coalesce(NEW.summary, '') || ' '
        || coalesce(NEW.place_name, '')
    );
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Not on a review step, which writes only the state.
CREATE TRIGGER tracker_case_search_vector
    BEFORE INSERT OR UPDATE OF title, summary, place_name ON tracker_case
    FOR EACH ROW EXECUTE FUNCTION tracker_case_search_vector();

UPDATE tracker_case SET search_vector = to_tsvector(
    'english', coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(place_name, '')
);
"""

DROP_TRIGGER = """
DROP TRIGGER tracker_case_search_vector ON tracker_case;
DROP FUNCTION tracker_case_search_vector();
"""
EXPRESSION_INDEX = importlib.import_module("tracker.migrations.0004_case_search_index").SEARCH_INDEX


def keep_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        case = apps.get_model("tracker", "Case")
        schema_editor.execute(TRIGGER)
        schema_editor.remove_index(case, EXPRESSION_INDEX)
        schema_editor.add_index(case, SEARCH_INDEX)


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        case = apps.get_model("tracker", "Case")
        schema_editor.remove_index(case, SEARCH_INDEX)
        schema_editor.execute(DROP_TRIGGER)
        schema_editor.add_index(case, EXPRESSION_INDEX)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0006_list_and_digest_indexes")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["created_at", "id"], name="case_newest_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["state_changed_at"], name="case_changed_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["incident_start"], include=["state", "created_by"], name="case_incident_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(
                    ("state__in", ("draft", "submitted", "in_review", "changes_requested"))
                ),
                fields=["state_changed_at"],
                name="case_open_idx",
            ),
        ),
        migrations.RunPython(keep_search_vector, drop_search_vector),
    ]
