"""Mail without an SMTP server lands in files a mail client opens."""

from email import message_from_bytes, policy

from django.core.mail import EmailMessage


def test_each_message_is_a_file_of_its_own_that_a_mail_client_reads(settings, tmp_path):
    settings.MAILERS = {
        "default": {"BACKEND": "mailer.backends.EmlFileBackend", "OPTIONS": {"file_path": tmp_path}}
    }
    for number in (1, 2, 3):
        EmailMessage(
            f"Case {number} approved", "Body", "tracker@localhost", ["a@example.org"]
        ).send()

    files = sorted(tmp_path.iterdir())
    assert len(files) == 3
    assert all(file.suffix == ".eml" for file in files)
    subjects = set()
    for file in files:
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        subjects.add(message["Subject"])
        assert message.get_content().strip() == "Body"
        # Nothing after the message: no separator line of Django's own file backend.
        assert not file.read_bytes().rstrip().endswith(b"-" * 79)
    assert subjects == {"Case 1 approved", "Case 2 approved", "Case 3 approved"}
