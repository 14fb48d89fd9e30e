"""Two-factor sign-in: an authenticator app (TOTP) as the second factor, and recovery
codes for the day the phone is lost.

django-otp keeps the devices: one confirmed ``TOTPDevice`` per enrolled user, and one
``StaticDevice`` holding their unused recovery codes (each is deleted as it is used).
"""

import base64
from base64 import b32encode

import qrcode
from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from qrcode.image.svg import SvgPathImage

RECOVERY_CODE_COUNT = 10
SECRET_TO_CONFIRM = "accounts.secret_to_confirm"


def must_use_two_factor(user):
    """Whether ``user`` may do nothing before enrolling: with ``REQUIRE_2FA`` on, a
    reviewer or an administrator, whose approvals and powers are what an attacker
    with a stolen password would want."""
    return settings.REQUIRE_2FA and (user.is_superuser or user.has_perm("tracker.review_case"))


def authenticator(user):
    """The user's confirmed authenticator app, or None: then they are not enrolled,
    and sign in with the password alone (an administrator deleting it in the admin is
    how a lost phone is replaced; leftover recovery codes do not count)."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def authenticator_to_confirm(user, session):
    """The authenticator the user is setting up: the same secret on every visit of the
    set-up page, kept in the session, so that looking at the page writes no row; it is
    saved once a code from the app confirms it."""
    key = session.setdefault(SECRET_TO_CONFIRM, default_key())
    return TOTPDevice(user=user, name="Authenticator app", key=key, confirmed=False)


def secret(device):
    """The secret as authenticator apps take it when typed in (base32)."""
    return b32encode(device.bin_key).decode()


def qr_code(device):
    """The set-up QR code as a data: URI of an SVG drawn here (the CSP allows data:
    images, and no third party learns the secret)."""
    svg = qrcode.make(device.config_url, image_factory=SvgPathImage).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def confirm(device, session):
    """Turn two-factor sign-in on with ``device`` (whose code the user just gave);
    return the first recovery codes."""
    with transaction.atomic():
        device.confirmed = True
        device.save()
        session.pop(SECRET_TO_CONFIRM, None)
        return new_recovery_codes(device.user)


def new_recovery_codes(user):
    """Replace the user's recovery codes by a new set, which is returned to be shown
    once. The device is kept, so a session signed in with an old code stays valid."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes"}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user).count()


def device_accepting(user, code):
    """The device that accepts ``code`` (six digits from the app, or a recovery code,
    which is used up), or None. Rows are locked, so one code cannot be used twice by
    two requests at once."""
    code = "".join(code.split()).lower()
    model = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in model.objects.devices_for_user(user).select_for_update():
            if device.verify_token(code):
                return device
    return None
