"""What the project's admin classes share: read-only records and history pages that
only show."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import is_historic, to_historic


class ReadOnly:
    """Admin for records that are written by the application and never edited or
    deleted by hand: review steps, evidence items outside their case, custody."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    """A case's or an item's record shown beside it, every field read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class HistoryAdmin(SimpleHistoryAdmin):
    """History pages (who changed which field, when) that are a record, not an editing
    path: django-simple-history finds the object in the history table, checks only the
    model's view permission and saves what its version page posts back ("revert").

    Here both pages show only an object this admin's queryset holds for the user, so
    history never shows more than the change page would; only administrators read the
    history of a deleted object. A past version is shown with every field read-only and
    nobody, administrators included, can post it back: changes go through the change
    page and the review workflow, with their own rules.
    """

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _visible_or_404(self, request, object_id):
        if self.get_object(request, unquote(object_id)) is None and not request.user.is_superuser:
            raise Http404

    def has_change_history_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        if is_historic(obj):
            return [(None, {"fields": recorded_fields(obj)})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if is_historic(obj):
            return recorded_fields(obj)
        return super().get_readonly_fields(request, obj)


def recorded_fields(version):
    """The fields a past version holds: its many-to-many fields are not recorded, and the
    current ones would pass for the past."""
    return [field.name for field in to_historic(version).tracked_fields if not field.primary_key]
