from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from mailer.mail import absolute_url
from mailer.models import EmailDelivery
from tracker.models import Case, IncidentType


class Subscription(models.Model):
    """Someone who receives the weekly digest; most stakeholders have no login."""

    # Unchanged since the digest was part of tracker: links in digests already sent
    # keep working.
    UNSUBSCRIBE_SALT = "tracker.subscription.unsubscribe"

    email = models.EmailField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    active = models.BooleanField(default=True)
    # IncidentType values; empty means all. A list in a JSON column works the same on
    # SQLite and PostgreSQL.
    incident_types = models.JSONField(default=list, blank=True)
    countries = CountryField(
        multiple=True,
        blank=True,
        help_text="Where the incident happened. Select none for every country.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tracker_subscription"
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def countries_label(self):
        """The countries the subscriber follows, named, for the digest to say so."""
        return ", ".join(country.name for country in self.countries) or "all countries"

    @property
    def incident_types_label(self):
        labels = [IncidentType(value).label for value in self.incident_types]
        return ", ".join(labels) or "all incident types"

    def filter_cases(self, cases):
        """Narrow a Case queryset to what this subscriber asked for."""
        if self.incident_types:
            cases = cases.filter(incident_type__in=self.incident_types)
        if self.countries:
            cases = cases.filter(country__in=[country.code for country in self.countries])
        return cases

    def unsubscribe_token(self):
        return signing.dumps(self.pk, salt=self.UNSUBSCRIBE_SALT)

    @classmethod
    def from_unsubscribe_token(cls, token):
        """The subscription a token was made for; raises BadSignature or DoesNotExist."""
        return cls.objects.get(pk=signing.loads(token, salt=cls.UNSUBSCRIBE_SALT))

    def get_unsubscribe_url(self):
        return absolute_url(reverse("digests:unsubscribe", args=[self.unsubscribe_token()]))


class CaseLinkView(models.Model):
    """A case opened through a digest's case link (``digests.links``): which
    subscription's link, which case, when. Kept as a record of what reached whom;
    nothing about the reader (no address, no browser) is stored."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="case_link_views"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-viewed_at", "-pk"]
        verbose_name = "case opened from a digest"
        verbose_name_plural = "cases opened from digests"

    def __str__(self):
        return f"{self.case.reference} opened from the digest of {self.subscription}"


class DigestDelivery(EmailDelivery):
    """The digest of one subscription for the week before ``period_end``."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    period_end = models.DateField()

    class Meta:
        db_table = "tracker_digestdelivery"
        ordering = ["-period_end", "subscription"]
        verbose_name_plural = "digest deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_end"], name="one_digest_per_subscription_and_period"
            )
        ]

    delivery_task = "digests.tasks.send_digest"

    def __str__(self):
        return f"Digest for {self.subscription} up to {self.period_end}"

    def delivery_task_args(self):
        return [self.subscription_id, self.period_end.isoformat()]
