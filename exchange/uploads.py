"""Receiving an import's file: at most IMPORT_MAX_UPLOAD_MB, counted while it arrives.

A larger file is skipped as soon as it passes the limit (what was spooled of it is
removed), so the form can say how large a file may be instead of the server reading on.
"""

from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import SkipFile
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from common.uploads import SpooledUploadHandler


class LimitedUploadHandler(SpooledUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.too_large = False
        self.received = 0

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_UPLOAD_BYTES:
            self.too_large = True
            self.file.close()  # a temporary file: closing removes it
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)


def limit_import_uploads(request):
    """Set before anything reads the body (the CSRF check, DRF's parsers)."""
    request.upload_handlers = [LimitedUploadHandler(request)]


def upload_too_large(request):
    return any(getattr(handler, "too_large", False) for handler in request.upload_handlers)


def too_large_message():
    return (
        f"The file is larger than {settings.IMPORT_MAX_UPLOAD_BYTES / 2**20:,.0f} MB, "
        "the most an import takes. Split it into parts and import each."
    )


def accepts_import_files(view):
    """Decorate a view that takes an import's file. The CSRF check reads the body, so it
    runs inside, once the handler is set."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def receive(request, *args, **kwargs):
        limit_import_uploads(request)
        return protected(request, *args, **kwargs)

    return receive
