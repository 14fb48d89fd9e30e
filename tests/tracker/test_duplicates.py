"""Possible duplicates: which cases a new one is warned about, on both databases."""

from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from tests import factories
from tracker import workflow
from tracker.duplicates import possible_duplicates, score, similar_rows, similarity
from tracker.models import Case, State, WeaponSystem

KHARKIV = {
    "title": "Debris of a missile that hit Kharkiv derives from a DPRK Hwasong-11",
    "summary": "Debris of a rocket that hit Kharkiv derives from a DPRK Hwasong-11 series "
    "ballistic missile, a violation of the arms embargo.",
    "incident_start": date(2024, 1, 2),
    "place_name": "Kharkiv",
    "country": "UA",
}


@pytest.fixture
def hwasong(db):
    return WeaponSystem.objects.create(name="Hwasong-11 (KN-23/KN-24) ballistic missile")


@pytest.fixture
def kharkiv(db, hwasong):
    """CASE-…: the Kharkiv debris, submitted by another monitor."""
    case = factories.CaseFactory(**KHARKIV, created_by=factories.monitor("first"))
    case.weapon_systems.add(hwasong)
    factories.context_for(case)
    workflow.submit(case, case.created_by)
    return case


def lookup(user, **changes):
    fields = {
        "title": "Hwasong-11 debris found in Kharkiv",
        "summary": "Debris found in Kharkiv is from a North Korean Hwasong-11 missile.",
        "incident_start": date(2024, 1, 2),
        "incident_end": None,
        "place_name": "kharkiv",
        "country": "UA",
        "weapon_systems": [],
    } | changes
    return possible_duplicates(user=user, **fields)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, True, id="same day and place, reworded"),
        pytest.param({"incident_start": date(2024, 1, 8)}, True, id="six days later"),
        pytest.param({"incident_start": date(2024, 1, 12)}, False, id="ten days later"),
        pytest.param(
            {"incident_start": date(2023, 12, 1), "incident_end": date(2023, 12, 28)},
            True,
            id="a range ending five days before",
        ),
        pytest.param({"place_name": "Kharkiv region", "country": "RU"}, False, id="nothing shared"),
        pytest.param(
            {"place_name": "Kharkiv region", "country": "RU", "weapon_systems": "hwasong"},
            True,
            id="only the weapon shared",
        ),
        pytest.param(
            {
                "title": "Drone strike on an ammunition depot in Kharkiv",
                "summary": "A Russian drone hit a warehouse of artillery shells.",
            },
            False,
            id="another incident in the same place",
        ),
    ],
)
def test_candidates(kharkiv, hwasong, changes, expected):
    if changes.get("weapon_systems") == "hwasong":
        changes["weapon_systems"] = [hwasong]
    found = lookup(factories.monitor("second"), **changes)
    assert [c.case for c in found] == ([kharkiv] if expected else [])
    if expected:
        assert 0 < found[0].score <= 1


def test_score_is_pg_trgm_similarity(db):
    """The score the query computes on PostgreSQL is the one computed in Python."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    texts = [
        ("Hwasong-11 debris found in Kharkiv", KHARKIV["title"]),
        ("Ünïcode Straße über", "strasse ÜBER-unicode"),
        ("6,700 containers!", "DPRK's 6700 containers"),
    ]
    with connection.cursor() as cursor:
        for a, b in texts:
            cursor.execute("SELECT similarity(%s, %s)", [a, b])
            assert cursor.fetchone()[0] == pytest.approx(similarity(a, b), abs=1e-6)


def test_the_case_itself_and_cases_not_visible_are_not_candidates(kharkiv):
    author = kharkiv.created_by
    assert lookup(author, exclude_pk=kharkiv.pk) == []
    draft = factories.CaseFactory(**KHARKIV, created_by=factories.monitor("third"))
    assert [c.case for c in lookup(factories.monitor("second"))] == [kharkiv]
    assert draft in [c.case for c in lookup(draft.created_by)]
    assert lookup(factories.stakeholder()) == []


def test_best_first_in_one_query(kharkiv, django_assert_num_queries):
    other = factories.CaseFactory(
        title="Missile debris in Kharkiv",
        summary="Parts of a missile found in Kharkiv.",
        incident_start=date(2024, 1, 3),
        place_name="Kharkiv",
        country="UA",
    )
    admin = factories.UserFactory(username="root", is_superuser=True)
    with django_assert_num_queries(1):
        found = lookup(admin)
    assert {c.case for c in found} == {kharkiv, other}
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_similar_rows_of_an_import_file(db):
    rows = [
        {**KHARKIV, "incident_end": None, "weapon_systems": []},
        {
            "title": "Shipment of shells from Rajin",
            "summary": "Artillery shells by rail.",
            "incident_start": date(2024, 1, 3),
            "incident_end": None,
            "place_name": "Rajin",
            "country": "KP",
            "weapon_systems": [],
        },
        {
            "title": "Hwasong-11 debris found in Kharkiv",
            "summary": "Debris found in Kharkiv is from a North Korean Hwasong-11 missile.",
            "incident_start": date(2024, 1, 4),
            "incident_end": None,
            "place_name": "KHARKIV",
            "country": "UA",
            "weapon_systems": [],
        },
        {**KHARKIV, "incident_start": None},  # not a date: an error of its own
    ]
    pairs = similar_rows(rows)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2)]
    assert pairs[0][2] == pytest.approx(
        score(rows[0]["title"], rows[0]["summary"], rows[2]["title"], rows[2]["summary"])
    )


# Marking a case as a duplicate: a withdrawal through the workflow, with the link.


@pytest.fixture
def pair(case_factory, other_monitor):
    """The original, in review, and a later report of it by another monitor."""
    original = case_factory("in_review", created_by=other_monitor)
    repeat = case_factory("submitted")
    return original, repeat


def test_a_reviewer_marks_a_case_as_a_duplicate(pair, reviewer, django_capture_on_commit_callbacks):
    original, repeat = pair
    with django_capture_on_commit_callbacks(execute=False):
        record = workflow.mark_duplicate(repeat, original, reviewer, "Same debris, same day.")
    repeat.refresh_from_db()
    assert repeat.state == State.WITHDRAWN
    assert repeat.duplicate_of == original
    assert list(original.duplicates.all()) == [repeat]
    assert (record.action, record.from_state, record.to_state, record.actor) == (
        "mark_duplicate",
        State.SUBMITTED,
        State.WITHDRAWN,
        reviewer,
    )
    assert record.comment == f"Duplicate of {original.reference}. Same debris, same day."
    # Its creator is told, as of a decision.
    assert [n.recipient for n in record.notifications.all()] == [repeat.created_by]


def test_reopening_a_duplicate_clears_the_link(pair, reviewer, admin_user):
    original, repeat = pair
    workflow.mark_duplicate(repeat, original, reviewer)
    workflow.reopen(repeat, admin_user, "It is a second strike after all.")
    repeat.refresh_from_db()
    assert (repeat.state, repeat.duplicate_of) == (State.DRAFT, None)
    # The link stays in the case's history.
    assert repeat.history.filter(duplicate_of=original).exists()


@pytest.mark.parametrize(
    ("whom", "of", "message"),
    [
        ("reviewer", "itself", "cannot be a duplicate of itself"),
        ("reviewer", "nothing", "Say which case"),
        ("reviewer", "a draft", "There is no case"),
        ("reviewer", "its own duplicate", "is already marked as a duplicate of"),
        ("creator", "original", "four-eyes rule"),
        ("monitor", "original", "Only reviewers can mark a case as a duplicate"),
    ],
)
def test_refusals(pair, case_factory, reviewer, other_monitor, whom, of, message):
    original, repeat = pair
    if of == "its own duplicate":
        # original → repeat → original would be a cycle.
        third = case_factory("submitted")
        workflow.mark_duplicate(third, repeat, reviewer)
        workflow.mark_duplicate(original, third, reviewer)
        of = original
    else:
        of = {
            "itself": repeat,
            "nothing": None,
            "a draft": case_factory("draft", created_by=other_monitor),
            "original": original,
        }[of]
    actor = {
        "reviewer": reviewer,
        "monitor": other_monitor,
        "creator": factories.UserFactory(username="both", role="Reviewer"),
    }[whom]
    if whom == "creator":
        repeat.created_by = actor
        repeat.save(update_fields=["created_by"])
    with pytest.raises(workflow.TransitionError, match=message):
        workflow.mark_duplicate(repeat, of, actor)
    repeat.refresh_from_db()
    assert (repeat.state, repeat.duplicate_of) == (State.SUBMITTED, None)


# The case form warns before saving.

NEW = reverse("tracker:case_create")


def form_data(**changes):
    return {
        "title": "Hwasong-11 debris found in Kharkiv",
        "summary": "Debris found in Kharkiv is from a North Korean Hwasong-11 missile.",
        "incident_type": "battlefield_use",
        "date_precision": "day",
        "incident_start": "2024-01-02",
        "place_name": "Kharkiv",
        "country": "UA",
    } | changes


def test_the_new_case_form_warns_of_possible_duplicates_before_saving(client, kharkiv, monitor):
    client.force_login(monitor)
    response = client.post(NEW, form_data())
    assert response.status_code == 200
    assert not Case.objects.filter(created_by=monitor).exists()
    html = response.content.decode()
    assert "Possible duplicates" in html
    assert f'<a href="{kharkiv.get_absolute_url()}" target="_blank" rel="noopener">' in html
    assert kharkiv.reference in html
    [candidate] = response.context["duplicates"]
    assert f"similarity {candidate.score:.2f}" in html
    assert 'name="save_anyway"' in html
    assert 'value="Hwasong-11 debris found in Kharkiv"' in html  # kept as typed

    response = client.post(NEW, form_data(save_anyway="1"), follow=True)
    case = Case.objects.get(created_by=monitor)
    assert f"{case.reference} saved as a draft." in response.content.decode()


def test_another_incident_is_saved_without_a_warning(client, kharkiv, monitor):
    client.force_login(monitor)
    response = client.post(
        NEW,
        form_data(
            title="Drone strike on an ammunition depot in Kharkiv",
            summary="A Russian drone hit a warehouse of artillery shells.",
        ),
    )
    assert response.status_code == 302
    assert Case.objects.filter(created_by=monitor).exists()


def test_the_edit_form_warns_when_the_incident_changes(client, kharkiv, monitor):
    mine = factories.CaseFactory(
        created_by=monitor, title="Missile strike", summary="A strike.", country="KP"
    )
    client.force_login(monitor)
    edit = reverse("tracker:case_edit", args=[mine.pk])
    response = client.post(edit, form_data())
    assert [c.case for c in response.context["duplicates"]] == [kharkiv]
    mine.refresh_from_db()
    assert mine.title == "Missile strike"
    client.post(edit, form_data(save_anyway="1"))
    mine.refresh_from_db()
    assert mine.title == "Hwasong-11 debris found in Kharkiv"
    # Saving again with the incident unchanged asks nothing more.
    response = client.post(edit, form_data(reported_quantity="one missile"))
    assert response.status_code == 302


def test_a_case_page_shows_its_duplicate_links(client, pair, reviewer, stakeholder):
    original, repeat = pair
    workflow.mark_duplicate(repeat, original, reviewer)
    client.force_login(reviewer)
    page = client.get(repeat.get_absolute_url()).content.decode()
    assert f'Duplicate of <a href="{original.get_absolute_url()}">{original.reference}</a>' in page
    page = client.get(original.get_absolute_url()).content.decode()
    assert f'Duplicates: <a href="{repeat.get_absolute_url()}">{repeat.reference}</a>' in page
    # A stakeholder reading the approved original is not shown the withdrawn repeat.
    factories.corroborate(original)
    workflow.approve(original, reviewer)
    client.force_login(stakeholder)
    page = client.get(original.get_absolute_url()).content.decode()
    assert "Duplicates:" not in page


def test_the_admin_shows_an_original_only_to_who_may_see_it(
    client, pair, monitor, other_monitor, reviewer, admin_user
):
    # The original is withdrawn and reopened: a draft of its monitor's again, which the
    # repeat's monitor may not see, on the repeat's page in the admin or its history.
    original, repeat = pair
    workflow.mark_duplicate(repeat, original, reviewer)
    workflow.withdraw(original, other_monitor)
    workflow.reopen(original, admin_user, "A second source came in.")
    client.force_login(monitor)
    assert client.get(original.get_absolute_url()).status_code == 404

    page = client.get(reverse("admin:tracker_case_change", args=[repeat.pk]))
    assert page.status_code == 200
    assert original.title not in page.content.decode()
    marked = repeat.history.filter(duplicate_of=original).order_by("history_id").first()
    version = client.get(
        reverse("admin:tracker_case_simple_history", args=[repeat.pk, marked.history_id])
    )
    assert version.status_code == 200
    assert original.title not in version.content.decode()
    # Once submitted again, the team may see it, and is shown it.
    workflow.submit(original, other_monitor)
    client.force_login(monitor)
    page = client.get(reverse("admin:tracker_case_change", args=[repeat.pk])).content.decode()
    assert f"{original.reference}</a>: {original.title}" in page


# In the admin: the review panel lists possible duplicates and marks one.


def admin_transition(case):
    return reverse("admin:tracker_case_transition", args=[case.pk, "mark_duplicate"])


def test_the_review_panel_lists_possible_duplicates_and_marks_one(client, kharkiv, reviewer):
    repeat = factories.CaseFactory(
        **form_data(incident_start=date(2024, 1, 3), incident_type="battlefield_use"),
        created_by=factories.monitor("second"),
    )
    factories.context_for(repeat)
    workflow.submit(repeat, repeat.created_by)
    client.force_login(reviewer)
    page = client.get(reverse("admin:tracker_case_change", args=[repeat.pk])).content.decode()
    assert "Possible duplicates (1)" in page
    assert f">{kharkiv.reference}</a>" in page
    assert 'name="duplicate_of"' in page

    response = client.post(
        admin_transition(repeat),
        {"duplicate_of": kharkiv.reference.lower(), "comment": "Same debris."},
        follow=True,
    )
    assert f"{repeat.reference} marked as a duplicate." in response.content.decode()
    repeat.refresh_from_db()
    assert (repeat.state, repeat.duplicate_of) == (State.WITHDRAWN, kharkiv)


def test_the_review_panel_lists_them_only_while_the_case_waits_for_review(
    client, kharkiv, reviewer
):
    repeat = factories.CaseFactory(
        **form_data(incident_start=date(2024, 1, 3), incident_type="battlefield_use"),
        created_by=factories.monitor("second"),
    )
    factories.context_for(repeat)
    workflow.submit(repeat, repeat.created_by)
    client.force_login(reviewer)
    change = reverse("admin:tracker_case_change", args=[repeat.pk])
    assert "Possible duplicates (1)" in client.get(change).content.decode()

    # Decided, it can no longer be marked as a duplicate (reopening it would let it).
    workflow.start_review(repeat, reviewer)
    workflow.reject(repeat, reviewer, "Not enough to go on.")
    page = client.get(change).content.decode()
    assert "Possible duplicates" not in page
    assert 'name="duplicate_of"' not in page


@pytest.mark.parametrize(
    ("of", "message"),
    [
        ("", "This field is required."),
        ("CASE-1999-0001", "There is no case CASE-1999-0001 that you can see."),
        ("itself", "cannot be a duplicate of itself"),
    ],
)
def test_marking_in_the_admin_refuses_with_a_message(client, pair, reviewer, of, message):
    _, repeat = pair
    client.force_login(reviewer)
    of = repeat.reference if of == "itself" else of
    response = client.post(admin_transition(repeat), {"duplicate_of": of, "comment": "Typed."})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Typed." in page
    repeat.refresh_from_db()
    assert (repeat.state, repeat.duplicate_of) == (State.SUBMITTED, None)


def test_a_monitor_cannot_mark_a_duplicate_in_the_admin(client, pair, other_monitor):
    original, repeat = pair
    client.force_login(other_monitor)
    response = client.post(admin_transition(repeat), {"duplicate_of": original.reference})
    assert response.status_code == 403
    repeat.refresh_from_db()
    assert repeat.state == State.SUBMITTED
