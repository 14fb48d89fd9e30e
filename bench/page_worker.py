"""One code's pages for `python -m bench`, served request by request in a process of
its own: the code measured (this checkout, or another commit's checked out for
``--compare``) comes first on the path, so two codes answer in turns on the same data.

It imports nothing but Django, as it runs against another commit's code too. Each line
on stdin is a command in JSON: ``{"user": ..., "url": ..., "queries": true|false}``, with
``"token"`` for a request with that API token instead of the user's session; the
answer is one line of JSON: the status and either the server time in ms or, when asked
for the queries, the SQL of the request (not timed, as recording it costs time).

    python bench/page_worker.py CODE_DIR
"""

import json
import os
import sys
import time


def main():
    # Answers go to the real stdout; anything the code prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    # This file's folder would come first on the path; the measured code must.
    sys.path[0] = os.path.abspath(sys.argv[1])

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {}
    for line in sys.stdin:
        command = json.loads(line)
        token = command.get("token")
        client = clients.get(token or command["user"])
        if client is None and token:
            client = clients[token] = Client(headers={"Authorization": f"Bearer {token}"})
        elif client is None:
            client = clients[command["user"]] = Client()
            client.force_login(get_user_model().objects.get(username=command["user"]))
        if command.get("queries"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(command["url"])
            answer = {"sql": [query["sql"] for query in queries.captured_queries]}
        else:
            start = time.perf_counter()
            response = client.get(command["url"])
            answer = {"ms": (time.perf_counter() - start) * 1000}
        answer["status"] = response.status_code
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
