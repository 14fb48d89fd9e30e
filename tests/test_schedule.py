import subprocess
import sys

from celery.schedules import crontab

from config.celery import app


def test_beat_runs_reminders_daily_and_digests_and_the_evidence_check_weekly(settings):
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert schedule["tracker.tasks.send_reminders"] == crontab(minute=0, hour=8)
    assert schedule["digests.tasks.send_digests"] == crontab(minute=0, hour=7, day_of_week=1)
    assert schedule["evidence.tasks.verify_evidence"] == crontab(minute=0, hour=3, day_of_week=0)
    # Files kept for a retry are removed within the hour after they expire.
    assert schedule["evidence.tasks.discard_expired_uploads"] == crontab(minute=40)
    assert {"tracker.tasks.send_reminders", "digests.tasks.send_digests"} <= set(app.tasks)


def test_a_misspelt_digest_day_stops_start_up_with_a_message():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={"DEBUG": "1", "DIGEST_DAY": "someday", "PATH": ""},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "DIGEST_DAY must be a day of the week such as monday, not 'someday'" in result.stderr
