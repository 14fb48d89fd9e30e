from datetime import date

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, prefetch_related_objects
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django_countries import countries
from simple_history.models import is_historic

from common.admin import HistoryAdmin, ReadOnly, ReadOnlyInline
from common.paging import CappedPaginator
from evidence.admin import EvidenceItemInline, save_evidence_formset
from evidence.corroboration import summary_of, with_summary
from evidence.files import accept_evidence_files
from evidence.models import EvidenceItem, Stance

from . import workflow
from .duplicates import possible_duplicates
from .forms import CleansCaseText
from .models import (
    CASE_LISTS,
    WAITING_STATES,
    Case,
    Notification,
    Reminder,
    SanctionsProvision,
    Transition,
    WeaponSystem,
)

# The review panel lists evidence in this order.
STANCE_ORDER = {stance: position for position, stance in enumerate(Stance)}


class KeptWhileCited:
    """A weapon system or provision that a case cites is not deleted: deleting it would
    take it off those cases with no entry in their history. The admin's delete page and
    its "delete selected" action name the cases (as Django names protected objects), so
    the administrator can first change them, or rename the entry instead."""

    SHOWN = 20

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        citing = Case.objects.filter(**{f"{self.cases_field}__in": objs}).distinct()
        shown = list(citing.only("reference", "title").order_by("reference")[: self.SHOWN])
        protected += [
            format_html(
                '{}: <a href="{}">{}</a>',
                Case._meta.verbose_name.capitalize(),
                reverse("admin:tracker_case_change", args=[case.pk]),
                case,
            )
            for case in shown
        ]
        if len(shown) == self.SHOWN and (more := citing.count() - self.SHOWN):
            protected.append(f"and {more} more case{pluralize(more)}")
        return deleted, counts, perms_needed, protected


@admin.register(WeaponSystem)
class WeaponSystemAdmin(KeptWhileCited, HistoryAdmin):
    cases_field = "weapon_systems"
    list_display = ["name", "aliases", "category"]
    search_fields = ["name", "aliases", "category", "description"]


@admin.register(SanctionsProvision)
class SanctionsProvisionAdmin(KeptWhileCited, HistoryAdmin):
    cases_field = "sanctions_provisions"
    list_display = ["__str__", "summary"]
    search_fields = ["resolution", "paragraph", "summary"]


class TransitionInline(ReadOnlyInline):
    model = Transition
    fields = ["at", "actor", "from_state", "to_state", "comment"]
    verbose_name = "review step"
    verbose_name_plural = "Review history"

    def has_view_permission(self, request, obj=None):
        return True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class TransitionForm(forms.Form):
    comment = forms.CharField(
        label="Comment or reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required to reject or to request changes; recorded with the decision.",
    )

    duplicate_of = forms.CharField(
        label="Duplicate of",
        max_length=20,
        help_text="The reference of the case this one reports again, e.g. CASE-2024-0003.",
    )

    justification = forms.CharField(
        label="Justification for approving below the corroboration minimum",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the decision.",
    )

    def __init__(self, *args, action, justify=(), require_justification=False, user=None, **kwargs):
        """``justify``: the cases, of those the action is taken on, that need a
        justification to be approved. The field is there only when some do, and names
        them; the workflow records it with those cases alone. ``duplicate_of`` is there
        only to mark a case as a duplicate, and finds the case among those ``user`` sees."""
        super().__init__(*args, **kwargs)
        self.action = action
        self.user = user
        if action is not workflow.MARK_DUPLICATE:
            del self.fields["duplicate_of"]
        if action.reason_required:
            self.fields["comment"].required = True
            self.fields["comment"].label = "Reason"
        if action is not workflow.APPROVE or not justify:
            del self.fields["justification"]
            return
        references = join_and([case.reference for case in justify])
        field = self.fields["justification"]
        field.label = f"Justification for approving {references} below the corroboration minimum"
        field.required = require_justification
        has, them = ("has", "it") if len(justify) == 1 else ("have", "them")
        field.error_messages["required"] = (
            f"{references} {has} fewer independent supporting sources than approval needs: "
            f"write a justification, or cancel and leave {them} out of the selection."
        )

    def clean_duplicate_of(self):
        reference = self.cleaned_data["duplicate_of"].strip()
        original = Case.objects.visible_to(self.user).filter(reference__iexact=reference).first()
        if original is None:
            raise forms.ValidationError(f"There is no case {reference} that you can see.")
        return original

    def perform(self, case, user):
        return workflow.perform(
            case,
            self.action,
            user,
            self.cleaned_data["comment"],
            self.cleaned_data.get("justification", ""),
            duplicate_of=self.cleaned_data.get("duplicate_of"),
        )


def join_and(words):
    """The words as a sentence lists them: "A", "A and B", "A, B and C"."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


class TransferFilter(admin.SimpleListFilter):
    """Supplier → recipient pairs that occur (KP → RU), not 250 countries twice."""

    title = "supplier → recipient"
    parameter_name = "transfer"

    def lookups(self, request, model_admin):
        # Listing the pairs reads an index entry per case; they change rarely, so each
        # user's list is kept for five minutes.
        pairs = cache.get_or_set(
            f"admin-transfer-pairs:{request.user.pk}",
            lambda: list(
                Case.objects.visible_to(request.user)
                .order_by("supplier_country", "recipient_country")
                .values_list("supplier_country", "recipient_country")
                .distinct()
            ),
            5 * 60,
        )
        return [
            (
                f"{supplier}-{recipient}",
                f"{countries.name(supplier) or '?'} → {countries.name(recipient) or '?'}",
            )
            for supplier, recipient in pairs
        ]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        supplier, _, recipient = self.value().partition("-")
        return queryset.filter(supplier_country=supplier, recipient_country=recipient)


class IncidentYearFilter(admin.SimpleListFilter):
    """The year of the incident, each year from the first case's to the last's. It
    replaces Django's date hierarchy, whose list of years is a DISTINCT over every
    filtered case (a quarter of the list's time at 100,000 cases); the first and last
    dates are two index lookups."""

    title = "incident year"
    parameter_name = "incident_year"

    def lookups(self, request, model_admin):
        span = Case.objects.visible_to(request.user).aggregate(
            first=Min("incident_start"), last=Max("incident_start")
        )
        if span["first"] is None:
            return []
        years = range(span["last"].year, span["first"].year - 1, -1)
        return [(str(year), str(year)) for year in years]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        year = self.value()
        if not (year.isdecimal() and 1 <= int(year) <= 9999):
            raise IncorrectLookupParameters(f"No such year: {year}")
        # Any case with part of its incident in the year, as on the case list.
        year = int(year)
        return queryset.during(date(year, 1, 1), date(year, 12, 31))


class CaseAdminForm(CleansCaseText, forms.ModelForm):
    """The admin's case form: its fields are the fieldsets', its text cleaned as the
    pages' CaseForm cleans it (a summary typed here exports as one typed there)."""

    def clean_assigned_reviewer(self):
        # Only administrators see this field. A case is assigned to who may review it,
        # and never to its creator (the four-eyes rule), as starting a review would.
        # An assignment kept as it was is not checked again (its reviewer may since
        # have left the group).
        reviewer = self.cleaned_data.get("assigned_reviewer")
        if reviewer is None or "assigned_reviewer" not in self.changed_data:
            return reviewer
        obstacle = workflow.review_obstacle(reviewer, self.instance)
        if obstacle == workflow.NOT_A_REVIEWER:
            raise forms.ValidationError(
                f"{reviewer} is not a reviewer, so cannot be assigned a case to review."
            )
        if obstacle == workflow.OWN_CASE:
            raise forms.ValidationError(
                f"{reviewer} created this case, so cannot review it (four-eyes rule)."
            )
        return reviewer


@admin.register(Case)
class CaseAdmin(HistoryAdmin):
    form = CaseAdminForm
    list_display = [
        "reference",
        "title",
        "incident_type",
        "state",
        "incident_date",
        "transfer",
        "assigned_reviewer",
        "time_in_state",
        "independent_sources",
    ]
    # One link a row: each link costs the admin a URL resolve to keep the filters.
    list_display_links = ["reference"]
    list_filter = [
        "state",
        "incident_type",
        TransferFilter,
        IncidentYearFilter,
        "weapon_systems",
    ]
    list_select_related = ["assigned_reviewer"]
    # Most recently moved first; the (state, state_changed_at) index serves it.
    ordering = ["-state_changed_at"]
    # One count per page: the filtered one, exact up to EXACT_COUNT_LIMIT.
    show_full_result_count = False
    list_per_page = 50
    # Django's ChangeList pages by OFFSET, which builds every row it skips (with its
    # corroboration counts); keyset pages would mean rewriting ChangeList, so the
    # changelist offers this many pages and the filters, search and sort lead on.
    max_pages = 20
    search_fields = ["reference", "title", "summary", "place_name"]
    autocomplete_fields = ["weapon_systems", "sanctions_provisions"]
    readonly_fields = [
        "reference",
        "state",
        "state_changed_at",
        "created_by",
        "created_at",
        "notifications",
        "incident_date",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "title", "summary", "incident_type"]}),
        ("When", {"fields": ["incident_date", "date_precision", "incident_start", "incident_end"]}),
        ("Where", {"fields": ["place_name", "country", "latitude", "longitude"]}),
        (
            "What and who",
            {
                "fields": [
                    "supplier_country",
                    "recipient_country",
                    "weapon_systems",
                    "reported_quantity",
                    "sanctions_provisions",
                ]
            },
        ),
        (
            "Review",
            {
                "fields": [
                    "state",
                    "state_changed_at",
                    "created_by",
                    "assigned_reviewer",
                    "created_at",
                    "notifications",
                ]
            },
        ),
    ]
    inlines = [EvidenceItemInline, TransitionInline]
    actions = [
        "start_review_selected",
        "approve_selected",
        "request_changes_selected",
        "reject_selected",
    ]
    change_form_template = "admin/tracker/case/change_form.html"
    object_history_list_template = "admin/tracker/case/object_history_list.html"

    class Media:
        css = {"all": ["css/admin-case.css"]}

    # Codes, in one column: the admin's display of a country field looks through all
    # 250 countries for every cell, and a country's name costs a translation lookup.
    @admin.display(description="Supplier → recipient")
    def transfer(self, case):
        return f"{case.supplier_country.code or '?'} → {case.recipient_country.code or '?'}"

    def action_checkbox(self, case):
        # Django renders each row's box through the widget templates: 50 of them were
        # about 6 ms of a 45 ms page, the one thing that kept the changelist more than
        # 25% slower than before. The same markup, written directly; a test compares it
        # with Django's own for awkward titles.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            case.pk,
            format_html(gettext("Select this object for an action - {}"), str(case)),
        )

    @admin.display(description="Notifications")
    def notifications(self, case):
        """Who was emailed about the case's transitions, and whether it went out."""
        sent = Notification.objects.filter(transition__case=case).select_related("transition")
        return (
            format_html_join(
                mark_safe("<br>"),
                "{} → {}: {} ({} attempt(s)) {}",
                (
                    (
                        n.transition.to_state,
                        n.address,
                        n.get_status_display(),
                        n.attempts,
                        n.last_error,
                    )
                    for n in sent.order_by("created_at", "pk")
                ),
            )
            or "-"
        )

    @admin.display(description="Time in state", ordering="state_changed_at")
    def time_in_state(self, case):
        # "3 days": the larger unit is what a reviewer scans the list for.
        return timesince(case.state_changed_at, timezone.now(), depth=1)

    @admin.display(description="Incident date", ordering="incident_start")
    def incident_date(self, case):
        # As precisely as it is known ("January 2024"), never the stored first day.
        return case.incident_period or "-"

    @admin.display(description="Independent sources", ordering="supporting_sources")
    def independent_sources(self, case):
        text = f"{case.supporting_sources} supporting"
        return f"{text}, {case.refuting_sources} refuting" if case.refuting_sources else text

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def lookup_allowed(self, lookup, value, request=None):
        # The admin lets the address filter by any column of the case; the search's
        # own is read by the search box, and SQLite has no such column to compare.
        if lookup.split(LOOKUP_SEP)[0] == "search_vector":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and not is_historic(obj):
            # The case's page (the one caller with a case) shows the weapon systems and
            # provisions, in the form or read-only, and looks for duplicates by weapon
            # system: read once here, not where each is used.
            prefetch_related_objects([obj], "weapon_systems", "sanctions_provisions")
        return super().get_form(request, obj, change, **kwargs)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return CappedPaginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            max_pages=self.max_pages,
            keys_first=True,
            kept_in=CASE_LISTS,
        )

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        attach_review_steps(list(historical_records))

    def get_search_results(self, request, queryset, search_term):
        # The case list's search, on its index: the admin's own is a contains-match
        # of every field, a pass over every case (half a second at 100,000).
        if not search_term.strip():
            return queryset, False
        found = queryset.search(search_term)
        if request.GET.get(ORDER_VAR):
            # A column the user sorted by comes before relevance.
            found = found.order_by(*queryset.query.order_by)
        return found, False

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_historic(obj):
            fieldsets = [
                (name, {**options, "fields": [_past_field(f) for f in options["fields"]]})
                for name, options in fieldsets
            ]
        hidden = set()
        if not request.user.has_perm("tracker.view_notification"):
            # Who was emailed (their addresses, the server's answers) is for those who
            # may read the notifications' record.
            hidden.add("notifications")
        if obj is None or is_historic(obj) or self.has_change_permission(request, obj):
            hidden.add("incident_date")  # the date inputs are there
        else:
            # Read, not edited, the date shows as precisely as it is known ("January
            # 2024"): the stored first and last days would claim a precision nobody has.
            hidden.update(["incident_start", "incident_end"])
        if not hidden:
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for name, options in fieldsets
        ]

    @admin.display(description="Duplicate of")
    def duplicate_of_reference(self, case):
        # A past version names the original by its reference, as the review step's
        # comment does; its title is on its own page, for who may see it.
        return case.duplicate_of.reference if case.duplicate_of_id else "-"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if is_historic(obj):
            return [_past_field(name) for name in fields]
        if not request.user.is_superuser:
            # Reviewers are assigned by starting a review, not by editing the case.
            fields.append("assigned_reviewer")
        return fields

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.can_edit(request.user)

    def has_delete_permission(self, request, obj=None):
        # Cases are withdrawn, never deleted: the record must survive.
        return False

    def has_review_permission(self, request):
        return request.user.has_perm("tracker.review_case")

    def save_model(self, request, obj, form, change):
        if change:
            # In the change page's transaction, before the case and then its evidence
            # (save_formset) are saved: neither lands after a submission.
            obj.lock_for_edit(request.user)
        else:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    # The evidence inline takes files: they arrive through the evidence upload
    # handlers. The CSRF check reads the body, so it runs later, in changeform_view.
    @method_decorator(csrf_exempt)
    def change_view(self, request, object_id, form_url="", extra_context=None):
        accept_evidence_files(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_formset(self, request, form, formset, change):
        if formset.model is EvidenceItem:
            save_evidence_formset(request, formset)
        else:
            super().save_formset(request, form, formset, change)

    def get_urls(self):
        return [
            path(
                "<int:pk>/transition/<str:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="tracker_case_transition",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["workflow_actions"] = workflow.available_actions(obj, request.user)
            # The stored counts, as the case's page and the list show them (kept
            # current with every change to the evidence); approving recounts.
            context["corroboration"] = summary_of(
                with_summary(Case.objects.filter(pk=obj.pk)).get()
            )
            context["evidence"] = self._evidence_to_review(request, obj)
            context["possible_duplicates"] = self._possible_duplicates(request, obj)
            # As on the case's page: the original only to who may see it (reopened, it
            # is a draft of its monitor's again).
            context["duplicate_of"] = (
                self.get_queryset(request).filter(pk=obj.duplicate_of_id).first()
                if obj.duplicate_of_id
                else None
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _possible_duplicates(self, request, case):
        """For a reviewer, the cases this one may repeat (``tracker.duplicates``), so
        they can mark it as a duplicate of one: while it waits for review, the states
        it can be marked in. Scoring the candidates was a third of the database's
        time under load, mostly for cases decided long ago."""
        if (
            case.duplicate_of_id
            or case.state not in WAITING_STATES
            or not self.has_review_permission(request)
        ):
            return []
        return possible_duplicates(
            user=request.user,
            title=case.title,
            summary=case.summary,
            incident_start=case.incident_start,
            incident_end=case.incident_end,
            place_name=case.place_name,
            country=case.country,
            weapon_systems=case.weapon_systems.all(),
            exclude_pk=case.pk,
        )

    def _evidence_to_review(self, request, case):
        """The case's evidence for the review panel, in one query however much there is:
        supporting items first, then refuting, then context, as on the case's page."""
        if not request.user.has_perm("evidence.view_evidenceitem"):
            return None
        items = case.evidence.select_related("source", "reporting_outlet", "file")
        return sorted(items, key=lambda item: STANCE_ORDER[item.stance])

    def transition_view(self, request, pk, action):
        """One transition on one case: the change page's buttons post here."""
        action = workflow.ACTIONS.get(action)
        if action is None:
            raise Http404("No such workflow action.")
        case = get_object_or_404(self.get_queryset(request), pk=pk)
        refusal = action.refusal(request.user, case)
        if refusal:
            raise PermissionDenied(refusal)
        needed = action is workflow.APPROVE and workflow.needs_justification(case)
        justify = [case] if needed else []
        form = TransitionForm(
            request.POST if request.method == "POST" else None,
            action=action,
            justify=justify,
            user=request.user,
        )
        if request.method == "POST" and form.is_valid():
            try:
                form.perform(case, request.user)
            except workflow.TransitionForbidden as error:
                raise PermissionDenied(str(error)) from error
            except workflow.TransitionError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, f"{case.reference} {action.past_tense}.")
                return HttpResponseRedirect(reverse("admin:tracker_case_change", args=[case.pk]))
        return self._render_transition_page(request, action, [case], form, justify=justify)

    def _bulk_transition(self, request, queryset, action):
        """Check every selected case before asking for anything: say at once when the
        action fits none of them; otherwise confirm which cases it will be taken on and
        which are skipped and why, ask for a comment (and a justification, only for the
        approvals below the corroboration minimum), then take it case by case through
        the workflow, reporting on each."""
        plan = workflow.plan(queryset.order_by("reference"), action, request.user)
        if not plan.ready:
            count = len(plan.skipped)
            self.message_user(
                request,
                f"None of the {count} selected case{pluralize(count)} can be "
                f"{action.past_tense}; nothing was changed.",
                messages.ERROR,
            )
            self._report_skipped(request, plan)
            return None
        form = TransitionForm(
            request.POST if "apply" in request.POST else None,
            action=action,
            justify=plan.need_justification,
            require_justification=True,
        )
        if not form.is_valid():
            return self._render_transition_page(
                request,
                action,
                plan.ready,
                form,
                skipped=plan.skipped,
                justify=plan.need_justification,
                bulk=True,
            )
        for case in plan.ready:
            try:
                form.perform(case, request.user)
            except workflow.TransitionError as error:
                self.message_user(
                    request, f"{case.reference}: not {action.past_tense}. {error}", messages.ERROR
                )
            else:
                self.message_user(request, f"{case.reference} {action.past_tense}.")
        # Only cases another reviewer moved since the confirmation page, which listed
        # (and left out) those skipped then.
        self._report_skipped(request, plan)
        return None

    def _report_skipped(self, request, plan):
        for case, reason in plan.skipped:
            self.message_user(
                request, f"{case.reference}: not {plan.action.past_tense}. {reason}", messages.ERROR
            )

    def _render_transition_page(
        self, request, action, cases, form, skipped=(), justify=(), bulk=False
    ):
        if bulk:
            selected = len(cases) + len(skipped)
            title = f"{action.label} {len(cases)} of {selected} selected case{pluralize(selected)}"
        else:
            title = f"{action.label}: {cases[0].reference}"
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "action": action,
            "cases": [(case, case in justify) for case in cases],
            "skipped": skipped,
            "corroboration_min": settings.CORROBORATION_MIN,
            "form": form,
            "bulk": bulk,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tracker/case/transition.html", context)

    def _make_bulk_action(action):  # noqa: N805 - builds methods at class creation
        def bulk_action(self, request, queryset):
            return self._bulk_transition(request, queryset, action)

        bulk_action.__name__ = f"{action.name}_selected"
        return admin.action(description=f"{action.label} selected cases", permissions=["review"])(
            bulk_action
        )

    start_review_selected = _make_bulk_action(workflow.START_REVIEW)
    request_changes_selected = _make_bulk_action(workflow.REQUEST_CHANGES)
    approve_selected = _make_bulk_action(workflow.APPROVE)
    reject_selected = _make_bulk_action(workflow.REJECT)
    del _make_bulk_action


def _past_field(name):
    """A past version's field as the case's history shows it: the case it was marked a
    duplicate of by its reference, not as the related case (its title)."""
    return "duplicate_of_reference" if name == "duplicate_of" else name


def attach_review_steps(versions):
    """Give each version of a case that a review step wrote that step, as
    ``version.review_step``, in two queries for a page of versions.

    A step's time is the ``state_changed_at`` the workflow wrote with it, so the first
    version holding that time is the step's own; later ones are edits made while the
    case stayed in that state.
    """
    if not versions:
        return
    case_id, times = versions[0].id, {version.state_changed_at for version in versions}
    steps = {
        step.at: step
        for step in Transition.objects.filter(case_id=case_id, at__in=times).select_related("actor")
    }
    if not steps:
        return
    first_version = dict(
        Case.history.filter(id=case_id, state_changed_at__in=steps)
        .order_by()
        .values("state_changed_at")
        .annotate(first=Min("history_id"))
        .values_list("state_changed_at", "first")
    )
    for version in versions:
        if first_version.get(version.state_changed_at) == version.history_id:
            version.review_step = steps[version.state_changed_at]


@admin.register(Reminder)
class ReminderAdmin(ReadOnly, admin.ModelAdmin):
    """The record of reminders sent; written by the reminder job only."""

    list_display = ["date", "case", "kind", "status", "attempts", "unknown_outcomes", "sent_at"]
    list_filter = ["kind", "status", "date"]
    list_select_related = ["case"]
    search_fields = ["case__reference"]


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    """The record of transition notifications; written by the notification job only."""

    list_display = [
        "created_at",
        "transition",
        "address",
        "status",
        "attempts",
        "unknown_outcomes",
        "sent_at",
    ]
    list_filter = ["status", "transition__to_state"]
    list_select_related = ["transition__case", "transition__actor"]
    search_fields = ["transition__case__reference", "address"]
