import os

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from evidence import files
from evidence.custody import add_evidence
from evidence.models import CustodyEvent
from evidence.tasks import verify_evidence
from tests import factories


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
