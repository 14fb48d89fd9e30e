import html
import json
import re
import time
from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.files.base import ContentFile
from django.utils import timezone

from digests import links
from evidence.custody import add_evidence
from evidence.models import EvidenceItem, EvidenceKind, Source, SourceKind, Stance
from tracker import roles
from tracker.models import Case, IncidentType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if create and extracted:
            user.groups.add(Group.objects.get(name=extracted))


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    title = factory.Sequence(lambda n: f"Shipment of DPRK artillery shells no. {n}")
    summary = "Containers of artillery shells moved by rail from Rajin to Tikhoretsk."
    incident_type = IncidentType.MUNITIONS_SHIPMENT
    incident_start = date(2024, 2, 27)
    place_name = "Rajin"
    country = "KP"
    supplier_country = "KP"
    recipient_country = "RU"
    created_by = factory.SubFactory(UserFactory, role=roles.MONITOR)


def monitor(username="monitor"):
    return UserFactory(username=username, role=roles.MONITOR)


def reviewer(username="reviewer"):
    return UserFactory(username=username, role=roles.REVIEWER)


def stakeholder(username="stakeholder"):
    return UserFactory(username=username, role=roles.STAKEHOLDER, is_staff=False)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Intelligence service no. {n}")
    kind = SourceKind.INTELLIGENCE
    # Graded by a reviewer who created no case, so it counts towards corroboration.
    reliability = "B"
    graded_by = factory.LazyFunction(lambda: reviewer("source-grader"))
    graded_at = factory.LazyFunction(timezone.now)

    class Params:
        # As a monitor proposed it: ungraded until a reviewer grades it.
        proposed = factory.Trait(reliability="F", graded_by=None, graded_at=None)


class EvidenceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceItem

    case = factory.SubFactory(CaseFactory)
    source = factory.SubFactory(SourceFactory)
    kind = EvidenceKind.STATEMENT
    stance = Stance.SUPPORTS
    credibility = 2
    title = factory.Sequence(lambda n: f"Briefing to lawmakers no. {n}")
    added_by = factory.LazyAttribute(lambda item: item.case.created_by)


def context_for(case):
    """An evidence item of context, from a proposed source: the least a case needs to
    be submitted, counting for neither side."""
    return EvidenceItemFactory(
        case=case, stance="context", source=SourceFactory(proposed=True, name="Background")
    )


def corroborate(case, sources=2):
    """Give the case ``sources`` independent supporting sources."""
    for _ in range(sources):
        EvidenceItemFactory(case=case)


def multipart(fields, file_field, filename, content, boundary="----evidence-upload-boundary"):
    """A multipart/form-data body built by hand, so the file name reaches the server
    byte for byte as given (control characters included), as a browser or a script
    could send it. Returns keyword arguments for the test client's post()."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '.encode()
        + b'filename="'
        + filename.encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def manifest_on(case, by):
    """A rail manifest (a small text file) logged by ``by`` as supporting ``case``,
    through the custody code, file and all."""
    return add_evidence(
        case,
        by,
        upload=ContentFile(b"Rail manifest\n"),
        original_filename="manifest.txt",
        source=SourceFactory(name="ROK National Intelligence Service"),
        kind="document",
        stance="supports",
        title="Manifest",
    )


def case_form(case, **changes):
    """What a case's edit form posts: its fields as they are, with ``changes``."""
    return {
        "title": case.title,
        "summary": case.summary,
        "incident_type": case.incident_type,
        "incident_start": case.incident_start.isoformat(),
        "date_precision": case.date_precision,
        "place_name": case.place_name,
        "country": case.country.code,
        **changes,
    }


def text_of(html_fragment):
    """The text a reader sees in a piece of a page: no tags, entities resolved, spaces
    collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_fragment)).split())


def case_link_token(subscription, case, age=timedelta(0)):
    """The token of a digest's case link for the subscription and the case, signed as
    the tracker signs them, ``age`` ago."""

    class Backdated(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time() - age.total_seconds()))

    return Backdated(salt=links.SALT).sign_object([subscription.pk, case.pk])


def with_payload(token, subscription_id, case_id):
    """``token`` with its payload swapped for another subscription and case, its
    timestamp and signature kept: what someone editing a link would make."""
    payload = json.dumps([subscription_id, case_id], separators=(",", ":"))
    payload = signing.b64_encode(payload.encode()).decode()
    return ":".join([payload, *token.split(":")[1:]])
