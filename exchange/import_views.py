"""The import pages: upload a file, watch its preview, confirm it, read its report.

An import's pages are its importer's (and administrators'): anyone else gets a 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import imports, tasks, template_file
from .models import Action, ImportJob
from .reading import FileRefused
from .uploads import accepts_import_files, too_large_message, upload_too_large

ROWS_PER_PAGE = 100
SHOWN = {
    "all": ("Every row", None),
    "errors": ("Errors", [Action.ERROR]),
    "changes": ("Creates and updates", [Action.CREATE, Action.UPDATE]),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV, XLSX or JSON Lines file",
        help_text="One case a row, the first row naming the columns (see the template); "
        "or JSON Lines, one case a line, keyed by the columns, as the JSONL export writes it.",
    )
    create_missing = forms.BooleanField(
        label="Create the missing reference values",
        required=False,
        help_text="Weapon systems and sanctions provisions the file names that do not exist "
        "yet are created (and listed in the preview) instead of being errors.",
    )


def jobs_of(user):
    """The imports a user may see: their own; administrators see all."""
    jobs = imports.with_earlier_import(ImportJob.objects.select_related("created_by"))
    return jobs if user.is_superuser else jobs.filter(created_by=user)


def job_of(request, pk):
    return get_object_or_404(jobs_of(request.user), pk=pk)


@login_required
@accepts_import_files
def import_list(request):
    imports.check_may_import(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if upload_too_large(request):
            form = UploadForm(request.POST)
            form.is_valid()
            form.errors["file"] = form.error_class([too_large_message()])
        elif form.is_valid():
            try:
                job = imports.start(
                    request.user, form.cleaned_data["file"], form.cleaned_data["create_missing"]
                )
            except FileRefused as refusal:
                form.add_error("file", str(refusal))
            else:
                tasks.preview_import.delay_on_commit(job.pk)
                return redirect(job)
    return render(
        request,
        "exchange/import_list.html",
        {"form": form, "jobs": jobs_of(request.user).filter(created_by=request.user)[:50]},
    )


@login_required
@require_GET
def import_job(request, pk):
    job = job_of(request, pk)
    shown = request.GET.get("show", "all")
    if shown not in SHOWN:
        shown = "all"
    results = job.results.all()
    if SHOWN[shown][1]:
        results = results.filter(action__in=SHOWN[shown][1])
    page = Paginator(results, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "exchange/import_job.html",
        {
            "job": job,
            "page": page,
            "shown": shown,
            "choices": [(key, label) for key, (label, _) in SHOWN.items()],
            "progress": imports.read_progress(job) if job.is_running else None,
        },
    )


@login_required
@require_GET
def import_progress(request, pk):
    job = job_of(request, pk)
    progress = imports.read_progress(job) if job.is_running else {"rows": job.rows, "percent": 100}
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "running": job.is_running,
            "rows": progress["rows"],
            "percent": progress["percent"],
        }
    )


@login_required
@require_POST
def import_confirm(request, pk):
    job = job_of(request, pk)
    try:
        confirmed = imports.confirm(job, request.user)
    except imports.StalePreview as refusal:
        messages.error(request, str(refusal))
        return redirect(job)
    if confirmed:
        tasks.apply_import.delay_on_commit(job.pk)
        messages.success(request, "Import confirmed: the cases are being imported.")
    else:
        messages.error(
            request,
            "This import cannot be confirmed: only a preview without errors is imported, once.",
        )
    return redirect(job)


@login_required
@require_GET
def import_template(request, kind):
    imports.check_may_import(request.user)
    if kind == "csv":
        response = HttpResponse(
            template_file.template_csv(), content_type="text/csv; charset=utf-8"
        )
    elif kind == "xlsx":
        response = HttpResponse(
            template_file.template_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404("There is a CSV and an XLSX template.")
    response["Content-Disposition"] = f'attachment; filename="cases-import-template.{kind}"'
    return response
