"""A file posted to any page, spooled to disk whatever its name."""

from django.urls import reverse

from api.models import ApiToken
from tests import factories


def test_a_large_file_whose_extension_is_too_long_for_a_file_name_reaches_the_form(
    client, monitor, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    client.force_login(monitor)
    response = client.post(
        reverse("api:tokens"),
        **factories.multipart(
            {"name": "script", "scope": "read"}, "x", "a." + "p" * 300, b"0" * 100
        ),
    )
    assert response.status_code == 302
    assert ApiToken.objects.get().name == "script"
