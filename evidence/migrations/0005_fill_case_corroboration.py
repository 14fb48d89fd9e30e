"""Fill each case's stored corroboration (tracker 0013 added the columns at their
empty values: no source, credibility 6) by counting its evidence, in one UPDATE."""

from django.db import migrations


def fill(apps, schema_editor):
    from evidence.corroboration import counted

    Case = apps.get_model("tracker", "Case")
    EvidenceItem = apps.get_model("evidence", "EvidenceItem")
    # Only cases with evidence can differ from the columns' defaults.
    cases = Case.objects.using(schema_editor.connection.alias)
    cases.filter(pk__in=EvidenceItem.objects.values("case")).update(**counted(EvidenceItem))


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_staged_uploads_and_edit_custody"),
        ("tracker", "0016_case_corroboration"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
