# pg_trgm scores possible duplicates on PostgreSQL (tracker.duplicates). The operation
# does nothing on other databases: SQLite's score is computed in Python.
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tracker", "0012_search_across_related_records")]

    operations = [TrigramExtension()]
