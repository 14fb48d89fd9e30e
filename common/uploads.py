"""Uploaded files larger than FILE_UPLOAD_MAX_MEMORY_SIZE, spooled to disk as they
arrive, whichever page they are posted to (settings.FILE_UPLOAD_HANDLERS).

Django names the temporary file after the sent name's extension, and an extension too
long for a file name ("a.ppp…", 300 characters) could not be created: any form's post
carrying such a file was a server error before its view ran. Here the temporary file
has a name of its own; the sent name is kept as the upload's name, as Django keeps it.
"""

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler


class SpooledUpload(TemporaryUploadedFile):
    def __init__(self, name, *args, **kwargs):
        # Made under a name with no extension, then given the sent one (which Django
        # cuts to 255 characters, as for any upload).
        super().__init__("upload", *args, **kwargs)
        self.name = name


class SpooledUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = SpooledUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
