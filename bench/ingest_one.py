"""Ingest one multipart upload body from disk, as the web server would receive it, and
print the time taken and this process's memory. Run by bench.measure.ingest."""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402

from bench.memory import memory_mb  # noqa: E402
from evidence.files import accept_evidence_files, ingest  # noqa: E402


def main(body, boundary):
    baseline = memory_mb("VmRSS")
    with open(body, "rb") as stream:
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
            "CONTENT_LENGTH": str(os.path.getsize(body)),
            "wsgi.input": stream,
            "PATH_INFO": "/",
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
        }
        start, cpu, main_thread = time.perf_counter(), os.times(), time.thread_time()
        request = WSGIRequest(environ)
        accept_evidence_files(request)
        upload = request.FILES["upload"]
        stored, _ = ingest(upload)
        seconds = time.perf_counter() - start
        main_thread = time.thread_time() - main_thread
        after = os.times()
    # CPU time does not depend on how busy the machine is: the request's thread (parsing,
    # markup search) and the others (hashing, writing) run in parallel on a free core.
    print(f"seconds={seconds:.3f}")
    print(f"cpu_s={after.user + after.system - cpu.user - cpu.system:.3f}")
    print(f"main_thread_cpu_s={main_thread:.3f}")
    print(f"sha256={stored.sha256}")
    print(f"baseline_rss_mb={baseline:.1f}")
    print(f"peak_rss_mb={memory_mb('VmHWM'):.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
