from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class PerTokenRateThrottle(SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per token (per user for a browser session, per
    address when signed out), counted in the cache, which all web processes share.
    Over it: 429 with Retry-After."""

    scope = "api"

    def get_rate(self):
        # Read on each request, not once at import, so a changed setting applies.
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
