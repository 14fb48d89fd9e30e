"""How well possible duplicates are found: precision and recall on the labelled set
``tracker/duplicate_pairs.json``, on the database configured.

The set's cases are written in a transaction that is rolled back, so the command
leaves nothing behind; cases already in the database that a report finds are not
counted (only the set's own are labelled)."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import override_settings

from tracker.duplicates import possible_duplicates
from tracker.models import Case, IncidentType, WeaponSystem

PAIRS = Path(__file__).resolve().parents[2] / "duplicate_pairs.json"


@dataclass
class Figures:
    min_score: float
    found: int = 0  # candidates shown
    right: int = 0  # of them, labelled duplicates
    duplicates: int = 0  # labelled duplicates in the set
    misses: list = field(default_factory=list)  # (report, case, score)
    false_alarms: list = field(default_factory=list)

    @property
    def precision(self):
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self):
        return self.right / self.duplicates if self.duplicates else 1.0


def measure(min_scores, path=PAIRS):
    """Figures at each of ``min_scores`` (the window is DUPLICATE_WINDOW_DAYS's)."""
    data = json.loads(path.read_text())
    duplicates = {(r, c) for r, c, label in data["pairs"] if label == "duplicate"}
    with transaction.atomic():
        user = get_user_model().objects.create(
            username=f"duplicate-figures-{uuid.uuid4().hex[:8]}", is_superuser=True
        )
        weapons = {}
        cases = {}
        for key, fields in data["cases"].items():
            case = Case.objects.create(
                **_case_fields(fields), incident_type=IncidentType.OTHER, created_by=user
            )
            case.weapon_systems.set(_weapons(fields, weapons))
            cases[case.pk] = key
        # Every candidate at all, at most a warning's few: a higher threshold keeps those
        # of them at or above it, which is what a lookup at that threshold returns.
        with override_settings(DUPLICATE_MIN_SCORE=0.0):
            found = {
                report: [
                    (cases[c.case.pk], c.score)
                    for c in possible_duplicates(
                        user=user,
                        **_case_fields(fields),
                        weapon_systems=_weapons(fields, weapons),
                    )
                    if c.case.pk in cases
                ]
                for report, fields in data["reports"].items()
            }
        transaction.set_rollback(True)
    results = []
    for minimum in min_scores:
        figures = Figures(minimum, duplicates=len(duplicates))
        shown = {(r, c): s for r, pairs in found.items() for c, s in pairs if s >= minimum}
        figures.found = len(shown)
        figures.right = len(shown.keys() & duplicates)
        figures.false_alarms = sorted(
            (r, c, s) for (r, c), s in shown.items() if (r, c) not in duplicates
        )
        below = {(r, c): s for r, pairs in found.items() for c, s in pairs}
        figures.misses = sorted((r, c, below.get((r, c))) for r, c in duplicates - shown.keys())
        results.append(figures)
    return results


def _case_fields(fields):
    return {
        "title": fields["title"],
        "summary": fields["summary"],
        "incident_start": date.fromisoformat(fields["incident_start"]),
        "incident_end": fields["incident_end"] and date.fromisoformat(fields["incident_end"]),
        "place_name": fields["place_name"],
        "country": fields["country"],
    }


def _weapons(fields, made):
    for name in fields["weapons"]:
        if name not in made:
            made[name] = WeaponSystem.objects.get_or_create(name=name)[0]
    return [made[name] for name in fields["weapons"]]


class Command(BaseCommand):
    help = (
        "Print the precision and recall of possible-duplicate warnings on the labelled "
        "set tracker/duplicate_pairs.json, at DUPLICATE_MIN_SCORE (or the scores given) "
        "and DUPLICATE_WINDOW_DAYS. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-score", type=float, nargs="+", help="thresholds to try instead of the setting"
        )
        parser.add_argument(
            "--verbose-pairs", action="store_true", help="list misses and false alarms"
        )

    def handle(self, *args, min_score=None, verbose_pairs=False, **options):
        scores = min_score or [settings.DUPLICATE_MIN_SCORE]
        self.stdout.write(
            f"{connection.vendor}, DUPLICATE_WINDOW_DAYS={settings.DUPLICATE_WINDOW_DAYS}: "
            f"labelled set {PAIRS.name}"
        )
        for figures in measure(scores):
            self.stdout.write(
                f"min score {figures.min_score:.2f}: precision {figures.precision:.2f} "
                f"({figures.right} of {figures.found} shown are duplicates), recall "
                f"{figures.recall:.2f} ({figures.right} of {figures.duplicates} duplicates shown)"
            )
            if verbose_pairs:
                for report, case, score in figures.misses:
                    shown = "not a candidate" if score is None else f"score {score:.2f}"
                    self.stdout.write(f"  missed: {report} ~ {case} ({shown})")
                for report, case, score in figures.false_alarms:
                    self.stdout.write(f"  false alarm: {report} ~ {case} (score {score:.2f})")
