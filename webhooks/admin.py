from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ReadOnly, ReadOnlyInline

from . import client
from .models import DisablingNotice, Endpoint, Event, WebhookDelivery, new_secret


class AdministratorsOnly:
    """Endpoints hold their secrets, deliveries what partners were sent: administrators
    only, whatever permissions a staff user was given."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args):
        return self.has_module_permission(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request) and super().has_delete_permission(request, obj)


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, help_text="What it receives."
    )
    secret = forms.CharField(
        initial=new_secret,
        min_length=16,
        max_length=200,
        help_text="Signs every delivery (HMAC-SHA256); give it to the endpoint's owner. "
        "A new one is made for each endpoint; at least 16 characters.",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "events", "secret", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            client.check_url(url)
        except client.ForbiddenAddress as error:
            raise ValidationError(str(error)) from error
        except (OSError, UnicodeError) as error:
            raise ValidationError(f"Its host could not be resolved ({error}).") from error
        return url


class DisablingNoticeInline(ReadOnlyInline):
    model = DisablingNotice
    fields = ["disabled_at", "status", "attempts", "sent_at", "last_error"]
    verbose_name_plural = "Times it was disabled (the administrators were emailed)"


@admin.register(Endpoint)
class EndpointAdmin(AdministratorsOnly, admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "event_list", "active", "consecutive_failures", "disabled_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["consecutive_failures", "disabled_at", "created_at", "delivery_list"]
    inlines = [DisablingNoticeInline]

    @admin.display(description="Events")
    def event_list(self, endpoint):
        return ", ".join(Event(event).label for event in endpoint.events)

    @admin.display(description="Deliveries")
    def delivery_list(self, endpoint):
        if endpoint.pk is None:
            return "-"
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        link = '<a href="{}?endpoint__id__exact={}">Its deliveries</a>'
        return format_html(link, url, endpoint.pk)

    def save_model(self, request, obj, form, change):
        if change and "active" in form.changed_data and obj.active:
            # Enabled again: its count of failures starts anew.
            obj.consecutive_failures, obj.disabled_at = 0, None
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(AdministratorsOnly, ReadOnly, admin.ModelAdmin):
    list_display = [
        "event",
        "case_reference",
        "endpoint",
        "status",
        "attempts",
        "unknown_outcomes",
        "response_status",
        "last_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint", "transition__case"]
    search_fields = ["=delivery_id", "=transition__case__reference"]
    fields = [
        "endpoint",
        "event",
        "case_reference",
        "delivery_id",
        "status",
        "attempts",
        "unknown_outcomes",
        "created_at",
        "last_attempt_at",
        "sent_at",
        "response_status",
        "response_excerpt",
        "last_error",
        "body",
    ]
    readonly_fields = fields

    @admin.display(description="Case", ordering="transition__case__reference")
    def case_reference(self, delivery):
        return delivery.transition.case.reference
