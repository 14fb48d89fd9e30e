"""Reminders about cases that wait too long: to whoever must act, at most once a day,
escalated to the administrators at twice the SLA."""

from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import case_table_plan, wait_until
from tracker import reminders
from tracker.models import Case, Reminder
from tracker.tasks import enqueue_reminders

# Mid-morning, so "three hours later" is still the same day whenever the suite runs.
NOW = timezone.make_aware(datetime.combine(timezone.localdate(), time(8)))


def waiting_since(case, days):
    Case.objects.filter(pk=case.pk).update(state_changed_at=NOW - timedelta(days=days))
    case.refresh_from_db()
    return case


def wait_for_reminders_sent(count):
    # The job records a reminder as sent just after the SMTP server accepted it.
    wait_until(
        lambda: Reminder.objects.filter(status="sent").count() == count,
        what=f"{count} reminders recorded as sent",
    )


def addresses(message, header="To"):
    return {a.addr_spec for a in message[header].addresses} if message[header] else set()


@pytest.fixture(autouse=True)
def sla_of_three_days(settings):
    settings.REVIEW_SLA_DAYS = 3


transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@transactional
def test_overdue_cases_remind_whoever_must_act_once_a_day(
    celery_worker, mailbox, case_factory, monitor, reviewer
):
    submitted = waiting_since(case_factory("submitted"), days=4)
    in_review = waiting_since(case_factory("in_review", by_reviewer=reviewer), days=4)
    sent_back = waiting_since(case_factory("changes_requested", by_reviewer=reviewer), days=4)
    waiting_since(case_factory("submitted"), days=1)  # within the SLA, tomorrow too
    waiting_since(case_factory("draft"), days=30)  # nobody but its author is waiting

    assert enqueue_reminders(NOW) == 3
    sent = mailbox.wait_for(3, subject="Reminder:")
    recipients = {message["Subject"].split()[1]: addresses(message) for message in sent}
    assert recipients == {
        submitted.reference: {reviewer.email},
        in_review.reference: {reviewer.email},
        sent_back.reference: {monitor.email},
    }
    wait_for_reminders_sent(3)

    assert enqueue_reminders(NOW + timedelta(hours=3)) == 0
    assert Reminder.objects.count() == 3

    assert enqueue_reminders(NOW + timedelta(days=1)) == 3
    mailbox.wait_for(6, subject="Reminder:")
    wait_for_reminders_sent(6)
    assert len(mailbox.wait_for(6, subject="Reminder:")) == 6


@transactional
def test_a_case_waiting_twice_the_sla_escalates_to_the_administrators(
    celery_worker, mailbox, case_factory, reviewer, admin_user
):
    escalated = waiting_since(case_factory("in_review", by_reviewer=reviewer), days=6)
    reminded = waiting_since(case_factory("in_review", by_reviewer=reviewer), days=5.9)

    assert enqueue_reminders(NOW) == 2

    [escalation] = mailbox.wait_for(1, subject="Escalation:")
    assert escalated.reference in escalation["Subject"]
    assert addresses(escalation) == {admin_user.email}
    assert addresses(escalation, "Cc") == {reviewer.email}
    assert "more than twice as long" in escalation.get_body(("plain",)).get_content()
    [reminder] = mailbox.wait_for(1, subject="Reminder:")
    assert reminded.reference in reminder["Subject"]
    assert addresses(reminder) == {reviewer.email}
    wait_for_reminders_sent(2)
    assert set(Reminder.objects.values_list("case", "kind")) == {
        (escalated.pk, "escalation"),
        (reminded.pk, "reminder"),
    }


def test_a_second_reminder_job_the_same_day_sends_nothing(mailbox, case_factory, reviewer):
    case = waiting_since(case_factory("submitted"), days=4)

    first = reminders.remind(case, NOW)
    second = reminders.remind(case, NOW + timedelta(hours=1))

    assert len(mailbox.messages) == 1
    assert second.pk == first.pk
    assert (second.status, second.attempts) == ("sent", 1)


def test_a_case_acted_on_since_the_scan_gets_no_reminder_and_keeps_none_pending(
    mailbox, case_factory, reviewer
):
    case = waiting_since(case_factory("submitted"), days=4)
    enqueue_reminders(NOW)
    assert Reminder.objects.get(case=case).status == "pending"
    case.state_changed_at = NOW  # a reviewer took it up before the job ran

    assert reminders.remind(case, NOW) is None
    assert mailbox.messages == []
    assert not Reminder.objects.exists()


def test_the_scan_puts_each_reminder_on_record_before_its_job_is_queued(case_factory, reviewer):
    reminded = waiting_since(case_factory("submitted"), days=4)
    escalated = waiting_since(case_factory("submitted"), days=7)

    enqueue_reminders(NOW)

    # A job the broker loses now leaves its row pending, for the mail sweep.
    assert set(Reminder.objects.values_list("case", "date", "kind", "status", "due_at")) == {
        (reminded.pk, NOW.date(), "reminder", "pending", NOW),
        (escalated.pk, NOW.date(), "escalation", "pending", NOW),
    }
    [row] = Reminder.objects.filter(case=reminded)
    assert row.delivery_task_args() == [reminded.pk, NOW.isoformat()]


@transactional
def test_a_reminder_whose_job_was_lost_is_sent_by_the_sweep_for_its_own_day(
    celery_worker, mailbox, case_factory, reviewer, settings
):
    settings.MAIL_SWEEP_AFTER_MINUTES = 0
    yesterday = NOW - timedelta(days=1)
    case = waiting_since(case_factory("submitted"), days=4)
    # The scan ran yesterday and its job never reached a worker.
    reminders.open_reminders(reminders.overdue_cases(yesterday), yesterday)

    call_command("sweep_mail")

    [message] = mailbox.wait_for(1, subject="Reminder:")
    assert case.reference in message["Subject"]
    wait_for_reminders_sent(1)
    assert Reminder.objects.get().date == yesterday.date()


def test_the_scan_costs_the_same_queries_however_many_cases_are_overdue(case_factory):
    def scan_queries():
        with CaptureQueriesContext(connection) as queries:
            enqueue_reminders(NOW)
        Reminder.objects.all().delete()
        return len(queries)

    waiting_since(case_factory("submitted"), days=4)
    few = scan_queries()
    for _ in range(10):
        waiting_since(case_factory("submitted"), days=4)
    # One to find the overdue cases, one to put their reminders on record.
    assert scan_queries() == few == 2


@pytest.mark.postgres
@transactional
def test_the_scan_reads_the_open_cases_index_alone(case_factory):
    # A large archive's open cases lie scattered over its table: read from their rows,
    # the daily scan costs more every year although as many cases wait.
    waiting_since(case_factory("submitted"), days=4)
    case_factory("approved")
    with CaptureQueriesContext(connection) as scanned:
        assert len(reminders.overdue_cases(NOW)) == 1
    plan = case_table_plan(scanned.captured_queries[0]["sql"])
    assert "Index Only Scan using case_open_idx" in plan, plan


def test_the_command_queues_the_overdue_cases(case_factory, capsys):
    waiting_since(case_factory("submitted"), days=4)

    call_command("send_reminders")

    assert "Queued 1 reminder(s)." in capsys.readouterr().out
