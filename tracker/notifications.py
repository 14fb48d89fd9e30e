"""Mail about a transition: reviewers hear of a submission, the creator of a decision."""

from django.urls import reverse

from mailer import mail

from .models import State

DECISIONS = (State.APPROVED, State.REJECTED, State.CHANGES_REQUESTED)


def notify(transition):
    """Email whoever the transition concerns; most transitions concern nobody."""
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
        return
    addresses = mail.addresses_of(recipients)
    if not addresses:
        return
    context = {
        "transition": transition,
        "case": case,
        "case_url": mail.absolute_url(url),
    }
    mail.send(mail.email_message(name, context, to=addresses))
