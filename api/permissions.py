from rest_framework import permissions

from .models import ApiToken


class TokenScopeAllows(permissions.BasePermission):
    """A read-only token reads and changes nothing, whatever its owner may do."""

    message = "This API token is read-only; make a read-and-write token to change anything."

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken) and request.method not in permissions.SAFE_METHODS:
            return request.auth.allows_writes
        return True
