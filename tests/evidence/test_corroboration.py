import pytest

from evidence.corroboration import summarize
from tests import factories
from tracker.models import Case


@pytest.fixture
def sources(db):
    make = factories.SourceFactory
    return {
        "un": make(name="UN Panel of Experts", kind="intergovernmental", reliability="A"),
        "reuters": make(name="Reuters", kind="news_outlet", reliability="B"),
        "ap": make(name="Associated Press", kind="news_outlet", reliability="B"),
        "kirby": make(name="John Kirby, NSC spokesman", kind="spokesperson", reliability="B"),
        "kremlin": make(
            name="Kremlin spokesman Dmitry Peskov", kind="spokesperson", reliability="D"
        ),
        "gs": make(name="Ukrainian General Staff", kind="armed_forces", reliability="C"),
    }


def item(case, source, stance="supports", outlet=None, credibility=2):
    return factories.EvidenceItemFactory(
        case=case, source=source, stance=stance, reporting_outlet=outlet, credibility=credibility
    )


def test_outlets_repeating_one_source_count_once(case_factory, sources):
    case = case_factory("draft")
    item(case, sources["un"], outlet=sources["reuters"])
    item(case, sources["un"], outlet=sources["ap"])
    item(case, sources["un"])
    summary = summarize(case)
    assert summary.supporting_sources == 1
    assert not summary.meets_minimum


def test_independent_sources_and_denials_are_counted(case_factory, sources):
    case = case_factory("draft")
    item(case, sources["un"], outlet=sources["reuters"])
    item(case, sources["kirby"])
    item(case, sources["kremlin"], stance="refutes", credibility=5)
    item(case, sources["gs"], stance="context")
    summary = summarize(case)
    assert (summary.supporting_sources, summary.refuting_sources) == (2, 1)
    assert summary.meets_minimum
    assert str(summary) == "2 independent supporting sources (minimum 2), 1 refuting"


def test_the_suggested_credibility(case_factory, sources, settings):
    settings.CORROBORATION_MIN = 2
    case = case_factory("draft")
    assert summarize(case).suggested_credibility == 6  # nothing to judge

    item(case, sources["gs"], credibility=3)
    assert summarize(case).suggested_credibility == 3  # one source: its own grade

    item(case, sources["kirby"], credibility=2)
    assert summarize(case).suggested_credibility == 1  # two reliable sources confirm it

    item(case, sources["un"], stance="refutes")
    assert summarize(case).suggested_credibility == 2  # a reliable denial weighs


def test_the_stored_counts_match_the_summary(case_factory, sources):
    case = case_factory("draft")
    item(case, sources["un"], outlet=sources["reuters"])
    item(case, sources["un"], outlet=sources["ap"])
    item(case, sources["kirby"])
    item(case, sources["kremlin"], stance="refutes")
    stored = Case.objects.get(pk=case.pk)
    assert (stored.supporting_sources, stored.refuting_sources) == (2, 1)
    assert stored.suggested_credibility == summarize(case).suggested_credibility == 1
