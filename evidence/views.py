from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from . import custody
from .files import download_name, path_of
from .models import CustodyAction, EvidenceItem


@login_required
def download(request, pk):
    return file_response(request.user, pk, sent=request.method != "HEAD")


def downloadable_items(user):
    """The evidence items whose files ``user`` may take away: those with a file on the
    cases they see, if they may view evidence at all. The download and the case's
    evidence package ask this one question."""
    if not user.has_perm("evidence.view_evidenceitem"):
        return EvidenceItem.objects.none()
    return EvidenceItem.objects.visible_to(user).filter(file__isnull=False)


def file_response(user, pk, sent=True):
    """Hand out an evidence file as an attachment, on record: the one way a file
    leaves the store, for the pages and the API alike. ``sent``: False for a HEAD
    request, answered with the headers alone, which takes nothing away and so is
    not written to the chain of custody."""
    item = downloadable_items(user).select_related("file").filter(pk=pk).first()
    if item is None:
        raise Http404("No such evidence file.")
    try:
        stream = open(path_of(item.file), "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        raise Http404("The stored file is missing; the integrity check reports it.") from None
    if sent:
        custody.record(item, CustodyAction.DOWNLOADED, user)
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=download_name(item.file, item.original_filename),
        content_type=item.file.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
