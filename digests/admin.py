from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from tracker.models import IncidentType

from .forms import SubscriptionForm
from .models import DigestDelivery, Subscription


class DigestDeliveryInline(admin.TabularInline):
    model = DigestDelivery
    fields = [
        "period_end",
        "status",
        "attempts",
        "unknown_outcomes",
        "last_attempt_at",
        "sent_at",
        "last_error",
        "message_id",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    verbose_name_plural = "Digests sent"


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["email", "user", "active", "filters", "preview"]
    list_filter = ["active"]
    search_fields = ["email", "user__username"]
    autocomplete_fields = ["user"]
    readonly_fields = ["preview"]
    inlines = [DigestDeliveryInline]

    @admin.display(description="Filters")
    def filters(self, subscription):
        types = [IncidentType(value).label for value in subscription.incident_types]
        places = [country.name for country in subscription.countries]
        return "; ".join(filter(None, [", ".join(types), ", ".join(places)])) or "everything"

    @admin.display(description="Digest")
    def preview(self, subscription):
        if subscription.pk is None:
            return "-"
        url = reverse("digests:preview", args=[subscription.pk])
        return format_html('<a href="{}">Preview this week\'s digest</a>', url)
