"""Uploaded files larger than FILE_UPLOAD_MAX_MEMORY_SIZE, spooled to disk as they
arrive, whichever page they are posted to (settings.FILE_UPLOAD_HANDLERS).

Django names the temporary file after the sent name's extension, and an extension too
long for a file name ("a.ppp…", 300 characters) could not be created: any form's post
carrying such a file was a server error before its view ran. Here the temporary file
has a name of its own; the sent name is kept as the upload's name, as Django keeps it.
"""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler


class SpooledUpload(TemporaryUploadedFile):
    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=settings.FILE_UPLOAD_TEMP_DIR)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class SpooledUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = SpooledUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
