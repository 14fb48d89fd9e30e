"""Evidence files: checked on arrival, stored under their SHA-256, never changed.

A file lives at ``EVIDENCE_ROOT/ab/cd/abcd…`` (its digest), read-only. The evidence
upload views (``accepts_evidence_files``) receive uploads through
``HashingUploadHandler``, which hashes and scans each chunk as it arrives while
spooling it into ``EVIDENCE_ROOT/incoming``, on the same file system, so storing one is
a rename: memory stays flat and the bytes are read once whatever the file's size.

Checking and storing are two steps (``check``, then ``store``), so a form can report a
refused file with its other errors and store the file only once everything is valid.
"""

import codecs
import hashlib
import html
import os
import re
import tempfile
import unicodedata
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import wraps
from pathlib import Path

import filetype
import hyperscan
from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from .models import StoredFile

CHUNK_SIZE = 1024 * 1024
SNIFF_BYTES = 8192

# Each accepted type with the file name extensions that fit it; the first is the one a
# download gets when the uploader's name does not fit the bytes.
ACCEPTED_TYPES = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "image/heic": (".heic",),
    "image/avif": (".avif",),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov",),
    "video/webm": (".webm",),
    "video/x-matroska": (".mkv",),
    "video/x-msvideo": (".avi",),
    "video/mpeg": (".mpg", ".mpeg"),
    "video/3gpp": (".3gp",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "text/plain": (".txt", ".text", ".log"),
    "text/csv": (".csv",),
}
ACCEPTED_DESCRIPTION = "PDF, images, video, office documents, plain text and CSV"

# The opening of an HTML or SVG element, in ASCII (so UTF-8) or in UTF-16 of either
# byte order (each letter followed by, or, from the "<" on, preceded by a zero byte),
# in any case, ended as a browser ends a tag name. A browser that ever took the file
# for a web page would run what follows, so a document holding one anywhere (a PDF
# carrying a page, an SVG behind a long comment) is refused.
MARKUP_TAGS = ("!doctype", "html", "head", "body", "script", "iframe", "svg", "object", "embed")
_TAG_END = r"[\t\n\f\r />]"
# (pattern, tag, length of a match): a pattern's id is its place here.
MARKUP_PATTERNS = [(f"<{tag}{_TAG_END}", tag, len(tag) + 2) for tag in MARKUP_TAGS] + [
    ("<\\x00" + "\\x00".join(tag) + "\\x00" + _TAG_END, tag, 2 * len(tag) + 3)
    for tag in MARKUP_TAGS
]
# Every byte of every upload passes through this search. Hyperscan looks for all the
# patterns at once with vector instructions, about three times as fast as Python's re,
# and lets go of the GIL while it does, so it runs beside the parsing and the hashing.
MARKUP = hyperscan.Database()
MARKUP.compile(
    expressions=[pattern.encode() for pattern, _, _ in MARKUP_PATTERNS],
    ids=list(range(len(MARKUP_PATTERNS))),
    flags=hyperscan.HS_FLAG_CASELESS,
)
# Compressed bytes (video, images, zipped office files) hold a four-letter tag such as
# "<svg " by chance about once in 4 GiB, so there only the longer tags, which chance
# does not produce (about once in a petabyte), refuse a file anywhere; the short ones
# refuse it within the bytes a browser sniffs. Such files are only ever handed out as
# attachments of their detected type with nosniff, so no browser renders them as a page.
SHORT_TAG = 4
DOCUMENT_TYPES = {"text/plain", "text/csv", "application/pdf"}
# A match starting in one chunk and ending in the next is at most this long.
MARKUP_SPAN = 2 * max(map(len, MARKUP_TAGS)) + 3
# What a browser sniffing a text file would take for markup: a tag, comment or XML
# declaration at its start, after any byte order mark and white space.
LEADING_MARKUP = re.compile(rb"(?:\xef\xbb\xbf)?\s*<[a-z!?/]", re.IGNORECASE)

# Characters that can disguise a name (invoice<U+202E>fdp.exe shows as invoiceexe.pdf):
# controls, format characters such as direction marks, line and paragraph separators,
# surrogates, private-use and unassigned code points.
HIDDEN_CHARACTER_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


class UploadRejected(Exception):
    """The upload is refused; the message tells the user why."""


@dataclass(frozen=True)
class CheckedUpload:
    """An upload whose name, size and bytes passed every check; not stored yet."""

    filename: str
    sha256: str
    size: int
    content_type: str


def root():
    return Path(settings.EVIDENCE_ROOT)


def incoming_dir():
    path = root() / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(stored_file):
    return root() / stored_file.relative_path


def chunks_of(stored_file, chunk_size=CHUNK_SIZE):
    """The stored file's bytes, a chunk at a time: whatever takes a file out of the
    store (an evidence package) holds one chunk in memory, not the file."""
    with open(path_of(stored_file), "rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk


def sha256_of_path(path):
    """The file's SHA-256, read into one buffer (no new bytes object a read; hashlib
    releases the GIL for a buffer this large, so workers hash in parallel)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def checked_filename(name):
    """The uploader's file name, kept as metadata only; a hostile name is refused,
    never quietly cleaned into a different one."""
    name = name or ""
    if any(unicodedata.category(char) in HIDDEN_CHARACTER_CATEGORIES for char in name):
        raise UploadRejected(
            f"The file name {name!r} contains control or invisible characters (such as "
            "right-to-left marks) that can disguise a file's type. Rename it and try again."
        )
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise UploadRejected("The file has no name.")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise UploadRejected(f"The file name {name!r} contains a path. Upload the file itself.")
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        # The extension is kept whole when it fits; one that alone is too long
        # ("a.ppp…") is cut with the rest, or the name would still not fit.
        name = stem[: 255 - len(ext)] + ext if len(ext) < 255 else name[:255]
    return name


def download_name(stored_file, original_filename):
    """The name a download is offered under: the uploader's, unless its extension
    does not fit the bytes (a text file named x.exe, x.html or x.svg): then the
    stored type's own extension replaces it, so no program takes the file for
    something it is not."""
    name = original_filename or stored_file.sha256
    fitting = ACCEPTED_TYPES.get(stored_file.content_type, (".bin",))
    stem, extension = os.path.splitext(name)
    return name if extension.lower() in fitting else stem + fitting[0]


def ingest(fileobj, original_filename=None):
    """Check and store a file. Returns (StoredFile, the file name as kept).

    Raises UploadRejected, leaving no file and no row, when the name, size or bytes
    are refused. Storing bytes that are already stored adds nothing.
    """
    checked = check(fileobj, original_filename)
    return store(fileobj, checked), checked.filename


def check(fileobj, original_filename=None):
    """Check a file's name, size and bytes without storing anything.

    The name defaults to the one the browser sent. Raises UploadRejected.
    """
    if original_filename is None:
        original_filename = getattr(fileobj, "name_as_sent", fileobj.name)
    filename = checked_filename(original_filename)
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if getattr(fileobj, "size", None) is not None and fileobj.size > limit:
        raise UploadRejected(_too_large(filename, fileobj.size, limit))
    if isinstance(fileobj, IncomingUpload):
        if fileobj.write_error:
            raise not_stored(filename, fileobj.write_error)
        sha256, size, markup = fileobj.sha256, fileobj.size, fileobj.markup
        fileobj.seek(0)
        head = fileobj.read(SNIFF_BYTES)
    else:
        sha256, size, markup, head = _read_through(fileobj, filename, limit)
    refuse_markup(filename, markup)
    content_type = detect_content_type(head, filename)
    refuse_markup(filename, markup, content_type)
    return CheckedUpload(filename, sha256, size, content_type)


def refuses_any_file(tag, offset):
    return len(tag) - 1 > SHORT_TAG or offset < SNIFF_BYTES


def refuse_markup(filename, found, content_type=None):
    """Refuse the file if the markup ``found`` in it ({tag: offset of its first
    occurrence}) makes it unsafe whatever its type, or for ``content_type``."""
    if any(
        refuses_any_file(tag, offset) or content_type in DOCUMENT_TYPES
        for tag, offset in found.items()
    ):
        first = min(found, key=found.get)
        raise UploadRejected(
            f'{filename} contains HTML or SVG markup (a "{first}" tag); such files are '
            "not accepted as evidence (save web pages and drawings as PDF instead)."
        )


def _read_through(fileobj, filename, limit):
    """One pass over a file that did not arrive through HashingUploadHandler."""
    hasher, scanner, size, head = hashlib.sha256(), MarkupScanner(), 0, b""
    fileobj.seek(0)
    while chunk := fileobj.read(CHUNK_SIZE):
        size += len(chunk)
        if size > limit:
            raise UploadRejected(_too_large(filename, size, limit))
        if len(head) < SNIFF_BYTES:
            head = (head + chunk)[:SNIFF_BYTES]
        hasher.update(chunk)
        scanner.feed(chunk)
    return hasher.hexdigest(), size, scanner.found, head


def detect_content_type(head, filename):
    """The content type read from the file's first bytes, if it is one we accept."""
    if not head:
        raise UploadRejected(f"{filename} is empty.")
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in ACCEPTED_TYPES:
            return kind.mime
        raise UploadRejected(
            f"{filename} is a {kind.mime} file; accepted are {ACCEPTED_DESCRIPTION}."
        )
    if _is_text(head):
        if LEADING_MARKUP.match(head):
            raise UploadRejected(
                f"{filename} starts like a web page or XML document; such files are not "
                "accepted as evidence (save web pages as PDF instead)."
            )
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


def store(fileobj, checked):
    """Store a checked file under its digest and return its StoredFile row.

    The bytes are in place before the row exists, so a row never points at nothing;
    identical bytes already stored are left untouched.
    """
    final = root() / StoredFile(sha256=checked.sha256).relative_path
    if not final.exists():
        staged = _staged_path(fileobj, checked)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged, 0o444)
            os.replace(staged, final)
        finally:
            if not isinstance(fileobj, IncomingUpload):
                staged.unlink(missing_ok=True)
    stored, _ = StoredFile.objects.get_or_create(
        sha256=checked.sha256, defaults={"size": checked.size, "content_type": checked.content_type}
    )
    return stored


def _staged_path(fileobj, checked):
    """The file on disk under incoming/: where HashingUploadHandler spooled it, or a
    copy (hashed again, in case the file changed since it was checked)."""
    if isinstance(fileobj, IncomingUpload):
        return Path(fileobj.temporary_file_path())
    hasher = hashlib.sha256()
    fileobj.seek(0)
    with tempfile.NamedTemporaryFile(dir=incoming_dir(), delete=False) as out:
        try:
            while chunk := fileobj.read(CHUNK_SIZE):
                hasher.update(chunk)
                out.write(chunk)
            if hasher.hexdigest() != checked.sha256:
                raise UploadRejected(f"{checked.filename} changed while it was being stored.")
        except OSError as error:
            os.unlink(out.name)
            raise not_stored(checked.filename, error) from error
        except BaseException:
            os.unlink(out.name)
            raise
    return Path(out.name)


def not_stored(filename, error):
    return UploadRejected(
        f"{filename} could not be stored: {error.strerror or error} on the server. Nothing "
        "was kept; tell an administrator, and try again later."
    )


def _too_large(filename, size, limit):
    return (
        f"{filename} is {filesizeformat(size)}; the limit for one evidence file is "
        f"{filesizeformat(limit)}."
    )


class MarkupScanner:
    """Finds MARKUP in a stream of chunks, including across their borders: ``found``
    maps each tag to the offset of its first occurrence. It stops looking once a tag
    refuses the file whatever its type."""

    def __init__(self):
        self.found = {}
        self._tail = b""
        self._offset = 0
        # Hyperscan's working memory: one per scan at a time, so one per scanner.
        self._scratch = hyperscan.Scratch(MARKUP)

    def feed(self, chunk):
        if not self._conclusive():
            self._scan(self._tail + chunk[:MARKUP_SPAN], self._offset - len(self._tail))
            self._scan(chunk, self._offset)
        self._offset += len(chunk)
        self._tail = (
            chunk[-MARKUP_SPAN:]
            if len(chunk) >= MARKUP_SPAN
            else (self._tail + chunk)[-MARKUP_SPAN:]
        )

    def _scan(self, text, start):
        def found(pattern, _start, end, _flags, _context):
            _, tag, length = MARKUP_PATTERNS[pattern]
            self.found.setdefault("<" + tag, start + end - length)

        MARKUP.scan(text, match_event_handler=found, scratch=self._scratch)

    def _conclusive(self):
        return any(refuses_any_file(tag, offset) for tag, offset in self.found.items())


class IncomingUpload(TemporaryUploadedFile):
    """An upload spooled to EVIDENCE_ROOT/incoming, next to the store, so keeping it
    is a rename rather than a copy. Removed when the request ends unless stored."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=incoming_dir())
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)
        # The name exactly as the browser sent it: UploadedFile keeps only its last
        # path component, and a hostile name must be refused, not shortened.
        self.name_as_sent = name
        self.write_error = None


class HashingUploadHandler(FileUploadHandler):
    """Spools each upload to disk, hashing it and looking for markup chunk by chunk
    as it arrives.

    This thread only parses the request (Django's parser holds the GIL).
    ``BackgroundSpooler`` hashes on one thread, and searches for markup and writes on
    another; hashing, the search and writing all let go of the GIL, so on two cores
    they run beside the parsing. Past the size limit it stops writing (the upload is
    refused later with a clear message), so an oversized request cannot fill the disk.
    """

    # Measured on a 1 GiB upload: Django's 64 KiB chunks make 16,000 trips through
    # the parser; 1 MiB chunks make its copies of each chunk miss the CPU cache.
    chunk_size = 256 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file = IncomingUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
        self.scanner = MarkupScanner()
        self.spooler = BackgroundSpooler(self.file, self.scanner)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received <= settings.EVIDENCE_MAX_UPLOAD_BYTES and not self.spooler.write_error:
            self.spooler.update(raw_data)

    def file_complete(self, file_size):
        self.file.sha256 = self.spooler.hexdigest()
        self.file.seek(0)
        self.file.size = self.received
        self.file.markup = self.scanner.found
        self.file.write_error = self.spooler.write_error
        return self.file

    def upload_interrupted(self):
        """The body ended inside the file (the connection was cut): what arrived is
        removed, and the request is refused rather than saved without its file."""
        if hasattr(self, "file"):
            self.spooler.close()
            self.file.close()
        raise BadRequest(
            "The upload was cut off before the whole file arrived; nothing was saved. "
            "Send it again."
        )


class NameKeepingMultiPartParser(MultiPartParser):
    """Django's parser, except that a file's name reaches the upload handlers as the
    browser sent it (character references decoded), where Django's would drop
    invisible characters and path parts: ``invoice<U+202E>fdp.exe`` must be refused,
    not stored as ``invoicefdp.exe``."""

    def sanitize_file_name(self, file_name):
        return html.unescape(file_name) or None


def accept_evidence_files(request):
    """Receive this request's files with HashingUploadHandler, names as sent.

    Only the evidence upload views call it, before anything reads the request's body;
    everywhere else Django's default handlers apply and nothing is written under
    EVIDENCE_ROOT.
    """
    request.upload_handlers = [HashingUploadHandler(request)]
    request.multipart_parser_class = NameKeepingMultiPartParser


def accepts_evidence_files(view):
    """Decorate a view that takes evidence files (see accept_evidence_files).

    The CSRF check reads the body, so it runs inside, once the handlers are set (as
    Django's documentation on changing upload handlers per view prescribes).
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def receive(request, *args, **kwargs):
        accept_evidence_files(request)
        return protected(request, *args, **kwargs)

    return receive


class BackgroundSpooler:
    """Each chunk hashed on one thread, and scanned for markup (``scanner``) and
    written to ``file`` on another, in the order given. At most PENDING_CHUNKS wait
    for each, so memory stays flat however fast they come. The file and the scanner
    are the threads' until ``hexdigest`` (or ``close``) returns."""

    PENDING_CHUNKS = 4

    def __init__(self, file, scanner):
        self._file = file
        self._scanner = scanner
        self._digest = hashlib.sha256()
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._pending = deque()
        self.write_error = None

    def update(self, chunk):
        if len(self._pending) >= self.PENDING_CHUNKS:
            for done in self._pending.popleft():
                done.result()
        self._pending.append(
            (
                self._hasher.submit(self._digest.update, chunk),
                self._writer.submit(self._write, chunk),
            )
        )

    def _write(self, chunk):
        self._scanner.feed(chunk)
        if self.write_error:
            return
        try:
            self._file.write(chunk)
        except OSError as error:
            # A full disk: the rest of the body is read and dropped, the part written
            # is given back at once, and the upload is refused with why.
            self.write_error = error
            self._file.truncate(0)

    def hexdigest(self):
        while self._pending:
            for done in self._pending.popleft():
                done.result()
        self.close()
        return self._digest.hexdigest()

    def close(self):
        for thread in (self._hasher, self._writer):
            thread.shutdown(wait=True, cancel_futures=True)
