"""A monitor, a draft case and a graded source for the ingest scenarios: run by the
harness as ``python -m faults.ingest PASSWORD`` against its own PostgreSQL
(DATABASE_URL); prints, as JSON, what the scenarios post to."""

import json
import sys

import django

django.setup()

from django.utils import timezone  # noqa: E402

from evidence.models import Source, SourceKind  # noqa: E402
from faults.race import case, user  # noqa: E402
from tracker import roles  # noqa: E402


def main(password):
    monitor = user("ingest-monitor", roles.MONITOR)
    monitor.set_password(password)
    monitor.save()
    draft = case(monitor, "Containers at Rajin", "Munitions containers loaded for Dunai.")
    source = Source.objects.create(
        name="Satellite imagery provider",
        kind=SourceKind.INTELLIGENCE,
        reliability="B",
        graded_by=user("ingest-grader", roles.REVIEWER),
        graded_at=timezone.now(),
    )
    json.dump({"username": monitor.username, "case": draft.pk, "source": source.pk}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
