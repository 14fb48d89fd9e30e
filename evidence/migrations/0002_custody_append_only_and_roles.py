from django.db import migrations

from tracker.roles import sync_roles

# Even raw SQL cannot rewrite the chain of custody: the table refuses UPDATE and
# DELETE for every database user, the application's included. (TRUNCATE stays
# possible for the table's owner, which the test runner needs to empty tables.)
APPEND_ONLY = """
CREATE FUNCTION evidence_custody_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the chain of custody is append-only: %% on evidence_custodyevent refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_custody_no_update_or_delete
    BEFORE UPDATE OR DELETE ON evidence_custodyevent
    FOR EACH ROW EXECUTE FUNCTION evidence_custody_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS evidence_custody_no_update_or_delete ON evidence_custodyevent;
DROP FUNCTION IF EXISTS evidence_custody_append_only();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial"), ("tracker", "0002_roles")]

    operations = [
        migrations.RunPython(on_postgresql(APPEND_ONLY), on_postgresql(DROP_APPEND_ONLY)),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
