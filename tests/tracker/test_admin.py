import re
from datetime import date

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evidence.custody import add_evidence
from tests import factories
from tests.factories import text_of
from tracker import workflow
from tracker.admin import CaseAdmin
from tracker.models import Case, SanctionsProvision, State, WeaponSystem


def transition_url(case, action):
    return reverse("admin:tracker_case_transition", args=[case.pk, action])


def change_url(case):
    return reverse("admin:tracker_case_change", args=[case.pk])


CHANGELIST = reverse("admin:tracker_case_changelist")
EMPTY_INLINES = {
    f"{prefix}-{count}": "0"
    for prefix in ("evidence", "transitions")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def test_the_reviewer_sees_the_review_buttons_on_the_change_page(client, case_factory, reviewer):
    case = case_factory("in_review")
    client.force_login(reviewer)
    page = client.get(change_url(case)).content.decode()
    for label in ("Approve", "Request changes", "Reject"):
        assert f">{label}</button>" in page
    assert ">Submit</button>" not in page
    assert "Review: In review" in page


def test_approve_button_approves_and_records_the_transition(client, case_factory, reviewer):
    case = case_factory("in_review")
    factories.corroborate(case)
    client.force_login(reviewer)
    response = client.post(
        transition_url(case, "approve"), {"comment": "Two sources."}, follow=True
    )
    assert response.redirect_chain[-1][0] == change_url(case)
    assert f"{case.reference} approved." in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.APPROVED
    last = case.transitions.last()
    assert (last.actor, last.comment) == (reviewer, "Two sources.")


def test_reject_without_a_reason_shows_the_form_again_with_an_error(client, case_factory, reviewer):
    case = case_factory("in_review")
    client.force_login(reviewer)
    response = client.post(transition_url(case, "reject"), {"comment": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_an_illegal_transition_keeps_what_the_reviewer_typed(client, case_factory, reviewer):
    case = case_factory("in_review")
    factories.corroborate(case)
    client.force_login(reviewer)
    client.post(transition_url(case, "approve"))
    response = client.post(transition_url(case, "reject"), {"comment": "My careful reasoning"})
    page = response.content.decode()
    assert "is approved, so it cannot be rejected" in page
    assert "My careful reasoning" in page


def test_a_monitor_gets_403_on_approve_in_the_admin(client, case_factory, other_monitor):
    case = case_factory("in_review")
    client.force_login(other_monitor)
    assert client.post(transition_url(case, "approve")).status_code == 403
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


def test_the_creator_gets_403_on_approving_their_own_case(client, case_factory, monitor):
    monitor.groups.add(*factories.reviewer().groups.all())
    case = case_factory("in_review")
    client.force_login(monitor)
    response = client.post(transition_url(case, "approve"))
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.IN_REVIEW


def test_an_unknown_action_is_404(client, case_factory, reviewer):
    client.force_login(reviewer)
    assert client.post(transition_url(case_factory("in_review"), "publish")).status_code == 404


def edited(case, **fields):
    """The admin's change form of ``case`` as posted with a new title (and ``fields``)."""
    return {**factories.case_form(case, title="Edited title", **fields), **EMPTY_INLINES}


def test_the_state_field_cannot_be_written_through_the_form(client, case_factory, monitor):
    case = case_factory("draft")
    client.force_login(monitor)
    page = client.get(change_url(case)).content.decode()
    assert 'name="state"' not in page
    response = client.post(change_url(case), edited(case, state="approved"))
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert (case.title, case.state) == ("Edited title", State.DRAFT)
    assert case.history.first().history_user == monitor


def test_a_summary_typed_in_the_admin_keeps_its_line_breaks_as_the_pages_do(
    client, case_factory, monitor
):
    """A textarea sends CR LF; kept, an XLSX export (whose cells cannot hold a CR)
    would import back as a change to the summary."""
    case = case_factory("draft")
    client.force_login(monitor)
    response = client.post(
        change_url(case), edited(case, summary="Left Rajin.\r\nReached Tikhoretsk.")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.summary == "Left Rajin.\nReached Tikhoretsk."


@pytest.mark.parametrize(
    "key, error",
    [
        (str(2**63), f"Select a valid choice. {2**63} is not one of the available choices."),
        (":", "“:” is not a valid value."),
    ],
)
def test_a_weapon_system_no_row_can_be_is_refused_in_the_admin(
    client, case_factory, monitor, key, error
):
    """The form is shown again with the error (the autocomplete widget looks up only
    what can be a key), and the case is not changed."""
    case = case_factory("draft")
    client.force_login(monitor)
    response = client.post(change_url(case), edited(case, weapon_systems=[key]))
    assert response.status_code == 200
    assert error in response.content.decode()
    case.refresh_from_db()
    assert case.title != "Edited title"


def test_a_monitor_cannot_edit_a_submitted_case(client, case_factory, monitor):
    case = case_factory("submitted")
    client.force_login(monitor)
    page = client.get(change_url(case)).content.decode()
    assert 'name="title"' not in page
    response = client.post(change_url(case), {"title": "Sneaky edit"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.title != "Sneaky edit"


def test_monitor_creates_a_case_in_the_admin_as_its_creator(client, monitor):
    client.force_login(monitor)
    response = client.post(
        reverse("admin:tracker_case_add"),
        {
            "title": "Hwasong-11 debris in Kharkiv",
            "summary": "Debris of a missile that hit Kharkiv.",
            "incident_type": "battlefield_use",
            "incident_start": "2024-01-02",
            "date_precision": "day",
            "place_name": "Kharkiv",
            "country": "UA",
            **EMPTY_INLINES,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(title="Hwasong-11 debris in Kharkiv")
    assert (case.created_by, case.state) == (monitor, State.DRAFT)
    assert case.reference.startswith("CASE-")


def test_the_change_page_shows_the_review_history_read_only(client, case_factory, reviewer):
    case = case_factory("changes_requested")
    client.force_login(reviewer)
    page = client.get(change_url(case)).content.decode()
    assert "Review history" in page
    assert "Needs a second source." in page
    assert 'name="transitions-0-comment"' not in page


def test_a_stakeholder_given_staff_status_gets_no_admin_page(client, case_factory, stakeholder):
    """The admin shows who reviewed a case and what the team wrote (the review panel,
    versions, who added evidence): a stakeholder made staff by mistake reads none of it."""
    case = case_factory("approved")
    stakeholder.is_staff = True
    stakeholder.save()
    client.force_login(stakeholder)
    for path in [
        "/admin/",
        "/admin/tracker/case/",
        f"/admin/tracker/case/{case.pk}/change/",
        f"/admin/tracker/case/{case.pk}/history/",
        f"/admin/evidence/evidenceitem/{case.evidence.first().pk}/change/",
    ]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    # Their own pages still show them the approved case.
    assert client.get(case.get_absolute_url()).status_code == 200


def test_nobody_can_delete_a_case(client, case_factory, admin_user):
    case = case_factory("draft")
    client.force_login(admin_user)
    assert client.post(reverse("admin:tracker_case_delete", args=[case.pk])).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_changelist_columns_filters_and_search(client, case_factory, reviewer):
    case_factory("submitted", title="Containers shipped via Rajin")
    case_factory("submitted", title="Missile debris in Kharkiv")
    client.force_login(reviewer)
    page = client.get(CHANGELIST, {"q": "Kharkiv"}).content.decode()
    assert "Missile debris in Kharkiv" in page
    assert "Containers shipped via Rajin" not in page
    for column in ("Reference", "Incident type", "State", "Assigned reviewer", "Time in state"):
        assert column in page
    assert "North Korea" in page  # the supplier filter offers the countries in use…
    assert "Zimbabwe" not in page  # …not every country there is
    filtered = client.get(CHANGELIST, {"state__exact": "approved"}).content.decode()
    assert "Missile debris in Kharkiv" not in filtered


def test_changelist_search_finds_words_by_their_inflections_and_references(
    client, case_factory, reviewer
):
    shipped = case_factory("submitted", summary="Containers of shells were shipped by rail.")
    struck = case_factory("submitted", title="Strike on a depot near Bryansk")
    client.force_login(reviewer)

    def found(term):
        return [
            case.reference for case in client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        ]

    assert found("shipping containers") == [shipped.reference]
    assert found(struck.reference) == [struck.reference]
    assert found('"depot near"') == [struck.reference]
    assert found("containers -shipped") == [struck.reference]


def test_changelist_query_count_does_not_grow_with_rows(
    client, case_factory, reviewer, django_assert_max_num_queries
):
    client.force_login(reviewer)
    case_factory("submitted")
    # user, permissions, count, the page's keys, its rows, the weapon-system, transfer
    # and incident-year filters; the session comes from the cache
    with django_assert_max_num_queries(8) as few:
        client.get(CHANGELIST)
    for _ in range(15):
        case_factory("submitted")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(CHANGELIST)


def test_the_incident_year_filter_lists_the_years_and_filters_by_one(
    client, case_factory, reviewer
):
    case_factory("submitted", incident_start=date(2022, 3, 1), title="Rajin port")
    case_factory("submitted", incident_start=date(2024, 7, 9), title="Kharkiv debris")
    case_factory("approved", incident_start=date(2025, 1, 2), title="Bryansk depot")
    client.force_login(reviewer)

    page = client.get(CHANGELIST).content.decode()
    assert re.findall(r'href="\?incident_year=(\d+)"', page) == ["2025", "2024", "2023", "2022"]

    in_2024 = client.get(CHANGELIST, {"incident_year": "2024"}).content.decode()
    assert "Kharkiv debris" in in_2024
    assert "Rajin port" not in in_2024 and "Bryansk depot" not in in_2024


@pytest.mark.parametrize("year", ["twenty", "0", "99999", "-1"])
def test_an_incident_year_that_is_no_year_is_refused_without_an_error(
    client, case_factory, reviewer, year
):
    case_factory("submitted", incident_start=date(2024, 7, 9))
    client.force_login(reviewer)
    response = client.get(CHANGELIST, {"incident_year": year})
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def bulk(client, action, cases, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in cases], **extra}
    return client.post(CHANGELIST, data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_bulk_approve_checks_each_case_before_asking_for_a_comment(
    client, case_factory, reviewer, monitor
):
    reviewer.groups.add(*monitor.groups.all())
    mine = case_factory("in_review", created_by=reviewer)
    ready = case_factory("in_review")
    factories.corroborate(ready)
    waiting = case_factory("submitted")
    client.force_login(reviewer)

    confirm = bulk(client, "approve_selected", [mine, ready, waiting])
    page = confirm.content.decode()

    assert "Approve 1 of 3 selected cases" in page
    assert confirm.context["cases"] == [(ready, False)]
    skipped = dict(confirm.context["skipped"])
    assert skipped[mine] == (
        f"You created {mine.reference}, so it must be approved by another reviewer "
        "(four-eyes rule)."
    )
    assert skipped[waiting].startswith(f"{waiting.reference} is submitted, so it cannot be")
    assert "Skipped: 2 cases, left as they are" in page
    # Only the case the action fits goes on to the next step; it needs no justification.
    assert re.findall(r'name="_selected_action" value="(\d+)"', page) == [str(ready.pk)]
    assert 'name="justification"' not in page

    done = bulk(client, "approve_selected", [ready], apply="1", comment="OK")

    assert messages_of(done) == [f"{ready.reference} approved."]
    states = {c.pk: c.state for c in Case.objects.all()}
    assert states == {mine.pk: "in_review", ready.pk: "approved", waiting.pk: "submitted"}


def test_a_bulk_action_no_selected_case_can_take_says_so_at_once(
    client, case_factory, reviewer, monitor
):
    reviewer.groups.add(*monitor.groups.all())
    mine = case_factory("in_review", created_by=reviewer)
    waiting = case_factory("submitted")
    client.force_login(reviewer)

    response = bulk(client, "approve_selected", [mine, waiting])

    assert response.redirect_chain[-1][0] == CHANGELIST
    assert 'name="comment"' not in response.content.decode()
    assert messages_of(response) == [
        "None of the 2 selected cases can be approved; nothing was changed.",
        f"{mine.reference}: not approved. You created {mine.reference}, so it must be approved "
        "by another reviewer (four-eyes rule).",
        f"{waiting.reference}: not approved. {waiting.reference} is submitted, so it cannot be "
        "approved: only a case that is in review can. It was submitted by monitor at "
        f"{timezone.localtime(waiting.state_changed_at):%d %b %Y %H:%M:%S}.",
    ]
    assert set(Case.objects.values_list("state", flat=True)) == {"in_review", "submitted"}


def test_bulk_approve_asks_a_justification_only_for_the_cases_below_the_minimum(
    client, case_factory, reviewer
):
    corroborated = case_factory("in_review")
    factories.corroborate(corroborated)
    weak = case_factory("in_review")
    factories.corroborate(weak, sources=1)
    unsupported = case_factory("in_review")
    client.force_login(reviewer)

    confirm = bulk(client, "approve_selected", [corroborated, weak, unsupported])

    form = confirm.context["form"]
    assert form.fields["justification"].label == (
        f"Justification for approving {weak.reference} and {unsupported.reference} below the "
        "corroboration minimum"
    )
    assert confirm.context["cases"] == [(corroborated, False), (weak, True), (unsupported, True)]
    assert "below the corroboration minimum (1 of 2 independent supporting sources)" in (
        confirm.content.decode()
    )

    done = bulk(
        client,
        "approve_selected",
        [corroborated, weak, unsupported],
        apply="1",
        comment="Checked against the Panel's report.",
        justification="Debris examined by the UN monitors themselves.",
    )

    assert len(messages_of(done)) == 3
    recorded = {
        case.pk: (case.state, *case.transitions.values_list("comment", "justification").last())
        for case in Case.objects.all()
    }
    assert recorded == {
        corroborated.pk: ("approved", "Checked against the Panel's report.", ""),
        weak.pk: (
            "approved",
            "Checked against the Panel's report.",
            "Debris examined by the UN monitors themselves.",
        ),
        unsupported.pk: (
            "approved",
            "Checked against the Panel's report.",
            "Debris examined by the UN monitors themselves.",
        ),
    }


def test_bulk_approve_without_a_needed_justification_approves_nothing_and_keeps_the_comment(
    client, case_factory, reviewer
):
    corroborated = case_factory("in_review")
    factories.corroborate(corroborated)
    weak = case_factory("in_review")
    client.force_login(reviewer)

    response = bulk(
        client, "approve_selected", [corroborated, weak], apply="1", comment="My careful notes"
    )

    page = response.content.decode()
    assert (
        f"{weak.reference} has fewer independent supporting sources than approval needs: write "
        "a justification, or cancel and leave it out of the selection."
    ) in page
    assert "My careful notes" in page
    assert set(Case.objects.values_list("state", flat=True)) == {"in_review"}


def test_bulk_approve_with_every_case_corroborated_asks_no_justification(
    client, case_factory, reviewer
):
    cases = [case_factory("in_review"), case_factory("in_review")]
    for case in cases:
        factories.corroborate(case)
    client.force_login(reviewer)
    page = bulk(client, "approve_selected", cases).content.decode()
    assert "Approve 2 of 2 selected cases" in page
    assert 'name="justification"' not in page
    assert "Skipped" not in page


def test_a_case_another_reviewer_decides_after_the_confirmation_is_reported(
    client, case_factory, reviewer, other_reviewer
):
    cases = [case_factory("in_review"), case_factory("in_review")]
    client.force_login(reviewer)
    bulk(client, "reject_selected", cases)
    workflow.request_changes(cases[0], other_reviewer, "The date is wrong.")

    done = bulk(client, "reject_selected", cases, apply="1", comment="Single source.")

    assert messages_of(done)[0] == f"{cases[1].reference} rejected."
    assert messages_of(done)[1].startswith(
        f"{cases[0].reference}: not rejected. {cases[0].reference} is changes requested"
    )
    assert "sent back for changes by reviewer2" in messages_of(done)[1]


def test_bulk_reject_needs_one_reason_for_all(client, case_factory, reviewer):
    cases = [case_factory("in_review"), case_factory("in_review")]
    client.force_login(reviewer)
    response = bulk(client, "reject_selected", cases, apply="1", comment="")
    assert "This field is required." in response.content.decode()
    assert set(Case.objects.values_list("state", flat=True)) == {"in_review"}

    bulk(client, "reject_selected", cases, apply="1", comment="Single unverified source.")
    for case in cases:
        case.refresh_from_db()
        assert case.state == State.REJECTED
        assert case.transitions.last().comment == "Single unverified source."


def test_bulk_start_review_assigns_the_reviewer(client, case_factory, reviewer):
    cases = [case_factory("submitted"), case_factory("submitted")]
    client.force_login(reviewer)
    bulk(client, "start_review_selected", cases, apply="1")
    for case in cases:
        case.refresh_from_db()
        assert (case.state, case.assigned_reviewer) == (State.IN_REVIEW, reviewer)


def test_monitors_are_not_offered_review_actions(client, case_factory, other_monitor):
    case = case_factory("in_review")
    client.force_login(other_monitor)
    page = client.get(CHANGELIST).content.decode()
    assert "approve_selected" not in page
    bulk(client, "approve_selected", [case], apply="1")
    case.refresh_from_db()
    assert case.state == State.IN_REVIEW


@pytest.mark.parametrize("user_fixture", ["other_monitor", "reviewer"])
def test_other_peoples_drafts_are_hidden(client, case_factory, request, user_fixture):
    draft = case_factory("draft", title="Private working draft")
    client.force_login(request.getfixturevalue(user_fixture))
    assert "Private working draft" not in client.get(CHANGELIST).content.decode()
    assert client.get(change_url(draft)).status_code == 302  # admin: "doesn't exist"
    assert client.post(transition_url(draft, "submit")).status_code == 404


@pytest.mark.parametrize(
    "title", ['Strike on "Arsenal 67" & <depot>', "Перевозка снарядов", "Shells' transfer"]
)
def test_the_case_lists_checkboxes_are_djangos_own(case_factory, title):
    case = case_factory(title=title)
    case_admin = CaseAdmin(Case, django_admin.site)
    assert case_admin.action_checkbox(case) == django_admin.ModelAdmin.action_checkbox(
        case_admin, case
    )


def review_panel(response):
    page = response.content.decode()
    return page[page.index('id="review-panel"') : page.index("</section>")]


@pytest.fixture
def evidence_under_review(case_factory, monitor):
    """A submitted case with a supporting item and its file, a refutation from a source
    nobody graded yet and a context item found in a newspaper."""
    case = case_factory("draft")
    supporting = add_evidence(
        case,
        monitor,
        upload=ContentFile(b"%PDF-1.7\nNIS briefing to lawmakers"),
        original_filename="nis-briefing.pdf",
        source=factories.SourceFactory(name="ROK National Intelligence Service", reliability="B"),
        kind="statement",
        stance="supports",
        credibility=2,
        title="NIS briefing to lawmakers",
    )
    refuting = factories.EvidenceItemFactory(
        case=case,
        source=factories.SourceFactory(name="Kremlin spokesman", proposed=True),
        stance="refutes",
        credibility=5,
        title="Peskov: another fake news story",
    )
    context = factories.EvidenceItemFactory(
        case=case,
        source=factories.SourceFactory(name="UN Panel of Experts", reliability="A"),
        reporting_outlet=factories.SourceFactory(name="Reuters", reliability="B"),
        stance="context",
        credibility=3,
        title="Panel of Experts mandate ends",
    )
    workflow.submit(case, monitor)
    return case, supporting, refuting, context


def test_the_review_panel_lists_the_evidence_with_grades_and_checked_downloads(
    client, evidence_under_review, reviewer
):
    case, supporting, refuting, context = evidence_under_review
    client.force_login(reviewer)

    panel = review_panel(client.get(change_url(case)))

    rows = re.findall(r"<tr>(.*?)</tr>", panel, re.S)[1:]
    assert [text_of(row) for row in rows] == [
        "Supports NIS briefing to lawmakers Statement ROK National Intelligence Service: "
        "B – usually reliable — 2 – probably true nis-briefing.pdf (34 bytes)",
        "Refutes Peskov: another fake news story Statement Kremlin spokesman: not yet graded "
        "by a reviewer — 5 – improbable —",
        "Context Panel of Experts mandate ends Statement UN Panel of Experts: A – completely "
        "reliable Reuters 3 – possibly true —",
    ]
    download = reverse("evidence:download", args=[supporting.pk])
    assert re.findall(r'href="([^"]+)">nis-briefing.pdf', panel) == [download]
    assert supporting.file.sha256 not in panel  # the stored file's own path is never shown

    response = client.get(download)
    assert response["Content-Disposition"] == 'attachment; filename="nis-briefing.pdf"'
    event = supporting.custody.last()
    assert (event.action, event.actor) == ("downloaded", reviewer)


def test_the_review_panel_says_which_supporting_sources_do_not_count(
    client, case_factory, reviewer, monitor
):
    monitor.groups.add(*reviewer.groups.all())
    case = case_factory("submitted")
    source = factories.SourceFactory(name="Ukrainian General Staff", graded_by=monitor)
    factories.EvidenceItemFactory(case=case, source=source, title="Strike report")
    factories.EvidenceItemFactory(
        case=case, source=factories.SourceFactory(name="Telegram channel", proposed=True)
    )
    client.force_login(reviewer)

    panel = text_of(review_panel(client.get(change_url(case))))

    assert (
        "Ukrainian General Staff: B – usually reliable, graded by the case's creator, so not "
        "counted towards the minimum"
    ) in panel
    assert "Telegram channel: not yet graded by a reviewer, so not counted" in panel


def test_the_review_panel_reads_the_evidence_in_a_constant_number_of_queries(
    client, evidence_under_review, reviewer, django_assert_max_num_queries
):
    case, *_ = evidence_under_review
    client.force_login(reviewer)
    client.get(change_url(case))
    with django_assert_max_num_queries(20) as few:
        client.get(change_url(case))
    for number in range(10):
        factories.EvidenceItemFactory(
            case=case,
            source=factories.SourceFactory(name=f"Source {number}"),
            reporting_outlet=factories.SourceFactory(name=f"Outlet {number}"),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(change_url(case))
    assert "Evidence (13)" in review_panel(page)


def test_someone_outside_the_team_gets_no_review_panel(client, case_factory):
    # Someone who may read cases but neither logs nor checks them: an auditor made staff.
    auditor = factories.UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_case"))
    case = case_factory("approved")
    client.force_login(auditor)
    response = client.get(change_url(case))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_change_page_reads_the_weapon_systems_once(client, case_factory, reviewer):
    case = case_factory("in_review", by_reviewer=reviewer)
    case.weapon_systems.set(
        [WeaponSystem.objects.create(name=name) for name in ("KN-23", "KN-24", "M-1991")]
    )
    client.force_login(reviewer)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(change_url(case)).content.decode()
    assert "KN-23, KN-24, M-1991" in page  # read-only to a reviewer
    assert sum('FROM "tracker_weaponsystem"' in q["sql"] for q in queries) == 1


def test_the_change_page_shows_the_corroboration_and_why_support_is_not_counted(
    client, case_factory, reviewer, add_item
):
    case = case_factory("submitted")
    add_item(case, "UN Panel of Experts")
    add_item(case, "Kremlin spokesman", stance="refutes")
    factories.SourceFactory(
        name="Telegram channel", reliability="F", graded_by=None, graded_at=None
    )
    add_item(case, "Telegram channel")
    client.force_login(reviewer)

    def panel():
        page = client.get(change_url(case)).content.decode()
        return text_of(re.search(r'id="corroboration">(.*?)</div>', page, re.S).group(1))

    assert panel().startswith(
        "Corroboration: 1 independent supporting source (minimum 2), 1 refuting; "
        "not counted towards the minimum: 1"
    )
    # Adding evidence keeps the counts stored with the case current; the page reads them.
    add_item(case, "ROK Joint Chiefs of Staff")
    assert panel().startswith("Corroboration: 2 independent supporting sources (minimum 2)")


@pytest.mark.parametrize(
    "model, form",
    [
        (WeaponSystem, {"name": "KN-23; KN-24"}),
        (
            SanctionsProvision,
            {"resolution": "1718 (2006)", "paragraph": "8 (a); 9", "summary": "x"},
        ),
    ],
)
def test_a_name_holding_the_list_separator_is_refused(client, admin_user, model, form):
    # An export would write it in a cell of names separated by ";", and the import
    # would read it back as two names.
    client.force_login(admin_user)
    response = client.post(reverse(f"admin:tracker_{model._meta.model_name}_add"), form)
    assert "It cannot hold “;”" in response.content.decode()
    assert not model.objects.exists()


@pytest.mark.parametrize(
    ("model", "cited_as", "cited_fields", "unused_fields"),
    [
        (WeaponSystem, "weapon_systems", {"name": "Hwasong-11"}, {"name": "KN-25"}),
        (
            SanctionsProvision,
            "sanctions_provisions",
            {"resolution": "2270 (2016)", "paragraph": "6"},
            {"resolution": "2397 (2017)", "paragraph": "7"},
        ),
    ],
)
def test_an_entry_cases_cite_is_not_deleted_and_the_page_names_the_cases(
    client, case_factory, admin_user, model, cited_as, cited_fields, unused_fields
):
    cited = model.objects.create(**cited_fields)
    unused = model.objects.create(**unused_fields)
    case = case_factory("approved", title="Missile debris in Kharkiv")
    getattr(case, cited_as).add(cited)
    client.force_login(admin_user)
    meta = model._meta
    delete_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[cited.pk])
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    page = client.get(delete_url).content.decode()
    assert "would require deleting the following protected related objects" in page
    assert f"{case.reference}: Missile debris in Kharkiv" in page
    client.post(delete_url, {"post": "yes"})
    both = {"action": "delete_selected", "_selected_action": [cited.pk, unused.pk], "post": "yes"}
    assert "protected related objects" in client.post(changelist, both).content.decode()
    assert list(getattr(case, cited_as).all()) == [cited]
    assert model.objects.count() == 2

    # One that no case cites is deleted as before.
    only_unused = {"action": "delete_selected", "_selected_action": [unused.pk], "post": "yes"}
    client.post(changelist, only_unused)
    assert list(model.objects.all()) == [cited]


def test_the_admin_autocomplete_answers_options_to_nobody(client, monitor):
    client.force_login(monitor)
    query = {"app_label": "admin", "model_name": "logentry", "field_name": "user"}
    assert client.get("/admin/autocomplete/", query).status_code == 403
    assert client.options("/admin/autocomplete/?app_label=admin").status_code == 405


@pytest.mark.parametrize(
    "who, error",
    [
        ("stakeholder", "stakeholder is not a reviewer, so cannot be assigned a case to review."),
        ("admin_user", "admin created this case, so cannot review it (four-eyes rule)."),
    ],
)
def test_an_administrator_assigns_a_case_only_to_a_reviewer_other_than_its_creator(
    client, case_factory, admin_user, request, who, error
):
    # Found by posting the admin's change form of a submitted case as an administrator
    # with assigned_reviewer set to the stakeholder: it was saved (302), so a case a
    # stakeholder may not even see was assigned to them for review.
    user = request.getfixturevalue(who)
    case = case_factory("submitted", created_by=admin_user)
    client.force_login(admin_user)
    response = client.post(change_url(case), edited(case, assigned_reviewer=user.pk))
    assert response.status_code == 200
    assert error in response.content.decode()
    case.refresh_from_db()
    assert (case.title != "Edited title", case.assigned_reviewer) == (True, None)
