import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from evidence import files, integrity
from evidence.custody import add_evidence
from evidence.models import CustodyEvent, IntegrityChunk, IntegrityRun
from evidence.tasks import verify_evidence
from tests import factories
from tests.conftest import wait_until


@pytest.fixture
def item_with_file(case_factory, monitor, evidence_root):
    case = case_factory("draft")
    return add_evidence(
        case,
        monitor,
        upload=ContentFile(b"%PDF-1.7\nNIS briefing to lawmakers"),
        original_filename="nis.pdf",
        source=factories.SourceFactory(),
        kind="official_report",
        stance="supports",
        title="NIS briefing, 18 Oct 2024",
    )


@pytest.fixture
def three_items_in_three_chunks(settings, case_factory, monitor, evidence_root):
    """Three items, each with a file of its own; one file a chunk."""
    settings.EVIDENCE_CHECK_CHUNK_FILES = 1
    case = case_factory("draft")
    return [
        add_evidence(
            case,
            monitor,
            upload=ContentFile(f"%PDF-1.7\nreport number {n}".encode()),
            original_filename=f"report-{n}.pdf",
            source=factories.SourceFactory(),
            kind="official_report",
            stance="supports",
            title=f"Report {n}",
        )
        for n in range(3)
    ]


def actions(item):
    return list(
        item.custody.filter(action__in=["verified", "integrity_failure"]).values_list(
            "action", flat=True
        )
    )


def flip_one_byte(path):
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_evidence_passes_and_records_a_verified_event(item_with_file, capsys):
    call_command("verify_evidence")
    assert "All stored evidence files match" in capsys.readouterr().out
    assert item_with_file.custody.last().action == "verified"


def test_one_flipped_byte_fails_the_check_naming_the_item(item_with_file, capsys):
    flip_one_byte(files.path_of(item_with_file.file))
    with pytest.raises(CommandError, match="1 evidence item"):
        call_command("verify_evidence")
    err = capsys.readouterr().err
    assert f"evidence item {item_with_file.pk}" in err
    assert "NIS briefing, 18 Oct 2024" in err
    assert "the bytes no longer match" in err
    failure = item_with_file.custody.last()
    assert (failure.action, failure.actor) == ("integrity_failure", None)


def test_a_missing_file_fails_the_check(item_with_file, capsys):
    files.path_of(item_with_file.file).unlink()
    with pytest.raises(CommandError):
        call_command("verify_evidence")
    assert "is missing" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_weekly_task_emails_administrators_on_failure(
    celery_worker, mailbox, item_with_file, admin_user
):
    flip_one_byte(files.path_of(item_with_file.file))
    verify_evidence.delay()

    [message] = mailbox.wait_for(1, to=admin_user.email)
    assert message["Subject"] == "Evidence integrity check: 1 item failed"
    body = message.get_body(("plain",)).get_content()
    assert f"evidence item {item_with_file.pk}" in body
    assert "NIS briefing, 18 Oct 2024" in body


def test_custody_events_cannot_be_changed_through_the_orm(item_with_file):
    event = item_with_file.custody.first()
    event.note = "rewritten"
    with pytest.raises(ValueError, match="never changed"):
        event.save()
    with pytest.raises(ValueError, match="never deleted"):
        event.delete()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE evidence_custodyevent SET note = 'rewritten'",
        "UPDATE evidence_custodyevent SET actor_id = NULL",
        "DELETE FROM evidence_custodyevent",
    ],
)
def test_postgresql_refuses_raw_update_and_delete_of_custody(item_with_file, sql):
    from django.db import DatabaseError, connection, transaction

    before = list(CustodyEvent.objects.values_list("pk", "note", "actor_id"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert list(CustodyEvent.objects.values_list("pk", "note", "actor_id")) == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_weekly_run_checks_its_chunks_on_the_worker_and_reports_a_tampered_file(
    celery_worker, mailbox, three_items_in_three_chunks, admin_user
):
    first, tampered, last = three_items_in_three_chunks
    flip_one_byte(files.path_of(tampered.file))
    verify_evidence.delay()

    [message] = mailbox.wait_for(1, to=admin_user.email)
    assert message["Subject"] == "Evidence integrity check: 1 item failed"
    assert "Report 1" in message.get_body(("plain",)).get_content()
    [run] = IntegrityRun.objects.all()
    assert run.finished_at is not None and run.scheduled
    chunks = list(run.chunks.order_by("first_file_id"))
    assert [c.files for c in chunks] == [1, 1, 1]
    assert all(c.checked_at for c in chunks)
    assert [f["item_id"] for c in chunks for f in c.failures] == [tampered.pk]
    assert (actions(first), actions(tampered), actions(last)) == (
        ["verified"],
        ["integrity_failure"],
        ["verified"],
    )
    assert str(integrity.progress(run)).startswith("3 of 3 chunks checked")


def test_a_stopped_check_resumes_without_hashing_its_checked_chunks_again(
    three_items_in_three_chunks, capsys
):
    first, second, third = three_items_in_three_chunks
    # The command was stopped after its first chunk.
    run, _ = integrity.start()
    integrity.check_chunk(integrity.pending_chunks(run)[0])
    checked_first = run.chunks.get(first_file_id=first.file_id).checked_at
    # Altered after its chunk was checked: this run vouches for it as it was then.
    flip_one_byte(files.path_of(first.file))

    call_command("verify_evidence")

    out = capsys.readouterr().out
    assert "Resuming the check started" in out and "1 of 3 chunks checked" in out
    assert "3 of 3 chunks checked" in out and "All stored evidence files match" in out
    [same_run] = IntegrityRun.objects.all()
    assert same_run.pk == run.pk and same_run.finished_at is not None
    assert same_run.chunks.get(first_file_id=first.file_id).checked_at == checked_first
    assert (actions(first), actions(second), actions(third)) == (
        ["verified"],
        ["verified"],
        ["verified"],
    )

    # The next check is a new run, which hashes everything again.
    with pytest.raises(CommandError, match="1 evidence item"):
        call_command("verify_evidence")
    assert IntegrityRun.objects.count() == 2
    assert actions(first) == ["verified", "integrity_failure"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_weekly_run_resumes_an_interrupted_one_on_the_worker(
    celery_worker, three_items_in_three_chunks
):
    first, second, third = three_items_in_three_chunks
    run, _ = integrity.start(scheduled=True)
    integrity.check_chunk(integrity.pending_chunks(run)[0])
    done_before = run.chunks.get(first_file_id=first.file_id).checked_at

    verify_evidence.delay()

    wait_until(lambda: IntegrityRun.objects.get(pk=run.pk).finished_at, what="the run to finish")
    assert IntegrityRun.objects.count() == 1
    assert run.chunks.get(first_file_id=first.file_id).checked_at == done_before
    assert [actions(item) for item in (first, second, third)] == [["verified"]] * 3


def test_files_stored_since_an_interruption_join_the_resumed_run(
    three_items_in_three_chunks, case_factory, monitor, capsys
):
    run, _ = integrity.start()
    integrity.check_chunk(integrity.pending_chunks(run)[0])
    late = add_evidence(
        case_factory("draft"),
        monitor,
        upload=ContentFile(b"%PDF-1.7\nstored after the run started"),
        original_filename="late.pdf",
        source=factories.SourceFactory(),
        kind="official_report",
        stance="supports",
        title="Late report",
    )

    call_command("verify_evidence")

    assert "4 of 4 chunks checked" in capsys.readouterr().out
    assert actions(late) == ["verified"]


def test_an_unfinished_run_too_old_to_resume_is_abandoned(settings, three_items_in_three_chunks):
    settings.EVIDENCE_CHECK_RESUME_HOURS = 24
    old, _ = integrity.start()
    IntegrityRun.objects.filter(pk=old.pk).update(started_at=old.started_at - timedelta(hours=25))

    run, resumed = integrity.start()

    assert not resumed and run.pk != old.pk
    assert IntegrityRun.objects.get(pk=old.pk).abandoned_at is not None
    assert run.chunks.count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_command_can_hand_the_chunks_to_the_workers_and_follow_them(
    celery_worker, three_items_in_three_chunks, capsys
):
    call_command("verify_evidence", "--workers")

    out = capsys.readouterr().out
    assert "in 3 chunks" in out and "3 of 3 chunks checked" in out
    assert IntegrityChunk.objects.filter(checked_at=None).count() == 0
