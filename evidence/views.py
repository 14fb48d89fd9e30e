from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from . import custody
from .files import download_name, path_of
from .models import CustodyAction, EvidenceItem


@login_required
def download(request, pk):
    return file_response(request.user, pk)


def file_response(user, pk):
    """Hand out an evidence file as an attachment, on record: the one way a file
    leaves the store, for the pages and the API alike."""
    visible = EvidenceItem.objects.visible_to(user).select_related("file")
    item = visible.filter(pk=pk, file__isnull=False).first()
    if item is None or not user.has_perm("evidence.view_evidenceitem"):
        raise Http404("No such evidence file.")
    try:
        stream = open(path_of(item.file), "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        raise Http404("The stored file is missing; the integrity check reports it.") from None
    custody.record(item, CustodyAction.DOWNLOADED, user)
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=download_name(item.file, item.original_filename),
        content_type=item.file.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
