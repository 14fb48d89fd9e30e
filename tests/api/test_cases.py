"""The case resources: the list filters, searches and sorts as the case list page does,
a page at a time behind a cursor; the detail; creating and editing under the pages'
rules; workflow actions with the workflow's own refusals."""

from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_countries.serializers import CountryFieldMixin
from rest_framework import serializers

from api.serializers import CaseListSerializer, NamedSerializer
from tests import factories
from tracker import workflow
from tracker.models import Case, SanctionsProvision, State, WeaponSystem


def references(response):
    assert response.status_code == 200, response.json()
    return [case["reference"] for case in response.json()["results"]]


def cursor_of(link):
    return parse_qs(urlsplit(link).query)["cursor"][0]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"state": ["submitted", "approved"]},
        {"q": "Kharkiv"},
        {"incident_from": "2024-01-01", "sort": "-date"},
        {"sort": "title"},
        {"sort": "-sources"},
        {"supplier_country": "KP", "incident_type": "battlefield_use"},
    ],
)
def test_the_list_shows_what_the_case_list_page_shows(query, case_factory, reviewer, token_client):
    for number, (state, place) in enumerate(
        [
            ("submitted", "Kharkiv"),
            ("approved", "Bryansk"),
            ("approved", "Kharkiv"),
            ("draft", "Rajin"),
        ]
    ):
        case = case_factory(
            state,
            place_name=place,
            title=f"Case {number}",
            incident_start=date(2023, 12, 1) + timedelta(days=40 * number),
        )
        if number == 1:
            case.incident_type = "battlefield_use"
            case.save()
            factories.corroborate(case, 3)
    page = Client()
    page.force_login(reviewer)
    listed = page.get("/cases/", {**query, "page_size": 100}).context["page"].object_list
    api = token_client(reviewer).get("/api/v1/cases/", query)
    assert references(api) == [case.reference for case in listed]


def test_a_search_with_too_many_matches_to_rank_lists_them_newest_first(
    settings, case_factory, reviewer, token_client
):
    in_title = case_factory("submitted", title="Strike on Kharkiv", place_name="Kharkiv")
    newer = case_factory("submitted", title="A convoy", summary="Seen leaving Kharkiv.")
    client = token_client(reviewer)
    assert references(client.get("/api/v1/cases/", {"q": "Kharkiv"})) == [
        in_title.reference,
        newer.reference,
    ]
    settings.SEARCH_RANK_LIMIT = 1
    assert references(client.get("/api/v1/cases/", {"q": "Kharkiv"})) == [
        newer.reference,
        in_title.reference,
    ]


def test_pages_follow_on_by_cursor_and_stay_stable_when_cases_are_added(
    case_factory, monitor, token_client
):
    cases = [case_factory("submitted", title=f"Case {n}") for n in range(5)]
    client = token_client(monitor)
    first = client.get("/api/v1/cases/", {"page_size": 2})
    newest_first = [c.reference for c in reversed(cases)]
    assert references(first) == newest_first[:2]
    assert first.json()["previous"] is None
    # New cases arrive meanwhile: the next page neither repeats nor skips a case.
    case_factory("submitted", title="Late arrival")
    second = client.get(first.json()["next"])
    assert references(second) == newest_first[2:4]
    third = client.get(second.json()["next"])
    assert references(third) == newest_first[4:]
    assert third.json()["next"] is None
    back = client.get(third.json()["previous"])
    assert references(back) == newest_first[2:4]


def test_a_sort_with_ties_pages_through_every_case_once(case_factory, monitor, token_client):
    for n in range(7):
        case_factory("submitted", incident_start=date(2024, 1, 1 + n % 2), title=f"Case {n}")
    client = token_client(monitor)
    seen, url = [], "/api/v1/cases/?sort=date&page_size=3"
    while url:
        page = client.get(url).json()
        seen += [(case["incident_start"], case["reference"]) for case in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 7
    assert [when for when, _ in seen] == sorted(when for when, _ in seen)


@pytest.mark.parametrize(
    "query",
    [{"sort": sort} for sort in ("reference", "-title", "type", "-date", "state", "sources")]
    + [
        {"sort": "changed"},
        {"sort": "date,-title"},
        {"q": "shells"},
        {"q": "shells", "sort": "date"},
    ],
)
def test_every_sort_and_the_search_page_through_every_case_once_in_order(
    query, case_factory, monitor, token_client
):
    # Ties on every key but the reference, and search ranks that tie too.
    for n in range(9):
        case = case_factory(
            "submitted",
            title="artillery shells" + " shells" * (n % 3),
            incident_start=date(2024, 1, 1 + n % 2),
            incident_type=["battlefield_use", "munitions_shipment"][n % 2],
        )
        if n % 4 == 0:
            factories.corroborate(case, 1 + n % 3)
    client = token_client(monitor)
    whole = references(client.get("/api/v1/cases/", {**query, "page_size": 100}))
    assert len(whole) == 9
    seen, url = [], "/api/v1/cases/?page_size=2&" + urlencode(query)
    while url:
        page = client.get(url)
        seen += references(page)
        url = page.json()["next"]
    assert seen == whole


def test_a_cursor_is_only_one_the_api_gave_for_this_order(case_factory, monitor, token_client):
    for _ in range(3):
        case_factory("submitted")
    client = token_client(monitor)
    link = client.get("/api/v1/cases/", {"page_size": 1}).json()["next"]
    forged = client.get("/api/v1/cases/", {"cursor": cursor_of(link)[:-3] + "abc"})
    assert forged.status_code == 400
    assert forged.json()["errors"] == [
        {"parameter": "cursor", "detail": "This cursor is not a cursor this API gave."}
    ]
    resorted = client.get("/api/v1/cases/", {"cursor": cursor_of(link), "sort": "title"})
    assert resorted.status_code == 400
    assert "another order" in resorted.json()["errors"][0]["detail"]
    assert client.get("/api/v1/cases/", {"page_size": "0"}).status_code == 400


@pytest.mark.parametrize("cases", [3, 60])
def test_a_page_of_the_list_costs_the_same_queries_however_long_it_is(
    cases, case_factory, monitor, token_client, django_assert_max_num_queries
):
    weapon = WeaponSystem.objects.create(name="Hwasong-11")
    for n in range(cases):
        case = factories.CaseFactory(created_by=monitor, title=f"Case {n}")
        case.weapon_systems.add(weapon)
    client = token_client(monitor)
    client.get("/api/v1/cases/")  # the token's last use is written once a minute
    # The token and its user, the user's permissions, the page, its weapon systems.
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/cases/", {"page_size": 50, "sort": "-date"})
    assert len(response.json()["results"]) == min(cases, 50)


def test_the_detail_has_what_a_reviewer_needs(case_factory, reviewer, token_client):
    case = case_factory("in_review", by_reviewer=reviewer)
    case.sanctions_provisions.add(
        SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    )
    body = token_client(reviewer).get(f"/api/v1/cases/{case.reference}/").json()
    assert body["sanctions_provisions"][0]["label"] == "UNSCR 1718 (2006), para. 8 (a)"
    assert body["corroboration"]["summary"].startswith(
        "0 independent supporting sources (minimum 2)"
    )
    assert body["corroboration"]["meets_minimum"] is False
    assert [step["action"] for step in body["review_timeline"]] == ["submit", "start_review"]
    assert body["actions"] == ["request_changes", "approve", "reject", "mark_duplicate"]
    assert body["assigned_reviewer"] == "reviewer"


def test_a_stakeholder_reads_the_decision_but_no_name_or_comment(
    case_factory, monitor, reviewer, stakeholder, token_client
):
    case = case_factory("submitted")
    workflow.start_review(case, reviewer)
    workflow.request_changes(case, reviewer, "Ask the Kharkiv prosecutor for the photographs.")
    workflow.submit(case, monitor)
    workflow.start_review(case, reviewer)
    factories.EvidenceItemFactory(case=case, added_by=monitor)
    workflow.approve(
        case, reviewer, comment="Checked by phone.", justification="The UN panel saw the debris."
    )
    as_stakeholder = token_client(stakeholder, scope="read")

    body = as_stakeholder.get(f"/api/v1/cases/{case.reference}/").json()
    assert body["decision"]["state"] == "approved"
    assert body["decision"]["justification"] == "The UN panel saw the debris."
    assert body["review_timeline"] == []
    assert (body["created_by"], body["assigned_reviewer"], body["changes_reason"]) == (None,) * 3
    items = as_stakeholder.get(f"/api/v1/cases/{case.reference}/evidence/").json()
    assert {item["added_by"] for item in items} == {None}
    seen = str(body) + str(items)  # the names as values, quoted: 'reviewer'
    for private in ("'reviewer'", "'monitor'", "Kharkiv prosecutor", "by phone"):
        assert private not in seen

    as_team = token_client(monitor).get(f"/api/v1/cases/{case.reference}/").json()
    assert as_team["decision"] == body["decision"]
    assert [step["actor"] for step in as_team["review_timeline"]][-1] == "reviewer"
    assert as_team["changes_reason"] == "Ask the Kharkiv prosecutor for the photographs."


def test_a_stakeholder_reads_only_the_sources_approved_cases_cite_without_notes(
    case_factory, monitor, stakeholder, token_client
):
    approved = case_factory("approved")
    cited = approved.evidence.first().source
    draft = case_factory()
    proposed = factories.SourceFactory(
        proposed=True, name="A defector in Vladivostok", notes="Met on 3 May; paid."
    )
    factories.EvidenceItemFactory(case=draft, source=proposed)

    as_stakeholder = token_client(stakeholder, scope="read")
    listed = as_stakeholder.get("/api/v1/sources/", {"page_size": 100}).json()["results"]
    assert cited.pk in [source["id"] for source in listed]
    assert proposed.pk not in [source["id"] for source in listed]
    assert {source["notes"] for source in listed} == {None}
    assert as_stakeholder.get(f"/api/v1/sources/{proposed.pk}/").status_code == 404

    as_team = token_client(monitor).get(f"/api/v1/sources/{proposed.pk}/").json()
    assert as_team["notes"] == "Met on 3 May; paid."


def test_a_stakeholder_is_not_told_why_sources_do_not_count(
    case_factory, monitor, stakeholder, token_client
):
    case = case_factory("approved")
    factories.EvidenceItemFactory(case=case, source=factories.SourceFactory(proposed=True))
    path = f"/api/v1/cases/{case.reference}/"
    team = token_client(monitor).get(path).json()["corroboration"]
    assert team["not_counted"] == "1 more supporting source: 1 not yet graded by a reviewer"
    reader = token_client(stakeholder, scope="read").get(path).json()["corroboration"]
    assert reader["not_counted"] == ""
    assert "not counted" not in reader["summary"]
    assert reader["supporting_sources"] == team["supporting_sources"]


def test_cases_are_edited_by_their_creator_while_editable(
    case_factory, monitor, other_monitor, token_client
):
    draft, submitted = case_factory("draft"), case_factory("submitted")
    mine = token_client(monitor)
    changed = mine.patch(f"/api/v1/cases/{draft.reference}/", {"title": "Shells by sea"})
    assert changed.status_code == 200 and changed.json()["title"] == "Shells by sea"
    assert changed.json()["summary"] == draft.summary  # what was not sent stays
    refused = mine.patch(f"/api/v1/cases/{submitted.reference}/", {"title": "Later"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"Only the monitor who created {submitted.reference} can change it, and only while "
        "it is a draft or sent back for changes."
    )
    theirs = token_client(other_monitor)
    assert theirs.patch(f"/api/v1/cases/{draft.reference}/", {"title": "x"}).status_code == 404
    assert theirs.patch(f"/api/v1/cases/{submitted.reference}/", {"title": "x"}).status_code == 403
    assert Case.objects.get(pk=submitted.pk).title == submitted.title


def test_refused_actions_say_why_with_403_or_409(case_factory, monitor, reviewer, token_client):
    case = case_factory("submitted")
    own = token_client(monitor).post(f"/api/v1/cases/{case.reference}/actions/approve/")
    assert own.status_code == 403
    assert own.json()["detail"] == "Only reviewers can approve a case."
    early = token_client(reviewer).post(f"/api/v1/cases/{case.reference}/actions/approve/")
    assert early.status_code == 409
    assert early.json()["detail"].startswith(
        f"{case.reference} is submitted, so it cannot be approved"
    )
    no_reason = token_client(reviewer).post(f"/api/v1/cases/{case.reference}/actions/start_review/")
    assert no_reason.status_code == 200
    reject = token_client(reviewer).post(f"/api/v1/cases/{case.reference}/actions/reject/", {})
    assert reject.status_code == 409
    assert reject.json()["detail"] == f"Give a reason to reject {case.reference}."
    unknown = token_client(reviewer).post(f"/api/v1/cases/{case.reference}/actions/publish/")
    assert unknown.status_code == 404
    assert Case.objects.get(pk=case.pk).state == State.IN_REVIEW


def test_a_reviewer_who_created_a_case_cannot_decide_it(case_factory, token_client):
    author = factories.UserFactory(username="revmon", role="Monitor")
    author.groups.add(factories.Group.objects.get(name="Reviewer")) if hasattr(
        factories, "Group"
    ) else None

    author.groups.add(Group.objects.get(name="Reviewer"))
    case = case_factory("submitted", created_by=author)
    refused = token_client(author).post(f"/api/v1/cases/{case.reference}/actions/start_review/")
    assert refused.status_code == 403
    assert "four-eyes rule" in refused.json()["detail"]


def test_the_next_link_keeps_every_filter_value(case_factory, monitor, token_client):
    for state in ("submitted", "submitted", "withdrawn", "withdrawn", "rejected"):
        case_factory(state)
    client = token_client(monitor)
    url, seen = "/api/v1/cases/?state=submitted&state=withdrawn&page_size=1", []
    while url:
        page = client.get(url).json()
        seen += [case["state"] for case in page["results"]]
        url = page["next"]
        assert url is None or parse_qs(urlsplit(url).query)["state"] == ["submitted", "withdrawn"]
    assert sorted(seen) == ["submitted", "submitted", "withdrawn", "withdrawn"]


def test_a_listed_case_reads_as_the_frameworks_own_serializers_write_it(
    case_factory, reviewer, token_client
):
    """The list writes countries, times and links its own quicker way: what a client
    reads is what Django REST framework and django-countries would have written."""

    class AsTheFrameworkWritesIt(CountryFieldMixin, serializers.ModelSerializer):
        class Meta:
            model = Case
            fields = [
                name
                for name in CaseListSerializer.Meta.fields
                if name not in ("url", "weapon_systems")
            ]

    case = case_factory("submitted", recipient_country="", place_name="Rajin")
    factories.corroborate(case, 2)
    [row] = token_client(reviewer).get("/api/v1/cases/").json()["results"]
    expected = AsTheFrameworkWritesIt(Case.objects.get(pk=case.pk)).data
    assert {name: row[name] for name in expected} == dict(expected)
    assert (row["country"], row["recipient_country"], row["supporting_sources"]) == ("KP", "", 2)
    assert row["url"] == f"http://testserver/api/v1/cases/{case.reference}/"


def test_a_listed_cases_weapon_systems_read_as_the_nested_serializer_writes_them(
    case_factory, reviewer, token_client
):
    case = case_factory("submitted")
    for name in ["Hwasong-11 (KN-23/KN-24)", "122 mm artillery shells", "KN-25"]:
        case.weapon_systems.add(WeaponSystem.objects.create(name=name))
    case_factory("submitted")
    rows = token_client(reviewer).get("/api/v1/cases/").json()["results"]
    listed = {row["reference"]: row["weapon_systems"] for row in rows}
    expected = NamedSerializer(case.weapon_systems.all(), many=True).data
    assert [system["name"] for system in expected][0] == "122 mm artillery shells"
    assert listed == {
        case.reference: expected,
        Case.objects.exclude(pk=case.pk).get().reference: [],
    }
