import pytest
from django.urls import reverse

from evidence.models import Stance
from tests import factories
from tracker import workflow


def page(case):
    return reverse("tracker:case", args=[case.pk])


def test_it_shows_the_case_evidence_corroboration_and_timeline(
    client, case_factory, monitor, add_item
):
    case = case_factory(title="Debris of a Hwasong-11 in Kharkiv", reported_quantity="one missile")
    add_item(case, "UN Panel of Experts", title="Report to the Security Council")
    add_item(case, "Kremlin spokesman", stance=Stance.REFUTES, title="Another fake news story")
    add_item(case, "Edward Howell", stance=Stance.CONTEXT, title="Expert commentary")
    workflow.submit(case, monitor, "Ready for review.")
    client.force_login(monitor)
    response = client.get(page(case))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Debris of a Hwasong-11 in Kharkiv",
        "one missile",
        "Report to the Security Council",
        "UN Panel of Experts (reliability B – usually reliable)",
        "Another fake news story",
        "Expert commentary",
        "Independent supporting sources</dt><dd>1</dd>",
        "Independent refuting sources</dt><dd>1</dd>",
        "not met, so approving needs a written justification",
        "Ready for review.",
    ):
        assert text in html
    evidence = dict(response.context["evidence"])
    assert [i.title for i in evidence["Supports"]] == ["Report to the Security Council"]
    assert [i.title for i in evidence["Refutes"]] == ["Another fake news story"]
    assert [t.to_state for t in response.context["transitions"]] == ["submitted"]


def test_it_links_files_to_the_permission_checked_download(client, case_factory, monitor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evidence.custody import add_evidence

    case = case_factory()
    source = factories.SourceFactory()
    item = add_evidence(
        case,
        monitor,
        upload=SimpleUploadedFile("statement.txt", b"The containers left Rajin."),
        source=source,
        kind="document",
        stance="supports",
        title="Statement",
    )
    client.force_login(monitor)
    html = client.get(page(case)).content.decode()
    assert reverse("evidence:download", args=[item.pk]) in html
    assert "statement.txt" in html


def test_the_creator_of_a_draft_may_submit_or_withdraw_it(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    response = client.get(page(case))
    assert [a.name for a in response.context["actions"]] == ["submit", "withdraw"]
    assert response.context["can_edit"]


def test_reviewers_get_no_buttons_here_but_a_link_to_the_admin(client, case_factory, reviewer):
    case = case_factory("submitted")
    client.force_login(reviewer)
    response = client.get(page(case))
    assert response.context["actions"] == []
    assert not response.context["can_edit"]
    assert reverse("admin:tracker_case_change", args=[case.pk]) in response.content.decode()


def test_submitting_moves_the_case_and_says_so(client, case_factory, monitor):
    case = case_factory()
    factories.context_for(case)
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_transition", args=[case.pk, "submit"]),
        {"comment": "Two sources."},
        follow=True,
    )
    case.refresh_from_db()
    assert case.state == "submitted"
    assert f"{case.reference} submitted." in response.content.decode()
    assert case.transitions.get().comment == "Two sources."


@pytest.mark.parametrize("action, extra", [("submit", {}), ("withdraw", {"confirmed": "yes"})])
def test_a_comment_no_database_can_keep_is_refused_saying_why(
    client, case_factory, monitor, action, extra
):
    case = case_factory()
    factories.context_for(case)
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_transition", args=[case.pk, action]),
        {"comment": "Sent\x00 by rail", **extra},
        follow=True,
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    case.refresh_from_db()
    assert case.state == "draft"
    assert not case.transitions.exists()


def test_a_transition_that_no_longer_applies_is_explained(client, case_factory, monitor):
    case = case_factory("submitted")
    client.force_login(monitor)
    response = client.post(
        reverse("tracker:case_transition", args=[case.pk, "submit"]), follow=True
    )
    assert "is submitted, so it cannot be submitted" in response.content.decode()


def test_only_the_creator_may_withdraw(client, case_factory, other_monitor):
    case = case_factory("submitted")
    client.force_login(other_monitor)
    withdraw = reverse("tracker:case_transition", args=[case.pk, "withdraw"])
    response = client.post(withdraw, {"confirmed": "yes"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == "submitted"


def test_withdrawing_asks_first_and_only_a_confirmation_withdraws(client, case_factory, monitor):
    case = case_factory("submitted")
    client.force_login(monitor)
    withdraw = reverse("tracker:case_transition", args=[case.pk, "withdraw"])

    page = client.get(reverse("tracker:case", args=[case.pk])).content.decode()
    submit_form = page.split("<form", 1)[1].split("</form>", 1)[0] if "<form" in page else ""
    assert withdraw not in submit_form  # not a button beside Submit
    assert f'href="{withdraw}"' in page
    assert page.count(f'href="{withdraw}"') == 1
    assert "Withdraw" not in page.split("<title>")[1].split("</title>")[0]

    for asking in (client.get(withdraw), client.post(withdraw, {"comment": "Duplicate."})):
        assert asking.status_code == 200
        assert f"Withdraw {case.reference}?" in asking.content.decode()
    case.refresh_from_db()
    assert case.state == "submitted"

    client.post(withdraw, {"confirmed": "yes", "comment": "Logged twice."})
    case.refresh_from_db()
    assert case.state == "withdrawn"
    assert case.transitions.last().comment == "Logged twice."


def test_nobody_else_is_asked_to_withdraw(client, case_factory, other_monitor):
    case = case_factory("submitted")
    client.force_login(other_monitor)
    response = client.get(reverse("tracker:case_transition", args=[case.pk, "withdraw"]))
    assert response.status_code == 403


@pytest.mark.parametrize("action", ["approve", "start_review", "reopen", "nonsense"])
def test_reviewing_is_not_done_here(client, case_factory, reviewer, action):
    case = case_factory("submitted")
    client.force_login(reviewer)
    response = client.post(reverse("tracker:case_transition", args=[case.pk, action]))
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == "submitted"


def test_transitions_need_post(client, case_factory, monitor):
    case = case_factory()
    client.force_login(monitor)
    response = client.get(reverse("tracker:case_transition", args=[case.pk, "submit"]))
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("role", "state", "status"),
    [
        ("monitor", "draft", 200),
        ("other_monitor", "draft", 404),
        ("other_monitor", "submitted", 200),
        ("reviewer", "draft", 404),
        ("reviewer", "submitted", 200),
        ("stakeholder", "submitted", 404),
        ("stakeholder", "in_review", 404),
        ("stakeholder", "rejected", 404),
        ("stakeholder", "approved", 200),
        ("admin_user", "draft", 200),
    ],
)
def test_who_sees_which_case(client, case_factory, request, role, state, status):
    case = case_factory(state)
    client.force_login(request.getfixturevalue(role))
    assert client.get(page(case)).status_code == status


def test_a_draft_of_another_monitor_cannot_be_submitted_or_guessed(
    client, case_factory, other_monitor
):
    case = case_factory()
    client.force_login(other_monitor)
    response = client.post(reverse("tracker:case_transition", args=[case.pk, "submit"]))
    assert response.status_code == 404


def test_the_reason_for_changes_is_the_first_thing_the_monitor_reads(client, case_factory, monitor):
    case = case_factory("changes_requested")  # "Needs a second source."
    client.force_login(monitor)
    page = client.get(reverse("tracker:case", args=[case.pk])).content.decode()
    assert page.index("Needs a second source.") < page.index("The incident")
    dashboard = client.get(reverse("tracker:dashboard")).content.decode()
    assert "Changes requested: Needs a second source." in dashboard


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            "submitted",
            "Evidence cannot be added to {ref} or changed now: it is submitted and waits for "
            "a reviewer. If a reviewer requests changes, you can add and edit evidence again.",
        ),
        (
            "in_review",
            "Evidence cannot be added to {ref} or changed now: it is in review. If the "
            "reviewer requests changes, you can add and edit evidence again.",
        ),
        (
            "approved",
            "Evidence cannot be added to {ref} or changed now: it is approved. Only an "
            "administrator can reopen it.",
        ),
        (
            "withdrawn",
            "Evidence cannot be added to {ref} or changed now: it is withdrawn. Only an "
            "administrator can reopen it.",
        ),
    ],
)
def test_the_case_page_says_why_its_monitor_cannot_add_evidence(
    client, case_factory, monitor, state, reason
):
    case = case_factory(state)
    client.force_login(monitor)
    html = client.get(page(case)).content.decode()
    assert reason.format(ref=case.reference) in html
    assert reverse("tracker:evidence_add", args=[case.pk]) not in html
    for item in case.evidence.all():
        assert reverse("tracker:evidence_edit", args=[case.pk, item.pk]) not in html


def test_the_case_page_tells_another_monitor_whose_evidence_it_is(
    client, case_factory, other_monitor
):
    case = case_factory("changes_requested")
    client.force_login(other_monitor)
    html = client.get(page(case)).content.decode()
    assert f"Only monitor, who created {case.reference}, can add or change its evidence." in html
    assert reverse("tracker:evidence_add", args=[case.pk]) not in html


def test_an_editable_case_offers_adding_and_editing_evidence(
    client, case_factory, monitor, add_item
):
    case = case_factory("changes_requested")
    client.force_login(monitor)
    html = client.get(page(case)).content.decode()
    assert reverse("tracker:evidence_add", args=[case.pk]) in html
    assert reverse("tracker:evidence_edit", args=[case.pk, case.evidence.get().pk]) in html
    assert "Evidence cannot be added" not in html


@pytest.mark.parametrize("role", ["reviewer", "stakeholder"])
def test_who_never_adds_evidence_is_not_told_why(client, case_factory, request, role):
    case = case_factory("approved")
    client.force_login(request.getfixturevalue(role))
    html = client.get(page(case)).content.decode()
    assert "Evidence cannot be added" not in html
    assert "can add or change its evidence" not in html
    assert reverse("tracker:evidence_add", args=[case.pk]) not in html
