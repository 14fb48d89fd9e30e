"""Who a request to the API comes from: a personal API token (``Authorization: Bearer
trk_…``) or the browser's signed-in session, with its CSRF check (DRF's
SessionAuthentication)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import two_factor

from .models import ApiToken, TokenRefused


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A token acts as its owner: with the owner's permissions, read now (a role taken
    away applies at once), and not at all once the owner is inactive, or, where
    reviewers and administrators must use two-factor sign-in, while they have not
    enrolled (as they could not use the site either)."""

    keyword = "bearer"

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.encode():
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as one word after Bearer: Authorization: Bearer trk_…"
            )
        try:
            token = ApiToken.verify(words[1].decode("ascii"))
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Unknown API token.") from None
        except TokenRefused as refusal:
            raise exceptions.AuthenticationFailed(str(refusal)) from None
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API token is inactive.")
        if two_factor.must_use_two_factor(user) and two_factor.authenticator(user) is None:
            raise exceptions.AuthenticationFailed(
                "The owner of this API token must set up two-factor sign-in before using it."
            )
        token.mark_used()
        return user, token

    def authenticate_header(self, request):
        # A 401 rather than a 403 for a request without credentials.
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (trk_…), made under Account → API tokens.",
        }
