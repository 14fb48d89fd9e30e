"""Each case stores its corroboration (what the lists filter and sort by), and every way
its evidence or the sources it cites change keeps the stored values equal to a recount,
in the same transaction; `check_corroboration` finds (and `--fix` repairs) what a bulk
write left behind."""

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiToken, Scope
from evidence import custody
from evidence.corroboration import RECOUNTED, recount, refresh_corroboration, summarize
from evidence.models import EvidenceItem, Source
from tests import factories
from tracker.models import CORROBORATION_FIELDS, Case


def stored(case):
    return Case.objects.filter(pk=case.pk).values_list(*CORROBORATION_FIELDS).get()


def assert_stored_equals_recount():
    rows = recount(Case.objects.all()).values_list(
        "reference", *CORROBORATION_FIELDS, *RECOUNTED.values()
    )
    assert rows, "the test has cases to compare"
    for reference, *values in rows:
        assert values[:3] == values[3:], reference
    call_command("check_corroboration")  # and the command agrees: no CommandError


@pytest.fixture
def graded(db):
    make = factories.SourceFactory
    return {
        "un": make(name="UN Panel of Experts", kind="intergovernmental", reliability="A"),
        "kirby": make(name="John Kirby, NSC spokesman", kind="spokesperson", reliability="B"),
        "gs": make(name="Ukrainian General Staff", kind="armed_forces", reliability="C"),
        "kremlin": make(name="Kremlin spokesman", kind="spokesperson", reliability="D"),
    }


def add(case, monitor, source, stance="supports", credibility=2, **fields):
    """An item added as the monitors' page and the API add it."""
    return custody.add_evidence(
        case,
        monitor,
        source=source,
        kind="statement",
        stance=stance,
        credibility=credibility,
        title=f"{source.name}: {stance}",
        **fields,
    )


def test_adding_editing_and_deleting_evidence_keeps_the_counts(case_factory, monitor, graded):
    case = case_factory()
    assert stored(case) == (0, 0, 6)

    first = add(case, monitor, graded["un"], credibility=3)
    assert stored(case) == (1, 0, 3)
    second = add(case, monitor, graded["kirby"])
    assert stored(case) == (2, 0, 1)  # two reliable sources confirm it
    add(case, monitor, graded["un"])  # the same originating source again
    assert stored(case) == (2, 0, 1)
    denial = add(case, monitor, graded["gs"], stance="refutes")
    assert stored(case) == (2, 1, 2)  # a reliable denial weighs
    assert_stored_equals_recount()

    custody.edit_evidence(denial, monitor, stance="context")
    assert stored(case) == (2, 0, 1)
    custody.edit_evidence(second, monitor, source=graded["un"])  # no longer independent
    assert stored(case) == (1, 0, 2)
    custody.edit_evidence(first, monitor, source=graded["kremlin"], credibility=4)
    assert stored(case) == (2, 0, 2)  # Kremlin counts, but is no reliable confirmation
    assert_stored_equals_recount()

    # Items on record (with custody) are never deleted; one written without custody is.
    loose = factories.EvidenceItemFactory(case=case, source=graded["gs"], stance="refutes")
    other = factories.EvidenceItemFactory(case=case, source=graded["kirby"])
    assert stored(case) == (3, 1, 2)
    loose.delete()
    assert stored(case) == (3, 0, 1)
    EvidenceItem.objects.filter(pk=other.pk).delete()
    assert stored(case) == (2, 0, 2)
    assert_stored_equals_recount()


def test_the_edit_page_keeps_the_counts(client, case_factory, monitor, graded):
    case = case_factory()
    item = add(case, monitor, graded["un"])
    client.force_login(monitor)
    url = reverse("tracker:evidence_edit", args=[case.pk, item.pk])
    form = {
        "title": item.title,
        "source": graded["kirby"].pk,
        "kind": "statement",
        "stance": "refutes",
        "credibility": 2,
    }
    assert client.post(url, form).status_code == 302
    assert stored(case) == (0, 1, 6)
    assert_stored_equals_recount()


def test_the_api_keeps_the_counts(case_factory, monitor, graded):
    case = case_factory()
    _, token = ApiToken.issue(monitor, "script", Scope.WRITE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for source in (graded["un"], graded["kirby"]):
        body = {"title": "Statement", "source": source.pk, "kind": "statement"}
        body["stance"] = "supports"
        response = api.post(f"/api/v1/cases/{case.reference}/evidence/", body, format="json")
        assert response.status_code == 201, response.content
    assert stored(case)[:2] == (2, 0)
    listed = api.get("/api/v1/cases/", {"min_sources": 2}).json()["results"]
    assert [(c["reference"], c["supporting_sources"]) for c in listed] == [(case.reference, 2)]
    assert_stored_equals_recount()


def test_regrading_a_source_recounts_every_case_citing_it_in_one_statement(
    client, case_factory, monitor, reviewer, graded, django_assert_num_queries
):
    cases = [case_factory() for _ in range(3)]
    for case in cases:
        add(case, monitor, graded["un"])
        add(case, monitor, graded["kirby"])
    untouched = case_factory()
    add(untouched, monitor, graded["gs"])
    assert {stored(case) for case in cases} == {(2, 0, 1)}

    source = Source.objects.get(pk=graded["kirby"].pk)
    source.grade("E", reviewer)
    # The cases locked, the source, its history, the cases locked again (any come to
    # cite it meanwhile), and the cases recounted: one UPDATE.
    with django_assert_num_queries(5):
        source.save()
    assert {stored(case) for case in cases} == {(2, 0, 2)}  # E: no reliable confirmation

    # Through the admin's grading, as a reviewer does it.
    client.force_login(reviewer)
    change = reverse("admin:evidence_source_change", args=[source.pk])
    form = {"name": source.name, "kind": source.kind, "country": "", "notes": ""}
    assert client.post(change, {**form, "reliability": "A"}).status_code == 302
    assert {stored(case) for case in cases} == {(2, 0, 1)}
    assert stored(untouched) == (1, 0, 2)
    assert_stored_equals_recount()


def test_a_grade_by_the_cases_creator_and_an_ungraded_source_do_not_count(
    case_factory, monitor, reviewer, graded
):
    case = case_factory()
    add(case, monitor, graded["un"])
    proposed = factories.SourceFactory(name="Ukrainian intelligence", proposed=True)
    add(case, monitor, proposed)
    assert stored(case)[0] == 1

    proposed.grade("A", reviewer)
    proposed.save()
    assert stored(case)[0] == 2

    # The same source graded by the case's creator (who also reviews) no longer counts.
    Source.objects.filter(pk=proposed.pk).update(graded_by=monitor)  # a bulk write …
    assert stored(case)[0] == 2
    with pytest.raises(CommandError, match="1 of 1 cases"):
        call_command("check_corroboration")
    refresh_corroboration(Case.objects.filter(evidence__source=proposed))  # … recounts itself
    assert stored(case)[0] == 1
    assert summarize(case).graded_by_creator == 1
    assert_stored_equals_recount()


def test_the_counts_change_in_the_transaction_of_the_evidence(case_factory, monitor, graded):
    case = case_factory()
    with pytest.raises(RuntimeError), transaction.atomic():
        add(case, monitor, graded["un"])
        add(case, monitor, graded["kirby"])
        assert stored(case) == (2, 0, 1)  # at once, not after the commit
        raise RuntimeError("the request fails after the items were added")
    assert stored(case) == (0, 0, 6)
    assert not case.evidence.exists()


def test_a_case_form_loaded_before_evidence_arrived_keeps_the_counts(
    client, case_factory, monitor, graded
):
    case = case_factory()
    stale = Case.objects.get(pk=case.pk)
    add(case, monitor, graded["un"])
    stale.title = "Renamed"
    stale.save()
    assert stored(case) == (1, 0, 2)


def test_the_check_finds_and_repairs_what_a_bulk_insert_left(case_factory, monitor, graded):
    cases = [case_factory() for _ in range(2)]
    add(cases[0], monitor, graded["un"])
    EvidenceItem.objects.bulk_create(
        [
            EvidenceItem(
                case=case,
                source=source,
                kind="statement",
                stance="supports",
                title="Bulk",
                added_by=monitor,
            )
            for case in cases
            for source in (graded["kirby"], graded["gs"])
        ]
    )
    with pytest.raises(CommandError, match="2 of 2 cases store a corroboration that differs"):
        call_command("check_corroboration")
    call_command("check_corroboration", "--fix")
    assert stored(cases[0])[0] == 3
    assert stored(cases[1])[0] == 2
    assert_stored_equals_recount()


def test_the_check_says_what_differs(case_factory, monitor, graded, capsys):
    case = case_factory()
    add(case, monitor, graded["un"])
    Case.objects.filter(pk=case.pk).update(supporting_sources=7)
    with pytest.raises(CommandError):
        call_command("check_corroboration")
    assert f"DIFFERS {case.reference}: supporting_sources stored 7, counted 1" in (
        capsys.readouterr().out
    )


def test_a_changed_minimum_is_repaired_by_the_check(case_factory, monitor, graded, settings):
    case = case_factory()
    add(case, monitor, graded["un"])
    add(case, monitor, graded["kirby"])
    assert stored(case)[2] == 1
    settings.CORROBORATION_MIN = 3
    with pytest.raises(CommandError):
        call_command("check_corroboration")
    call_command("check_corroboration", "--fix")
    assert stored(case)[2] == 2
