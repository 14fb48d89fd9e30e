"""Where mail goes without an SMTP server (the demo, a development checkout)."""

import uuid
from datetime import datetime
from pathlib import Path

from django.core.mail.backends import filebased


class EmlFileBackend(filebased.EmailBackend):
    """Django's file backend, with files named ``<time>-<random>.eml`` holding just the
    message, so that a mail client opens one as the email it is.

    Django's own names its files ``<time>-<id of the backend>.log`` and follows each
    message with a line of 79 dashes (it may append several to one file): a mail
    client reads neither the name nor the separator. The id of a backend object is
    reused once the object is freed, so two messages sent within a second could even
    land in one file; a random part rules that out. Only the name and the separator
    change here: opening, locking and closing stay Django's. A file holds what one
    connection sends, which is one message, since ``EmailMessage.send`` (all this
    project uses) opens a connection for each.
    """

    def _get_filename(self):
        if self._fname is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self._fname = str(Path(self.file_path) / f"{stamp}-{uuid.uuid4().hex[:12]}.eml")
        return self._fname

    def write_message(self, message):
        self.stream.write(message.message().as_bytes())

    def close(self):
        super().close()
        self._fname = None  # the next connection writes a file of its own
