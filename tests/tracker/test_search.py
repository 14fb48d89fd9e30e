"""The case list's search finds the same cases on SQLite and on PostgreSQL. The table
below runs on whichever database the tests use (SQLite by default, PostgreSQL when
DATABASE_URL points at it, as on CI), so both answer it alike."""

import copy
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from evidence.custody import add_evidence
from evidence.models import Source
from tests import factories
from tracker import apps
from tracker.models import Case, SanctionsProvision, WeaponSystem

LIST = reverse("tracker:case_list")
CHANGELIST = reverse("admin:tracker_case_changelist")


def references(response):
    return [case.reference for case in response.context["page"]]


@pytest.fixture
def archive(case_factory, monitor):
    """Four cases, each with words of its own in each place a search looks."""
    artillery = WeaponSystem.objects.create(name="Artillery ammunition", category="ammunition")
    hwasong = WeaponSystem.objects.create(
        name="Hwasong-11", aliases="KN-23\nKN-24", category="ballistic missile"
    )
    shahed = WeaponSystem.objects.create(
        name="Shahed-136", aliases="Geran-2", category="loitering munition"
    )
    embargo = SanctionsProvision.objects.create(resolution="1718 (2006)", paragraph="8 (a)")
    widened = SanctionsProvision.objects.create(resolution="1874 (2009)", paragraph="9")
    cases = {
        "shipment": case_factory(
            title="About 6,700 containers of munitions shipped to Russia",
            summary="Shipping containers holding artillery shells went by rail from Rajin "
            "to Tikhoretsk.",
            place_name="Rajin",
            country="KP",
            supplier_country="KP",
            recipient_country="RU",
            reported_quantity="about 6,700 containers",
        ),
        "debris": case_factory(
            title="Missile debris found in Kharkiv",
            summary="Fragments of a ballistic missile were recovered after the strike.",
            place_name="Kharkiv",
            country="UA",
            supplier_country="KP",
            recipient_country="RU",
        ),
        "drones": case_factory(
            title="Attack drones for the Alabuga plant",
            summary="Kits for attack drones were delivered by air.",
            place_name="Yelabuga",
            country="RU",
            supplier_country="IR",
            recipient_country="RU",
        ),
        "depot": case_factory(
            title="Strike on an arsenal near Tikhoretsk",
            summary="A drone strike hit a depot of shells.",
            place_name="Tikhoretsk",
            country="RU",
            supplier_country="",
            recipient_country="",
        ),
    }
    cases["shipment"].weapon_systems.add(artillery)
    cases["shipment"].sanctions_provisions.add(embargo)
    cases["debris"].weapon_systems.add(hwasong)
    cases["debris"].sanctions_provisions.add(widened)
    cases["drones"].weapon_systems.add(shahed)

    def evidence(case, source, **fields):
        add_evidence(case, monitor, source=source, kind="statement", stance="supports", **fields)

    evidence(
        cases["shipment"],
        factories.SourceFactory(name="ROK Ministry of National Defense"),
        title="Minister: containers since August",
        excerpt="Millions of shells.",
    )
    evidence(
        cases["debris"],
        factories.SourceFactory(name="UN Panel of Experts"),
        reporting_outlet=factories.SourceFactory(name="Reuters"),
        title="Monitors' report to the Security Council",
        excerpt="The debris derives from a Hwasong-11 series missile.",
    )
    evidence(
        cases["drones"],
        factories.SourceFactory(name="Ukrainian intelligence"),
        title="Intercepted cargo manifests",
    )
    return cases


# (what is typed, the cases it finds). "{shipment}" stands for that case's reference,
# "{shipment.number}" for its number alone.
SEARCHES = [
    # words in any inflection, in any field of the case
    ("shipping containers", {"shipment"}),
    ("Containers SHIPPED", {"shipment"}),
    ("deliver", {"drones"}),
    ("Kharkiv", {"debris"}),
    ("6,700", {"shipment"}),
    # a phrase, in its order
    ('"shipping containers"', {"shipment"}),
    ('"containers shipping"', set()),
    # exclusion, alone too; alternatives
    ("shells -drone", {"shipment"}),
    ("drone -Tikhoretsk", {"drones"}),
    ("-drone", {"shipment", "debris"}),
    ("drone or missile", {"drones", "depot", "debris"}),
    ("drones or", {"drones", "depot"}),
    # countries by name and alias (supplier, recipient and where it happened)
    ("North Korea", {"shipment", "debris"}),
    ("DPRK", {"shipment", "debris"}),
    ("Democratic People's Republic of Korea", {"shipment", "debris"}),
    ("Iran", {"drones"}),
    ("Ukraine", {"debris"}),
    ("Russia", {"shipment", "debris", "drones", "depot"}),
    # weapon systems by name, alias and category
    ("KN-23", {"debris"}),
    ("kn-24", {"debris"}),
    ("Hwasong-11", {"debris"}),
    ("Geran-2", {"drones"}),
    ("artillery", {"shipment"}),
    ("loitering munition", {"drones"}),
    # sanctions provisions
    ("UNSCR 1718", {"shipment"}),
    ("1874", {"debris"}),
    # evidence titles and excerpts, sources and outlets
    ("manifests", {"drones"}),
    ("millions", {"shipment"}),
    ("Reuters", {"debris"}),
    ("Panel of Experts", {"debris"}),
    ("Ministry of National Defense", {"shipment"}),
    # references, whole or in part
    ("{debris}", {"debris"}),
    ("{debris.lower}", {"debris"}),
    ("{drones.number}", {"drones"}),
    # nothing
    ("Vladivostok", set()),
    ("the of and", set()),
]


class Reference(str):
    """A case's reference as the table's patterns use it."""

    @property
    def number(self):
        return self.rsplit("-", 1)[-1]

    @property
    def lower(self):
        return str.lower(self)


@pytest.mark.parametrize(("typed", "expected"), SEARCHES)
def test_the_search_finds_what_it_should(client, archive, monitor, typed, expected):
    typed = typed.format(**{key: Reference(case.reference) for key, case in archive.items()})
    client.force_login(monitor)
    found = references(client.get(LIST, {"q": typed}))
    assert set(found) == {archive[key].reference for key in expected}
    assert len(found) == len(set(found))


@pytest.fixture
def demo(settings, db):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    return {case.title.split()[0]: case for case in Case.objects.all()}


# The demo's cases by the first word of their titles; "0003" is the third one loaded.
DEMO_SEARCHES = [
    ("shipping containers", {"About"}),
    ("North Korea", {"About", "DPRK-provided", "Debris", "Ukrainian", "Russian", "DPRK"}),
    ("KN-23", {"DPRK-provided", "Debris"}),
    ("artillery", {"About"}),
    ("0003", {"Debris"}),
]


@pytest.mark.parametrize(("typed", "expected"), DEMO_SEARCHES)
def test_the_demo_cases_are_found(client, demo, typed, expected):
    client.force_login(get_user_model().objects.get(username="reviewer"))
    assert set(references(client.get(LIST, {"q": typed}))) == {
        demo[word].reference for word in expected
    }


def found(typed):
    return set(Case.objects.search(typed).values_list("reference", flat=True))


def test_the_index_follows_every_change_to_what_it_reads(case_factory, monitor):
    case = case_factory(
        title="Debris found", summary="Fragments.", place_name="Kharkiv", supplier_country="KP"
    )
    assert found("Peskov") == set()

    # evidence added, then edited; its source renamed
    add_evidence(
        case,
        monitor,
        source=factories.SourceFactory(name="Kremlin spokesman Dmitry Peskov"),
        kind="statement",
        stance="refutes",
        title="Denial",
    )
    assert found("Peskov") == found("denial") == {case.reference}
    item = case.evidence.get()
    item.title = "Another fake news story"
    item.excerpt = "This seems to be another fake news story."
    item.save()
    assert found("denial") == set()
    assert found('"fake news"') == {case.reference}
    Source.objects.filter(pk=item.source_id).update(name="Kremlin press office")
    assert found("Peskov") == set()
    assert found("press office") == {case.reference}

    # a weapon system linked, its alias changed, unlinked
    missile = WeaponSystem.objects.create(name="Hwasong-11", aliases="KN-23")
    case.weapon_systems.add(missile)
    assert found("KN-23") == {case.reference}
    missile.aliases = "KN-24"
    missile.save()
    assert found("KN-23") == set()
    assert found("KN-24") == {case.reference}
    case.weapon_systems.remove(missile)
    assert found("Hwasong") == set()

    # a provision linked, renumbered
    provision = SanctionsProvision.objects.create(resolution="2270 (2016)", paragraph="6")
    case.sanctions_provisions.add(provision)
    assert found("2270") == {case.reference}
    provision.resolution = "2397 (2017)"
    provision.save()
    assert found("2270") == set()
    assert found("2397") == {case.reference}

    # the case's own text and countries
    case.title = "Debris found in a field"
    case.recipient_country = "IR"
    case.save()
    assert found("field Iran") == {case.reference}


def test_best_matches_come_first_unless_the_user_sorts(client, case_factory, monitor, add_item):
    in_evidence = case_factory(title="A strike", summary="Debris.", place_name="Bryansk")
    add_item(in_evidence, "Reuters", excerpt="Kharkiv was hit as well.")
    in_title = case_factory(title="Strike on Kharkiv", summary="Debris.", place_name="Kharkiv")
    client.force_login(monitor)
    assert references(client.get(LIST, {"q": "Kharkiv"})) == [
        in_title.reference,
        in_evidence.reference,
    ]
    by_reference = sorted([in_title.reference, in_evidence.reference])
    assert references(client.get(LIST, {"q": "Kharkiv", "sort": "reference"})) == by_reference


def test_too_many_matches_to_rank_come_newest_first_and_the_list_says_so(
    client, case_factory, monitor, add_item, settings, django_capture_on_commit_callbacks
):
    settings.SEARCH_RANK_LIMIT = 2
    in_title = case_factory(title="Strike on Kharkiv", summary="Debris.", place_name="Kharkiv")
    in_evidence = case_factory(title="A strike", summary="Debris.", place_name="Bryansk")
    add_item(in_evidence, "Reuters", excerpt="Kharkiv was hit as well.")
    client.force_login(monitor)
    page = client.get(LIST, {"q": "Kharkiv"})
    assert references(page) == [in_title.reference, in_evidence.reference]
    assert "too many to rank" not in page.content.decode()

    # Counted again once the new case is committed (the count is kept till then).
    with django_capture_on_commit_callbacks(execute=True):
        newest = case_factory(title="A convoy", summary="Seen leaving Kharkiv.")
    page = client.get(LIST, {"q": "Kharkiv"})
    assert references(page) == [newest.reference, in_evidence.reference, in_title.reference]
    assert (
        "More than 2 cases match, too many to rank by relevance: the newest come first."
        in page.content.decode()
    )
    # Narrowed to few enough, they are ranked again.
    assert references(client.get(LIST, {"q": "Kharkiv debris"})) == [
        in_title.reference,
        in_evidence.reference,
    ]
    # A sort the user chose is kept, and nothing needs saying.
    page = client.get(LIST, {"q": "Kharkiv", "sort": "reference"})
    assert references(page) == sorted([newest.reference, in_evidence.reference, in_title.reference])
    assert "too many to rank" not in page.content.decode()


def test_the_admin_lists_best_matches_first_unless_the_user_sorts(
    client, case_factory, reviewer, add_item
):
    in_title = case_factory("submitted", title="Strike on Kharkiv", place_name="Kharkiv")
    in_evidence = case_factory("submitted", title="A strike", place_name="Bryansk")
    add_item(in_evidence, "Reuters", excerpt="Kharkiv was hit as well.")
    client.force_login(reviewer)

    def listed(**params):
        response = client.get(CHANGELIST, {"q": "Kharkiv", **params})
        return [case.reference for case in response.context["cl"].result_list]

    # in_evidence moved last, so the admin's own order would list it first
    assert listed() == [in_title.reference, in_evidence.reference]
    # by reference, newest first (column 1: column 0 is the action checkbox)
    assert listed(o="-1") == [in_evidence.reference, in_title.reference]


JUNK = [
    '"',
    '""',
    '"unclosed phrase',
    "(",
    ")",
    "(missile",
    "*",
    "missile*",
    "NEAR",
    "NEAR(missile debris)",
    "missile NEAR debris",
    "-",
    "--",
    "- -",
    "-missile -",
    "AND",
    "OR",
    "NOT",
    "missile AND OR NOT debris",
    "^missile",
    "heading:missile",
    "{heading details}: missile",
    "title:x",
    "x\"y'z",
    "'; DROP TABLE tracker_case; --",
    "%_\\",
    "\x00",
    "ÄÖÜ ß Ø 東京 ☢",
    "missile " * 25,
    "x" * 200,
]


@pytest.mark.parametrize("typed", JUNK)
def test_whatever_is_typed_the_list_answers(client, case_factory, monitor, typed):
    case_factory(title="Missile debris", summary="Fragments of a missile.")
    client.force_login(monitor)
    assert client.get(LIST, {"q": typed}).status_code == 200
    # The export answers 400 with the form's message for what the form refuses (NUL).
    assert client.get(reverse("exchange:case_export", args=["csv"]), {"q": typed}).status_code in (
        200,
        400,
    )


@pytest.mark.parametrize("typed", ["x" * 5000, '"(*' * 2000, "-a or " * 1000])
def test_the_admin_takes_searches_of_any_length(client, case_factory, admin_user, typed):
    case_factory(title="Missile debris")
    client.force_login(admin_user)
    assert client.get(CHANGELIST, {"q": typed}).status_code == 200


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(typed=st.text())
@example(typed='x" OR "y')
@example(typed="-")
def test_the_search_never_fails(case_factory, typed):
    if not Case.objects.exists():
        case_factory(title="Missile debris", summary="Fragments of a missile.")
    list(Case.objects.search(typed))


def test_a_search_costs_the_same_queries_whatever_the_number_of_matches(
    client, case_factory, monitor, django_assert_max_num_queries
):
    client.force_login(monitor)
    case_factory(summary="Containers of shells.")
    # user, permissions, the matches up to SEARCH_RANK_LIMIT, count, page, weapon
    # systems of the page, the filter form's weapon systems and provisions (the
    # session comes from the cache)
    with django_assert_max_num_queries(8) as few:
        client.get(LIST, {"q": "shells"})
    for _ in range(30):
        case_factory(summary="Containers of shells.")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST, {"q": "shells"})
    assert len(references(response)) == 25


# Skipped before the database is set up on PostgreSQL. Serialized rollback, as every
# transactional test here: the data migrations' rows (groups) are there at the start,
# and the flush afterwards leaves the database as the serialized-rollback tests after
# it expect (post_migrate does not make content types again).
@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="PostgreSQL alters tables in place, keeping their triggers",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sqlite_index_outlives_a_migration_that_rebuilds_the_case_table(case_factory):
    """Django changes an SQLite table by building a new one and renaming it over the
    old: ``migrate`` first drops the index's triggers (which would make the rename fail
    and would vanish with the old table), then makes them again and refills the index."""
    case = case_factory(title="Missile debris found in Kharkiv")
    old = Case._meta.get_field("title")
    wider = copy.copy(old)
    wider.max_length = 400
    apps.drop_sqlite_search_triggers(using="default", plan=["a migration"])
    try:
        with connection.schema_editor() as editor:
            editor.alter_field(Case, old, wider)  # a rebuild of tracker_case
        Case.objects.filter(pk=case.pk).update(title="Artillery shells in Rajin")
        apps.install_sqlite_search_index(using="default")
        assert found("Rajin") == {case.reference}
        assert found("Kharkiv") == set()
        case.title = "Drone strike in Bryansk"
        case.save()
        assert found("Bryansk") == {case.reference}
    finally:
        apps.drop_sqlite_search_triggers(using="default", plan=["a migration"])
        with connection.schema_editor() as editor:
            editor.alter_field(Case, wider, old)
        apps.install_sqlite_search_index(using="default")
