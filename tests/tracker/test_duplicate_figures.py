"""Precision and recall of possible-duplicate warnings on the labelled set, at the
default thresholds, on whichever database the tests run (both in CI)."""

import io
import json

from django.contrib.auth import get_user_model
from django.core.management import call_command

from tracker.management.commands.duplicate_figures import PAIRS, measure
from tracker.models import Case


def test_the_labelled_set_names_only_its_own_cases_and_reports():
    data = json.loads(PAIRS.read_text())
    for report, case, label in data["pairs"]:
        assert report in data["reports"] and case in data["cases"]
        assert label in ("duplicate", "not")


def test_precision_and_recall_at_the_default_thresholds(db, settings):
    assert (settings.DUPLICATE_WINDOW_DAYS, settings.DUPLICATE_MIN_SCORE) == (7, 0.3)
    [figures] = measure([settings.DUPLICATE_MIN_SCORE])
    # Measured: 16 of 18 shown are duplicates, 16 of 18 duplicates shown (0.89 each).
    assert figures.precision >= 0.85, figures.false_alarms
    assert figures.recall >= 0.85, figures.misses


def test_a_higher_threshold_trades_recall_for_precision(db):
    low, high = measure([0.2, 0.4])
    assert low.recall > high.recall
    assert low.precision < high.precision


def test_the_command_prints_the_figures_and_writes_nothing(db):
    out = io.StringIO()
    call_command("duplicate_figures", "--verbose-pairs", stdout=out)
    text = out.getvalue()
    assert "min score 0.30: precision 0.89 (16 of 18 shown are duplicates), recall 0.89" in text
    assert "missed: shipments-3 ~ shipments (score 0.19)" in text
    assert not Case.objects.exists()
    assert not get_user_model().objects.exists()
