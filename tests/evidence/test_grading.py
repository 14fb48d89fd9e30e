"""Grades come from reviewers: a monitor proposes sources, a reviewer grades them, and
only a grade by someone other than the case's creator makes a source count towards
the corroboration minimum."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from evidence.corroboration import summarize
from evidence.models import Source
from tests import factories
from tracker import roles, workflow
from tracker.models import Case, State

ADD = reverse("admin:evidence_source_add")


def change(source):
    return reverse("admin:evidence_source_change", args=[source.pk])


def source_form(name, **changes):
    return {"name": name, "kind": "intelligence", "country": "", "notes": "", **changes}


def evidence_form(**fields):
    return {
        "title": "Briefing to lawmakers",
        "kind": "statement",
        "stance": "supports",
        "credibility": 1,
        **fields,
    }


def counted(case):
    """What the lists show and filter by: the count stored on the case."""
    return Case.objects.get(pk=case.pk).supporting_sources


@pytest.fixture
def proposed_by_monitor(client, case_factory, monitor):
    """A monitor's draft with two supporting items from two sources the monitor
    proposed, each time posting reliability A: once in the source admin, once with
    the item on the evidence form."""
    case = case_factory()
    client.force_login(monitor)
    assert client.post(ADD, source_form("NIS briefing", reliability="A")).status_code == 302
    evidence_url = reverse("tracker:evidence_add", args=[case.pk])
    client.post(evidence_url, evidence_form(source=Source.objects.get(name="NIS briefing").pk))
    client.post(
        evidence_url,
        evidence_form(
            new_source_name="Ukrainian intelligence",
            new_source_kind="intelligence",
            reliability="A",
        ),
    )
    assert case.evidence.count() == 2
    return case


def test_a_monitor_alone_cannot_make_a_case_meet_the_minimum(
    proposed_by_monitor, monitor, reviewer
):
    case = proposed_by_monitor
    for source in Source.objects.all():
        assert (source.reliability, source.graded_at, source.proposed_by) == ("F", None, monitor)

    summary = summarize(case)
    assert not summary.meets_minimum
    assert (summary.supporting_sources, summary.not_yet_graded) == (0, 2)
    assert summary.suggested_credibility != 1
    assert str(summary) == (
        "0 independent supporting sources (minimum 2), 0 refuting; not counted towards "
        "the minimum: 2 more supporting sources: 2 not yet graded by a reviewer"
    )
    assert counted(case) == 0

    workflow.submit(case, monitor)
    workflow.start_review(case, reviewer)
    with pytest.raises(workflow.TransitionError, match="approval needs 2"):
        workflow.approve(case, reviewer)
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_the_monitors_source_form_has_no_reliability_to_set(client, monitor):
    client.force_login(monitor)
    page = client.get(ADD).content.decode()
    assert 'name="name"' in page
    assert 'name="reliability"' not in page


def test_a_reviewer_grading_the_proposed_sources_makes_them_count(
    client, proposed_by_monitor, monitor, reviewer
):
    case = proposed_by_monitor
    client.force_login(reviewer)
    for source in Source.objects.all():
        response = client.post(change(source), source_form(source.name, reliability="B"))
        assert response.status_code == 302
        source.refresh_from_db()
        assert (source.reliability, source.graded_by) == ("B", reviewer)
        assert source.graded_at is not None
        assert source.history.first().graded_by == reviewer

    summary = summarize(case)
    assert (summary.supporting_sources, summary.not_yet_graded) == (2, 0)
    assert summary.meets_minimum
    assert summary.suggested_credibility == 1
    assert counted(case) == 2
    workflow.submit(case, monitor)
    workflow.start_review(case, reviewer)
    workflow.approve(case, reviewer)
    assert case.state == State.APPROVED


def test_saving_a_proposed_source_without_choosing_a_grade_does_not_grade_it(
    client, reviewer, monitor
):
    source = factories.SourceFactory(name="Ukrainian intelligence", proposed=True)
    client.force_login(reviewer)
    client.post(change(source), source_form("Ukrainian intelligence (HUR)", reliability="F"))
    source.refresh_from_db()
    assert source.name == "Ukrainian intelligence (HUR)"
    assert (source.graded_by, source.graded_at) == (None, None)


def test_a_source_graded_by_the_cases_creator_does_not_count_for_that_case(
    case_factory, monitor, other_reviewer
):
    """A reviewer who also logs cases grades sources; those grades count for other
    people's cases, not for their own."""
    other_reviewer.groups.add(Group.objects.get(name=roles.MONITOR))
    own_case = case_factory(created_by=other_reviewer)
    monitors_case = case_factory()
    for name in ("ROK NIS", "Ukrainian intelligence"):
        source = factories.SourceFactory(name=name, proposed=True)
        source.grade("B", other_reviewer)
        source.save()
        for case in (own_case, monitors_case):
            factories.EvidenceItemFactory(case=case, source=source)

    own = summarize(own_case)
    assert (own.supporting_sources, own.graded_by_creator, own.meets_minimum) == (0, 2, False)
    assert own.suggested_credibility == 2
    assert "2 graded by the case's creator" in str(own)
    assert counted(own_case) == 0
    assert summarize(monitors_case).meets_minimum
    assert counted(monitors_case) == 2

    workflow.submit(own_case, other_reviewer)
    workflow.start_review(own_case, factories.reviewer())
    with pytest.raises(workflow.TransitionError, match="2 graded by the case's creator"):
        workflow.approve(own_case, factories.reviewer())


def test_a_monitor_cannot_change_a_source_or_its_grade(client, monitor):
    source = factories.SourceFactory(name="Kremlin spokesman", reliability="D")
    before = Source.objects.filter(pk=source.pk).values().get()
    client.force_login(monitor)
    response = client.post(change(source), source_form("Kremlin (graded A)", reliability="A"))
    assert response.status_code == 403
    assert Source.objects.filter(pk=source.pk).values().get() == before


def test_only_graders_grade_whatever_the_way_in(monitor):
    source = factories.SourceFactory(name="Telegram channel", proposed=True)
    with pytest.raises(PermissionDenied):
        source.grade("A", monitor)
    source.refresh_from_db()
    assert (source.reliability, source.graded_at) == ("F", None)


def test_the_admin_shows_who_proposed_and_who_graded(client, monitor, reviewer):
    source = factories.SourceFactory(name="ROK NIS", proposed=True, proposed_by=monitor)
    source.grade("B", reviewer)
    source.save()
    client.force_login(reviewer)
    page = client.get(change(source)).content.decode()
    assert "Proposed by" in page and ">monitor<" in page
    assert "Graded by" in page and ">reviewer<" in page
    listing = client.get(reverse("admin:evidence_source_changelist")).content.decode()
    assert "reviewer" in listing


def test_grades_given_before_grading_was_recorded_count(case_factory):
    case = case_factory()
    for name in ("UN Panel of Experts", "ROK NIS"):
        factories.EvidenceItemFactory(
            case=case, source=factories.SourceFactory(name=name, graded_by=None)
        )
    assert summarize(case).meets_minimum
    assert counted(case) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_keeps_earlier_grades_and_leaves_f_ungraded():
    before = ("evidence", "0002_custody_append_only_and_roles")
    # Through the command, as a deployment migrates: its signals take SQLite's search
    # index down and up around the migrations (tracker.sqlite_index).
    call_command("migrate", *before, verbosity=0)
    try:
        old = MigrationExecutor(connection).loader.project_state([before]).apps
        old = old.get_model("evidence", "Source")
        old.objects.create(name="UN Panel of Experts", kind="intergovernmental", reliability="A")
        old.objects.create(name="Unknown blog", kind="other", reliability="F")
    finally:
        call_command("migrate", verbosity=0)
    graded = Source.objects.get(name="UN Panel of Experts")
    assert (graded.reliability, graded.graded_by) == ("A", None)
    assert graded.graded_at is not None
    assert Source.objects.get(name="Unknown blog").graded_at is None
