"""Personal API tokens: each acts as its owner, with its owner's permissions and never
more, read-only or read-write, until it expires or is revoked.

Only a digest of a token is stored. A token reads ``trk_<prefix>_<secret>``: the
prefix, stored as it is, finds the row; the SHA-256 of the whole token must then match
the stored digest. The secret is 256 random bits, so a fast hash is enough (a slow one
protects guessable passwords, and makes every API request pay for it).
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "trk"
# last_used_at is written at most this often per token: a script's every request
# would otherwise be a write.
LAST_USED_GRAIN_SECONDS = 60


class Scope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class TokenRefused(Exception):
    """The token cannot be used; the message tells the client why."""


def digest_of(token):
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now),
            revoked_at__isnull=True,
        )


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text='What it is for, e.g. "collection script".')
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scope = models.CharField(
        max_length=5,
        choices=Scope.choices,
        default=Scope.READ,
        help_text="A read-only token can read what its owner may read, and change nothing.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: until revoked. After it, the token is refused."
    )
    last_used_at = models.DateTimeField(null=True, editable=False)
    revoked_at = models.DateTimeField(null=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({TOKEN_PREFIX}_{self.prefix}…, {self.user})"

    @classmethod
    def issue(cls, user, name, scope=Scope.READ, expires_at=None):
        """A new token for ``user``: the saved row and the token itself, which is shown
        once and never stored."""
        row = cls(user=user, name=name, scope=scope, expires_at=expires_at)
        token = row.generate()
        row.save()
        return row, token

    def generate(self):
        """Give this unsaved token its secret; returns the token, to be shown once."""
        self.prefix = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}_{self.prefix}_{secrets.token_urlsafe(32)}"
        self.digest = digest_of(token)
        return token

    @classmethod
    def verify(cls, token):
        """The usable token row for ``token``, its user loaded; TokenRefused otherwise."""
        kind, _, rest = token.partition("_")
        prefix, _, secret = rest.partition("_")
        if kind != TOKEN_PREFIX or not re.fullmatch(r"[0-9a-f]{12}", prefix) or not secret:
            raise TokenRefused("This is not an API token of this site (trk_…).")
        try:
            # By the unique prefix: .get() reads the one row without the model's ORDER BY
            # that .first() would add.
            row = cls.objects.select_related("user").get(prefix=prefix)
        except cls.DoesNotExist:
            raise TokenRefused("Unknown API token.") from None
        if not hmac.compare_digest(row.digest, digest_of(token)):
            raise TokenRefused("Unknown API token.")
        if row.revoked_at:
            raise TokenRefused(f"This API token was revoked on {row.revoked_at:%d %b %Y %H:%M}.")
        if row.is_expired():
            raise TokenRefused(f"This API token expired on {row.expires_at:%d %b %Y %H:%M}.")
        return row

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_usable(self):
        return not self.revoked_at and not self.is_expired()

    @property
    def allows_writes(self):
        return self.scope == Scope.WRITE

    @property
    def display(self):
        """How the token is recognised without being shown: its prefix."""
        return f"{TOKEN_PREFIX}_{self.prefix}_…"

    def mark_used(self, now=None):
        now = now or timezone.now()
        if (
            self.last_used_at
            and (now - self.last_used_at).total_seconds() < LAST_USED_GRAIN_SECONDS
        ):
            return
        self.last_used_at = now
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)

    def revoke(self):
        if not self.revoked_at:
            self.revoked_at = timezone.now()
            type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=self.revoked_at
            )
