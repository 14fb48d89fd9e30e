"""What the project's admin classes share: records that are read-only, and history
pages that only show. Neutral ground: tracker's and evidence's admins both build on it."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject, is_historic, to_historic
from simple_history.template_utils import HistoricalRecordContextHelper


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


def may_be_key(field, value):
    """Whether ``value`` can be one of ``field``'s values (a whole number within its
    range, for an integer key)."""
    try:
        field.run_validators(field.to_python(value))
    except ValidationError:
        return False
    return True


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
        history = getattr(self.model, self.model._meta.simple_history_manager_attribute).model
        if not may_be_key(history._meta.pk, version_id):
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _visible_or_404(self, request, object_id):
        # django-simple-history looks the object and the version up by whatever the
        # address holds, and a key of the wrong kind (``:``) fails there: none has it.
        object_id = unquote(object_id)
        if not may_be_key(self.model._meta.pk, object_id):
            raise Http404
        if self.get_object(request, object_id) is None and not request.user.is_superuser:
            raise Http404

    def has_change_history_permission(self, request, obj=None):
        return False

    # django-simple-history's list prints "None" for an empty change reason and links
    # every user to the user admin; ours leaves out what is empty and links only for
    # those who may open the link (and sets no inline style, which the CSP refuses).
    object_history_list_template = "admin/common/object_history_list.html"

    def render_history_view(self, request, template, context, **kwargs):
        users = get_user_model()._meta
        context["may_view_users"] = request.user.has_perm(
            f"{users.app_label}.{get_permission_codename('view', users)}"
        )
        context["has_change_reasons"] = any(
            record.history_change_reason for record in context.get("page_obj", ())
        )
        return super().render_history_view(request, template, context, **kwargs)

    def get_historical_record_context_helper(self, request, historical_record):
        return RecordedChange(self.model, historical_record)

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


class RecordedChange(HistoricalRecordContextHelper):
    """A field's change as a reader says it. django-simple-history shows a reference
    that was empty as a deleted object ("Assigned reviewer: Deleted user (pk=None) →
    reviewer") and a choice by its stored value ("F → B"); here an empty reference to a
    user is "nobody", any other empty value "none", and a choice reads as its label."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if isinstance(value, DeletedObject) and value.pk is None:
            return "nobody" if value.model is get_user_model() else "none"
        if value is None or value == "":
            return "none"
        if field.choices and not field.many_to_many:
            return dict(field.flatchoices).get(value, value)
        return super().prepare_delta_change_value(change, value)
