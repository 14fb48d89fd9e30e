"""Two people acting at the same moment, for the race tests: each act runs on a thread of
its own, so on a database connection of its own. An act's outcome is a dict holding what
it returned (``"result"``) or raised (``"error"``)."""

import threading

from django.db import connection, transaction

WAIT = 30  # seconds; far more than any act here takes, so only a hang reaches it


def run_in_thread(target):
    """Start ``target`` on its own thread; the thread and the outcome it will fill."""
    outcome = {}

    def body():
        try:
            outcome["result"] = target()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def at_once(*acts):
    """Let every act go at the same moment and wait for them all; their outcomes."""
    start = threading.Barrier(len(acts))

    def together(act):
        def go():
            start.wait(timeout=WAIT)
            return act()

        return go

    running = [run_in_thread(together(act)) for act in acts]
    for thread, _ in running:
        thread.join(timeout=WAIT)
    return [outcome for _, outcome in running]


def held_open(first, then, *, then_waits=True):
    """Run ``first`` in a transaction held open while ``then`` starts on another
    connection; then let both finish. With ``then_waits``, ``then`` must still be waiting
    (for a lock ``first`` holds) when ``first`` is let go. The two outcomes."""
    done_first, release = threading.Event(), threading.Event()

    def first_held_open():
        with transaction.atomic():
            result = first()
            done_first.set()
            release.wait(timeout=WAIT)
        return result

    first_thread, first_outcome = run_in_thread(first_held_open)
    assert done_first.wait(timeout=WAIT), first_outcome.get("error")
    then_thread, then_outcome = run_in_thread(then)
    then_thread.join(timeout=1)
    if then_waits:
        assert then_thread.is_alive(), "it must wait for the lock the first act holds"
    release.set()
    first_thread.join(timeout=WAIT)
    then_thread.join(timeout=WAIT)
    return first_outcome, then_outcome
