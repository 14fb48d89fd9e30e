from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ReadOnly, ReadOnlyInline

from .forms import SubscriptionForm
from .models import CaseLinkView, DigestDelivery, Subscription


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


class CaseLinkViewInline(ReadOnlyInline):
    model = CaseLinkView
    fields = ["viewed_at", "case"]
    verbose_name_plural = "Cases opened from the digests' links"


@admin.register(CaseLinkView)
class CaseLinkViewAdmin(ReadOnly, admin.ModelAdmin):
    """Each opening of a digest's case link, on record: read-only, written only by
    the link's page."""

    list_display = ["viewed_at", "case", "subscription"]
    list_select_related = ["case", "subscription"]
    list_filter = ["viewed_at"]
    search_fields = ["subscription__email", "case__reference"]
    date_hierarchy = "viewed_at"


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["email", "user", "active", "filters", "preview"]
    list_filter = ["active"]
    search_fields = ["email", "user__username"]
    autocomplete_fields = ["user"]
    readonly_fields = ["preview"]
    inlines = [DigestDeliveryInline, CaseLinkViewInline]

    @admin.display(description="Filters")
    def filters(self, subscription):
        return f"{subscription.incident_types_label}; {subscription.countries_label}"

    @admin.display(description="Digest")
    def preview(self, subscription):
        if subscription.pk is None:
            return "-"
        url = reverse("digests:preview", args=[subscription.pk])
        return format_html('<a href="{}">Preview this week\'s digest</a>', url)
