"""Which transitions are webhook events, what their payload says, and opening their
deliveries in the transition's own transaction.

A payload carries only what a stakeholder may see. Stakeholders see approved cases
and nothing else, so ``case.approved`` carries the case's public fields (what the
case page shows of the case itself), while ``case.submitted``, ``case.rejected`` and
``case.reopened`` say only which case, its new state and when: never who acted, a
reviewer's comment or justification, or anything of a case a partner may not read.
"""

import json

from mailer.mail import absolute_url
from tracker.models import State

from .models import Endpoint, Event, WebhookDelivery

EVENTS = {
    "submit": Event.SUBMITTED,
    "approve": Event.APPROVED,
    "reject": Event.REJECTED,
    "reopen": Event.REOPENED,
}


def event_of(transition):
    return EVENTS.get(transition.action)


def payload(event, transition):
    case = transition.case
    described = {"reference": case.reference, "state": transition.to_state}
    if transition.to_state == State.APPROVED:
        described.update(public_fields(case))
    return {"event": event, "occurred_at": transition.at.isoformat(), "case": described}


def public_fields(case):
    """An approved case as a stakeholder reads it on its page."""
    return {
        "url": absolute_url(case.get_absolute_url()),
        "title": case.title,
        "summary": case.summary,
        "incident_type": case.incident_type,
        "incident_start": case.incident_start.isoformat(),
        "incident_end": case.incident_end.isoformat() if case.incident_end else None,
        "date_precision": case.date_precision,
        "place_name": case.place_name,
        "country": case.country.code,
        "latitude": float(case.latitude) if case.latitude is not None else None,
        "longitude": float(case.longitude) if case.longitude is not None else None,
        "supplier_country": case.supplier_country.code or None,
        "recipient_country": case.recipient_country.code or None,
        "weapon_systems": [weapon.name for weapon in case.weapon_systems.all()],
        "sanctions_provisions": [str(provision) for provision in case.sanctions_provisions.all()],
        "reported_quantity": case.reported_quantity,
    }


def open_deliveries(transition):
    """Put on record, in the transition's own transaction, a delivery for each active
    endpoint that asked for the transition's event: a job the broker then loses leaves
    its row for the sweep, and a transition rolled back takes its rows with it. The
    body is fixed now, the same for every endpoint and every attempt. Returns the new
    rows' ids."""
    event = event_of(transition)
    if event is None:
        return []
    endpoints = [e for e in Endpoint.objects.filter(active=True) if e.wants(event)]
    if not endpoints:
        return []
    body = json.dumps(payload(event, transition), ensure_ascii=False)
    return [
        WebhookDelivery.objects.create(
            endpoint=endpoint, transition=transition, event=event, body=body
        ).pk
        for endpoint in endpoints
    ]
