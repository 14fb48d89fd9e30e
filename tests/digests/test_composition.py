"""A digest is rendered once per filter set and period; each subscriber gets it with
their own address, unsubscribe link and case links, and sees what a digest rendered
for them alone would show."""

import re

import pytest
from django.core import signing
from django.test.signals import template_rendered
from django.utils import timezone

from digests import links, tasks, weekly
from digests.models import DigestDelivery, Subscription
from mailer.mail import render_email
from tests.conftest import this_week_end, wait_until
from tracker.models import IncidentType

pytestmark = pytest.mark.django_db
CASE_LINK = re.compile(r"/digests/case/([^/\"\s]+)/")


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


@pytest.fixture
def renderings():
    """The digests rendered (their text template), as they happen."""
    rendered = []

    def count(sender, template, context, **kwargs):
        if template.name == "emails/digest.txt":
            rendered.append(template.name)

    template_rendered.connect(count)
    yield rendered
    template_rendered.disconnect(count)


def linked(body):
    """What the case links in ``body`` open: (subscription id, case id) each."""
    return {tuple(signing.loads(token, salt=links.SALT)) for token in CASE_LINK.findall(body)}


def unsubscribed_by(body):
    token = re.search(r"/digests/unsubscribe/([^/\"\s]+)/", body).group(1)
    return Subscription.from_unsubscribe_token(token)


def test_subscribers_with_the_same_filters_share_one_rendering_with_their_own_links(
    mailbox, case_factory, reviewer, renderings
):
    case = case_factory("approved", by_reviewer=reviewer, country="UA")
    filters = {"countries": ["UA"], "incident_types": ["battlefield_use", "depot_strike"]}
    case.incident_type = IncidentType.DEPOT_STRIKE
    case.save()
    committee = Subscription.objects.create(email="committee@example.org", **filters)
    council = Subscription.objects.create(email="council@example.org", **filters)

    deferred = weekly.deliver_digests([committee.pk, council.pk], this_week_end())

    assert deferred == []
    assert len(renderings) == 1, "one rendering for both"
    assert len(mailbox.messages) == 2
    for subscription in (committee, council):
        [message] = mailbox.to(subscription.email)
        other = council if subscription == committee else committee
        for body in (text_of(message), html_of(message)):
            assert case.reference in body
            assert f"weekly digest as {subscription.email}" in body
            assert other.email not in body
            assert linked(body) == {(subscription.pk, case.pk)}, "links signed for them"
            assert unsubscribed_by(body) == subscription
        assert unsubscribed_by(message["List-Unsubscribe"]) == subscription
        delivery = DigestDelivery.objects.get(subscription=subscription)
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        assert message["Message-ID"] == delivery.message_id
    first, second = mailbox.messages
    assert first["Subject"] == second["Subject"]


def test_subscribers_with_other_filters_get_digests_of_their_own(
    mailbox, case_factory, reviewer, renderings
):
    case = case_factory("approved", by_reviewer=reviewer, country="UA", title="Kharkiv debris")
    in_ukraine = Subscription.objects.create(email="ukraine@example.org", countries=["UA"])
    in_russia = Subscription.objects.create(email="russia@example.org", countries=["RU"])

    weekly.deliver_digests([in_ukraine.pk, in_russia.pk], this_week_end())

    assert len(renderings) == 2
    [ukraine] = mailbox.to(in_ukraine.email)
    [russia] = mailbox.to(in_russia.email)
    assert "Kharkiv debris" in text_of(ukraine) and "Kharkiv debris" in html_of(ukraine)
    assert "Kharkiv debris" not in text_of(russia) and case.reference not in html_of(russia)
    assert "Countries: Ukraine." in text_of(ukraine) and "Countries: Russia." in text_of(russia)
    assert linked(html_of(ukraine)) == {(in_ukraine.pk, case.pk)}
    assert linked(text_of(russia)) == set()


def test_a_shared_digest_reads_as_one_rendered_for_the_subscriber_alone(
    mailbox, case_factory, reviewer
):
    """Characters the HTML escapes, in the address and in the case, come out as a
    digest rendered for this subscriber alone writes them."""
    case_factory(
        "approved",
        by_reviewer=reviewer,
        title='Shells & "fuzes" <at> O\'Hare',
        summary="Crates marked 5 < 6 & fuzes\u00a0inside.",
    )
    subscription = Subscription.objects.create(email="o'brien&co@example.org")
    Subscription.objects.create(email="first@example.org")  # renders it first
    weekly.deliver_digests(
        [Subscription.objects.get(email="first@example.org").pk], this_week_end()
    )

    weekly.deliver_digest(subscription, this_week_end())

    [message] = mailbox.to(subscription.email)
    subject, text, html = render_email(
        "digest", weekly.digest_context(subscription, this_week_end())
    )

    def same_links(body):
        # Links signed a moment apart differ in their time stamp only; SMTP sends
        # lines ended by CRLF, and ends a part with one.
        body = body.replace("\r\n", "\n").rstrip("\n")
        return CASE_LINK.sub(lambda m: str(signing.loads(m.group(1), salt=links.SALT)), body)

    assert message["Subject"] == subject
    assert same_links(text_of(message)) == same_links(text)
    assert same_links(html_of(message)) == same_links(html)
    assert "o'brien&amp;co@example.org" in html_of(message)


def test_a_batch_sent_again_sends_nothing_twice(mailbox, case_factory, reviewer):
    case_factory("approved", by_reviewer=reviewer)
    ids = [Subscription.objects.create(email=f"s{n}@example.org").pk for n in range(3)]
    Subscription.objects.filter(pk=ids[2]).update(active=False)

    weekly.deliver_digests(ids, this_week_end())
    # The same job again: the broker redelivers a job whose worker was lost.
    weekly.deliver_digests(ids, this_week_end())

    assert sorted(str(message["To"]) for message in mailbox.messages) == [
        "s0@example.org",
        "s1@example.org",
    ]
    assert DigestDelivery.objects.filter(status="sent").count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_larger_than_a_job_sends_each_subscriber_one_digest(
    celery_worker, mailbox, case_factory, reviewer, monkeypatch, renderings
):
    monkeypatch.setattr(tasks, "SEND_BATCH", 2)
    case_factory("approved", by_reviewer=reviewer)
    addresses = {f"s{n}@example.org" for n in range(5)}
    for address in addresses:
        Subscription.objects.create(email=address)

    assert tasks.enqueue_digests(this_week_end()) == 5

    wait_until(
        lambda: DigestDelivery.objects.filter(status="sent").count() == 5,
        what="every digest sent",
    )
    digests = mailbox.wait_for(5, subject="Weekly digest")
    assert sorted(str(message["To"]) for message in digests) == sorted(addresses)
    assert len(renderings) == 1, "three jobs, one rendering (kept in the cache)"
    for message in digests:
        assert unsubscribed_by(message["List-Unsubscribe"]).email == str(message["To"])


def test_a_digest_another_worker_is_sending_is_left_to_it_and_the_rest_of_the_job_sent(
    mailbox, case_factory, reviewer
):
    case_factory("approved", by_reviewer=reviewer)
    busy, free = (Subscription.objects.create(email=f"{n}@example.org") for n in ("busy", "free"))
    DigestDelivery.objects.create(
        subscription=busy,
        period_end=this_week_end(),
        status="sending",
        attempts=1,
        last_attempt_at=timezone.now(),
    )

    deferred = weekly.deliver_digests([busy.pk, free.pk], this_week_end())

    assert deferred == [busy.pk], "retried alone, later"
    assert [str(message["To"]) for message in mailbox.messages] == ["free@example.org"]
    busy_row = DigestDelivery.objects.get(subscription=busy)
    assert (busy_row.status, busy_row.attempts) == ("sending", 1)


def test_a_job_that_fails_part_way_gives_back_the_digests_it_never_attempted(
    mailbox, case_factory, reviewer
):
    case_factory("approved", by_reviewer=reviewer)
    # An address no message can be sent to (a header injection): sending it fails with
    # an error that is no mail server's answer, and the job stops there.
    broken = Subscription.objects.create(email="broken@example.org\nBcc: x@example.org")
    others = [Subscription.objects.create(email=f"s{n}@example.org") for n in range(3)]

    with pytest.raises(ValueError):
        weekly.deliver_digests([broken.pk, *(s.pk for s in others)], this_week_end())

    assert mailbox.messages == []
    for subscription in others:
        row = DigestDelivery.objects.get(subscription=subscription)
        assert (row.status, row.attempts) == ("pending", 0), "never attempted, not claimed"
    assert DigestDelivery.objects.get(subscription=broken).status == "sending"
