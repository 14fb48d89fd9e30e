import calendar

from django.db import migrations, models


def cover_whole_months(apps, schema_editor):
    """Month-precision cases saved before now may hold any day of their months; from now
    on they cover the whole months (Case.save), and the case list's date filter relies on
    it. A copy of tracker.models.covered_days, as it was when this migration was written."""
    Case = apps.get_model("tracker", "Case")
    for case in Case.objects.filter(date_precision="month").only(
        "incident_start", "incident_end"
    ):
        last = case.incident_end or case.incident_start
        start = case.incident_start.replace(day=1)
        end = last.replace(day=calendar.monthrange(last.year, last.month)[1])
        if (start, end) != (case.incident_start, case.incident_end):
            Case.objects.filter(pk=case.pk).update(incident_start=start, incident_end=end)


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0010_reminder_due_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='date_precision',
            field=models.CharField(choices=[('day', 'Exact day'), ('month', 'Month'), ('year', 'Year'), ('approximate', 'Approximate')], default='day', help_text='How precisely the date is known. A case known to the month or the year covers whole months or years: give any day of the first (and, for a range, the last) of them, and the case is saved as covering all of it.', max_length=15),
        ),
        migrations.AlterField(
            model_name='case',
            name='incident_end',
            field=models.DateField(blank=True, help_text='Only for a date range (with month or year precision, any day of its last month or year).', null=True, verbose_name='incident end date'),
        ),
        migrations.AlterField(
            model_name='case',
            name='incident_start',
            field=models.DateField(help_text='The day, or the first day of a date range (with month or year precision, any day of that month or year).', verbose_name='incident date'),
        ),
        migrations.AlterField(
            model_name='historicalcase',
            name='date_precision',
            field=models.CharField(choices=[('day', 'Exact day'), ('month', 'Month'), ('year', 'Year'), ('approximate', 'Approximate')], default='day', help_text='How precisely the date is known. A case known to the month or the year covers whole months or years: give any day of the first (and, for a range, the last) of them, and the case is saved as covering all of it.', max_length=15),
        ),
        migrations.AlterField(
            model_name='historicalcase',
            name='incident_end',
            field=models.DateField(blank=True, help_text='Only for a date range (with month or year precision, any day of its last month or year).', null=True, verbose_name='incident end date'),
        ),
        migrations.AlterField(
            model_name='historicalcase',
            name='incident_start',
            field=models.DateField(help_text='The day, or the first day of a date range (with month or year precision, any day of that month or year).', verbose_name='incident date'),
        ),
        migrations.RunPython(cover_whole_months, migrations.RunPython.noop, elidable=True),
    ]
