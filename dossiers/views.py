"""The dossier pages and downloads. Each finds the cases among those the user may see
(tracker's visibility and case-list filters), gathers them, records the export in each
item's chain of custody and renders."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

from evidence.models import EvidenceItem
from evidence.views import downloadable_items
from tracker.models import Case
from tracker.views import filtered_cases, query_without

from . import compose, package
from .pdf import render_pdf


@require_safe
@login_required
def case_dossier(request, pk):
    return _dossier(request, _one_case(request, pk), pdf=False)


@require_safe
@login_required
def case_dossier_pdf(request, pk):
    return _dossier(request, _one_case(request, pk), pdf=True)


@require_safe
@login_required
def list_dossier(request):
    return _list_dossier(request, pdf=False)


@require_safe
@login_required
def list_dossier_pdf(request):
    return _list_dossier(request, pdf=True)


@require_safe
@login_required
def evidence_package(request, pk):
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    # The package hands out the case's files: exactly those its evidence download
    # would hand this user one by one, and nothing to whoever may download none.
    if not request.user.has_perm("evidence.view_evidenceitem"):
        raise Http404("No such evidence package.")
    takeable = list(downloadable_items(request.user).filter(case=case).select_related("file"))
    try:
        package.check_files(takeable)
    except package.MissingFiles as error:
        return HttpResponse(str(error), status=409, content_type="text/plain; charset=utf-8")
    # Written before the manifest is read, so its chain of custody lists this export.
    compose.record_export(
        EvidenceItem.objects.filter(case=case).select_related("file"),
        request.user,
        f"evidence package of {case.reference}: its dossier (PDF) and file",
    )
    dossier = compose.gather(Case.objects.filter(pk=case.pk), request.user, custody=True)
    pdf = render_pdf(_html(request, dossier, pdf=True))
    made = package.build(dossier.cases[0], dossier, pdf, [item.pk for item in takeable])
    response = StreamingHttpResponse(made.stream, content_type="application/zip")
    response["Content-Length"] = made.size
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    return response


def _one_case(request, pk):
    get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    return Case.objects.filter(pk=pk)


def _list_dossier(request, pdf):
    case_filter = filtered_cases(request)
    # As the CSV export: a filter that cannot be read would silently widen the list.
    if not case_filter.is_valid():
        return HttpResponseBadRequest(
            case_filter.errors.as_text(), content_type="text/plain; charset=utf-8"
        )
    return _dossier(request, case_filter.qs, pdf=pdf, many=True)


def _dossier(request, cases, pdf, many=False):
    try:
        dossier = compose.gather(cases, request.user)
    except compose.TooManyCases as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    what = f"{len(dossier.cases)} cases" if many else dossier.references[0]
    kind = "PDF" if pdf else "printable page"
    compose.record_export(dossier.items, request.user, f"dossier ({kind}) of {what}")
    html = _html(request, dossier, pdf, many)
    if not pdf:
        return HttpResponse(html)
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    name = "cases" if many else dossier.references[0]
    response["Content-Disposition"] = f'attachment; filename="{name}-dossier.pdf"'
    return response


def _html(request, dossier, pdf, many=False):
    query = query_without(request, "page", "page_size")
    if many:
        pdf_url = reverse("dossiers:list_pdf") + (f"?{query}" if query else "")
    else:
        pdf_url = reverse("dossiers:case_pdf", args=[dossier.cases[0].case.pk])
    return render_to_string(
        "dossiers/dossier.html",
        {
            "dossier": dossier,
            "pdf": pdf,
            "pdf_url": pdf_url,
            "filters": filters_of(request),
            "many": many,
        },
        request=request,
    )


def filters_of(request):
    """The list's filters as they were asked for, for the dossier's heading."""
    asked = [
        f"{name} {value}"
        for name, values in request.GET.lists()
        if name not in ("page", "page_size")
        for value in values
        if value
    ]
    return ", ".join(asked)
