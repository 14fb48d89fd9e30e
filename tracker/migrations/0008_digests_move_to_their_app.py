# The weekly digest's models now belong to the digests app (its migration 0001), which
# keeps their tables: only Django's record of them leaves tracker.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0007_case_search_vector_and_list_indexes"),
        ("digests", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="digestdelivery",
                    name="one_digest_per_subscription_and_period",
                ),
                migrations.RemoveField(model_name="subscription", name="user"),
                migrations.DeleteModel(name="DigestDelivery"),
                migrations.DeleteModel(name="Subscription"),
            ]
        )
    ]
