"""Mail about transitions, sent by a real Celery worker to a real SMTP server, and only
once the transition is committed."""

import pytest
from django.db import transaction

from tests import factories
from tests.conftest import wait_until
from tracker import workflow
from tracker.models import Notification

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for_notifications(count, status):
    # The job records the outcome just after the SMTP server answered.
    wait_until(
        lambda: Notification.objects.filter(status=status).count() >= count,
        what=f"{count} notification(s) {status}",
    )


def test_each_reviewer_hears_of_a_submission_on_record_but_not_its_creator(
    celery_worker, mailbox, case_factory, monitor, reviewer, other_reviewer
):
    case = case_factory("draft", title="Debris in Kharkiv derives from a Hwasong-11")
    factories.context_for(case)

    workflow.submit(case, monitor, "Two sources attached.")

    messages = mailbox.wait_for(2)
    assert sorted(str(message["To"]) for message in messages) == sorted(
        [reviewer.email, other_reviewer.email]
    )
    wait_for_notifications(2, status="sent")
    notifications = Notification.objects.filter(transition__case=case)
    assert {(n.recipient, n.address, n.attempts) for n in notifications} == {
        (reviewer, reviewer.email, 1),
        (other_reviewer, other_reviewer.email, 1),
    }
    assert {n.message_id for n in notifications} == {m["Message-ID"] for m in messages}
    assert not mailbox.to(monitor.email)
    [message] = mailbox.to(reviewer.email)
    assert message["Subject"] == (
        f"{case.reference} submitted for review: Debris in Kharkiv derives from a Hwasong-11"
    )
    text = message.get_body(("plain",)).get_content()
    assert "Two sources attached." in text
    assert f"http://localhost:8000/admin/tracker/case/{case.pk}/change/" in text
    html = message.get_body(("html",)).get_content()
    assert 'style="' in html, "the HTML part carries its CSS inline"


@pytest.mark.parametrize(
    ("decision", "reason", "subject_says"),
    [
        ("approve", "", "approved"),
        ("reject", "The claim is not substantiated.", "rejected"),
        ("request_changes", "Only one source so far: find a second.", "changes requested"),
    ],
)
def test_the_creator_hears_the_decision_with_the_reason(
    celery_worker, mailbox, case_factory, monitor, reviewer, decision, reason, subject_says
):
    case = case_factory("in_review", by_reviewer=reviewer)
    factories.corroborate(case)

    workflow.perform(case, decision, reviewer, reason)

    messages = mailbox.wait_for(1, to=monitor.email)
    [message] = messages
    assert [a.addr_spec for a in message["To"].addresses] == [monitor.email]
    assert message["Subject"].startswith(f"{case.reference}: {subject_says}")
    if reason:
        assert reason in message.get_body(("plain",)).get_content()
        assert reason in message.get_body(("html",)).get_content()


def test_a_rolled_back_transition_sends_nothing(
    celery_worker, mailbox, case_factory, monitor, reviewer
):
    rolled_back = case_factory("draft", title="Rolled back")
    committed = case_factory("draft", title="Committed")
    factories.context_for(rolled_back)
    factories.context_for(committed)

    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.submit(rolled_back, monitor)
        raise RuntimeError("something failed later in the same request")
    workflow.submit(committed, monitor)

    # The worker takes tasks in order: once the second submission's mail is here, a
    # mail for the first would have been too.
    [message] = mailbox.wait_for(1)
    assert "Committed" in message["Subject"]
    rolled_back.refresh_from_db()
    assert rolled_back.state == "draft"


def test_the_subject_says_what_the_monitor_typed_on_one_line(
    celery_worker, mailbox, case_factory, monitor, reviewer
):
    case = case_factory(
        "draft",
        title='DPRK officers "highly likely" killed <near> Donetsk & Avdiivka'
        "\r\nBcc: x@example.net",
    )
    factories.context_for(case)

    workflow.submit(case, monitor)

    [message] = mailbox.wait_for(1)
    assert message["Subject"] == (
        f'{case.reference} submitted for review: DPRK officers "highly likely" killed '
        "<near> Donetsk & Avdiivka Bcc: x@example.net"
    )
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == [reviewer.email]


def test_a_refused_notification_is_recorded_failed_and_shown_in_the_admin(
    celery_worker, mailbox, case_factory, monitor, reviewer, other_reviewer, admin_client
):
    case = case_factory("draft")
    factories.context_for(case)
    mailbox.refuse("550 5.1.1 No such mailbox", to=other_reviewer.email)

    workflow.submit(case, monitor)

    wait_for_notifications(1, status="failed")
    wait_for_notifications(1, status="sent")
    refused = Notification.objects.get(recipient=other_reviewer)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    assert [str(m["To"]) for m in mailbox.messages] == [reviewer.email]

    failed = admin_client.get("/admin/tracker/notification/", {"status__exact": "failed"})
    assert failed.status_code == 200
    assert other_reviewer.email in failed.text
    assert reviewer.email not in failed.text
    page = admin_client.get(f"/admin/tracker/notification/{refused.pk}/change/")
    assert "No such mailbox" in page.text


def test_the_notification_record_is_read_only_in_the_admin(admin_client, case_factory, reviewer):
    case = case_factory("submitted")
    # Opened with the submission, for each reviewer.
    notification = Notification.objects.get(transition=case.transitions.get(), recipient=reviewer)

    response = admin_client.post(
        f"/admin/tracker/notification/{notification.pk}/change/", {"status": "sent"}
    )

    assert response.status_code == 403
    notification.refresh_from_db()
    assert notification.status == "pending"


def test_the_case_page_in_the_admin_shows_who_was_notified_to_administrators_only(
    admin_client, client, case_factory, reviewer
):
    case = case_factory("submitted")
    Notification.objects.filter(transition=case.transitions.get(), recipient=reviewer).update(
        status="failed", attempts=1, last_error="SMTPDataError: (550, b'No such mailbox')"
    )

    page = admin_client.get(f"/admin/tracker/case/{case.pk}/change/")

    assert page.status_code == 200
    assert f"submitted → {reviewer.email}: Failed (1 attempt(s))" in page.text
    assert "No such mailbox" in page.text

    client.force_login(reviewer)
    page = client.get(f"/admin/tracker/case/{case.pk}/change/")
    assert page.status_code == 200
    assert "No such mailbox" not in page.text and "Notifications" not in page.text


@pytest.mark.django_db
def test_a_transition_puts_whom_it_concerns_on_record_before_any_job_runs(
    case_factory, monitor, reviewer, other_reviewer
):
    case = case_factory("draft")
    factories.context_for(case)
    transition = workflow.submit(case, monitor)
    # No worker ran: the rows are there, pending, for the job or the sweep to send.
    opened = Notification.objects.filter(transition=transition)
    assert {(n.recipient, n.status) for n in opened} == {
        (reviewer, "pending"),
        (other_reviewer, "pending"),
    }
