"""Mail about transitions, sent by a real Celery worker to a real SMTP server, and only
once the transition is committed."""

import pytest
from django.db import transaction

from tests import factories
from tracker import workflow

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_reviewers_hear_of_a_submission_but_not_its_creator(
    celery_worker, mailbox, case_factory, monitor, reviewer, other_reviewer
):
    case = case_factory("draft", title="Debris in Kharkiv derives from a Hwasong-11")
    factories.context_for(case)

    workflow.submit(case, monitor, "Two sources attached.")

    [message] = mailbox.wait_for(1)
    assert {a.addr_spec for a in message["To"].addresses} == {reviewer.email, other_reviewer.email}
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
