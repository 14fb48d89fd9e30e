"""A subscription's countries become a django-countries multiple CountryField (codes
separated by commas) instead of a JSON list; every subscription keeps its countries.
The roles are synced again, now that the digest's permissions belong to this app."""

import django_countries.fields
from django.db import migrations, models

from tracker.roles import sync_roles


def to_country_field(apps, schema_editor):
    Subscription = apps.get_model("digests", "Subscription")
    for subscription in Subscription.objects.all():
        subscription.countries = subscription.countries_list
        subscription.save(update_fields=["countries"])


def to_json_list(apps, schema_editor):
    Subscription = apps.get_model("digests", "Subscription")
    for subscription in Subscription.objects.all():
        subscription.countries_list = [country.code for country in subscription.countries]
        subscription.save(update_fields=["countries_list"])


class Migration(migrations.Migration):
    dependencies = [
        ("digests", "0001_initial"),
        ("tracker", "0008_digests_move_to_their_app"),
        ("evidence", "0003_source_grading"),
    ]

    operations = [
        migrations.RenameField("subscription", "countries", "countries_list"),
        migrations.AddField(
            model_name="subscription",
            name="countries",
            field=django_countries.fields.CountryField(
                blank=True,
                help_text="Where the incident happened. Select none for every country.",
                max_length=746,
                multiple=True,
            ),
        ),
        migrations.RunPython(to_country_field, to_json_list),
        migrations.RemoveField(model_name="subscription", name="countries_list"),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
