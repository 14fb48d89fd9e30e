from base64 import b32decode

import pytest
from django_otp.oath import totp

from accounts import two_factor

PASSWORD = "correct horse battery staple"


def code_from_app(secret_bytes):
    """What an authenticator app holding the secret shows now."""
    return f"{totp(secret_bytes):06d}"


def code_for_secret(base32_secret):
    return code_from_app(b32decode(base32_secret))


@pytest.fixture
def enrol():
    """Turn two-factor sign-in on for a user, as the set-up page does; returns
    (authenticator device, recovery codes)."""

    def make(user):
        session = {}
        device = two_factor.authenticator_to_confirm(user, session)
        return device, two_factor.confirm(device, session)

    return make
