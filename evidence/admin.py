from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.admin import HistoryAdmin, ReadOnly, ReadOnlyInline

from . import custody, files
from .forms import EvidenceItemForm
from .models import CustodyAction, CustodyEvent, EvidenceItem, Source, StoredFile


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    """Monitors propose sources here; only reviewers grade them (Source.grade)."""

    list_display = ["name", "kind", "country", "reliability", "graded_by", "graded_at"]
    list_filter = [("graded_at", admin.EmptyFieldListFilter), "kind", "reliability", "country"]
    list_select_related = ["graded_by"]
    search_fields = ["name", "notes"]
    readonly_fields = ["proposed_by", "graded_by", "graded_at"]

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm("evidence.grade_source"):
            return self.readonly_fields
        return ["reliability", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.proposed_by = request.user
        # Only a grader's form has the reliability field; choosing a grade grades.
        if "reliability" in form.changed_data:
            obj.grade(form.cleaned_data["reliability"], request.user)
        super().save_model(request, obj, form, change)


class AdminEvidenceItemForm(EvidenceItemForm):
    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is None:
            return None
        if self.instance.file_id:
            raise forms.ValidationError("This item already has a file; files are never replaced.")
        try:
            # Checked now, so a refused file is reported with the form's other errors;
            # stored only by save_evidence_formset, once the whole page is valid.
            self.checked_upload = files.check(upload)
        except files.UploadRejected as error:
            raise forms.ValidationError(str(error)) from error
        return upload


def save_evidence_formset(request, formset):
    """Save evidence edited inline on a case, storing the files that arrive and
    writing their custody."""
    # The admin's change message reads what formset.save() would have recorded.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        if not form.has_changed() or form in formset.deleted_forms:
            continue
        item = form.save(commit=False)
        arriving = item._state.adding
        checked = getattr(form, "checked_upload", None)
        upload = form.cleaned_data["upload"] if checked else None
        custody.save_with_file(item, request.user, upload, checked)
        form.save_m2m()
        if arriving:
            formset.new_objects.append(item)
        else:
            formset.changed_objects.append((item, form.changed_data))


class EvidenceItemInline(admin.StackedInline):
    model = EvidenceItem
    form = AdminEvidenceItemForm
    fk_name = "case"
    extra = 0
    can_delete = False
    autocomplete_fields = ["source", "reporting_outlet"]
    readonly_fields = ["digest", "original_filename", "added_by", "added_at", "custody_link"]
    fieldsets = [
        (None, {"fields": [("source", "reporting_outlet"), ("kind", "stance", "credibility")]}),
        (None, {"fields": ["title", "excerpt", "url", ("published_on", "obtained_on")]}),
        (
            None,
            {
                "fields": [
                    "upload",
                    "digest",
                    "original_filename",
                    ("added_by", "added_at"),
                    "custody_link",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("source", "reporting_outlet", "file", "added_by")
        )

    def get_fieldsets(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return self.fieldsets
        # Read-only viewers get no upload field.
        return [(None, {"fields": [f for f in _flat(self.fieldsets) if f != "upload"]})]

    def has_add_permission(self, request, obj=None):
        return obj is not None and custody.may_add_evidence(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and custody.may_add_evidence(request.user, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("evidence.view_evidenceitem")

    @admin.display(description="SHA-256")
    def digest(self, item):
        return item.file.sha256 if item.file_id else "—"

    @admin.display(description="Chain of custody")
    def custody_link(self, item):
        if not item.pk:
            return "—"
        url = reverse("admin:evidence_evidenceitem_change", args=[item.pk])
        return format_html('<a href="{}">Evidence item and its custody</a>', url)


def _flat(fieldsets):
    for _, options in fieldsets:
        for field in options["fields"]:
            yield from field if isinstance(field, tuple) else (field,)


class CustodyEventInline(ReadOnlyInline):
    model = CustodyEvent
    fields = ["at", "action", "actor", "sha256", "note"]
    verbose_name_plural = "Chain of custody"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(EvidenceItem)
class EvidenceItemAdmin(ReadOnly, HistoryAdmin):
    """Items are added and edited on their case; here they are read with their custody."""

    list_display = ["title", "case", "source", "stance", "kind", "credibility", "published_on"]
    list_filter = ["stance", "kind", "credibility", "source"]
    list_select_related = ["case", "source"]
    # Newest first by primary key, and one count: half a million items must not be
    # sorted or counted twice for one page.
    ordering = ["-pk"]
    show_full_result_count = False
    list_per_page = 50
    search_fields = ["title", "excerpt", "case__reference", "source__name"]
    readonly_fields = [
        "case",
        "source",
        "reporting_outlet",
        "kind",
        "stance",
        "credibility",
        "title",
        "excerpt",
        "url",
        "published_on",
        "obtained_on",
        "stored_file",
        "original_filename",
        "added_by",
        "added_at",
    ]
    fields = readonly_fields
    inlines = [CustodyEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description="File")
    def stored_file(self, item):
        if not item.file_id:
            return "—"
        url = reverse("evidence:download", args=[item.pk])
        return format_html('<a href="{}">Download</a> · SHA-256 {}', url, item.file.sha256)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.method == "GET":
            custody.record(obj, CustodyAction.VIEWED, request.user)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(CustodyEvent)
class CustodyEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["at", "action", "item", "actor", "sha256"]
    list_filter = ["action"]
    list_select_related = ["item", "actor"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        visible = EvidenceItem.objects.visible_to(request.user)
        return super().get_queryset(request).filter(item__in=visible)


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["sha256", "content_type", "size", "stored_at"]
    search_fields = ["sha256"]
    readonly_fields = ["sha256", "content_type", "size", "stored_at"]

    def get_queryset(self, request):
        visible = EvidenceItem.objects.visible_to(request.user)
        return super().get_queryset(request).filter(items__in=visible).distinct()
