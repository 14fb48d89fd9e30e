"""Importing cases from a CSV, XLSX or JSON Lines file: a preview, then, once confirmed, the import.

Both run the same code over every row (``run``) in one database transaction: each row
is checked by the case form of the monitors' pages (``ImportCaseForm``, ``CaseForm``
with the external id), and becomes a new draft of the importer's, an update of a case
the importer may edit, "unchanged", or an error naming its row and column. The preview
then rolls the transaction back, and so saves nothing; the import commits only when no
row failed, so a failed import changes nothing. Rows are read a few at a time from the
file (``exchange.reading``) and what became of each is spooled to a temporary file
until the transaction ends, so memory does not grow with the file.

A row finds its case by the ``reference`` column, or else by ``external id``, among the
cases the importer may see. The columns are ``exchange.columns.COLUMNS``; the ones
worked out from a case (its state, corroboration, creator ...) are read by no import:
an import never moves a case through the review.
"""

import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import batched, islice

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Now
from django.forms.models import model_to_dict
from django.utils import timezone

from common.spreadsheet import as_typed
from tracker import duplicates
from tracker.forms import LINE_BREAKS, CaseForm
from tracker.models import Case, SanctionsProvision, WeaponSystem

from . import reading
from .columns import COLUMNS, Ambiguous, Vocabulary, fold, form_data
from .models import Action, ImportJob, ImportRow, Status
from .reading import CellError, FileRefused, Formula, column_letter

BY_HEADER = {fold(column.header): column for column in COLUMNS}
DATE_FIELDS = {"incident_start", "incident_end"}
# Reference values the importer may have created (``create_missing``), by form field.
REFERENCE_FIELDS = {"weapon_systems": "weapon system", "sanctions_provisions": "provision"}
PROGRESS_EVERY_SECONDS = 0.5
LOCK_BATCH = 1000  # cases named in one statement when locking them
# The columns that name a case the file's row is about, in the order find_case tries
# them, with the Case field each holds.
NAMING = {"reference": "reference", "external id": "external_id"}
# What tracker.duplicates compares, as CaseForm's cleaned data names it.
DESCRIBED = (
    "title",
    "summary",
    "incident_start",
    "incident_end",
    "place_name",
    "country",
    "weapon_systems",
)
# The file's new cases compared with each other: the first this many. Every pair of
# rows within days of each other that share a place, country or weapon is scored, so a
# file of reports of one day and place costs the square of its rows.
MAX_COMPARED_ROWS = 200
RESULTS_BATCH = 1000
CHANGE_REASON_LENGTH = 100  # simple-history's history_change_reason
# The most characters a spreadsheet cell holds (Excel's limit); openpyxl cuts an XLSX
# export's longer text there, and a spreadsheet cuts a CSV's on opening it.
CELL_LIMIT = 32_767


class ImportCaseForm(CaseForm):
    """The case form of the monitors' pages, with the external id an imported row may
    carry: one set of rules for a case, however it arrives."""

    class Meta(CaseForm.Meta):
        fields = [*CaseForm.Meta.fields, "external_id"]


def required_headers():
    """The columns a file must have: those of the fields a new case cannot do without
    and that have no default."""
    blank = ImportCaseForm()
    return [
        column.header
        for column in COLUMNS
        if column.field
        and blank.fields[column.field].required
        and blank[column.field].value() in (None, "")
    ]


def may_import(user):
    """Whoever may log a case may import cases: monitors and administrators."""
    return user.is_active and user.has_perm("tracker.add_case")


def check_may_import(user):
    if not may_import(user):
        raise PermissionDenied("Only monitors can import cases.")


# Storing the upload until it is imported.


def stored_path(job):
    return settings.IMPORT_ROOT / job.stored_name


def progress_path(job):
    return settings.IMPORT_ROOT / f"{job.stored_name}.progress"


def store_upload(upload):
    """Write the uploaded file under IMPORT_ROOT under a name of our choosing (its name
    as uploaded is kept only as the job's metadata); the name and the file's SHA-256."""
    folder = settings.IMPORT_ROOT
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    digest = hashlib.sha256()
    with open(folder / name, "xb") as file:
        for chunk in upload.chunks():
            digest.update(chunk)
            file.write(chunk)
    return name, digest.hexdigest()


def start(user, upload, create_missing=False):
    """A new import of ``upload`` by ``user``, waiting for its preview (the caller
    enqueues ``exchange.tasks.preview_import``). FileRefused for an empty file or one
    over the upload limit."""
    check_may_import(user)
    if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise FileRefused(
            f"The file is {upload.size / 2**20:,.1f} MB; an import may be at most "
            f"{settings.IMPORT_MAX_UPLOAD_BYTES / 2**20:,.0f} MB. Split it into parts."
        )
    if not upload.size:
        raise FileRefused("The file is empty.")
    stored_name, sha256 = store_upload(upload)
    return ImportJob.objects.create(
        created_by=user,
        original_filename=(upload.name or "upload")[:255],
        stored_name=stored_name,
        sha256=sha256,
        size=upload.size,
        create_missing=create_missing,
    )


class StalePreview(Exception):
    """The same file was imported after this one was uploaded: its rows without a
    reference or an external id would be created twice, unannounced."""


def imports_of_the_file(importer, sha256, other_than):
    """The importer's imports of the file with this SHA-256 (the same bytes), but for
    ``other_than``, that were confirmed and did not fail, newest first. Arguments may
    be ``OuterRef``s."""
    return (
        ImportJob.objects.filter(created_by=importer, sha256=sha256, confirmed_at__isnull=False)
        .exclude(sha256="")
        .exclude(pk=other_than)
        .exclude(status=Status.FAILED)
        .order_by("-confirmed_at", "-pk")
    )


def with_earlier_import(jobs):
    """``jobs`` annotated with ``imported_before``: the id of the importer's newest
    import of the same file confirmed before the job was (before now, for a job not
    confirmed), or None. Each import's page and the API show it."""
    earlier = imports_of_the_file(
        OuterRef("created_by"), OuterRef("sha256"), OuterRef("pk")
    ).filter(confirmed_at__lt=Coalesce(OuterRef("confirmed_at"), Now()))
    return jobs.annotate(imported_before=Subquery(earlier.values("pk")[:1]))


def confirm(job, user):
    """Mark a previewed job to be applied (the caller enqueues
    ``exchange.tasks.apply_import``); False when a confirmation does not apply to it
    (or no longer): it had errors, or it was confirmed already. Two confirmations at
    once: one wins. StalePreview when the importer imported the same file after
    uploading this one: the preview compared its new rows with cases that did not
    exist yet, so it is to be made again (the file uploaded again), not confirmed."""
    if job.created_by_id != user.pk:
        raise PermissionDenied("Only its importer can confirm an import.")
    check_may_import(user)
    with transaction.atomic():
        if job.sha256:
            # One importer's confirmations of one file are taken one at a time: two
            # previews of it confirmed at once (two tabs) import it once.
            same_file = ImportJob.objects.filter(created_by=user, sha256=job.sha256)
            list(same_file.select_for_update().order_by("pk").values_list("pk"))
            job.refresh_from_db(fields=["status"])
            if job.status == Status.PREVIEWED:
                # Imported (or importing) since this file was uploaded: its preview may
                # not have seen the cases that import created.
                since = imports_of_the_file(user, job.sha256, job.pk).filter(
                    ~Q(status=Status.APPLIED) | Q(finished_at__gt=job.created_at)
                )
                if since := since.first():
                    raise StalePreview(
                        f"You imported this same file as import {since.pk} (confirmed on "
                        f"{timezone.localtime(since.confirmed_at):%Y-%m-%d at %H:%M}) after "
                        "uploading it here: this preview did not compare its rows with the "
                        "cases that import creates. Upload the file again: its preview will "
                        "show what it would still change."
                    )
        confirmable = ImportJob.objects.filter(pk=job.pk, status=Status.PREVIEWED, errors=0).filter(
            Q(created__gt=0) | Q(updated__gt=0)
        )
        return bool(confirmable.update(status=Status.APPLY_QUEUED, confirmed_at=timezone.now()))


# The preview and the import: the tasks call these.


def preview(job_id):
    run(job_id, apply=False)


def apply(job_id):
    run(job_id, apply=True)


def run(job_id, *, apply):
    """Check (and, when ``apply``, import) every row of the job's file. A job not in the
    state this step starts from is left alone, so a task delivered twice does nothing
    the second time; one whose worker died half-way (still "previewing" or "applying",
    its transaction rolled back) runs again."""
    queued, running = (
        (Status.APPLY_QUEUED, Status.APPLYING)
        if apply
        else (Status.PREVIEW_QUEUED, Status.PREVIEWING)
    )
    if not ImportJob.objects.filter(pk=job_id, status__in=(queued, running)).update(status=running):
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        run_pass(job, apply, running)
    except Exception:
        # A fault of ours or of the database (the rows' transaction is rolled back):
        # the page says so rather than "being checked" for ever; the log has the rest.
        if not ImportJob.objects.filter(pk=job.pk, status=running).exists():
            raise
        job.message = (
            "The import stopped on an unexpected error, and nothing was changed. Try "
            "again later; if it happens again, tell an administrator."
        )
        finish(job, Status.FAILED if apply else Status.REFUSED, dict.fromkeys(Action, 0), [])
        discard_upload(job)
        raise
    finally:
        # A pass's progress means nothing once it is over (and the next pass starts
        # from nothing).
        progress_path(job).unlink(missing_ok=True)


def run_pass(job, apply, running):
    with Results() as results:
        try:
            new_values = check_rows(job, apply, running, results)
        except FileRefused as refusal:
            job.message = str(refusal)
            finish(job, Status.FAILED if apply else Status.REFUSED, dict.fromkeys(Action, 0), [])
            discard_upload(job)
            return
        if new_values is None:
            return
        if job.status == Status.APPLIED:
            discard_upload(job)
            return
        # A preview, or an import that failed: its transaction was rolled back, and
        # what became of each row is written now.
        with transaction.atomic():
            if apply:
                job.message = (
                    f"{results.counts[Action.ERROR]} row(s) failed when the import ran, so "
                    "nothing was imported: the cases changed since the preview. Correct the "
                    "file and upload it again."
                )
                finish(job, Status.FAILED, results.counts, [])
            else:
                finish(job, Status.PREVIEWED, results.counts, new_values)
            results.save(job)
    # Kept only while there is something to confirm.
    if apply or not job.may_confirm:
        discard_upload(job)


def check_rows(job, apply, running, results):
    """Every row in one transaction, rolled back unless the rows are applied without
    an error; then the job is marked applied in that same transaction, so a worker that
    dies before the commit leaves neither the cases nor "applied". The reference values
    the rows create (or would), None when another run got there first."""
    with transaction.atomic():
        # Two deliveries of one task at once: the second waits here, then finds the
        # job no longer running.
        if ImportJob.objects.select_for_update().get(pk=job.pk).status != running:
            return None
        rows = Rows(job, apply, results)
        rows.run()
        if apply and not results.counts[Action.ERROR]:
            finish(job, Status.APPLIED, results.counts, rows.new_values)
            results.save(job)
        else:
            transaction.set_rollback(True)
        return rows.new_values


def finish(job, status, counts, new_values):
    job.status = status
    job.finished_at = timezone.now()
    job.new_reference_values = new_values
    job.rows = sum(counts.values())
    job.created = counts[Action.CREATE]
    job.updated = counts[Action.UPDATE]
    job.unchanged = counts[Action.UNCHANGED]
    job.errors = counts[Action.ERROR]
    job.save()


def discard_upload(job):
    for path in (stored_path(job), progress_path(job)):
        path.unlink(missing_ok=True)


def read_progress(job):
    """{"rows": rows read so far, "fraction": of the file, "percent"} while it runs."""
    try:
        progress = json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        progress = {"rows": 0, "fraction": 0.0}
    progress["percent"] = round(100 * progress["fraction"])
    return progress


class Results:
    """What became of each row, spooled to a temporary file until the transaction is
    over (a preview's rows are written after its rollback), with the counts."""

    def __init__(self):
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.counts = dict.fromkeys(Action, 0)
        # Messages found once every row was read (rows of the file alike), by row.
        self.extra = {}

    def add(self, number, action, reference="", messages=()):
        self.counts[action] += 1
        self.file.write(json.dumps([number, action, reference, list(messages)]) + "\n")

    def save(self, job):
        ImportRow.objects.filter(job=job).delete()
        self.file.seek(0)
        lines = iter(self.file)
        while batch := list(islice(lines, RESULTS_BATCH)):
            ImportRow.objects.bulk_create(
                ImportRow(
                    job=job, number=n, action=a, reference=r, messages=m + self.extra.get(n, [])
                )
                for n, a, r, m in map(json.loads, batch)
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.file.close()


def message(column, text, kind="error"):
    """A row's message; "kind" tells an error from a note (a change, a value created, a
    possible duplicate)."""
    return {"column": column, "message": text, "kind": kind}


@dataclass
class Outcome:
    action: str
    case: Case | None = None
    form: ImportCaseForm | None = None
    messages: list = field(default_factory=list)


class Rows:
    """One pass over a job's file."""

    def __init__(self, job, apply, results):
        self.job = job
        self.user = job.created_by
        self.apply = apply
        self.results = results
        self.vocabulary = Vocabulary.load()
        self.visible = Case.objects.visible_to(self.user)
        self.seen = {}  # (column, reference or external id) -> the row that named it
        self.seen_cases = {}  # a case's primary key -> the row that found it
        self.new_values = []
        self.reason = f"Imported from {job.original_filename}"[:CHANGE_REASON_LENGTH]
        self.defaults = None  # a new case's form values, worked out once
        self.new_rows = []  # (row number, what tracker.duplicates compares) of new cases

    def run(self):
        # Asked again when the rows are checked or saved, as an edit asks again under
        # its lock: the importer may have been deactivated, or lost the monitor's role,
        # since uploading or confirming the file.
        if not may_import(self.user):
            raise FileRefused(
                f"{self.user.get_username()} may no longer import cases, so nothing was imported."
            )
        if self.apply:
            self.lock_named_cases()
        with reading.open_table(stored_path(self.job)) as table:
            self.columns = self.check_header(table.header)
            self.quoted = table.kind != reading.JSONL
            self.cut_cells = table.kind == reading.XLSX
            last_report = 0.0
            for count, (number, cells) in enumerate(table.rows(), start=1):
                outcome = self.check(number, cells)
                if outcome.action == Action.CREATE and not self.apply:
                    outcome.messages += self.look_alikes(number, outcome.form.cleaned_data)
                if outcome.action in (Action.CREATE, Action.UPDATE) and self.apply:
                    self.save(outcome)
                reference = outcome.case.reference if outcome.case else ""
                self.results.add(number, outcome.action, reference, outcome.messages)
                if time.monotonic() - last_report > PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    self.report(count, table.fraction_read())
        if not self.apply:
            self.mark_similar_rows()

    def lock_named_cases(self):
        """Lock, in order of id, every case the file's rows name (as ``find_case``
        finds them), before the first row is saved. Everything else that locks several
        cases (a source's regrading, another import) locks them in that order too, so
        locking them row by row, in the file's order, could leave this import and
        another each waiting for a case the other holds: a deadlock, which PostgreSQL
        ends by failing one of them. The file is read twice; its keys are kept in
        memory, a few bytes a row."""
        if not connection.features.has_select_for_update:
            return
        keys = {header: set() for header in NAMING}
        with reading.open_table(stored_path(self.job)) as table:
            quoted = table.kind != reading.JSONL
            naming = [
                (index, column)
                for index, column in enumerate(self.check_header(table.header))
                if column.header in NAMING
            ]
            for _, cells in table.rows():
                texts = {}
                for index, column in naming:
                    try:
                        texts[column.header] = cell_text(cells[index], column.field, quoted)
                    except (IndexError, ValueError):
                        pass  # a row without the cell names no case; a bad one saves nothing
                # As find_case: by the reference, or else by the external id.
                for header in NAMING:
                    if key := texts.get(header, "").strip():
                        keys[header].add(key)
                        break
        pks = set()
        for header, values in keys.items():
            lookup = f"{NAMING[header]}__in"
            for chunk in batched(values, LOCK_BATCH):
                pks.update(self.visible.filter(**{lookup: chunk}).values_list("pk", flat=True))
        for chunk in batched(sorted(pks), LOCK_BATCH):
            locking = Case.objects.filter(pk__in=chunk).select_for_update(no_key=True)
            list(locking.order_by("pk").values_list("pk"))

    # Possible duplicates: a note in the preview, never an error (the monitor decides,
    # as on the case form, before confirming). The import itself does not look again:
    # its report is what it did, and scoring each row against the others is its
    # slowest part.

    def look_alikes(self, number, values):
        """Messages for the cases the importer sees that this new case may repeat
        (``tracker.duplicates``). The row is kept for comparing the file's new cases
        with each other."""
        described = {name: values.get(name) for name in DESCRIBED}
        described["weapon_systems"] = [w.pk for w in described["weapon_systems"] or ()]
        if len(self.new_rows) < MAX_COMPARED_ROWS:
            self.new_rows.append((number, described))
        candidates = duplicates.possible_duplicates(user=self.user, **described)
        return [
            message(
                "",
                f"May be the same incident as {c.case.reference} (“{c.case.title}”), "
                f"{c.score:.0%} alike.",
                kind="duplicate",
            )
            for c in candidates
        ]

    def mark_similar_rows(self):
        """Add to each new case's row the other rows of the file that look alike."""
        numbers = [number for number, _ in self.new_rows]
        pairs = duplicates.similar_rows([described for _, described in self.new_rows])
        for i, j, score in pairs:
            for this, other in ((i, j), (j, i)):
                self.results.extra.setdefault(numbers[this], []).append(
                    message(
                        "",
                        f"May be the same incident as row {numbers[other]} of this file, "
                        f"{score:.0%} alike.",
                        kind="duplicate",
                    )
                )

    def report(self, rows, fraction):
        path = progress_path(self.job)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"rows": rows, "fraction": round(fraction, 3)}))
        os.replace(temporary, path)

    def check_header(self, header):
        """The Column of each of the file's columns (None for "reference"'s place
        too: every column is known); refused for an unknown or a missing one."""
        unknown = [name for name in header if fold(name) not in BY_HEADER]
        folded = {fold(name) for name in header}
        missing = [name for name in required_headers() if fold(name) not in folded]
        problems = []
        if unknown:
            problems.append(
                f"The file has columns this tracker does not know: {', '.join(unknown)}."
            )
        if missing:
            problems.append(f"The file lacks the required columns: {', '.join(missing)}.")
        if problems:
            problems.append(
                "The columns are: "
                + ", ".join(c.header for c in COLUMNS if not c.export_only)
                + " (download the template for an example)."
            )
            raise FileRefused(" ".join(problems))
        return [BY_HEADER[fold(name)] for name in header]

    # One row.

    def check(self, number, cells):
        texts, errors = {}, []
        for index, cell in enumerate(cells):
            if index >= len(self.columns):
                errors.append(
                    message(
                        column_letter(index),
                        "This column has no header, but this row has a value in it.",
                    )
                )
                continue
            column = self.columns[index]
            try:
                texts[column.header] = cell_text(cell, column.field, self.quoted)
            except ValueError as error:
                errors.append(message(column.header, str(error)))
        for column in self.columns[len(cells) :]:
            texts[column.header] = ""
        if errors:
            return Outcome(Action.ERROR, messages=errors)
        case, errors = self.find_case(number, texts)
        if errors:
            return Outcome(Action.ERROR, case, messages=errors)
        data = form_data({c.header: texts[c.header] for c in self.columns}, self.vocabulary)
        errors, created = self.reference_values(data)
        outcome = self.validate(case, data)
        outcome.messages = errors + outcome.messages
        if errors:
            outcome.action = Action.ERROR
        elif created and outcome.action != Action.ERROR:
            outcome.messages += created
        return outcome

    def find_case(self, number, texts):
        reference = texts.get("reference", "").strip()
        external_id = texts.get("external id", "").strip()
        for key, header in ((reference, "reference"), (external_id, "external id")):
            if key:
                # A reference and an external id are counted apart: a case whose external
                # id is its own reference is named once by each.
                if (header, key) in self.seen:
                    earlier = self.seen[header, key]
                    return None, [
                        message(header, f"{key} is also on row {earlier}: one row a case.")
                    ]
                self.seen[header, key] = number
        # An import's case is locked until the import commits, as an edit's is
        # (Case.lock_for_edit): the check of who may change it below then holds when
        # the row is saved, a submission at the same moment waiting or waited for.
        # FOR NO KEY UPDATE, the lock the row's UPDATE takes anyway (as
        # evidence.corroboration locks cases). lock_named_cases took it already, in
        # order of id; asking again costs nothing and keeps this read what it saves.
        cases = self.visible.select_for_update(no_key=True) if self.apply else self.visible
        if reference:
            case = cases.filter(reference=reference).first()
            if case is None:
                return None, [message("reference", f"There is no case {reference} you may see.")]
        elif external_id:
            case = cases.filter(external_id=external_id).first()
        else:
            return None, []
        if case is not None:
            # One case named by its reference on one row and by its external id on
            # another: the first row may change the external id the second finds it
            # by, and the import would then do what its preview did not say.
            if case.pk in self.seen_cases:
                earlier = self.seen_cases[case.pk]
                header = "reference" if reference else "external id"
                return None, [
                    message(header, f"{case.reference} is also on row {earlier}: one row a case.")
                ]
            self.seen_cases[case.pk] = number
        return case, []

    def reference_values(self, data):
        """Errors for the weapon systems and provisions the row names that do not
        exist, or, when the importer asked for it, the messages of those created."""
        errors, created = [], []
        for name, kind in REFERENCE_FIELDS.items():
            header = next(c.header for c in COLUMNS if c.field == name)
            values = data.get(name) or []
            if ambiguous := [v for v in values if isinstance(v, Ambiguous)]:
                errors += [ambiguity(header, value) for value in ambiguous]
                values = data[name] = [v for v in values if not isinstance(v, Ambiguous)]
            unknown = [v for v in values if not isinstance(v, int)]
            if not unknown:
                continue
            if not self.job.create_missing:
                for label in unknown:
                    errors.append(
                        message(
                            header,
                            f"There is no {kind} “{label}”. Use one of the list, or tick "
                            "“create the missing reference values”.",
                        )
                    )
                data[name] = [v for v in values if isinstance(v, int)]
                continue
            pks = []
            for value in values:
                try:
                    pks.append(value if isinstance(value, int) else self.create_value(name, value))
                except ValidationError as error:
                    errors += [
                        message(header, f"Cannot create the {kind} “{value}”: {text}")
                        for text in error.messages
                    ]
                else:
                    if not isinstance(value, int):
                        created.append(
                            message(header, f"Creates the {kind} “{value}”.", kind="note")
                        )
            data[name] = pks
        return errors, created

    def create_value(self, name, label):
        """A new weapon system or provision named ``label``, listed in the job's new
        values (and, for the rest of the file, in its vocabulary)."""
        if name == "weapon_systems":
            value = WeaponSystem(name=label, description=f"Created by import {self.job.pk}.")
            known = self.vocabulary.weapon_systems
        else:
            resolution, _, paragraph = label.removeprefix("UNSCR ").partition(", para. ")
            value = SanctionsProvision(
                resolution=resolution.strip(),
                paragraph=paragraph.strip(),
                summary=f"Created by import {self.job.pk}: say what it prohibits.",
            )
            known = self.vocabulary.sanctions_provisions
        value.full_clean()
        value._history_user = self.user
        value._change_reason = self.reason
        value.save()
        known[fold(label)] = value.pk
        self.new_values.append({"kind": REFERENCE_FIELDS[name], "name": str(value)})
        return value.pk

    def validate(self, case, data):
        # The row's absent columns keep the case's values (or a new case's defaults).
        initial = self.initial(case)
        for name, value in initial.items():
            data.setdefault(name, value)
        notes, errors = self.kept_whole(initial, data) if case and self.quoted else ([], [])
        if errors:
            return Outcome(Action.ERROR, case, messages=errors)
        form = ImportCaseForm(data, instance=case)
        if not form.is_valid():
            return Outcome(Action.ERROR, case, messages=form_errors(form))
        if case is None:
            return Outcome(Action.CREATE, None, form)
        if not form.has_changed():
            return Outcome(Action.UNCHANGED, case, messages=notes)
        if not case.can_edit(self.user):
            return Outcome(
                Action.ERROR,
                case,
                messages=[
                    message(
                        "reference",
                        f"This row changes {case.reference}, but only the monitor who created "
                        "it can change it, and only while it is a draft or sent back for "
                        "changes.",
                    )
                ],
            )
        changed = [header_of(name) for name in form.changed_data]
        return Outcome(
            Action.UPDATE,
            case,
            form,
            [message("", "Changes " + ", ".join(changed) + ".", kind="note"), *notes],
        )

    def kept_whole(self, initial, data):
        """A case's text longer than a spreadsheet cell comes back from its export as
        the first CELL_LIMIT characters (one fewer after the quote a formula's start
        gets): the case keeps its whole text, and a note says so. Any other text in an
        XLSX cell is an error: no cell held the whole text to change, and saving the
        cell would lose the rest. (A CSV file may have been edited as text.)"""
        notes, errors = [], []
        for name, whole in initial.items():
            sent = data[name]
            if not (isinstance(whole, str) and isinstance(sent, str)):
                continue
            if not len(whole) > CELL_LIMIT >= len(sent):
                continue
            header = header_of(name)
            if len(sent) >= CELL_LIMIT - 1 and whole.startswith(sent):
                data[name] = whole
                notes.append(
                    message(
                        header,
                        f"The cell holds the first {len(sent):,} characters, all a "
                        f"spreadsheet cell can; the case keeps its {len(whole):,}.",
                        kind="note",
                    )
                )
            elif self.cut_cells:
                errors.append(
                    message(
                        header,
                        f"The case's text is {len(whole):,} characters, more than a "
                        "spreadsheet cell holds, and this cell changes it: importing it "
                        "would lose the rest. Change it on the case page, or in a CSV or "
                        "JSON Lines export.",
                    )
                )
        return notes, errors

    def initial(self, case):
        """The form's values of ``case``, or of a new case, as form data."""
        if case is None:
            if self.defaults is None:
                blank = ImportCaseForm()
                self.defaults = {name: blank[name].value() for name in blank.fields}
            return self.defaults
        values = model_to_dict(case, fields=ImportCaseForm.Meta.fields)
        return {name: form_value(value) for name, value in values.items()}

    def save(self, outcome):
        form = outcome.form
        if outcome.case is None:
            form.instance.created_by = self.user
        form.instance._history_user = self.user
        form.instance._change_reason = self.reason
        outcome.case = form.save()


def form_value(value):
    """A model value as form data: related objects by primary key, a country by code,
    text with LF line breaks, as the form would save it (``CleansCaseText``)."""
    if isinstance(value, str):
        return LINE_BREAKS.sub("\n", value)
    if isinstance(value, list | tuple):
        return [getattr(item, "pk", item) for item in value]
    if hasattr(value, "code"):
        return value.code
    return "" if value is None else value


def ambiguity(header, value):
    spelt = " or ".join(f"“{name}”" for name in value.names)
    return message(
        header,
        f"“{value.typed}” could be {spelt}, which differ only in capitals or spaces: "
        "write it as one of them.",
    )


def header_of(name):
    return next((c.header for c in COLUMNS if c.field == name), name)


def form_errors(form):
    return [
        message("" if name == "__all__" else header_of(name), text)
        for name, texts in form.errors.items()
        for text in texts
    ]


def cell_text(cell, field_name, quoted):
    """A cell as the text ``exchange.columns`` parses: XLSX dates (and Excel's serial
    day numbers in a date column) as ISO dates, numbers as written and, in a
    spreadsheet's cells (``quoted``: not JSON Lines, exported as typed), the quote an
    export put against formulas taken off. A formula is refused: the import reads
    values."""
    if cell is None:
        return ""
    if isinstance(cell, Formula):
        raise ValueError(
            f"The cell holds a formula ({cell.text[:40]}); an import reads values only. "
            "Copy the column and paste it as values."
        )
    if isinstance(cell, CellError):
        raise ValueError(
            f"The cell holds the spreadsheet's error {cell.text}, not a value: fill it in "
            "or leave it empty."
        )
    if isinstance(cell, datetime):
        return cell.date().isoformat() if field_name in DATE_FIELDS else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, bool):
        return str(cell).upper()
    if isinstance(cell, int | float) and field_name in DATE_FIELDS:
        return excel_date(cell).isoformat()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, int | Decimal):
        return str(cell)
    text = as_typed(str(cell)) if quoted else str(cell)
    if "\x00" in text:
        raise ValueError("The cell holds a NUL character, which no case can keep: remove it.")
    return text


def excel_date(number):
    """The day of an Excel serial day number (1 is 1 January 1900), as a spreadsheet
    shows a date cell whose format was lost."""
    from openpyxl.utils.datetime import from_excel

    if not 1 <= number < 2958466:  # 31 December 9999
        raise ValueError(f"{number} is not a date.")
    return from_excel(number).date()
