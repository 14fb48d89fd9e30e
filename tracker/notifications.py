"""Mail about a transition: reviewers hear of a submission, the creator of a decision
(a case marked as a duplicate included).

Each recipient gets a message of their own, with a ``Notification`` row that keeps it
to one per transition and person however often the job runs.
"""

from django.urls import reverse

from mailer import mail

from .models import Notification, State

DECISIONS = (State.APPROVED, State.REJECTED, State.CHANGES_REQUESTED)


def concerned(transition):
    """(email name, recipients, link) of the people the transition concerns, or None."""
    case = transition.case
    if transition.to_state == State.SUBMITTED:
        # Reviewers review in the admin.
        url = reverse("admin:tracker_case_change", args=[case.pk])
        return "case_submitted", case.who_must_act(State.SUBMITTED), url
    # A reviewer withdrawing a case as a duplicate decides on it as much as rejecting it.
    if transition.to_state in DECISIONS or transition.action == "mark_duplicate":
        return "case_decided", [case.created_by], case.get_absolute_url()
    return None


def open_notifications(transition):
    """Put on record, in the transition's own transaction, whom it must be told to:
    a job the broker then loses leaves these rows for the mail sweep, and a transition
    rolled back takes them with it."""
    plan = concerned(transition)
    if plan is None:
        return
    _, recipients, _ = plan
    Notification.objects.bulk_create(
        [
            Notification(transition=transition, recipient=user, address=user.email)
            for user in recipients
            if user.email
        ],
        ignore_conflicts=True,
    )


def notify(transition):
    """Email each person the transition's notifications were opened for, once.
    Returns the Notification rows. A transient failure for one recipient is raised
    after the others had their turn."""
    plan = concerned(transition)
    if plan is None:
        return []
    name, _, url = plan
    case = transition.case
    context = {"transition": transition, "case": case, "case_url": mail.absolute_url(url)}
    notifications, deferred = [], None
    for opened in transition.notifications.select_related("recipient"):
        try:
            notifications.append(
                mail.send_once(
                    Notification.objects,
                    {"transition": transition, "recipient": opened.recipient},
                    lambda notification: mail.email_message(
                        name, context, to=[notification.address]
                    ),
                )
            )
        except mail.DeliveryDeferred as error:
            deferred = deferred or error
    if deferred:
        raise deferred
    return notifications
