"""``manage.py send_digests`` refuses a period it cannot serve with a message."""

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("period_end", "message"),
    [
        ("14/10/2024", "--period-end must be YYYY-MM-DD, not '14/10/2024'"),
        ("0001-01-01", "--period-end 0001-01-01 leaves no week before it"),
    ],
)
def test_a_period_end_that_cannot_be_served_is_refused_with_a_message(period_end, message):
    with pytest.raises(CommandError, match=message):
        call_command("send_digests", "--period-end", period_end)
