"""Export the first N cases of the case list, as the benchmark's reviewer sees it
(every case past its draft, newest first), in one format, to a file; print the time
to the last byte, the file's size, the queries and this process's memory. Run by
bench.measure.export, a fresh process each time so its peak memory is its own."""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from bench.memory import memory_mb  # noqa: E402
from exchange.columns import exportable  # noqa: E402
from exchange.exports import RESPONSES  # noqa: E402
from tracker.models import works_on_cases  # noqa: E402
from tracker.views import filtered_cases  # noqa: E402


def main(format, cases, path, username):
    user = get_user_model().objects.get(username=username)
    request = RequestFactory().get("/cases/export")
    request.user = user
    team = works_on_cases(user)
    listed = filtered_cases(request).qs[: int(cases)]
    rows = listed.count()
    baseline = memory_mb("VmRSS")
    connection.force_debug_cursor = True
    start = time.perf_counter()
    response = RESPONSES[format](exportable(listed), team)
    size = 0
    with open(path, "wb") as out:
        for piece in response.streaming_content:
            piece = piece.encode() if isinstance(piece, str) else piece
            out.write(piece)
            size += len(piece)
    response.close()
    seconds = time.perf_counter() - start
    print(f"seconds={seconds:.3f}")
    print(f"rows={rows}")
    print(f"bytes={size}")
    print(f"queries={len(connection.queries)}")
    print(f"baseline_rss_mb={baseline:.1f}")
    print(f"peak_rss_mb={memory_mb('VmHWM'):.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
