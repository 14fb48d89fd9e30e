"""The monitors' pages. Each view finds the case among those the user may see (others
are a 404: their existence is not disclosed), checks what the user may do with it, and
calls the one domain function that does the work."""

from collections import Counter

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch
from django.db.models.functions import TruncMonth
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from common import versioned_cache
from evidence.corroboration import summary_of, with_summary
from evidence.custody import add_evidence, check_may_add_evidence, edit_evidence, evidence_refusal
from evidence.files import UploadRejected, accepts_evidence_files
from evidence.forms import MonitorEvidenceItemForm
from evidence.models import SOURCES_CACHE, EvidenceItem, Stance

from . import workflow
from .charts import month_chart
from .filters import CaseFilter
from .forms import CaseForm, StepCommentForm
from .listing import case_page
from .models import (
    CHOICES_CACHE,
    Case,
    State,
    case_visibility,
    cases_cache,
    works_on_cases,
)

PAGE_SIZES = (25, 50, 100)
DASHBOARD_ROWS = 20
# Reviewing stays in the admin; on these pages a case's author submits or withdraws it.
PAGE_ACTIONS = (workflow.SUBMIT, workflow.WITHDRAW)
DECIDED_STATES = (State.APPROVED, State.REJECTED)
# (sort key of tracker.filters.CaseFilter or None, heading, class). A phone shows the
# reference, title and state; the columns of class "minor" appear on wider screens
# (static/css/tracker.css).
LIST_COLUMNS = [
    ("reference", "Reference", "reference"),
    ("title", "Title", "title"),
    ("type", "Type", "type minor"),
    ("date", "Incident date", "period minor"),
    (None, "Supplier → recipient", "transfer minor"),
    (None, "Weapon systems", "weapons minor"),
    ("state", "State", "state"),
    ("sources", "Sources for / against", "sources minor"),
]


def filtered_cases(request):
    # Newest first unless the user sorts, the primary key breaking ties.
    cases = Case.objects.visible_to(request.user).order_by("-created_at", "-pk")
    return CaseFilter(request.GET, queryset=cases, request=request)


@login_required
def dashboard(request):
    visibility = case_visibility(request.user)
    counts = shared_counts(visibility)
    # A team member's own drafts are theirs alone to see: counted afresh, never kept.
    own_drafts = per_incident_month(Case.objects.own_drafts(request.user))
    per_month = counts["per_month"] + own_drafts
    if not works_on_cases(request.user):
        # A stakeholder reads findings: no workflow counters or review queues. What
        # is theirs (recent approvals within their digest's filters, and the digest
        # itself) comes from the digests app through its template tag, as this app
        # may not import digests (docs/architecture.md).
        return render(
            request,
            "tracker/stakeholder_dashboard.html",
            {"chart": month_chart(per_month, "Approved cases per month of the incident")},
        )
    by_state = counts["by_state"] + Counter({State.DRAFT: own_drafts.total()})
    visible = Case.objects.visible_to(request.user)
    return render(
        request,
        "tracker/dashboard.html",
        {
            "by_state": [(state, by_state.get(state, 0)) for state in State],
            "chart": month_chart(per_month, "Cases per month of the incident"),
            "sla_days": settings.REVIEW_SLA_DAYS,
            # Exact: what waits for this user is what they are about to act on.
            **first_and_total(
                "waiting_for_me", visible.waiting_for(request.user).with_changes_reason()
            ),
            **stale_cases(visibility),
        },
    )


def shared_counts(visibility):
    """The cases every user of ``visibility`` sees, by state and per month of the
    incident; kept in the cache until a case they see (or now see) is created, moves or
    is given other dates (``Case.save``), so the next dashboard shows it."""

    def count():
        cases = Case.objects.shared_with(visibility).order_by()
        return {
            # COUNT(*), not COUNT(id): the counts can then be read from indexes alone.
            "by_state": Counter(dict(cases.values_list("state").annotate(n=Count("*")))),
            "per_month": per_incident_month(cases),
        }

    return versioned_cache.get_or_set(cases_cache(visibility), "dashboard-counts", count)


def per_incident_month(cases):
    return Counter(
        dict(
            cases.order_by()
            .annotate(month=TruncMonth("incident_start"))
            .values_list("month")
            .annotate(n=Count("*"))
        )
    )


def stale_cases(visibility):
    """The overdue cases of ``visibility`` that have waited longest, and how many
    there are (a draft is never overdue, so a team member's are the team's). Kept
    for a minute besides the version: a case becomes overdue as time passes, which
    no save announces, and a minute is nothing against a limit counted in days."""
    return versioned_cache.get_or_set(
        cases_cache(visibility),
        "dashboard-stale",
        lambda: first_and_total("stale", Case.objects.shared_with(visibility).overdue()),
        timeout=60,
    )


def first_and_total(name, cases):
    """The DASHBOARD_ROWS cases that have waited longest, and how many there are: a
    busy archive has thousands of waiting cases, and the dashboard shows a glance.

    Found by their keys first: the open cases' index holds every column these lists
    filter by, so PostgreSQL picks the rows out of it alone, where reading the whole
    rows to filter them read some 10,000 at 100,000 cases (24 ms against 2 ms)."""
    order = ("state_changed_at", "pk")
    keys = list(cases.order_by(*order).values_list("pk", flat=True)[:DASHBOARD_ROWS])
    first = list(cases.filter(pk__in=keys).order_by(*order)) if keys else []
    total = len(first) if len(first) < DASHBOARD_ROWS else cases.count()
    return {name: first, f"{name}_total": total}


@login_required
def case_list(request):
    case_filter = filtered_cases(request)
    page_size = request.GET.get("page_size", "")
    page_size = int(page_size) if page_size in map(str, PAGE_SIZES) else PAGE_SIZES[0]
    # A list, not a manager a row: the template only joins the names.
    cases = case_filter.qs.prefetch_related(Prefetch("weapon_systems", to_attr="weapons"))
    return render(
        request,
        "tracker/case_list.html",
        {
            "filter": case_filter,
            "page": case_page(request, cases, page_size),
            "page_sizes": PAGE_SIZES,
            "page_size": page_size,
            "columns": LIST_COLUMNS,
            "current_sort": request.GET.get("sort", ""),
            "query": query_without(request, "page", "cursor"),
            # A cursor is a position in one order: a new sort starts at the top.
            "query_no_size": query_without(request, "page", "cursor", "page_size"),
            "filter_form_version": versioned_cache.current_version(CHOICES_CACHE),
            "rank_limit": f"{settings.SEARCH_RANK_LIMIT:,}",
            "sort_query": query_without(request, "page", "cursor", "sort"),
        },
    )


def query_without(request, *names):
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@login_required
def case_detail(request, pk):
    case = get_object_or_404(
        with_summary(Case.objects.visible_to(request.user))
        .with_changes_reason()
        .select_related("created_by", "assigned_reviewer"),
        pk=pk,
    )
    items = EvidenceItem.objects.filter(case=case).select_related(
        "source", "reporting_outlet", "file"
    )
    by_stance = {stance: [] for stance in Stance}
    for item in items:
        by_stance[item.stance].append(item)
    # The review record (who acted, what they wrote) is the team's: a stakeholder reads
    # the decision, its date and, for an approval below the corroboration minimum,
    # the justification the workflow demanded for it, and no name or comment.
    review_record = works_on_cases(request.user)
    transitions = list(case.transitions.select_related("actor")) if review_record else None
    # Either way the link goes, only to cases this user may see.
    visible = Case.objects.visible_to(request.user).only("reference", "title")
    return render(
        request,
        "tracker/case_detail.html",
        {
            "case": case,
            "evidence": [(Stance(stance).label, by_stance[stance]) for stance in Stance],
            "corroboration": summary_of(case),
            "review_record": review_record,
            "transitions": transitions,
            "decision": decision(case, transitions),
            "actions": [
                action
                for action in workflow.available_actions(case, request.user)
                if action in PAGE_ACTIONS
            ],
            "can_edit": case.can_edit(request.user),
            "evidence_refusal": evidence_refusal(request.user, case),
            "can_review": request.user.has_perm("tracker.review_case"),
            "duplicate_of": visible.filter(pk=case.duplicate_of_id).first()
            if case.duplicate_of_id
            else None,
            "duplicates": list(visible.filter(duplicate_of=case).order_by("reference")),
        },
    )


def decision(case, transitions=None):
    """The transition that approved or rejected the case as it stands, or None while
    it is undecided. ``transitions``, when already read, saves the query."""
    if case.state not in DECIDED_STATES:
        return None
    if transitions is not None:
        return next((t for t in reversed(transitions) if t.to_state == case.state), None)
    return case.transitions.filter(to_state=case.state).order_by("at", "pk").last()


@login_required
def case_create(request):
    if not request.user.has_perm("tracker.add_case"):
        raise PermissionDenied("Only monitors can log a case.")
    form = CaseForm(request.POST or None)
    candidates = unconfirmed_duplicates(request, form)
    if form.is_valid() and not candidates:
        form.instance.created_by = request.user
        case = form.save()
        messages.success(request, f"{case.reference} saved as a draft.")
        return redirect(case)
    return render(
        request,
        "tracker/case_form.html",
        {
            "form": form,
            "duplicates": candidates,
            # Nothing in a blank form is the user's: the template keeps its markup.
            "blank_form_version": None
            if form.is_bound
            else versioned_cache.current_version(CHOICES_CACHE),
        },
    )


@login_required
def case_edit(request, pk):
    case = editable_case(request, pk)
    form = CaseForm(request.POST or None, instance=case)
    candidates = unconfirmed_duplicates(request, form)
    if form.is_valid() and not candidates:
        with transaction.atomic():
            case.lock_for_edit(request.user)
            form.save()
        messages.success(request, f"{case.reference} saved.")
        return redirect(case)
    return render(
        request, "tracker/case_form.html", {"form": form, "case": case, "duplicates": candidates}
    )


def unconfirmed_duplicates(request, form):
    """The possible duplicates to show before saving a valid case form, unless the
    monitor has seen them and chosen "Save anyway"."""
    if "save_anyway" in request.POST or not form.is_valid():
        return []
    return form.possible_duplicates(request.user)


@login_required
@accepts_evidence_files
def evidence_add(request, pk):
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    check_may_add_evidence(request.user, case)
    return evidence_form(request, case)


@login_required
@accepts_evidence_files
def evidence_edit(request, pk, item_pk):
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    item = get_object_or_404(case.evidence.select_related("source", "file"), pk=item_pk)
    check_may_add_evidence(request.user, case)
    return evidence_form(request, case, item)


def evidence_form(request, case, item=None):
    """Add an evidence item to ``case``, or edit ``item``; after an error the file sent
    is kept for the next try."""
    form = MonitorEvidenceItemForm(
        request.POST or None, request.FILES or None, instance=item, user=request.user
    )
    if form.is_valid():
        try:
            if item is None:
                add_evidence(case, request.user, **form.file_values(), **form.item_values())
                message = f"Evidence added to {case.reference}."
            elif edit_evidence(item, request.user, **form.file_values(), **form.item_values()):
                message = f"“{item.title}” saved."
            else:
                message = f"Nothing changed in “{item.title}”."
        except UploadRejected as rejection:
            form.add_error("upload", str(rejection))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, message)
            return redirect(case)
    if form.is_bound:
        form.keep_upload()
    return render(
        request,
        "tracker/evidence_form.html",
        {
            "form": form,
            "case": case,
            "item": item,
            # A blank form to add an item is the same for everyone: the template
            # keeps its markup (some 200 sources and 250 countries to choose from).
            "blank_form_version": None
            if form.is_bound or item
            else versioned_cache.current_version(SOURCES_CACHE),
        },
    )


def editable_case(request, pk):
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    case.check_may_edit(request.user)
    return case


@require_http_methods(["GET", "POST"])
@login_required
def case_transition(request, pk, action):
    action = workflow.ACTIONS.get(action)
    if action not in PAGE_ACTIONS:
        raise PermissionDenied("This action is taken in the review admin, not here.")
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    # Withdrawing archives the case, so it is asked for on a page of its own and taken
    # only once confirmed there; every other step is a POST from the case page.
    if action is workflow.WITHDRAW and "confirmed" not in request.POST:
        return confirm_withdrawal(request, case)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    written = StepCommentForm(request.POST)
    if not written.is_valid():
        messages.error(request, f"Not {action.past_tense}: {' '.join(written.errors['comment'])}")
        return redirect(case)
    try:
        workflow.perform(case, action, request.user, written.cleaned_data["comment"])
    except workflow.TransitionForbidden as error:
        raise PermissionDenied(str(error)) from error
    except workflow.TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{case.reference} {action.past_tense}.")
    return redirect(case)


def confirm_withdrawal(request, case):
    refusal = workflow.WITHDRAW.refusal(request.user, case)
    if refusal:
        raise PermissionDenied(refusal)
    if case.state not in workflow.WITHDRAW.sources:
        messages.error(request, f"{case.reference} is {case.get_state_display().lower()}.")
        return redirect(case)
    return render(request, "tracker/confirm_withdraw.html", {"case": case})
