"""Mail about a transition: reviewers hear of a submission, the creator of a decision.

Each recipient gets a message of their own, with a ``Notification`` row that keeps it
to one per transition and person however often the job runs.
"""

from django.urls import reverse

from mailer import mail

from .models import Notification, State

DECISIONS = (State.APPROVED, State.REJECTED, State.CHANGES_REQUESTED)


def notify(transition):
    """Email whoever the transition concerns; most transitions concern nobody.
    Returns the Notification rows. A transient failure for one recipient is raised
    after the others had their turn."""
    case = transition.case
    if transition.to_state == State.SUBMITTED:
        # The case may have moved on by now; who must act is decided by the transition.
        name, recipients = "case_submitted", case.who_must_act(State.SUBMITTED)
        # Reviewers review in the admin.
        url = reverse("admin:tracker_case_change", args=[case.pk])
    elif transition.to_state in DECISIONS:
        name, recipients = "case_decided", [case.created_by]
        url = case.get_absolute_url()
    else:
        return []
    context = {"transition": transition, "case": case, "case_url": mail.absolute_url(url)}
    notifications, deferred = [], None
    for recipient in recipients:
        if not recipient.email:
            continue
        try:
            notifications.append(
                mail.send_once(
                    Notification.objects,
                    {"transition": transition, "recipient": recipient},
                    lambda notification: mail.email_message(
                        name, context, to=[notification.address]
                    ),
                    defaults={"address": recipient.email},
                )
            )
        except mail.DeliveryDeferred as error:
            deferred = deferred or error
    if deferred:
        raise deferred
    return notifications
